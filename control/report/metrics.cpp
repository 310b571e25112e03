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

void label(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += "=\"";
  out += prometheus_escape_label(value);
  out += '"';
}

void service_labels(std::string& out, const ServiceKey& k) {
  // A firewall-mark service: proto "FWM", its family's zero address, port 0, and its mark.
  if (k.is_fwmark()) {
    label(out, "proto", "FWM");
    out += ',';
    label(out, "fwmark", std::to_string(k.fwmark));
    out += ',';
    label(out, "vip", format_ip(k.vip));
    out += ',';
    label(out, "vport", "0");
    return;
  }
  label(out, "proto", proto_name(k.proto));
  out += ',';
  label(out, "vip", format_ip(k.vip));
  out += ',';
  label(out, "vport", std::to_string(k.vport));
}

void dest_labels(std::string& out, const ServiceKey& k, const DestConfig& d) {
  service_labels(out, k);
  out += ',';
  label(out, "rip", format_ip(d.rip));
  out += ',';
  label(out, "rport", std::to_string(d.rport));
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

// The families in the order they are written; each writes its HELP and TYPE, then one
// sample per row.
enum class PrometheusWriter::Kind : uint8_t {
  ServiceInfo,
  ServiceCounter,  // kCounterFamilies[index]
  DestInfo,
  DestCounter,  // kCounterFamilies[index]
  DestGauge,    // kDestGauges[index]
  Health,
  WorkerCounter,  // kCounters[index]
  WorkerGauge,    // kWorkerGauges[index]
  WorkerDrops,
};

PrometheusWriter::PrometheusWriter(const MetricsSnapshot& m) : m_(m) {
  auto add = [this](Kind k, size_t n) {
    for (size_t i = 0; i < n; ++i) families_.push_back({k, static_cast<uint16_t>(i)});
  };
  add(Kind::ServiceInfo, 1);
  add(Kind::ServiceCounter, std::size(kCounterFamilies));
  add(Kind::DestInfo, 1);
  add(Kind::DestCounter, std::size(kCounterFamilies));
  add(Kind::DestGauge, std::size(kDestGauges));
  if (!m.health.empty()) add(Kind::Health, 1);
  add(Kind::WorkerCounter, kCounterCount);
  add(Kind::WorkerGauge, std::size(kWorkerGauges));
  add(Kind::WorkerDrops, 1);
}

void PrometheusWriter::header(std::string& out, const Family& f) {
  std::string name;
  const char* type = "counter";
  std::string_view help;
  switch (f.kind) {
    case Kind::ServiceInfo:
      name = "fastvs_service_info";
      type = "gauge";
      help = "A virtual service and its scheduler; always 1";
      break;
    case Kind::ServiceCounter:
      name = fmt::format("fastvs_service_{}", kCounterFamilies[f.index].suffix);
      help = kCounterFamilies[f.index].service_help;
      break;
    case Kind::DestInfo:
      name = "fastvs_destination_info";
      type = "gauge";
      help = "A destination (real server) of a service and its forwarding method; always 1";
      break;
    case Kind::DestCounter:
      name = fmt::format("fastvs_destination_{}", kCounterFamilies[f.index].suffix);
      help = kCounterFamilies[f.index].dest_help;
      break;
    case Kind::DestGauge:
      name = kDestGauges[f.index].name;
      type = "gauge";
      help = kDestGauges[f.index].help;
      break;
    case Kind::Health:
      name = "fastvs_real_server_up";
      type = "gauge";
      help = "A checked real server passes all its health checks (1) or not (0)";
      break;
    case Kind::WorkerCounter:
      name = std::string("fastvs_worker_") + kCounters[f.index].metric + "_total";
      help = kCounters[f.index].help;
      break;
    case Kind::WorkerGauge:
      name = kWorkerGauges[f.index].name;
      type = "gauge";
      help = kWorkerGauges[f.index].help;
      break;
    case Kind::WorkerDrops:
      name = "fastvs_worker_drops_total";
      help = "Packets dropped, by reason (see dataplane/counters.h)";
      break;
  }
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, escape_help(help), name, type);
  name_ = std::move(name);
}

bool PrometheusWriter::rows(std::string& out, size_t want, const Family& f) {
  auto sample = [&](auto&& labels, auto value) {
    out += name_;
    out += '{';
    labels();
    out += fmt::format("}} {}\n", value);
  };
  switch (f.kind) {
    case Kind::ServiceInfo:
    case Kind::ServiceCounter:
      for (; row_ < m_.services.size() && out.size() < want; ++row_) {
        const ServiceStatus& s = m_.services[row_];
        if (f.kind == Kind::ServiceInfo)
          sample(
              [&] {
                service_labels(out, s.cfg.key);
                out += ',';
                label(out, "scheduler", s.cfg.scheduler);
              },
              1);
        else
          sample([&] { service_labels(out, s.cfg.key); }, s.*kCounterFamilies[f.index].field);
      }
      return row_ == m_.services.size();
    case Kind::DestInfo:
    case Kind::DestCounter:
    case Kind::DestGauge:
      for (; row_ < m_.services.size(); ++row_, sub_ = 0) {
        const ServiceStatus& s = m_.services[row_];
        for (; sub_ < s.dests.size(); ++sub_) {
          if (out.size() >= want) return false;
          const DestStatus& d = s.dests[sub_];
          auto labels = [&] { dest_labels(out, s.cfg.key, d.cfg); };
          if (f.kind == Kind::DestInfo)
            sample(
                [&] {
                  labels();
                  out += ',';
                  label(out, "forward", method_name(d.cfg.method));
                },
                1);
          else if (f.kind == Kind::DestCounter)
            sample(labels, d.*kCounterFamilies[f.index].field);
          else
            sample(labels, kDestGauges[f.index].get(d));
        }
      }
      return true;
    case Kind::Health:
      for (; row_ < m_.health.size() && out.size() < want; ++row_) {
        const RealServerHealth& h = m_.health[row_];
        sample([&] { dest_labels(out, h.service, h.server); }, h.up ? 1 : 0);
      }
      return row_ == m_.health.size();
    case Kind::WorkerCounter:
    case Kind::WorkerGauge:
      for (; row_ < m_.workers.size() && out.size() < want; ++row_) {
        const WorkerStatus& w = m_.workers[row_];
        sample(
            [&] { label(out, "worker", std::to_string(w.id)); },
            f.kind == Kind::WorkerCounter ? w.counters[f.index] : w.*kWorkerGauges[f.index].field);
      }
      return row_ == m_.workers.size();
    case Kind::WorkerDrops:
      for (; row_ < m_.workers.size(); ++row_, sub_ = 0) {
        const WorkerStatus& w = m_.workers[row_];
        for (; sub_ < w.drops.size(); ++sub_) {
          if (out.size() >= want) return false;
          sample(
              [&] {
                label(out, "worker", std::to_string(w.id));
                out += ',';
                label(out, "reason", w.drops[sub_].first);
              },
              w.drops[sub_].second);
        }
      }
      return true;
  }
  return true;
}

void PrometheusWriter::next(std::string& out, size_t want) {
  while (family_ < families_.size() && out.size() < want) {
    const Family& f = families_[family_];
    if (!started_) {
      header(out, f);
      started_ = true;
    }
    if (rows(out, want, f)) {
      ++family_;
      started_ = false;
      row_ = sub_ = 0;
    }
  }
}

std::string format_prometheus(const MetricsSnapshot& m) {
  std::string out;
  PrometheusWriter w(m);
  while (!w.done()) w.next(out, SIZE_MAX);
  return out;
}

}  // namespace fastvs
