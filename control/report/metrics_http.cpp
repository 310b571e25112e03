#include "control/report/metrics_http.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

#include <fmt/core.h>

#include "common/net.h"
#include "control/accept.h"
#include "control/epoll.h"

namespace fastvs {

namespace {

constexpr const char* kMetricsType = "text/plain; version=0.0.4; charset=utf-8";

// An error's whole reply: a short text body, its length known.
std::string error_reply(std::string_view status, bool head_only, std::string_view extra = {}) {
  const std::string body = std::string(status) + "\n";
  std::string r = fmt::format(
      "HTTP/1.1 {}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n{}"
      "Connection: close\r\n\r\n",
      status, body.size(), extra);
  if (!head_only) r += body;
  return r;
}

std::string format_sockaddr(const sockaddr_storage& ss) {
  char host[INET6_ADDRSTRLEN] = "?";
  if (ss.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
    return fmt::format("{}:{}", host, ntohs(a->sin_port));
  }
  const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
  inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
  return fmt::format("[{}]:{}", host, ntohs(a->sin6_port));
}

}  // namespace

bool StringBody::next(std::string& out, size_t want) {
  const size_t n = std::min(want > out.size() ? want - out.size() : 0, s_.size() - off_);
  out.append(s_, off_, n);
  off_ += n;
  return off_ < s_.size();
}

HttpHeadReader::State HttpHeadReader::feed(const char* data, size_t n) {
  if (state_ != State::More) return state_;
  const size_t before = in_.size();
  in_.append(data, std::min(n, kMaxRequest - before));
  // The blank line: "\n\n" or "\n\r\n" (bare LF line ends are accepted, as most servers do:
  // RFC 9112 2.2). A new piece may complete one that began up to two bytes before it.
  for (size_t i = before >= 2 ? before - 2 : 0; i < in_.size(); ++i) {
    if (in_[i] != '\n') continue;
    if (i + 1 < in_.size() && in_[i + 1] == '\n') {
      end_ = i + 2;
      return state_ = State::Head;
    }
    if (i + 2 < in_.size() && in_[i + 1] == '\r' && in_[i + 2] == '\n') {
      end_ = i + 3;
      return state_ = State::Head;
    }
  }
  if (in_.size() >= kMaxRequest) state_ = State::TooLarge;
  return state_;
}

HttpRoute http_route(std::string_view head) {
  const size_t eol = head.find_first_of("\r\n");
  const std::string_view line = head.substr(0, eol);
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
    return {error_reply("400 Bad Request", false)};
  const std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (version != "HTTP/1.0" && version != "HTTP/1.1")
    return {error_reply("400 Bad Request", false)};
  const bool head_only = method == "HEAD";
  if (method != "GET" && !head_only)
    return {error_reply("405 Method Not Allowed", false, "Allow: GET, HEAD\r\n")};
  // The absolute form a proxy is sent (RFC 9112 3.2.2), which a server must accept too.
  for (const std::string_view scheme : {"http://", "https://"}) {
    if (target.size() >= scheme.size() &&
        std::equal(scheme.begin(), scheme.end(), target.begin(), [](char a, char b) {
          return a == std::tolower(static_cast<unsigned char>(b));
        })) {
      const size_t slash = target.find('/', scheme.size());
      target = slash == std::string_view::npos ? "/" : target.substr(slash);
    }
  }
  target = target.substr(0, target.find('?'));  // Prometheus may add ?query parameters
  if (target != "/metrics") return {error_reply("404 Not Found", head_only)};
  const bool chunked = version == "HTTP/1.1";
  // No Content-Length: the body is made as it is sent. HTTP/1.1 gets chunks, so that a reply
  // cut short (its client too slow) is seen as cut, not as a whole; 1.0 knows no chunks, and
  // reads to the close.
  return {fmt::format("HTTP/1.1 200 OK\r\nContent-Type: {}\r\n{}Connection: close\r\n\r\n",
                      kMetricsType, chunked ? "Transfer-Encoding: chunked\r\n" : ""),
          !head_only, chunked};
}

MetricsHttpServer::MetricsHttpServer() : spare_fd_(open_spare_fd()) {}

MetricsHttpServer::~MetricsHttpServer() {
  // Closing the last descriptor of a socket also takes it out of the epoll set.
  for (const auto& [fd, c] : clients_) close(fd);
  if (listen_fd_ >= 0) close(listen_fd_);
  if (spare_fd_ >= 0) close(spare_fd_);
}

Status check_metrics_listen(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == listen.size()) {
    return Error{
        fmt::format("--metrics-listen '{}': expected ADDR:PORT (e.g. 127.0.0.1:9469)", listen)};
  }
  std::string host = listen.substr(0, colon);
  const std::string port = listen.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (!parse_port(port)) {  // getaddrinfo takes 70000 as 4464
    return Error{fmt::format("--metrics-listen '{}': bad port '{}'", listen, port)};
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
  addrinfo* ai = nullptr;
  if (const int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &ai); rc != 0) {
    return Error{fmt::format("--metrics-listen '{}': {} (a numeric address and port)", listen,
                             gai_strerror(rc))};
  }
  freeaddrinfo(ai);
  return {};
}

Status MetricsHttpServer::listen(const std::string& listen, int epoll_fd) {
  epoll_fd_ = epoll_fd;
  if (Status st = check_metrics_listen(listen); !st) return st;
  const size_t colon = listen.rfind(':');
  std::string host = listen.substr(0, colon);
  const std::string port = listen.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
  addrinfo* ai = nullptr;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &ai) != 0)
    return Error{fmt::format("--metrics-listen '{}': not an address", listen)};
  listen_fd_ = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const int one = 1;
  bool ok = listen_fd_ >= 0 &&
            setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0 &&
            bind(listen_fd_, ai->ai_addr, ai->ai_addrlen) == 0 && ::listen(listen_fd_, 64) == 0;
  freeaddrinfo(ai);
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  ok = ok && getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&ss), &len) == 0;
  if (!ok) {
    return Error{fmt::format("--metrics-listen {}: {}", listen, std::strerror(errno))};
  }
  bound_ = format_sockaddr(ss);
  epoll_set(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, EPOLLIN);
  return {};
}

bool MetricsHttpServer::on_event(int fd, uint32_t events) {
  if (fd == listen_fd_) {
    accept_all();
    return true;
  }
  auto it = clients_.find(fd);
  if (it == clients_.end()) return false;
  Client& c = it->second;
  if (c.replying) {
    if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) write_client(fd, c);
  } else {
    read_client(fd, c);
  }
  return true;
}

void MetricsHttpServer::accept_all() {
  while (true) {
    const int fd = accept_client(listen_fd_, spare_fd_, [this](int late) { refuse(late); });
    if (fd == kRefused) continue;  // refused for want of descriptors: the next
    if (fd < 0) return;            // EAGAIN: all taken; other errors: that client is gone
    if (clients_.size() >= kMaxClients) {
      refuse(fd);
      continue;
    }
    Client& c = clients_[fd];
    c.deadline = Clock::now() + request_timeout_;
    epoll_set(epoll_fd_, EPOLL_CTL_ADD, fd, EPOLLIN | EPOLLRDHUP);
  }
}

void MetricsHttpServer::refuse(int fd) {
  // Best effort: the socket's buffer takes this much at once.
  const std::string r = error_reply("503 Service Unavailable", false, "Retry-After: 1\r\n");
  (void)!send(fd, r.data(), r.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  close(fd);
  ++refused_;
}

void MetricsHttpServer::read_client(int fd, Client& c) {
  char buf[4096];
  bool eof = false;
  while (c.in.state() == HttpHeadReader::State::More) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0) {
      c.in.feed(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    if (n < 0) return close_client(fd);
    eof = true;
    break;
  }
  switch (c.in.state()) {
    case HttpHeadReader::State::More:
      if (eof) return close_client(fd);  // gone before a whole request: nobody to answer
      return;                            // more later
    case HttpHeadReader::State::TooLarge:
      c.in.release();
      return start_reply(fd, c, {error_reply("431 Request Header Fields Too Large", false)});
    case HttpHeadReader::State::Head:
      break;
  }
  HttpRoute r = http_route(c.in.head());
  c.in.release();
  if (r.body && replying_ >= kMaxReplying) {
    ++refused_;
    r = {error_reply("503 Service Unavailable", false, "Retry-After: 1\r\n")};
  }
  start_reply(fd, c, std::move(r));
}

void MetricsHttpServer::start_reply(int fd, Client& c, HttpRoute r) {
  c.replying = true;
  c.out = std::move(r.head);
  c.sent = 0;
  c.chunked = r.chunked;
  if (r.body && handler_) {
    c.body = handler_();
    if (c.body) ++replying_;
  } else if (r.body && c.chunked) {
    c.out += "0\r\n\r\n";  // no handler: an empty body
  }
  const auto now = Clock::now();
  c.deadline = now + kReplyTimeout;
  c.stall = now + reply_stall_;
  epoll_set(epoll_fd_, EPOLL_CTL_MOD, fd,
            EPOLLOUT);  // not RDHUP: a client may close its side once it has asked
  write_client(fd, c);
}

bool MetricsHttpServer::refill(Client& c) {
  if (c.sent < c.out.size()) return true;
  c.out.clear();
  c.sent = 0;
  if (!c.body) return false;
  std::string piece;
  piece.reserve(kPiece + 1024);
  const bool more = c.body->next(piece, kPiece);
  if (c.chunked) {
    if (!piece.empty()) c.out = fmt::format("{:x}\r\n{}\r\n", piece.size(), piece);
    if (!more) c.out += "0\r\n\r\n";
  } else {
    c.out = std::move(piece);
  }
  if (!more) {
    c.body.reset();
    --replying_;
  }
  return !c.out.empty();
}

void MetricsHttpServer::write_client(int fd, Client& c) {
  while (refill(c)) {
    const ssize_t n = send(fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
    if (n > 0) {
      c.sent += static_cast<size_t>(n);
      c.stall = Clock::now() + reply_stall_;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;  // EPOLLOUT brings us back
    break;                                 // the client went away
  }
  // All sent (or the client is gone): our side of the connection ends here. What the client
  // sent past its head is read first (a little): closing with unread bytes resets the
  // connection, which can take the reply with it.
  shutdown(fd, SHUT_WR);
  char sink[4096];
  for (int i = 0; i < 16 && read(fd, sink, sizeof sink) > 0; ++i) {
  }
  close_client(fd);
}

void MetricsHttpServer::close_client(int fd) {
  auto it = clients_.find(fd);
  if (it == clients_.end()) return;
  if (it->second.body) --replying_;
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  close(fd);
  clients_.erase(it);
}

void MetricsHttpServer::expire_idle() {
  const auto now = Clock::now();
  for (auto it = clients_.begin(); it != clients_.end();) {
    const int fd = it->first;
    const Client& c = it->second;
    ++it;  // close_client erases the current entry
    if (!(now > c.deadline || (c.replying && now > c.stall))) continue;
    if (!c.replying) {
      // A head not whole in time: 408, as an HTTP server says it (one write, if the socket
      // takes it at once), then closed.
      const std::string r = error_reply("408 Request Timeout", false);
      if (send(fd, r.data(), r.size(), MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
        // Gone: closed all the same.
      }
    }
    close_client(fd);
  }
}

}  // namespace fastvs
