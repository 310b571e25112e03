#include "control/health/probe.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <grp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fmt/core.h>

extern char** environ;

namespace fastvs {

namespace {

std::string addr(uint32_t ip, uint16_t port) {
  return format_ip4(ip) + ":" + std::to_string(port);
}

constexpr size_t kMaxResponse = 1 << 20;  // bodies beyond 1 MiB are not health pages

// The program's path as execvp would find it (resolved before fork: the child may only make
// async-signal-safe calls, and a PATH search allocates).
std::string find_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* env = std::getenv("PATH");
  const std::string dirs = env ? env : "/usr/local/bin:/usr/bin:/bin";
  for (size_t start = 0; start <= dirs.size();) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    const std::string candidate =
        (end > start ? dirs.substr(start, end - start) : std::string(".")) + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return name;  // execve reports ENOENT
}

// Starts a MISC_CHECK program without a shell, as the user and group it was configured to run
// as (keepalived's system_call: setgid, setgroups to that one group, setuid), in a process
// group of its own so that a timeout kills what it started too, with no descriptor of
// fastvsd's. Returns its pid, or -1 with `err` when it could not be started (the child reports
// a failed setuid or exec through a close-on-exec pipe).
pid_t spawn_program(const CheckSpec& spec, std::string* err) {
  const std::string path = find_program(spec.misc_argv[0]);
  std::vector<char*> argv;
  for (const auto& a : spec.misc_argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0) {
    *err = fmt::format("pipe: {}", strerror(errno));
    return -1;
  }
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
    *err = fmt::format("fork: {}", strerror(errno));
    close(report[0]);
    return -1;
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
                                        "setuid", "exec"};
    *err = got.what == 4 ? strerror(got.err)
                         : fmt::format("{} ({}:{}): {}", kStep[got.what & 3], spec.uid, spec.gid,
                                       strerror(got.err));
    return -1;
  }
  return pid;
}

}  // namespace

struct Prober::Probe {
  enum class Stage { Connecting, Sending, Receiving, Program };
  CheckSpec spec;
  uint32_t ip = 0;
  uint16_t port = 0;
  Done done;
  Stage stage = Stage::Connecting;
  int fd = -1;
  pid_t pid = -1;
  double deadline = 0;
  size_t url = 0;  // HTTP_GET: the url being fetched
  std::string out;
  size_t sent = 0;
  std::string in;
  ~Probe() {
    if (fd >= 0) close(fd);
  }
};

double monotonic_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

Prober::Prober() {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
}

Prober::~Prober() {
  cancel_all();
  if (epoll_fd_ >= 0) close(epoll_fd_);
}

void Prober::cancel_all() {
  for (auto& p : probes_) {
    if (p->pid > 0) {
      kill(-p->pid, SIGKILL);  // its process group: what it started too
      waitpid(p->pid, nullptr, 0);
    }
  }
  probes_.clear();
}

bool Prober::start_connect(Probe& p, std::string* err) {
  if (p.fd >= 0) close(p.fd);
  p.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (p.fd < 0) return *err = fmt::format("socket: {}", strerror(errno)), false;
  if (p.spec.bindto || p.spec.bind_port) {
    sockaddr_in b{};
    b.sin_family = AF_INET;
    b.sin_addr.s_addr = htonl(p.spec.bindto);
    b.sin_port = htons(p.spec.bind_port);
    if (bind(p.fd, reinterpret_cast<sockaddr*>(&b), sizeof b) != 0)
      return *err = fmt::format("bind to {}: {}", addr(p.spec.bindto, p.spec.bind_port),
                                strerror(errno)),
             false;
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(p.ip);
  a.sin_port = htons(p.port);
  if (connect(p.fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 && errno != EINPROGRESS)
    return *err = fmt::format("connect to {} failed: {}", addr(p.ip, p.port), strerror(errno)),
           false;
  epoll_event ev{};
  ev.events = EPOLLOUT;
  ev.data.fd = p.fd;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, p.fd, &ev);
  p.stage = Probe::Stage::Connecting;
  p.deadline = monotonic_seconds() + p.spec.connect_timeout;
  return true;
}

void Prober::start(const CheckSpec& spec, uint32_t ip, uint16_t port, Done done) {
  auto p = std::make_unique<Probe>();
  p->spec = spec;
  p->ip = spec.connect_ip ? spec.connect_ip : ip;
  p->port = spec.connect_port ? spec.connect_port : port;
  p->done = std::move(done);
  std::string err;
  if (spec.kind == CheckKind::Misc) {
    if (spec.misc_argv.empty()) {
      p->done(CheckResult{false, "MISC_CHECK without a program", -1});
      return;
    }
    const pid_t pid = spawn_program(spec, &err);
    if (pid < 0) {
      p->done(CheckResult{false, fmt::format("cannot run {}: {}", spec.misc_path, err), -1});
      return;
    }
    p->pid = pid;
    p->stage = Probe::Stage::Program;
    p->deadline = monotonic_seconds() + spec.misc_timeout;
    probes_.push_back(std::move(p));
    return;
  }
  if (!start_connect(*p, &err)) {
    p->done(CheckResult{false, err, -1});
    return;
  }
  probes_.push_back(std::move(p));
}

void Prober::finish(size_t i, const CheckResult& r) {
  std::unique_ptr<Probe> p = std::move(probes_[i]);
  probes_.erase(probes_.begin() + static_cast<std::ptrdiff_t>(i));
  if (p->fd >= 0) close(p->fd);  // closing removes it from the epoll set
  p->fd = -1;
  p->done(r);
}

void Prober::step(Probe& p) {
  auto fail = [&](std::string why) {
    for (size_t i = 0; i < probes_.size(); ++i)
      if (probes_[i].get() == &p) return finish(i, CheckResult{false, std::move(why), -1});
  };
  auto pass = [&]() {
    for (size_t i = 0; i < probes_.size(); ++i)
      if (probes_[i].get() == &p) return finish(i, CheckResult{true, "", -1});
  };
  if (p.stage == Probe::Stage::Connecting) {
    int soerr = 0;
    socklen_t len = sizeof soerr;
    getsockopt(p.fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
    if (soerr != 0)
      return fail(fmt::format("connect to {} failed: {}", addr(p.ip, p.port), strerror(soerr)));
    if (p.spec.kind == CheckKind::Tcp) return pass();
    // HTTP_GET: keepalived's request line and headers (HTTP/1.0, the connection closes).
    const HttpUrl& u = p.spec.urls.at(p.url);
    const std::string host = u.virtualhost.empty() ? addr(p.ip, p.port) : u.virtualhost;
    p.out = fmt::format("GET {} HTTP/1.0\r\nUser-Agent: fastvs-check\r\nHost: {}\r\n\r\n", u.path,
                        host);
    p.sent = 0;
    p.in.clear();
    p.stage = Probe::Stage::Sending;
  }
  if (p.stage == Probe::Stage::Sending) {
    while (p.sent < p.out.size()) {
      const ssize_t n = send(p.fd, p.out.data() + p.sent, p.out.size() - p.sent, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN) return;
        return fail(fmt::format("send to {}: {}", addr(p.ip, p.port), strerror(errno)));
      }
      p.sent += static_cast<size_t>(n);
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = p.fd;
    epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, p.fd, &ev);
    p.stage = Probe::Stage::Receiving;
    return;
  }
  if (p.stage == Probe::Stage::Receiving) {
    char buf[4096];
    for (;;) {
      const ssize_t n = recv(p.fd, buf, sizeof buf, 0);
      if (n < 0) {
        if (errno == EAGAIN) return;
        return fail(fmt::format("read from {}: {}", addr(p.ip, p.port), strerror(errno)));
      }
      if (n == 0) break;
      p.in.append(buf, static_cast<size_t>(n));
      if (p.in.size() > kMaxResponse) break;
    }
    const HttpUrl& u = p.spec.urls.at(p.url);
    // "HTTP/d.d NNN reason\r\n", headers, a blank line, the body: the status is exactly three
    // digits after the version and one space, followed by a space or the line's end.
    unsigned code = 0;
    const bool status_line =
        p.in.size() >= 12 && p.in.compare(0, 5, "HTTP/") == 0 && std::isdigit(p.in[5]) &&
        p.in[6] == '.' && std::isdigit(p.in[7]) && p.in[8] == ' ' && std::isdigit(p.in[9]) &&
        std::isdigit(p.in[10]) && std::isdigit(p.in[11]) &&
        (p.in.size() == 12 || p.in[12] == ' ' || p.in[12] == '\r' || p.in[12] == '\n');
    if (!status_line)
      return fail(fmt::format("GET {} from {}: no HTTP status line", u.path, addr(p.ip, p.port)));
    code = static_cast<unsigned>((p.in[9] - '0') * 100 + (p.in[10] - '0') * 10 + (p.in[11] - '0'));
    if (!u.status_ok(code))
      return fail(fmt::format("GET {} from {}: status {}", u.path, addr(p.ip, p.port), code));
    if (!u.digest.empty()) {
      const size_t body = p.in.find("\r\n\r\n");
      const std::string got = md5_hex(body == std::string::npos ? "" : p.in.substr(body + 4));
      if (got != u.digest)
        return fail(fmt::format("GET {} from {}: digest {} is not {}", u.path, addr(p.ip, p.port),
                                got, u.digest));
    }
    if (++p.url < p.spec.urls.size()) {
      std::string err;
      if (!start_connect(p, &err)) return fail(err);
      return;
    }
    return pass();
  }
}

void Prober::poll(int timeout_ms) {
  epoll_event evs[32];
  const int n = epoll_wait(epoll_fd_, evs, 32, timeout_ms);
  for (int k = 0; k < n; ++k) {
    for (auto& p : probes_) {
      if (p->fd == evs[k].data.fd) {
        step(*p);
        break;
      }
    }
  }
  const double now = monotonic_seconds();
  for (size_t i = 0; i < probes_.size();) {
    Probe& p = *probes_[i];
    if (p.stage == Probe::Stage::Program) {
      int status = 0;
      const pid_t r = waitpid(p.pid, &status, WNOHANG);
      if (r == p.pid) {
        p.pid = -1;
        if (WIFEXITED(status)) {
          CheckResult res = misc_exit_result(p.spec, WEXITSTATUS(status));
          if (!res.ok && res.reason.empty())
            res.reason = fmt::format("{} exited {}", p.spec.misc_path, WEXITSTATUS(status));
          finish(i, res);
        } else {
          finish(i, CheckResult{
                        false,
                        fmt::format("{} killed by signal {}", p.spec.misc_path, WTERMSIG(status)),
                        -1});
        }
        continue;
      }
      if (now >= p.deadline) {
        kill(-p.pid, SIGKILL);
        waitpid(p.pid, nullptr, 0);
        p.pid = -1;
        finish(i, CheckResult{
                      false,
                      fmt::format("{} timed out after {} s", p.spec.misc_path, p.spec.misc_timeout),
                      -1});
        continue;
      }
    } else if (now >= p.deadline) {
      finish(i, CheckResult{false,
                            fmt::format("{} to {} timed out after {} s",
                                        p.stage == Probe::Stage::Connecting ? "connect" : "request",
                                        addr(p.ip, p.port), p.spec.connect_timeout),
                            -1});
      continue;
    }
    ++i;
  }
}

// ---- MD5 (RFC 1321) ---------------------------------------------------------------------------

std::string md5_hex(const std::string& data) {
  // floor(abs(sin(i + 1)) * 2^32), RFC 1321 section 3.4.
  static constexpr uint32_t K[64] = {
      0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613,
      0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193,
      0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d,
      0x02441453, 0xd8a1e681, 0xe7d3fbc8, 0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed,
      0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122,
      0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa,
      0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665, 0xf4292244,
      0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
      0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb,
      0xeb86d391};
  static constexpr uint8_t S[64] = {7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
                                    5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20,
                                    4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
                                    6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21};
  uint32_t h[4] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476};
  std::string msg = data;
  const uint64_t bits = uint64_t{data.size()} * 8;
  msg.push_back(static_cast<char>(0x80));
  while (msg.size() % 64 != 56) msg.push_back(0);
  for (int i = 0; i < 8; ++i) msg.push_back(static_cast<char>(bits >> (8 * i)));
  for (size_t off = 0; off < msg.size(); off += 64) {
    uint32_t m[16];
    for (int i = 0; i < 16; ++i) {
      const auto* b = reinterpret_cast<const uint8_t*>(msg.data() + off + 4 * i);
      m[i] = uint32_t{b[0]} | uint32_t{b[1]} << 8 | uint32_t{b[2]} << 16 | uint32_t{b[3]} << 24;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3];
    for (uint32_t i = 0; i < 64; ++i) {
      uint32_t f, g;
      if (i < 16) {
        f = (b & c) | (~b & d);
        g = i;
      } else if (i < 32) {
        f = (d & b) | (~d & c);
        g = (5 * i + 1) % 16;
      } else if (i < 48) {
        f = b ^ c ^ d;
        g = (3 * i + 5) % 16;
      } else {
        f = c ^ (b | ~d);
        g = (7 * i) % 16;
      }
      const uint32_t x = a + f + K[i] + m[g];
      a = d;
      d = c;
      c = b;
      b = b + ((x << S[i]) | (x >> (32 - S[i])));
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
  }
  std::string out;
  for (uint32_t v : h)
    for (int i = 0; i < 4; ++i) out += fmt::format("{:02x}", (v >> (8 * i)) & 0xff);
  return out;
}

}  // namespace fastvs
