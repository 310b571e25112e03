// The state of one running probe, shared by the Prober (probe.cpp) and its checkers
// (tcp_check.cpp, http_get.cpp, misc_check.cpp). Internal to control/health.
#pragma once

#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "control/health/probe.h"

namespace fastvs {

// Identifiers and payloads of the probes (DNS ids, echo ids, UDP_CHECK's own payload): one
// generator for the health thread, seeded once (probe.cpp).
uint32_t probe_random();

// ip:port as a socket address: sockaddr_in, or sockaddr_in6 for IPv6; returns its length.
socklen_t to_sockaddr(const IpAddr& ip, uint16_t port, sockaddr_storage& out);

struct Prober::Probe {
  enum class Stage { Connecting, Handshake, Sending, Receiving, Program, Datagram, Echo, Query };
  CheckSpec spec;
  IpAddr ip;
  uint16_t port = 0;
  Done done;
  Stage stage = Stage::Connecting;
  int fd = -1;
  pid_t pid = -1;
  double deadline = 0;
  size_t url = 0;                      // HTTP_GET: the url being fetched
  uint16_t ping_id = 0, ping_seq = 0;  // PING_CHECK: the echo request's; DNS_CHECK: the id
  std::unique_ptr<Tls, TlsFree> tls;   // SSL_GET: the connection's TLS (ssl_get.cpp)
  std::string out;
  size_t sent = 0;
  std::string in;
  ~Probe() {
    if (fd >= 0) close(fd);
  }
};

}  // namespace fastvs
