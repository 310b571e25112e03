// The director's numbers for monitoring, and their Prometheus text exposition (format 0.0.4), as
// pure code: no I/O, so the exact text is unit-tested. The control thread fills a MetricsSnapshot
// (control/metrics_source.cpp); the HTTP endpoint (control/metrics_http.h) serves
// format_prometheus() of it, and DPDK telemetry (control/telemetry.h) reads a published copy.
//
// Labels: a service is proto="TCP"|"UDP", vip="10.0.0.1", vport="80" (separate labels, so PromQL
// selects by address or by port without parsing); a destination adds rip and rport. The counters
// are the raw sums since the destination was created: `fastvsadm -Z` does not reset them
// (Prometheus computes rates and handles resets itself; ipvsadm's "since -Z" numbers would look
// like counter resets).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "control/report/ipvsadm_print.h"
#include "dataplane/counters.h"
#include "common/model.h"

namespace fastvs {

// One worker core's counters as control reads them.
struct WorkerStatus {
  unsigned id = 0;
  unsigned lcore = 0;
  // Every counter of dataplane/counters.h's list, in its order.
  std::array<uint64_t, kCounterCount> counters{};
  uint64_t& operator[](Ctr c) { return counters[static_cast<size_t>(c)]; }
  uint64_t operator[](Ctr c) const { return counters[static_cast<size_t>(c)]; }
  uint64_t conns = 0;  // connection table entries in use
  uint64_t conn_capacity = 0;
  // Every drop reason by name (dataplane/counters.h), zeros included: a series that appears
  // only once it is non-zero breaks rate() at its first increment.
  std::vector<std::pair<std::string, uint64_t>> drops;
};

// A checked real server's health (fastvsadm --check, keepalived.conf): up when all its checkers
// pass. A down one is out of its service's table (or at weight 0 with inhibit_on_failure), so
// this is where monitoring sees it.
struct RealServerHealth {
  ServiceKey service;
  DestConfig server;  // rip, rport
  bool up = true;
};

struct MetricsSnapshot {
  // IpvsCounters hold the raw sums (not since -Z); the rates are not used.
  std::vector<ServiceStatus> services;
  std::vector<WorkerStatus> workers;
  std::vector<RealServerHealth> health;
};

// The /metrics body written piece by piece, so that a scrape of a large table is streamed from a
// bounded buffer (at 80,000 destinations the body is ~100 MB): next() appends samples to `out`
// until it holds at least `want` bytes or the text is done. HELP and TYPE once per family, then
// its samples, services in the given order. `m` must outlive the writer.
class PrometheusWriter {
 public:
  explicit PrometheusWriter(const MetricsSnapshot& m);
  void next(std::string& out, size_t want);
  bool done() const { return family_ == families_.size(); }

 private:
  enum class Kind : uint8_t;
  struct Family {
    Kind kind;
    uint16_t index;  // within its kind's table
  };
  void header(std::string& out, const Family& f);
  // Writes f's samples from the cursor on; true when all are written.
  bool rows(std::string& out, size_t want, const Family& f);

  const MetricsSnapshot& m_;
  std::vector<Family> families_;
  size_t family_ = 0;
  bool started_ = false;  // the family's HELP and TYPE are written
  size_t row_ = 0;        // service, health entry or worker
  size_t sub_ = 0;        // destination of the service, drop reason of the worker
  std::string name_;      // the family's metric name
};

// The whole /metrics body at once.
std::string format_prometheus(const MetricsSnapshot& m);

// A label value as the exposition format writes it between quotes: \ " and newline escaped.
std::string prometheus_escape_label(std::string_view v);

}  // namespace fastvs
