// MISC_CHECK (keepalived's check_misc.c): a program, run without a shell as its configured user,
// passes by its exit status (misc_exit_result); killed, with what it started, at misc_timeout.
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include <fmt/core.h>

#include "control/health/probe_impl.h"
#include "control/health/script_user.h"

extern char** environ;

namespace fastvs {

namespace {

// Starts a MISC_CHECK program without a shell, as the user and group it was configured to run
// as (keepalived's system_call: setgid, setgroups to that one group, setuid), in a process
// group of its own so that a timeout kills what it started too, with no descriptor of
// fastvsd's. Its pid, or why it could not be started (the child reports a failed setuid or
// exec through a close-on-exec pipe).
Result<pid_t> spawn_program(const CheckSpec& spec) {
  // Resolved before fork: the child may only make async-signal-safe calls (a PATH search
  // allocates).
  const std::string path = find_program(spec.misc_argv[0]).value_or(spec.misc_argv[0]);
  std::vector<char*> argv;
  for (const auto& a : spec.misc_argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0) return Error{fmt::format("pipe: {}", strerror(errno))};
  const bool as_other = getuid() != spec.uid || getgid() != spec.gid;
  const gid_t gid = spec.gid;
  const pid_t pid = fork();
  if (pid == 0) {
    // The child: async-signal-safe calls only (fastvsd has other threads).
    struct Step {
      int what;  // 0 setup, 1 setgid, 2 setgroups, 3 setuid, 4 exec
      int err;
    } fail{0, 0};
    setpgid(0, 0);
    const int null_in = open("/dev/null", O_RDONLY);
    const int null_out = open("/dev/null", O_WRONLY);
    if (null_in < 0 || null_out < 0 || dup2(null_in, 0) < 0 || dup2(null_out, 1) < 0) {
      fail = {0, errno};
    } else if (as_other && setgid(gid) != 0) {
      fail = {1, errno};
    } else if (as_other && setgroups(1, &gid) != 0) {
      fail = {2, errno};
    } else if (as_other && setuid(spec.uid) != 0) {
      fail = {3, errno};
    } else {
      // Everything above 2 but the report pipe (close-on-exec) goes.
      const unsigned keep = static_cast<unsigned>(report[1]);
      if (keep > 3) close_range(3, keep - 1, 0);
      close_range(keep + 1, ~0u, 0);
      execve(path.c_str(), argv.data(), environ);
      fail = {4, errno};
    }
    if (write(report[1], &fail, sizeof fail) < 0) _exit(127);
    _exit(127);
  }
  close(report[1]);
  if (pid < 0) {
    close(report[0]);
    return Error{fmt::format("fork: {}", strerror(errno))};
  }
  // EOF: the exec succeeded (the pipe closed with it). A report: what failed; reap the child.
  struct {
    int what;
    int err;
  } got{};
  ssize_t n;
  do {
    n = read(report[0], &got, sizeof got);
  } while (n < 0 && errno == EINTR);
  close(report[0]);
  if (n == static_cast<ssize_t>(sizeof got)) {
    waitpid(pid, nullptr, 0);
    static const char* const kStep[] = {"redirecting its input and output", "setgid", "setgroups",
                                        "setuid"};
    if (got.what == 4) return Error{strerror(got.err)};
    return Error{
        fmt::format("{} ({}:{}): {}", kStep[got.what], spec.uid, spec.gid, strerror(got.err))};
  }
  return pid;
}

}  // namespace

Status Prober::start_misc(Probe& p) {
  if (p.spec.misc_argv.empty()) return Error{"MISC_CHECK without a program"};
  const Result<pid_t> pid = spawn_program(p.spec);
  if (!pid) return Error{fmt::format("cannot run {}: {}", p.spec.misc_path, pid.error())};
  p.pid = *pid;
  p.stage = Probe::Stage::Program;
  p.deadline = monotonic_seconds() + p.spec.misc_timeout;
  return {};
}

std::optional<CheckResult> Prober::poll_misc(Probe& p, double now) {
  int status = 0;
  if (waitpid(p.pid, &status, WNOHANG) == p.pid) {
    p.pid = -1;
    if (WIFEXITED(status)) {
      CheckResult res = misc_exit_result(p.spec, WEXITSTATUS(status));
      if (!res.ok && res.reason.empty())
        res.reason = fmt::format("{} exited {}", p.spec.misc_path, WEXITSTATUS(status));
      return res;
    }
    return CheckResult{
        false, fmt::format("{} killed by signal {}", p.spec.misc_path, WTERMSIG(status)), -1};
  }
  if (now < p.deadline) return std::nullopt;
  kill(-p.pid, SIGKILL);
  waitpid(p.pid, nullptr, 0);
  p.pid = -1;
  return CheckResult{
      false, fmt::format("{} timed out after {} s", p.spec.misc_path, p.spec.misc_timeout), -1};
}

}  // namespace fastvs
