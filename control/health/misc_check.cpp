// MISC_CHECK (keepalived's check_misc.c): a program, run without a shell as its configured user,
// passes by its exit status (misc_exit_result).
//
// Every run is contained. fastvsd forks a small reaper for it (the health thread's only child
// per run): the reaper makes itself a child subreaper (prctl PR_SET_CHILD_SUBREAPER), starts the
// program in a process group of its own, and waits for it, for misc_timeout at most. When the
// program has exited, or at the timeout, the reaper kills everything the program left behind
// (its process group, and every process re-parented to the reaper: those that called setsid
// included), reaps it all, and only then reports the result to fastvsd over a socket. keepalived
// does not wait for a program's descendants either; here they do not outlive the run.
//
// Nothing in fastvsd reaps more than the pids it forked (no waitpid(-1), no subreaper on fastvsd
// itself), so the kernel path's `ip` children stay pclose()'s. The health thread never blocks: it
// reads the report when epoll says so and reaps the reaper with WNOHANG. If fastvsd goes away, the
// reaper sees the socket close and kills the run.
//
// The program's standard input, output and error are /dev/null (keepalived's behaviour), or with
// fastvsd's --misc-check-output N its output and error go to a pipe the reaper drains: the first
// N bytes come back with the result (for one escaped log line), the rest is counted and dropped.
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <vector>

#include <fmt/core.h>

#include "control/health/probe_impl.h"
#include "control/health/script_user.h"
#include "control/epoll.h"

extern char** environ;

namespace fastvs {

namespace {

// The reaper's report to fastvsd: this, then `excerpt` bytes of the program's output.
struct Report {
  enum Outcome : int32_t { Exited, Killed, TimedOut, NotStarted };
  int32_t outcome = Exited;
  int32_t status = 0;  // Exited: its exit status; Killed: the signal; NotStarted: the step (kStep)
  int32_t err = 0;     // NotStarted: errno
  uint32_t excerpt = 0;
  uint64_t written = 0;  // bytes the program and its descendants wrote in all
};

const char* const kStep[] = {
    "redirecting its output", "setgid", "setgroups", "setuid", "exec", "fork", "pipe"};

// What the reaper and the program need, prepared before fork: after it, fastvsd's other threads
// may hold locks (malloc's among them), so the children make async-signal-safe calls only.
struct Run {
  const char* path;
  char* const* argv;
  bool as_other;  // change user and group
  uid_t uid;
  gid_t gid;
  double deadline;  // monotonic_seconds()
  char* excerpt;    // the first bytes of output land here (the reaper's copy of the buffer)
  size_t excerpt_size;
};

// Back to what a program started from a shell gets: default dispositions, nothing blocked
// (fastvsd's handlers and its threads' masks are fastvsd's).
void reset_signals() {
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) sigaction(sig, &dfl, nullptr);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

// The program, in the reaper's child: its own process group, stdout and stderr to `out` (else
// the reaper's /dev/null), its user, exec. A step that fails is written to `report`.
[[noreturn]] void program_main(const Run& r, int out, int report) {
  setpgid(0, 0);
  int fail[2] = {0, 0};  // the step (kStep), its errno
  if (out >= 0 && (dup2(out, 1) < 0 || dup2(out, 2) < 0)) {
    fail[1] = errno;
  } else if (r.as_other && setgid(r.gid) != 0) {
    fail[0] = 1;
    fail[1] = errno;
  } else if (r.as_other && setgroups(1, &r.gid) != 0) {
    fail[0] = 2;
    fail[1] = errno;
  } else if (r.as_other && setuid(r.uid) != 0) {
    fail[0] = 3;
    fail[1] = errno;
  } else {
    // Nothing but 0-2 and the report pipe (close-on-exec) goes through exec.
    const unsigned keep = static_cast<unsigned>(report);
    if (keep > 3) close_range(3, keep - 1, 0);
    close_range(keep + 1, ~0u, 0);
    execve(r.path, r.argv, environ);
    fail[0] = 4;
    fail[1] = errno;
  }
  if (write(report, fail, sizeof fail) < 0) _exit(127);
  _exit(127);
}

// Sends SIGKILL to each child of the calling thread (/proc/thread-self/children: the reaper has
// one thread, and orphans re-parented to a subreaper are its children). False when the kernel
// has no such file (CONFIG_PROC_CHILDREN off; Debian's kernels have it).
bool kill_children() {
  const int fd = open("/proc/thread-self/children", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[512];
  pid_t pid = 0;
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
    for (ssize_t i = 0; i < n; ++i) {
      if (buf[i] >= '0' && buf[i] <= '9') {
        pid = pid * 10 + (buf[i] - '0');
      } else {
        if (pid > 0) kill(pid, SIGKILL);
        pid = 0;
      }
    }
  }
  if (pid > 0) kill(pid, SIGKILL);
  close(fd);
  return true;
}

// Kills and reaps everything below the reaper: the program's process group, and the children
// it has, which include every descendant whose parent died (they come to the subreaper). A
// killed process's children come up a level when it dies, so this repeats until none is left.
// The group is only signalled while the program is not reaped: until then its pid cannot name
// another process's group.
void kill_descendants(pid_t prog) {
  bool prog_reaped = false;
  auto reaped = [&](pid_t pid) {
    prog_reaped |= pid == prog;
    return pid > 0;
  };
  for (int naps = 0;;) {
    if (!prog_reaped) kill(-prog, SIGKILL);
    const bool listed = kill_children();
    if (!listed && ++naps > 100) return;  // without the list: a second of naps, then give up
    const pid_t r = waitpid(-1, nullptr, listed ? 0 : WNOHANG);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return;  // ECHILD: nothing left
    if (r == 0) {
      const timespec ten_ms{0, 10 * 1000 * 1000};
      nanosleep(&ten_ms, nullptr);
    }
    reaped(r);
    while (reaped(waitpid(-1, nullptr, WNOHANG))) {
    }
  }
}

// Reads what is there of the program's output: the first bytes into the excerpt, all counted.
// False at end of file.
bool drain(int fd, const Run& r, Report& rep) {
  char buf[16384];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno == EAGAIN;
    if (n == 0) return false;
    const size_t room = r.excerpt_size - rep.excerpt;
    const size_t take = static_cast<size_t>(n) < room ? static_cast<size_t>(n) : room;
    memcpy(r.excerpt + rep.excerpt, buf, take);
    rep.excerpt += static_cast<uint32_t>(take);
    rep.written += static_cast<uint64_t>(n);
  }
}

void send_all(int sock, const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = send(sock, p, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // fastvsd is gone
    p += n;
    size -= static_cast<size_t>(n);
  }
}

// The reaper (fastvsd's child): runs the program, contains what it starts, reports on `sock`.
[[noreturn]] void reaper_main(const Run& r, int sock) {
  Report rep;
  auto not_started = [&](int step, int err) {
    rep.outcome = Report::NotStarted;
    rep.status = step;
    rep.err = err;
  };
  if (sock <= 2) sock = fcntl(sock, F_DUPFD_CLOEXEC, 3);  // fastvsd ran without stdin
  // A process group of its own (fastvsd's terminal's signals are not the run's), nothing of
  // fastvsd's but the socket, /dev/null as 0-2.
  setpgid(0, 0);
  if (sock > 3) close_range(3, static_cast<unsigned>(sock) - 1, 0);
  close_range(static_cast<unsigned>(sock) + 1, ~0u, 0);
  const int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null >= 0) {
    for (int fd = 0; fd <= 2; ++fd) dup2(null, fd);
    if (null > 2) close(null);
  }
  reset_signals();
  prctl(PR_SET_NAME, "fastvsd-reaper", 0, 0, 0);  // what ps and top show for it
  prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  int out[2] = {-1, -1};
  int report[2] = {-1, -1};
  pid_t prog = -1;
  if ((r.excerpt_size > 0 && pipe2(out, O_CLOEXEC) != 0) || pipe2(report, O_CLOEXEC) != 0) {
    not_started(6, errno);
  } else if ((prog = _Fork()) == 0) {
    program_main(r, out[1], report[1]);
  } else if (prog < 0) {
    not_started(5, errno);
  }
  if (prog > 0) {
    setpgid(prog, prog);  // before anything could kill its group (the child does it too)
    close(report[1]);
    if (out[1] >= 0) close(out[1]);
    if (out[0] >= 0) fcntl(out[0], F_SETFL, O_NONBLOCK);
    // End of file: the exec succeeded. A report: which step failed.
    int fail[2];
    ssize_t n;
    do {
      n = read(report[0], fail, sizeof fail);
    } while (n < 0 && errno == EINTR);
    if (n == static_cast<ssize_t>(sizeof fail)) {
      not_started(fail[0], fail[1]);
      waitpid(prog, nullptr, 0);
    } else {
      // The program's exit wakes poll (a pidfd); without pidfds (before Linux 5.3), 20 ms naps.
      const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, prog, 0));
      rep.outcome = Report::TimedOut;
      for (;;) {
        // How it ended, leaving it a zombie (reaped by kill_descendants): its pid stays its
        // group's until then.
        siginfo_t info{};
        if (waitid(P_PID, static_cast<id_t>(prog), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
            info.si_pid == prog) {
          rep.outcome = info.si_code == CLD_EXITED ? Report::Exited : Report::Killed;
          rep.status = info.si_status;
          break;
        }
        const double left = r.deadline - monotonic_seconds();
        if (left <= 0) break;
        pollfd fds[3] = {{sock, POLLIN, 0}, {pidfd, POLLIN, 0}, {out[0], POLLIN, 0}};
        const int ms = static_cast<int>(std::ceil(std::min(left, 3600.0) * 1000));
        if (poll(fds, 3, pidfd >= 0 ? ms : std::min(ms, 20)) < 0) continue;
        if (fds[0].revents) {
          // fastvsd stopped the check, or is gone: nobody wants the result.
          kill_descendants(prog);
          _exit(0);
        }
        if (out[0] >= 0 && fds[2].revents && !drain(out[0], r, rep)) {
          close(out[0]);
          out[0] = -1;
        }
      }
    }
    close(report[0]);
    kill_descendants(prog);
    // Every writer is gone: what is left in the pipe is all there will be.
    if (out[0] >= 0) drain(out[0], r, rep);
  }
  send_all(sock, &rep, sizeof rep);
  send_all(sock, r.excerpt, rep.excerpt);
  _exit(0);
}

// Starts a MISC_CHECK run: its reaper's pid, and the socket its report comes on (non-blocking).
Result<std::pair<pid_t, int>> spawn_run(const CheckSpec& spec, size_t output_bytes) {
  // Resolved before fork: the children make async-signal-safe calls only (a PATH search
  // allocates).
  const std::string path = find_program(spec.misc_argv[0]).value_or(spec.misc_argv[0]);
  std::vector<char*> argv;
  for (const auto& a : spec.misc_argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::string excerpt(output_bytes, '\0');
  const Run run{.path = path.c_str(),
                .argv = argv.data(),
                .as_other = getuid() != spec.uid || getgid() != spec.gid,
                .uid = spec.uid,
                .gid = spec.gid,
                .deadline = monotonic_seconds() + spec.misc_timeout,
                .excerpt = excerpt.data(),
                .excerpt_size = excerpt.size()};
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    return Error{fmt::format("socketpair: {}", strerror(errno))};
  fcntl(sv[0], F_SETFL, O_NONBLOCK);
  const pid_t pid = fork();
  if (pid == 0) reaper_main(run, sv[1]);
  close(sv[1]);
  if (pid < 0) {
    close(sv[0]);
    return Error{fmt::format("fork: {}", strerror(errno))};
  }
  return std::pair{pid, sv[0]};
}

// Bytes as one log line: printable ASCII as is, the rest escaped as C does.
std::string escaped(std::string_view s) {
  std::string out;
  for (const unsigned char c : s) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c >= 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

}  // namespace

Status Prober::start_misc(Probe& p) {
  if (p.spec.misc_argv.empty()) return Error{"MISC_CHECK without a program"};
  const auto run = spawn_run(p.spec, misc_output_);
  if (!run) return Error{fmt::format("cannot run {}: {}", p.spec.misc_path, run.error())};
  p.pid = run->first;
  p.fd = run->second;
  epoll_set(epoll_fd_, EPOLL_CTL_ADD, p.fd, EPOLLIN);
  p.stage = Probe::Stage::Program;
  // The reaper reports at misc_timeout; this is for a reaper that cannot (see poll_misc).
  p.deadline = monotonic_seconds() + p.spec.misc_timeout + kReaperGrace;
  return {};
}

void Prober::read_misc(Probe& p) {
  char buf[4096];
  for (;;) {
    const ssize_t n = read(p.fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n > 0) {
      const size_t room =
          sizeof(Report) + misc_output_ - std::min(p.in.size(), sizeof(Report) + misc_output_);
      p.in.append(buf, std::min(static_cast<size_t>(n), room));
      continue;
    }
    // End of file (or an error): the reaper is done. Out of the epoll set explicitly, in case
    // a child being forked elsewhere holds a copy of the socket for a moment.
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, p.fd, nullptr);
    close(p.fd);
    p.fd = -1;
    return;
  }
}

std::optional<CheckResult> Prober::poll_misc(Probe& p, double now) {
  if (p.fd < 0) {
    // The report is in; the reaper exits right after it (WNOHANG: it may take a moment more).
    int status = 0;
    const pid_t r = waitpid(p.pid, &status, WNOHANG);
    if (r == 0) return std::nullopt;
    p.pid = -1;
    Report rep;
    if (p.in.size() < sizeof rep)
      return CheckResult{
          false, fmt::format("{}: its reaper ended without a result", p.spec.misc_path), -1};
    memcpy(&rep, p.in.data(), sizeof rep);
    const std::string_view excerpt(p.in.data() + sizeof rep,
                                   std::min<size_t>(rep.excerpt, p.in.size() - sizeof rep));
    CheckResult res;
    if (rep.outcome == Report::NotStarted) {
      const int step = rep.status >= 0 && rep.status < 7 ? rep.status : 0;
      res = CheckResult{false,
                        step == 4
                            ? fmt::format("cannot run {}: {}", p.spec.misc_path, strerror(rep.err))
                            : fmt::format("cannot run {}: {} ({}:{}): {}", p.spec.misc_path,
                                          kStep[step], p.spec.uid, p.spec.gid, strerror(rep.err)),
                        -1};
    } else if (rep.outcome == Report::TimedOut) {
      res = CheckResult{
          false, fmt::format("{} timed out after {} s", p.spec.misc_path, p.spec.misc_timeout), -1};
    } else if (rep.outcome == Report::Exited) {
      res = misc_exit_result(p.spec, rep.status);
    } else {
      res = CheckResult{false, fmt::format("{} killed by signal {}", p.spec.misc_path, rep.status),
                        -1};
    }
    if (rep.written > 0 && misc_output_ > 0)
      res.output = fmt::format("wrote {} bytes: \"{}\"{}", rep.written, escaped(excerpt),
                               rep.written > excerpt.size() ? "..." : "");
    return res;
  }
  if (now < p.deadline) return std::nullopt;
  // The reaper has not reported kReaperGrace after misc_timeout: it is stuck (on a descendant
  // in uninterruptible sleep, which SIGKILL cannot end, or stopped). It goes (what it had not
  // killed yet is left to init) and is reaped, without waiting, once it has ended.
  kill(p.pid, SIGKILL);
  orphans_.push_back(p.pid);
  p.pid = -1;
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, p.fd, nullptr);
  close(p.fd);
  p.fd = -1;
  return CheckResult{
      false, fmt::format("{} timed out after {} s", p.spec.misc_path, p.spec.misc_timeout), -1};
}

}  // namespace fastvs
