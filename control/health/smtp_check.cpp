// SMTP_CHECK (keepalived's check_smtp.c): a connection to the real server's SMTP port, then
// the conversation keepalived has: the greeting must be 220, `HELO helo_name` answered 250, and
// `QUIT` answered with any line. Each line is the first one read after the step before it
// (smtp_get_line clears its buffer); its status is its first three digits. Every read and write
// has connect_timeout of its own, as keepalived's each get a thread with that timeout.
#include <sys/epoll.h>
#include <sys/socket.h>

#include <cctype>
#include <cerrno>
#include <cstring>

#include <fmt/core.h>

#include "control/epoll.h"
#include "control/health/probe_impl.h"

namespace fastvs {

namespace {

constexpr size_t kMaxLine = 512;  // keepalived's SMTP_BUFF_MAX

// smtp_get_status: the three digits that start the line, or -1.
int status_of(const std::string& line) {
  if (line.size() < 3 || !std::isdigit(static_cast<unsigned char>(line[0])) ||
      !std::isdigit(static_cast<unsigned char>(line[1])) ||
      !std::isdigit(static_cast<unsigned char>(line[2])))
    return -1;
  return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
}

// The line as a log may show it: up to its end, without CR LF.
std::string shown(const std::string& in) {
  std::string line = in.substr(0, in.find('\n'));
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line.size() > 80 ? line.substr(0, 80) + "..." : line;
}

}  // namespace

void Prober::step_smtp(Probe& p) {
  const std::string rs = addr_port(p.ip, p.port);
  auto fail = [&](std::string why) { finish(p, CheckResult{false, std::move(why), -1}); };
  auto expect_line = [&] {
    p.in.clear();
    p.stage = Probe::Stage::Receiving;
    p.deadline = monotonic_seconds() + p.spec.connect_timeout;
    epoll_set(epoll_fd_, EPOLL_CTL_MOD, p.fd, EPOLLIN);
  };
  auto say = [&](std::string line) {
    p.out = std::move(line);
    p.sent = 0;
    p.stage = Probe::Stage::Sending;
    p.deadline = monotonic_seconds() + p.spec.connect_timeout;
    epoll_set(epoll_fd_, EPOLL_CTL_MOD, p.fd, EPOLLOUT);
  };
  if (p.stage == Probe::Stage::Connecting) {  // connected: the greeting comes first
    p.url = 0;                                // the conversation's step: banner, HELO, QUIT
    return expect_line();
  }
  if (p.stage == Probe::Stage::Sending) {
    while (p.sent < p.out.size()) {
      const ssize_t n = send(p.fd, p.out.data() + p.sent, p.out.size() - p.sent, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN) return;
        return fail(fmt::format("SMTP_CHECK write failure to server {}: {}", rs, strerror(errno)));
      }
      p.sent += static_cast<size_t>(n);
    }
    return expect_line();
  }
  char buf[kMaxLine];
  bool closed = false;
  for (;;) {
    const ssize_t n = recv(p.fd, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EAGAIN) break;
      return fail(fmt::format("SMTP_CHECK read failure from server {}: {}", rs, strerror(errno)));
    }
    if (n == 0) {
      closed = true;
      break;
    }
    p.in.append(buf, static_cast<size_t>(n));
    if (p.in.size() > kMaxLine) p.in.erase(0, p.in.size() - kMaxLine);  // keeps the tail
  }
  if (p.in.find('\n') == std::string::npos) {
    if (closed) return fail(fmt::format("SMTP_CHECK read failure from server {}", rs));
    return;  // more to come
  }
  const int status = status_of(p.in);
  switch (p.url++) {
    case 0:
      if (status != 220)
        return fail(
            fmt::format("SMTP_CHECK bad greeting banner from server {}: {}", rs, shown(p.in)));
      return say(fmt::format("HELO {}\r\n", p.spec.helo_name));
    case 1:
      if (status != 250)
        return fail(
            fmt::format("SMTP_CHECK bad HELO response from server {}: {}", rs, shown(p.in)));
      return say("QUIT\r\n");
    default:
      return finish(p, CheckResult{true, "", -1});
  }
}

}  // namespace fastvs
