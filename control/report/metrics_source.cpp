// The Director's numbers for monitoring: one MetricsSnapshot, built on the control thread, that
// the Prometheus endpoint formats at each scrape and DPDK telemetry reads from its own threads.
#include "control/director.h"
#include "control/report/telemetry.h"

namespace fastvs {

MetricsSnapshot Director::metrics_snapshot() const {
  MetricsSnapshot m;
  m.services = stats_.status(effective_, changes_.current(), /*since_zero=*/false);
  m.health = health_.servers();
  for (size_t i = 0; i < workers_.size(); ++i) {
    const Worker& w = *workers_[i];
    const WorkerCounters& c = w.ctr;
    WorkerStatus s;
    s.id = w.id;
    s.lcore = worker_lcores_[i];
    s.counters = c.values();
    s.conns = w.conns.size();
    s.conn_capacity = w.conns.capacity();
    for (unsigned d = 0; d < kDropCount; ++d)
      s.drops.emplace_back(drop_name(static_cast<Drop>(d)), c.drops[d].get());
    m.workers.push_back(std::move(s));
  }
  return m;
}

void Director::publish_telemetry() {
  telemetry_publish(std::make_shared<const MetricsSnapshot>(metrics_snapshot()));
  telemetry_seq_ = changes_.current().seq;
}

}  // namespace fastvs
