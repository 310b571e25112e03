// The Prometheus endpoint's HTTP server (control/report/metrics_http.h) on a real TCP socket on
// the loopback, driven by an epoll loop in the test as the reporter thread drives it: replies by
// path and method, chunked and close-delimited bodies made piece by piece, partial and oversized
// requests, a client that does not read, trickling and idle clients, the caps on clients and on
// replies. The loop must never block: every pump() returns within its budget.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "control/report/metrics_http.h"

namespace fastvs {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

class HttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    ASSERT_GE(ep_, 0);
    const Status st = srv_.listen("127.0.0.1:0", ep_);
    ASSERT_TRUE(st.ok()) << st.error();
    const size_t colon = srv_.bound().rfind(':');
    ASSERT_EQ(srv_.bound().substr(0, colon), "127.0.0.1");
    port_ = static_cast<uint16_t>(std::stoi(srv_.bound().substr(colon + 1)));
    ASSERT_NE(port_, 0);
    srv_.set_handler([this]() -> std::unique_ptr<HttpBody> {
      ++scrapes_;
      return std::make_unique<StringBody>(body_);
    });
  }
  void TearDown() override {
    for (int fd : open_) close(fd);
    close(ep_);
  }

  // One turn of the control loop: wait at most 10 ms for events and dispatch them.
  void pump() {
    epoll_event ev[16];
    const auto t0 = Clock::now();
    const int n = epoll_wait(ep_, ev, 16, 10);
    for (int i = 0; i < n; ++i) EXPECT_TRUE(srv_.on_event(ev[i].data.fd, ev[i].events));
    srv_.expire_idle();
    // A server that blocks on a client waits for this very thread, i.e. forever: 5 s catches
    // that, and is not a speed bound a loaded machine (2 CPUs, other builds) can trip.
    EXPECT_LT(Clock::now() - t0, 5s) << "the loop blocked";
  }

  int connect_client() {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port_);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    open_.push_back(fd);
    return fd;
  }

  void send_all(int fd, const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
      const ssize_t n = send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      if (n > 0)
        off += static_cast<size_t>(n);
      else
        pump();
    }
  }

  // Pumps the loop until the server closes the connection; returns all the client read.
  std::string read_to_eof(int fd, std::chrono::milliseconds limit = 5000ms) {
    std::string got;
    const auto deadline = Clock::now() + limit;
    char buf[65536];
    while (Clock::now() < deadline) {
      const ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n > 0) {
        got.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n == 0) return got;
      if (errno != EAGAIN) return got + "<error>";
      pump();
    }
    ADD_FAILURE() << "no EOF within the limit; got " << got.size() << " bytes";
    return got;
  }

  std::string exchange(const std::string& request) {
    const int fd = connect_client();
    send_all(fd, request);
    return read_to_eof(fd);
  }

  static std::string fmt_hex(size_t n) {
    char buf[32];
    snprintf(buf, sizeof buf, "%zx", n);
    return buf;
  }
  static std::string status_line(const std::string& r) { return r.substr(0, r.find("\r\n")); }
  static std::string body_of(const std::string& r) { return r.substr(r.find("\r\n\r\n") + 4); }
  // A chunked body decoded; "<bad chunking>" if it is not one whole, ended, chunked body.
  static std::string dechunk(const std::string& b) {
    std::string out;
    size_t at = 0;
    while (true) {
      const size_t eol = b.find("\r\n", at);
      if (eol == std::string::npos) return "<bad chunking>";
      const size_t n = std::stoul(b.substr(at, eol - at), nullptr, 16);
      if (n == 0) return b.substr(eol) == "\r\n\r\n" ? out : "<bad chunking>";
      if (b.size() < eol + 2 + n + 2 || b.compare(eol + 2 + n, 2, "\r\n") != 0)
        return "<bad chunking>";
      out += b.substr(eol + 2, n);
      at = eol + 2 + n + 2;
    }
  }

  int ep_ = -1;
  uint16_t port_ = 0;
  MetricsHttpServer srv_;
  std::string body_ = "# HELP x y\n# TYPE x counter\nx 1\n";
  int scrapes_ = 0;
  std::vector<int> open_;
};

TEST_F(HttpTest, GetMetrics) {
  const std::string r = exchange("GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n");
  EXPECT_EQ(r,
            "HTTP/1.1 200 OK\r\n"
            "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
            "Transfer-Encoding: chunked\r\n"
            "Connection: close\r\n\r\n"
            "20\r\n" +
                body_ + "\r\n0\r\n\r\n");
  EXPECT_EQ(scrapes_, 1);
  EXPECT_EQ(srv_.clients(), 0u);
  EXPECT_EQ(srv_.replying(), 0u);
}

TEST_F(HttpTest, Http10GetsTheBodyUntilTheClose) {
  const std::string r = exchange("GET /metrics HTTP/1.0\r\n\r\n");
  EXPECT_EQ(r,
            "HTTP/1.1 200 OK\r\n"
            "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
            "Connection: close\r\n\r\n" +
                body_);
}

TEST_F(HttpTest, ABigBodyIsMadeAsItIsSent) {
  // 3 MB in pieces of kPiece: each piece a chunk, all of them in order.
  body_.clear();
  for (int i = 0; body_.size() < (3u << 20); ++i) body_ += "line " + std::to_string(i) + "\n";
  const std::string r = exchange("GET /metrics HTTP/1.1\r\n\r\n");
  const std::string b = body_of(r);
  EXPECT_EQ(b.substr(0, b.find("\r\n")), fmt_hex(MetricsHttpServer::kPiece));
  EXPECT_EQ(dechunk(b), body_);
}

TEST_F(HttpTest, AbsoluteFormIsTheSamePath) {
  EXPECT_EQ(status_line(exchange("GET http://director:9469/metrics HTTP/1.1\r\n\r\n")),
            "HTTP/1.1 200 OK");
  EXPECT_EQ(status_line(exchange("GET HTTP://director/metrics?x=1 HTTP/1.0\r\n\r\n")),
            "HTTP/1.1 200 OK");
  EXPECT_EQ(status_line(exchange("GET http://director HTTP/1.1\r\n\r\n")),
            "HTTP/1.1 404 Not Found");
  EXPECT_EQ(status_line(exchange("GET http://director/other HTTP/1.1\r\n\r\n")),
            "HTTP/1.1 404 Not Found");
}

TEST_F(HttpTest, PathsMethodsAndVersions) {
  EXPECT_EQ(status_line(exchange("GET /metrics?name[]=x HTTP/1.0\r\n\r\n")), "HTTP/1.1 200 OK");
  EXPECT_EQ(status_line(exchange("GET /metrics HTTP/1.0\n\n")), "HTTP/1.1 200 OK");
  EXPECT_EQ(status_line(exchange("GET / HTTP/1.1\r\n\r\n")), "HTTP/1.1 404 Not Found");
  EXPECT_EQ(status_line(exchange("GET /metricsx HTTP/1.1\r\n\r\n")), "HTTP/1.1 404 Not Found");
  const std::string post = exchange("POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(status_line(post), "HTTP/1.1 405 Method Not Allowed");
  EXPECT_NE(post.find("\r\nAllow: GET, HEAD\r\n"), std::string::npos) << post;
  EXPECT_EQ(status_line(exchange("DELETE /x HTTP/1.1\r\n\r\n")), "HTTP/1.1 405 Method Not Allowed");
  EXPECT_EQ(status_line(exchange("GET /metrics HTTP/2.0\r\n\r\n")), "HTTP/1.1 400 Bad Request");
  EXPECT_EQ(status_line(exchange("GET /metrics\r\n\r\n")), "HTTP/1.1 400 Bad Request");
  EXPECT_EQ(status_line(exchange("\x16\x03\x01 garbage\r\n\r\n")), "HTTP/1.1 400 Bad Request");
  EXPECT_EQ(scrapes_, 2);  // only the 200s built the text
}

TEST_F(HttpTest, HeadHasTheHeadersButNoBody) {
  const std::string r = exchange("HEAD /metrics HTTP/1.1\r\n\r\n");
  EXPECT_EQ(status_line(r), "HTTP/1.1 200 OK");
  EXPECT_NE(r.find("Content-Type: text/plain; version=0.0.4"), std::string::npos);
  EXPECT_EQ(body_of(r), "");
  EXPECT_EQ(scrapes_, 0);  // nothing made
}

TEST_F(HttpTest, RequestInPieces) {
  const int fd = connect_client();
  for (const char* piece : {"GE", "T /met", "rics HTTP/1.1\r\nHost: a\r", "\n", "\r\n"}) {
    send_all(fd, piece);
    for (int i = 0; i < 3; ++i) pump();
  }
  const std::string r = read_to_eof(fd);
  EXPECT_EQ(status_line(r), "HTTP/1.1 200 OK");
  EXPECT_EQ(dechunk(body_of(r)), body_);
}

TEST_F(HttpTest, OversizedRequestIsRefused) {
  const std::string r = exchange("GET /metrics HTTP/1.1\r\nX-Pad: " +
                                 std::string(MetricsHttpServer::kMaxRequest, 'a'));
  EXPECT_EQ(status_line(r), "HTTP/1.1 431 Request Header Fields Too Large");
  EXPECT_EQ(scrapes_, 0);
  EXPECT_EQ(srv_.clients(), 0u);
}

TEST_F(HttpTest, SlowReaderDoesNotBlockTheLoop) {
  body_ = std::string(8u << 20, 'x');  // far more than the socket buffers hold
  const int fd = connect_client();
  send_all(fd, "GET /metrics HTTP/1.1\r\n\r\n");
  for (int i = 0; i < 20; ++i) pump();  // the client reads nothing meanwhile
  EXPECT_EQ(srv_.clients(), 1u);
  // Another scrape is served while the first waits for its reader.
  EXPECT_EQ(status_line(exchange("GET /nothing HTTP/1.1\r\n\r\n")), "HTTP/1.1 404 Not Found");
  const std::string r = read_to_eof(fd, 20000ms);
  EXPECT_EQ(dechunk(body_of(r)).size(), body_.size());
}

TEST_F(HttpTest, ATricklingClientIsClosedAtItsDeadline) {
  // A byte every 20 ms, never a whole head: the deadline is the connection's, not the last
  // byte's, so the server closes it (a deadline refreshed per byte would never).
  srv_.set_timeouts(300ms, 300ms);
  const int fd = connect_client();
  const auto give_up = Clock::now() + 10s;
  bool closed = false;
  while (!closed && Clock::now() < give_up) {
    closed = send(fd, "G", 1, MSG_NOSIGNAL) < 0;
    for (int i = 0; i < 2 && !closed; ++i) {
      pump();
      char c;
      closed = recv(fd, &c, 1, MSG_PEEK) == 0;
    }
  }
  EXPECT_TRUE(closed);
  EXPECT_EQ(srv_.clients(), 0u);
}

TEST_F(HttpTest, ClientsBeyondTheCapAreRefusedAtOnce) {
  srv_.set_timeouts(500ms, 500ms);
  std::vector<int> idle;
  // Accepted as they come: the listen backlog is shorter than the cap.
  for (size_t i = 0; i < MetricsHttpServer::kMaxClients; ++i) {
    idle.push_back(connect_client());
    pump();
  }
  const auto give_up = Clock::now() + 10s;
  while (srv_.clients() < MetricsHttpServer::kMaxClients && Clock::now() < give_up) pump();
  ASSERT_EQ(srv_.clients(), MetricsHttpServer::kMaxClients);
  // One more: told at once, not left in the backlog behind the idle ones.
  const std::string r = read_to_eof(connect_client(), 2000ms);
  EXPECT_EQ(status_line(r), "HTTP/1.1 503 Service Unavailable");
  EXPECT_NE(r.find("Retry-After: 1\r\n"), std::string::npos);
  EXPECT_EQ(srv_.refused(), 1u);
  EXPECT_EQ(srv_.clients(), MetricsHttpServer::kMaxClients);
  // Past their deadline the idle ones are told (408) and closed, and the server answers again.
  for (int fd : idle) EXPECT_EQ(status_line(read_to_eof(fd)), "HTTP/1.1 408 Request Timeout");
  EXPECT_EQ(srv_.clients(), 0u);
  EXPECT_EQ(status_line(exchange("GET /metrics HTTP/1.1\r\n\r\n")), "HTTP/1.1 200 OK");
}

TEST_F(HttpTest, RepliesBeyondTheCapAreRefusedAndStalledOnesClosed) {
  srv_.set_timeouts(5000ms, 500ms);
  body_ = std::string(8u << 20, 'x');  // far more than the socket buffers hold
  std::vector<int> stuck;
  for (size_t i = 0; i < MetricsHttpServer::kMaxReplying; ++i) {
    stuck.push_back(connect_client());
    send_all(stuck.back(), "GET /metrics HTTP/1.1\r\n\r\n");
  }
  const auto started = Clock::now() + 10s;
  while (srv_.replying() < MetricsHttpServer::kMaxReplying && Clock::now() < started) pump();
  ASSERT_EQ(srv_.replying(), MetricsHttpServer::kMaxReplying);
  EXPECT_EQ(scrapes_, static_cast<int>(MetricsHttpServer::kMaxReplying));
  // A scrape beyond them: refused, nothing made; other paths still answered.
  const std::string r = exchange("GET /metrics HTTP/1.1\r\n\r\n");
  EXPECT_EQ(status_line(r), "HTTP/1.1 503 Service Unavailable");
  EXPECT_EQ(scrapes_, static_cast<int>(MetricsHttpServer::kMaxReplying));
  EXPECT_EQ(status_line(exchange("GET / HTTP/1.1\r\n\r\n")), "HTTP/1.1 404 Not Found");
  // Readers that take nothing for the stall time are closed, each holding at most a piece.
  const auto give_up = Clock::now() + 10s;
  while (srv_.replying() > 0 && Clock::now() < give_up) pump();
  EXPECT_EQ(srv_.replying(), 0u);
  EXPECT_EQ(srv_.clients(), 0u);
  EXPECT_EQ(dechunk(body_of(exchange("GET /metrics HTTP/1.1\r\n\r\n"))).size(), body_.size());
}

TEST(HttpHeadReader, PiecesOfAnySizeFindTheSameHead) {
  const std::string req = "GET /metrics HTTP/1.1\r\nHost: a\r\n\r\nbody that is not read";
  const size_t end = req.find("\r\n\r\n") + 4;
  for (size_t piece = 1; piece <= req.size(); ++piece) {
    HttpHeadReader r;
    for (size_t off = 0; off < req.size() && r.state() == HttpHeadReader::State::More; off += piece)
      r.feed(req.data() + off, std::min(piece, req.size() - off));
    ASSERT_EQ(r.state(), HttpHeadReader::State::Head) << piece;
    EXPECT_EQ(r.head(), req.substr(0, end)) << piece;
  }
  HttpHeadReader lf;
  lf.feed("GET /metrics HTTP/1.0\n\n", 24);
  EXPECT_EQ(lf.head(), "GET /metrics HTTP/1.0\n\n");
}

TEST(HttpHeadReader, TheHeadMustEndWithinTheLimit) {
  // Its blank line at byte kMaxRequest: too late, however the bytes arrive.
  const std::string pad(HttpHeadReader::kMaxRequest - 4, 'a');
  const std::string late = "GET /metrics HTTP/1.1\r\nX: " + pad + "\r\n\r\n";
  for (const size_t piece : {size_t{1}, size_t{4096}, late.size()}) {
    HttpHeadReader r;
    for (size_t off = 0; off < late.size() && r.state() == HttpHeadReader::State::More;
         off += piece)
      r.feed(late.data() + off, std::min(piece, late.size() - off));
    EXPECT_EQ(r.state(), HttpHeadReader::State::TooLarge) << piece;
  }
}

TEST(HttpListen, BadAddressesAreRefusedWithoutALookup) {
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  for (const char* bad : {"9469", "localhost:9469", "127.0.0.1:", ":9469", "127.0.0.1:http",
                          "127.0.0.1:70000", "[::1:9469"}) {
    MetricsHttpServer s;
    const Status st = s.listen(bad, ep);
    EXPECT_FALSE(st.ok()) << bad;
    EXPECT_NE(st.error().find("--metrics-listen"), std::string::npos) << st.error();
  }
  // Taken: a second server on the first one's port.
  MetricsHttpServer a, b;
  const Status st = a.listen("127.0.0.1:0", ep);
  ASSERT_TRUE(st.ok()) << st.error();
  const std::string taken = a.bound();
  const Status again = b.listen(taken, ep);
  EXPECT_FALSE(again.ok());
  EXPECT_NE(again.error().find("in use"), std::string::npos) << again.error();
  close(ep);
}

}  // namespace
}  // namespace fastvs
