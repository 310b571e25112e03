#include "control/report/telemetry.h"

#include <rte_telemetry.h>

#include <cerrno>
#include <cstdlib>
#include <mutex>
#include <string>
#include <type_traits>

#include "common/net.h"

namespace fastvs {

namespace {

// The telemetry threads may call in at any time, also while the process exits: the board is
// never destroyed (no static destructor can pull the mutex from under a callback).
struct Board {
  std::mutex mu;
  std::shared_ptr<const MetricsSnapshot> snap;
};
Board& board() {
  static Board* b = new Board;
  return *b;
}

std::shared_ptr<const MetricsSnapshot> latest() {
  Board& b = board();
  std::lock_guard<std::mutex> lock(b.mu);
  return b.snap;
}

bool has_param(const char* params) {
  return params && *params;
}

// A column of `n` rows, added to dictionary `d` under `name` (the library frees it). The array's
// type follows what `value` returns: std::string, uint64_t or int.
template <typename Row, typename F>
void column(rte_tel_data* d, const char* name, const Row* rows, size_t n, F&& value) {
  using V = std::invoke_result_t<F, const Row&>;
  static_assert(std::is_same_v<V, std::string> || std::is_same_v<V, uint64_t> ||
                std::is_same_v<V, int>);
  rte_tel_data* a = rte_tel_data_alloc();
  if (!a) return;
  if constexpr (std::is_same_v<V, std::string>) {
    rte_tel_data_start_array(a, RTE_TEL_STRING_VAL);
    for (size_t i = 0; i < n; ++i) rte_tel_data_add_array_string(a, value(rows[i]).c_str());
  } else if constexpr (std::is_same_v<V, uint64_t>) {
    rte_tel_data_start_array(a, RTE_TEL_U64_VAL);
    for (size_t i = 0; i < n; ++i) rte_tel_data_add_array_u64(a, value(rows[i]));
  } else {
    rte_tel_data_start_array(a, RTE_TEL_INT_VAL);
    for (size_t i = 0; i < n; ++i) rte_tel_data_add_array_int(a, value(rows[i]));
  }
  if (rte_tel_data_add_dict_container(d, name, a, 0) != 0) rte_tel_data_free(a);
}

size_t rows(size_t n) {
  return n < kTelemetryRows ? n : kTelemetryRows;
}

const ServiceStatus* find_service(const MetricsSnapshot& m, const char* params) {
  const auto key = parse_service_name(params ? params : "");
  if (!key) return nullptr;
  for (const ServiceStatus& s : m.services)
    if (s.cfg.key == *key) return &s;
  return nullptr;
}

void counters(rte_tel_data* d, const IpvsCounters& c) {
  rte_tel_data_add_dict_u64(d, "conns", c.conns);
  rte_tel_data_add_dict_u64(d, "inpkts", c.inpkts);
  rte_tel_data_add_dict_u64(d, "outpkts", c.outpkts);
  rte_tel_data_add_dict_u64(d, "inbytes", c.inbytes);
  rte_tel_data_add_dict_u64(d, "outbytes", c.outbytes);
}

template <typename Row>
void counter_columns(rte_tel_data* d, const Row* r, size_t n) {
  column(d, "conns", r, n, [](const Row& x) { return x.conns; });
  column(d, "inpkts", r, n, [](const Row& x) { return x.inpkts; });
  column(d, "outpkts", r, n, [](const Row& x) { return x.outpkts; });
  column(d, "inbytes", r, n, [](const Row& x) { return x.inbytes; });
  column(d, "outbytes", r, n, [](const Row& x) { return x.outbytes; });
}

int on_services(const char*, const char* params, rte_tel_data* d) {
  const auto m = latest();
  if (!m) return -ENODEV;
  rte_tel_data_start_dict(d);
  if (has_param(params)) {
    const ServiceStatus* s = find_service(*m, params);
    if (!s) return -EINVAL;
    rte_tel_data_add_dict_string(d, "service", service_name(s->cfg.key).c_str());
    rte_tel_data_add_dict_string(d, "scheduler", s->cfg.scheduler.c_str());
    rte_tel_data_add_dict_int(d, "destinations", static_cast<int>(s->dests.size()));
    counters(d, *s);
    return 0;
  }
  const ServiceStatus* r = m->services.data();
  const size_t n = rows(m->services.size());
  rte_tel_data_add_dict_u64(d, "total", m->services.size());
  column(d, "service", r, n, [](const ServiceStatus& s) { return service_name(s.cfg.key); });
  column(d, "scheduler", r, n, [](const ServiceStatus& s) { return s.cfg.scheduler; });
  column(d, "destinations", r, n,
         [](const ServiceStatus& s) { return static_cast<int>(s.dests.size()); });
  counter_columns(d, r, n);
  return 0;
}

int on_destinations(const char*, const char* params, rte_tel_data* d) {
  const auto m = latest();
  if (!m) return -ENODEV;
  const ServiceStatus* s = find_service(*m, params);
  if (!s) return -EINVAL;
  rte_tel_data_start_dict(d);
  rte_tel_data_add_dict_string(d, "service", service_name(s->cfg.key).c_str());
  rte_tel_data_add_dict_u64(d, "total", s->dests.size());
  const DestStatus* r = s->dests.data();
  const size_t n = rows(s->dests.size());
  column(d, "rip", r, n, [](const DestStatus& x) { return format_ip(x.cfg.rip); });
  column(d, "rport", r, n, [](const DestStatus& x) { return int{x.cfg.rport}; });
  column(d, "forward", r, n,
         [](const DestStatus& x) { return std::string(method_name(x.cfg.method)); });
  column(d, "weight", r, n, [](const DestStatus& x) { return int{x.cfg.weight}; });
  column(d, "activeconns", r, n, [](const DestStatus& x) { return int{x.activeconns}; });
  column(d, "inactconns", r, n, [](const DestStatus& x) { return int{x.inactconns}; });
  column(d, "persistconns", r, n, [](const DestStatus& x) { return int{x.persistconns}; });
  counter_columns(d, r, n);
  return 0;
}

int on_workers(const char*, const char* params, rte_tel_data* d) {
  const auto m = latest();
  if (!m) return -ENODEV;
  rte_tel_data_start_dict(d);
  if (has_param(params)) {
    char* end = nullptr;
    const unsigned long id = std::strtoul(params, &end, 10);
    if (*end != '\0' || id >= m->workers.size()) return -EINVAL;
    const WorkerStatus& w = m->workers[id];
    rte_tel_data_add_dict_int(d, "worker", static_cast<int>(w.id));
    rte_tel_data_add_dict_int(d, "lcore", static_cast<int>(w.lcore));
    for (unsigned c = 0; c < kCounterCount; ++c)
      rte_tel_data_add_dict_u64(d, kCounters[c].name, w.counters[c]);
    rte_tel_data_add_dict_u64(d, "conns", w.conns);
    rte_tel_data_add_dict_u64(d, "conn_capacity", w.conn_capacity);
    for (const auto& [reason, count] : w.drops)
      rte_tel_data_add_dict_u64(d, ("drop_" + reason).c_str(), count);
    return 0;
  }
  const WorkerStatus* r = m->workers.data();
  const size_t n = rows(m->workers.size());
  column(d, "worker", r, n, [](const WorkerStatus& w) { return int(w.id); });
  column(d, "lcore", r, n, [](const WorkerStatus& w) { return int(w.lcore); });
  for (unsigned c = 0; c < kCounterCount; ++c)
    column(d, kCounters[c].name, r, n, [c](const WorkerStatus& w) { return w.counters[c]; });
  column(d, "conns", r, n, [](const WorkerStatus& w) { return w.conns; });
  column(d, "conn_capacity", r, n, [](const WorkerStatus& w) { return w.conn_capacity; });
  column(d, "drops", r, n, [](const WorkerStatus& w) {
    uint64_t sum = 0;
    for (const auto& dr : w.drops) sum += dr.second;
    return sum;
  });
  return 0;
}

}  // namespace

void telemetry_register() {
  static std::once_flag once;
  std::call_once(once, [] {
    // Help texts: at most 63 characters (the library's MAX_HELP_LEN).
    rte_telemetry_register_cmd("/fastvs/services", on_services,
                               "fastvs services. Parameters: none, or a service");
    rte_telemetry_register_cmd("/fastvs/destinations", on_destinations,
                               "A service's destinations. Parameters: 'TCP VIP:PORT'");
    rte_telemetry_register_cmd("/fastvs/workers", on_workers,
                               "fastvs workers. Parameters: none, or a worker id");
  });
}

void telemetry_publish(std::shared_ptr<const MetricsSnapshot> m) {
  Board& b = board();
  std::lock_guard<std::mutex> lock(b.mu);
  b.snap = std::move(m);
}

}  // namespace fastvs
