// Prometheus text exposition format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/): one "# HELP" and one "# TYPE"
// line per family, then every sample of that family; label values escape \ " and newline.
#include "control/report/metrics.h"

#include <cctype>

#include <fmt/core.h>

namespace fastvs {

namespace {

// A HELP text escapes \ and newline (not quotes).
std::string escape_help(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

class Exposition {
 public:
  void family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, escape_help(help), name, type);
  }
  template <typename V>
  void sample(std::string_view name, std::string_view labels, V value) {
    out_ += fmt::format("{}{{{}}} {}\n", name, labels, value);
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

std::string label(std::string_view name, std::string_view value) {
  return fmt::format("{}=\"{}\"", name, prometheus_escape_label(value));
}

std::string service_labels(const ServiceKey& k) {
  return label("proto", proto_name(k.proto)) + "," + label("vip", format_ip4(k.vip)) + "," +
         label("vport", std::to_string(k.vport));
}

std::string dest_labels(const ServiceKey& k, const DestConfig& d) {
  return service_labels(k) + "," + label("rip", format_ip4(d.rip)) + "," +
         label("rport", std::to_string(d.rport));
}

// The counters ipvsadm --stats shows, for services and destinations alike. Bytes are IP bytes
// (headers included, Ethernet not), as IPVS counts skb->len.
struct CounterFamily {
  const char* suffix;
  const char* service_help;
  const char* dest_help;
  uint64_t IpvsCounters::*field;
};
constexpr CounterFamily kCounterFamilies[] = {
    {"connections_total", "Connections scheduled to the service's destinations",
     "Connections scheduled to the destination", &IpvsCounters::conns},
    {"in_packets_total", "Packets from clients forwarded by the service",
     "Packets from clients forwarded to the destination", &IpvsCounters::inpkts},
    {"out_packets_total", "Replies forwarded back to clients by the service (NAT only)",
     "Replies from the destination forwarded back to clients (NAT only)", &IpvsCounters::outpkts},
    {"in_bytes_total", "IP bytes from clients forwarded by the service",
     "IP bytes from clients forwarded to the destination", &IpvsCounters::inbytes},
    {"out_bytes_total", "IP bytes of replies forwarded back to clients by the service (NAT only)",
     "IP bytes of replies from the destination forwarded back to clients (NAT only)",
     &IpvsCounters::outbytes},
};

struct DestGauge {
  const char* name;
  const char* help;
  int32_t (*get)(const DestStatus&);
};
constexpr DestGauge kDestGauges[] = {
    {"fastvs_destination_active_connections",
     "Connections in an active TCP state (ipvsadm ActiveConn)",
     [](const DestStatus& d) { return d.activeconns; }},
    {"fastvs_destination_inactive_connections",
     "Connections in any other state, UDP included (ipvsadm InActConn)",
     [](const DestStatus& d) { return d.inactconns; }},
    {"fastvs_destination_persistent_connections",
     "Persistence templates pointing to the destination (ipvsadm PersistConn)",
     [](const DestStatus& d) { return d.persistconns; }},
    {"fastvs_destination_weight", "Scheduling weight (0: quiesced, no new connections)",
     [](const DestStatus& d) { return d.cfg.weight; }},
};

// The workers' gauges; their counters come from dataplane/counters.h's list.
struct WorkerGauge {
  const char* name;
  const char* help;
  uint64_t WorkerStatus::*field;
};
constexpr WorkerGauge kWorkerGauges[] = {
    {"fastvs_worker_conn_table_entries", "Connections in the worker's table", &WorkerStatus::conns},
    {"fastvs_worker_conn_table_capacity",
     "Connections the worker's table holds (--conn-capacity); when full new flows are dropped",
     &WorkerStatus::conn_capacity},
};

}  // namespace

std::string prometheus_escape_label(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string format_prometheus(const MetricsSnapshot& m) {
  Exposition e;
  std::vector<std::string> svc_labels, dst_labels;
  for (const ServiceStatus& s : m.services) {
    svc_labels.push_back(service_labels(s.cfg.key));
    for (const DestStatus& d : s.dests) dst_labels.push_back(dest_labels(s.cfg.key, d.cfg));
  }

  e.family("fastvs_service_info", "gauge", "A virtual service and its scheduler; always 1");
  for (size_t i = 0; i < m.services.size(); ++i)
    e.sample("fastvs_service_info",
             svc_labels[i] + "," + label("scheduler", m.services[i].cfg.scheduler), 1);
  for (const CounterFamily& f : kCounterFamilies) {
    const std::string name = fmt::format("fastvs_service_{}", f.suffix);
    e.family(name, "counter", f.service_help);
    for (size_t i = 0; i < m.services.size(); ++i)
      e.sample(name, svc_labels[i], m.services[i].*f.field);
  }

  e.family("fastvs_destination_info", "gauge",
           "A destination (real server) of a service and its forwarding method; always 1");
  size_t k = 0;
  for (const ServiceStatus& s : m.services)
    for (const DestStatus& d : s.dests)
      e.sample("fastvs_destination_info",
               dst_labels[k++] + "," + label("forward", method_name(d.cfg.method)), 1);
  for (const CounterFamily& f : kCounterFamilies) {
    const std::string name = fmt::format("fastvs_destination_{}", f.suffix);
    e.family(name, "counter", f.dest_help);
    k = 0;
    for (const ServiceStatus& s : m.services)
      for (const DestStatus& d : s.dests) e.sample(name, dst_labels[k++], d.*f.field);
  }
  for (const DestGauge& g : kDestGauges) {
    e.family(g.name, "gauge", g.help);
    k = 0;
    for (const ServiceStatus& s : m.services)
      for (const DestStatus& d : s.dests) e.sample(g.name, dst_labels[k++], g.get(d));
  }

  if (!m.health.empty()) {
    e.family("fastvs_real_server_up", "gauge",
             "A checked real server passes all its health checks (1) or not (0)");
    for (const RealServerHealth& h : m.health)
      e.sample("fastvs_real_server_up", dest_labels(h.service, h.server), h.up ? 1 : 0);
  }

  std::vector<std::string> w_labels;
  for (const WorkerStatus& w : m.workers) w_labels.push_back(label("worker", std::to_string(w.id)));
  for (unsigned c = 0; c < kCounterCount; ++c) {
    const std::string name = std::string("fastvs_worker_") + kCounters[c].metric + "_total";
    e.family(name, "counter", kCounters[c].help);
    for (size_t i = 0; i < m.workers.size(); ++i)
      e.sample(name, w_labels[i], m.workers[i].counters[c]);
  }
  for (const WorkerGauge& g : kWorkerGauges) {
    e.family(g.name, "gauge", g.help);
    for (size_t i = 0; i < m.workers.size(); ++i)
      e.sample(g.name, w_labels[i], m.workers[i].*g.field);
  }
  e.family("fastvs_worker_drops_total", "counter",
           "Packets dropped, by reason (see dataplane/counters.h)");
  for (size_t i = 0; i < m.workers.size(); ++i)
    for (const auto& [reason, n] : m.workers[i].drops)
      e.sample("fastvs_worker_drops_total", w_labels[i] + "," + label("reason", reason), n);
  return e.take();
}

}  // namespace fastvs
