// HTTP_GET (keepalived's check_http.c): a GET of each url, in order, on its own connection;
// each passes when its status code is one it accepts and, when a digest is given, the MD5 of
// its body is that digest (what keepalived's genhash prints).
#include <sys/epoll.h>
#include <sys/socket.h>

#include <cctype>
#include <cerrno>
#include <cstring>

#include <fmt/core.h>

#include "control/health/probe_impl.h"
#include "control/epoll.h"

namespace fastvs {

namespace {

constexpr size_t kMaxResponse = 1 << 20;  // bodies beyond 1 MiB are not health pages

}  // namespace

void Prober::step_http(Probe& p) {
  auto fail = [&](std::string why) { finish(p, CheckResult{false, std::move(why), -1}); };
  auto pass = [&] { finish(p, CheckResult{true, "", -1}); };
  if (p.stage == Probe::Stage::Connecting) {
    p.out = http_request(p);
    p.sent = 0;
    p.in.clear();
    p.stage = Probe::Stage::Sending;
  }
  if (p.stage == Probe::Stage::Sending) {
    while (p.sent < p.out.size()) {
      const ssize_t n = send(p.fd, p.out.data() + p.sent, p.out.size() - p.sent, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN) return;
        return fail(fmt::format("send to {}: {}", addr_port(p.ip, p.port), strerror(errno)));
      }
      p.sent += static_cast<size_t>(n);
    }
    epoll_set(epoll_fd_, EPOLL_CTL_MOD, p.fd, EPOLLIN);
    p.stage = Probe::Stage::Receiving;
    return;
  }
  if (p.stage == Probe::Stage::Receiving) {
    char buf[4096];
    for (;;) {
      const ssize_t n = recv(p.fd, buf, sizeof buf, 0);
      if (n < 0) {
        if (errno == EAGAIN) return;
        return fail(fmt::format("read from {}: {}", addr_port(p.ip, p.port), strerror(errno)));
      }
      if (n == 0) break;
      p.in.append(buf, static_cast<size_t>(n));
      if (p.in.size() > kMaxResponse) break;
    }
    if (std::optional<std::string> why = judge_http(p)) return fail(*why);
    if (++p.url < p.spec.urls.size()) {
      if (Status st = start_connect(p); !st) return fail(st.error());
      return;
    }
    return pass();
  }
}

// keepalived's request line and headers for the current url (HTTP/1.0: the connection closes).
std::string Prober::http_request(const Probe& p) {
  const HttpUrl& u = p.spec.urls.at(p.url);
  const std::string host = u.virtualhost.empty() ? addr_port(p.ip, p.port) : u.virtualhost;
  return fmt::format("GET {} HTTP/1.0\r\nUser-Agent: fastvs-check\r\nHost: {}\r\n\r\n", u.path,
                     host);
}

// Why the response to the current url fails (keepalived's http_handle_response), if it does.
std::optional<std::string> Prober::judge_http(const Probe& p) {
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
    return fmt::format("GET {} from {}: no HTTP status line", u.path, addr_port(p.ip, p.port));
  code = static_cast<unsigned>((p.in[9] - '0') * 100 + (p.in[10] - '0') * 10 + (p.in[11] - '0'));
  if (!u.status_ok(code))
    return fmt::format("GET {} from {}: status {}", u.path, addr_port(p.ip, p.port), code);
  if (!u.digest.empty()) {
    const size_t body = p.in.find("\r\n\r\n");
    const std::string got = md5_hex(body == std::string::npos ? "" : p.in.substr(body + 4));
    if (got != u.digest)
      return fmt::format("GET {} from {}: digest {} is not {}", u.path, addr_port(p.ip, p.port),
                         got, u.digest);
  }
  return std::nullopt;
}

// RFC 1321.

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
