// Health probes on the wire and programs, run without blocking by the health thread
// (control/health/runner.h): TCP_CHECK (a connect), HTTP_GET (a GET of each url, status code and
// optional MD5 of the body), SSL_GET (the same over TLS), UDP_CHECK (a datagram, ICMP errors and
// replies), PING_CHECK (an echo request), MISC_CHECK (a program, its exit status; each run
// contained by a reaper of its own, see misc_check.cpp). One epoll set; timeouts and child
// processes are checked on every poll. The probes go out through the host's stack: with fastvsd's
// kernel path, through the director's own ports.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "control/health/state.h"

namespace fastvs {

// fastvsd's --misc-check-output: the most a MISC_CHECK run's output excerpt may be.
inline constexpr size_t kMaxMiscOutput = 4096;

class Prober {
 public:
  using Done = std::function<void(const CheckResult&)>;

  // misc_output: bytes of a MISC_CHECK program's output (stdout and stderr) kept for
  // CheckResult::output, at most kMaxMiscOutput; 0: its output goes to /dev/null.
  explicit Prober(size_t misc_output = 0);
  ~Prober();
  Prober(const Prober&) = delete;
  Prober& operator=(const Prober&) = delete;

  // Starts the check `spec` describes against ip:port (the real server; connect_ip/connect_port
  // override). `done` runs from poll() when it ends, exactly once.
  void start(const CheckSpec& spec, const IpAddr& ip, uint16_t port, Done done);

  // Waits up to timeout_ms for progress, then finishes what ended or timed out.
  void poll(int timeout_ms);
  size_t running() const { return probes_.size(); }
  // Stops everything (each MISC_CHECK run is killed with everything it started, and reaped
  // within a second or two); no `done` runs.
  void cancel_all();
  int epoll_fd() const { return epoll_fd_; }

 private:
  struct Probe;  // probe_impl.h
  // Progress on a probe's socket.
  void step(Probe& p);
  // Ends a probe: its `done` runs, it is gone.
  void finish(Probe& p, const CheckResult& r);

  // A probe's socket (tcp_check.cpp): of its address's family and `type`, bound to bindto and
  // bind_port when given.
  Status open_socket(Probe& p, int type, int protocol = 0);
  // TCP_CHECK, and each url of an HTTP_GET (tcp_check.cpp): connect without blocking; whether
  // the connection completed (else the probe is finished as failed).
  Status start_connect(Probe& p);
  bool connected(Probe& p);
  // HTTP_GET once connected (http_get.cpp): send the request, read and judge the response
  // (judge_http: why the response to the current url fails, if it does).
  void step_http(Probe& p);
  std::optional<std::string> judge_http(const Probe& p);
  static std::string http_request(const Probe& p);
  // SSL_GET (ssl_get.cpp): HTTP_GET's exchange over TLS.
  struct Tls;
  struct TlsFree {
    void operator()(Tls* t) const;
  };
  Status start_tls(Probe& p);
  bool tls_wait(Probe& p, int ret);
  void step_ssl(Probe& p);
  // UDP_CHECK (udp_check.cpp): send the datagram; judge what comes back; what silence means.
  Status start_udp(Probe& p);
  void step_udp(Probe& p);
  static CheckResult udp_silence(const Probe& p);
  // SMTP_CHECK once connected (smtp_check.cpp): the greeting, HELO and QUIT.
  void step_smtp(Probe& p);
  // DNS_CHECK (dns_check.cpp): send the query; judge the answer.
  Status start_dns(Probe& p);
  void step_dns(Probe& p);
  // PING_CHECK (ping_check.cpp): send the echo request; wait for its reply.
  Status start_ping(Probe& p);
  void step_ping(Probe& p);
  // MISC_CHECK (misc_check.cpp): start the program under its reaper; read the reaper's report
  // as it comes; the result once the reaper reported and exited (or is stuck past the timeout).
  Status start_misc(Probe& p);
  void read_misc(Probe& p);
  std::optional<CheckResult> poll_misc(Probe& p, double now);
  // How long past misc_timeout a reaper may take to kill and reap a run before it is killed.
  static constexpr double kReaperGrace = 5;
  // Reapers killed that had not ended: reaped (WNOHANG) by later polls.
  void reap_orphans();

  int epoll_fd_ = -1;
  size_t misc_output_ = 0;
  std::vector<std::unique_ptr<Probe>> probes_;
  std::vector<pid_t> orphans_;
};

// CLOCK_MONOTONIC in seconds: the health checks' clock.
double monotonic_seconds();

// RFC 1321 MD5 of `data` as 32 lowercase hex digits (keepalived's genhash digest).
std::string md5_hex(const std::string& data);

}  // namespace fastvs
