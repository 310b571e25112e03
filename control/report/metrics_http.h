// The Prometheus endpoint (--metrics-listen ADDR:PORT): a small HTTP/1.0-1.1 server on the
// control thread's epoll loop, beside the fastvsadm socket. It never blocks the loop: the
// listening and client sockets are non-blocking, a request is at most kMaxRequest bytes of
// head, at most kMaxClients are served at once (accepting pauses until one leaves, as the CLI
// socket does), and a client that has not sent its request or read its reply within
// kClientTimeout is closed. One request per connection: the reply says "Connection: close".
//
// GET or HEAD /metrics: 200 with the handler's text as text/plain; version=0.0.4. Another path:
// 404. Another method: 405. Not HTTP/1.x: 400. No EAL here: the unit test drives it on a
// socket of its own.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "common/result.h"

namespace fastvs {

// The reply to one complete request head (request line and headers up to the blank line).
// `body` is called only for a 200.
std::string http_reply_to(std::string_view head, const std::function<std::string()>& body);

class MetricsHttpServer {
 public:
  static constexpr size_t kMaxRequest = 8192;
  static constexpr size_t kMaxClients = 16;
  static constexpr std::chrono::seconds kClientTimeout{5};

  MetricsHttpServer() = default;
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;
  ~MetricsHttpServer();

  // `listen` is "ADDR:PORT" with a numeric address ("127.0.0.1:9469", "0.0.0.0:9469",
  // "[::1]:9469"); port 0 takes a free one (bound() says which). No name lookup: the control
  // thread must not wait on a resolver.
  Status listen(const std::string& listen, int epoll_fd);
  // The address actually bound, as "ADDR:PORT".
  const std::string& bound() const { return bound_; }

  // Produces the /metrics text; called on the control thread for each scrape.
  void set_handler(std::function<std::string()> h) { handler_ = std::move(h); }

  // Dispatches an epoll event if it is one of ours; returns false if not.
  bool on_event(int fd, uint32_t events);
  // Closes clients past their deadline.
  void expire_idle();
  void set_client_timeout(std::chrono::milliseconds t) { timeout_ = t; }
  size_t clients() const { return clients_.size(); }

 private:
  struct Client {
    std::string in;
    std::string out;
    size_t sent = 0;
    bool replying = false;
    std::chrono::steady_clock::time_point deadline;
  };
  void accept_all();
  void set_accepting(bool on);
  void read_client(int fd, Client& c);
  void start_reply(int fd, Client& c, std::string reply);
  void write_client(int fd, Client& c);
  void close_client(int fd);

  int listen_fd_ = -1;
  int epoll_fd_ = -1;
  bool accepting_ = true;
  std::chrono::milliseconds timeout_ = kClientTimeout;
  std::string bound_;
  std::function<std::string()> handler_;
  std::map<int, Client> clients_;  // by descriptor
};

}  // namespace fastvs
