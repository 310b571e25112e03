// The Prometheus endpoint (--metrics-listen ADDR:PORT): a small HTTP/1.0-1.1 server on the
// reporter thread's epoll loop (control/report/reporter.h), never on the control thread's. It
// never blocks its loop and no client can hold it or its memory:
// - at most kMaxClients connections at once; beyond, a connection is answered "503 too many
//   clients" and closed at once (not left in the backlog, where it would queue ahead of others);
// - a request head is at most kMaxRequest bytes and must arrive whole within kRequestTimeout of
//   the connection: an absolute deadline, so a client that trickles bytes is closed as one that
//   sends none;
// - at most kMaxReplying bodies are being sent at once (beyond: "503", Retry-After: 1); a body
//   is streamed in pieces of kPiece bytes made as the client reads (chunked for HTTP/1.1, ended
//   by the close for 1.0), so a 100 MB scrape holds 64 KiB of output, not 100 MB; a client that
//   takes none of it for kReplyStall, or has not taken all of it within kReplyTimeout, is
//   closed.
// One request per connection: the reply says "Connection: close".
//
// GET or HEAD /metrics (or its absolute form, http://HOST/metrics): 200 with the body the
// handler makes, text/plain; version=0.0.4. Another path: 404. Another method: 405. Not
// HTTP/1.x: 400. No EAL here: the unit test drives it on a socket of its own.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

namespace fastvs {

// A reply body made piece by piece.
class HttpBody {
 public:
  virtual ~HttpBody() = default;
  // Appends the next bytes to `out` until it holds about `want` (a piece may end a little past
  // it); returns whether more remain.
  virtual bool next(std::string& out, size_t want) = 0;
};

// A body that is one string.
class StringBody final : public HttpBody {
 public:
  explicit StringBody(std::string s) : s_(std::move(s)) {}
  bool next(std::string& out, size_t want) override;

 private:
  std::string s_;
  size_t off_ = 0;
};

// What the server answers to one complete request head (request line and headers up to the
// blank line): the status line and headers (with the whole body of an error), and whether the
// handler's body follows and how it is framed.
struct HttpRoute {
  std::string head;
  bool body = false;     // a 200 to GET: the handler's body follows
  bool chunked = false;  // HTTP/1.1: in chunks; 1.0: ended by the close
};
HttpRoute http_route(std::string_view head);

// A request head arriving in pieces: whole once its blank line has come within the first
// kMaxRequest bytes (what follows is not read), too large when those bytes hold none. Pieces cut
// anywhere give what the whole would (tests/fuzz/fuzz_http.cpp); each byte is looked at once.
class HttpHeadReader {
 public:
  static constexpr size_t kMaxRequest = 8192;
  enum class State { More, Head, TooLarge };
  State feed(const char* data, size_t n);
  State state() const { return state_; }
  // The head, its blank line included (State::Head).
  std::string_view head() const { return std::string_view(in_).substr(0, end_); }
  // Its memory given back.
  void release() { std::string().swap(in_); }

 private:
  std::string in_;
  size_t end_ = 0;
  State state_ = State::More;
};

// --metrics-listen's ADDR:PORT as listen() takes it (numeric, [v6]:port), checked without
// binding: fastvsd refuses a wrong one before the EAL starts.
Status check_metrics_listen(const std::string& listen);

class MetricsHttpServer {
 public:
  static constexpr size_t kMaxRequest = HttpHeadReader::kMaxRequest;
  static constexpr size_t kMaxClients = 1024;
  static constexpr size_t kMaxReplying = 16;
  static constexpr size_t kPiece = 64u << 10;
  static constexpr std::chrono::seconds kRequestTimeout{5};
  static constexpr std::chrono::seconds kReplyStall{5};
  static constexpr std::chrono::seconds kReplyTimeout{60};

  MetricsHttpServer();
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;
  ~MetricsHttpServer();

  // `listen` is "ADDR:PORT" with a numeric address ("127.0.0.1:9469", "0.0.0.0:9469",
  // "[::1]:9469"); port 0 takes a free one (bound() says which). No name lookup: fastvsd must not
  // wait on a resolver.
  Status listen(const std::string& listen, int epoll_fd);
  // The address actually bound, as "ADDR:PORT".
  const std::string& bound() const { return bound_; }

  // Makes the body of a /metrics 200, once per GET.
  using Handler = std::function<std::unique_ptr<HttpBody>()>;
  void set_handler(Handler h) { handler_ = std::move(h); }

  // Dispatches an epoll event if it is one of ours; returns false if not.
  bool on_event(int fd, uint32_t events);
  // Closes clients past their deadline.
  void expire_idle();
  // Tests shorten the deadlines.
  void set_timeouts(std::chrono::milliseconds request, std::chrono::milliseconds stall) {
    request_timeout_ = request;
    reply_stall_ = stall;
  }
  size_t clients() const { return clients_.size(); }
  size_t replying() const { return replying_; }
  // Connections refused since the start, because of kMaxClients or kMaxReplying.
  uint64_t refused() const { return refused_; }

 private:
  using Clock = std::chrono::steady_clock;
  struct Client {
    HttpHeadReader in;
    std::string out;  // bytes made and not yet sent, from `sent` on
    size_t sent = 0;
    bool replying = false;
    bool chunked = false;
    std::unique_ptr<HttpBody> body;  // more to make; null when all is in `out`
    Clock::time_point deadline;      // absolute: the request's, then the reply's
    Clock::time_point stall;         // the reply's: no byte taken since
  };
  void accept_all();
  void refuse(int fd);
  void read_client(int fd, Client& c);
  void start_reply(int fd, Client& c, HttpRoute r);
  // Refills `out` from the body; false when there is nothing left to send.
  bool refill(Client& c);
  void write_client(int fd, Client& c);
  void close_client(int fd);

  int listen_fd_ = -1;
  int epoll_fd_ = -1;
  int spare_fd_ = -1;  // given up to accept-and-refuse a client when descriptors run out
  std::chrono::milliseconds request_timeout_ = kRequestTimeout;
  std::chrono::milliseconds reply_stall_ = kReplyStall;
  std::string bound_;
  Handler handler_;
  std::map<int, Client> clients_;  // by descriptor
  size_t replying_ = 0;            // clients with a body to send
  uint64_t refused_ = 0;
};

}  // namespace fastvs
