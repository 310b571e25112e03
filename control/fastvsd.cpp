// fastvsd: the director. `fastvsd [EAL options] -- [fastvsd options]`.
#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <boost/program_options.hpp>
#include <fmt/core.h>

#include <rte_eal.h>
#include <rte_errno.h>

#include "common/grammar/command.h"
#include "control/cli_server.h"
#include "control/director.h"
#include "control/report/metrics_http.h"
#include "control/health/probe.h"
#include "control/kernel_routes.h"
#include "control/signals.h"
#include "control/startup.h"

namespace po = boost::program_options;

namespace {

constexpr rlim_t kWantedFiles = 65536;

// fastvsd's numeric options and their ranges. boost reads "-1" into an unsigned as its largest
// value, so each value is checked as written: digits only, within the range. A worker sleeps
// --idle-sleep-us at a time, and a stop waits for it: at most a second.
struct NumericOption {
  const char* name;
  uint64_t min, max;
};
constexpr NumericOption kNumericOptions[] = {
    {"conn-capacity", 0, UINT32_MAX},    {"conn-keys", 0, UINT64_MAX},
    {"kernel-table", 0, UINT32_MAX},     {"kernel-rate", 0, UINT32_MAX},
    {"arp-rate", 0, UINT32_MAX},         {"icmp-rate", 0, UINT32_MAX},
    {"icmp-error-rate", 0, UINT32_MAX},  {"persist-capacity", 0, UINT32_MAX},
    {"idle-sleep-us", 0, 1000000},       {"mbufs", 0, UINT32_MAX},
    {"stats-interval-ms", 10, 86400000}, {"misc-check-output", 0, fastvs::kMaxMiscOutput},
};

std::optional<uint64_t> digits(const std::string& s) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  uint64_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  return n;
}

// The first numeric option whose value is not a number in its range, as an error; "" if none.
std::string check_numbers(const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    for (const NumericOption& o : kNumericOptions) {
      const std::string flag = std::string("--") + o.name;
      std::string value;
      if (args[i] == flag && i + 1 < args.size())
        value = args[i + 1];
      else if (args[i].rfind(flag + "=", 0) == 0)
        value = args[i].substr(flag.size() + 1);
      else
        continue;
      const std::optional<uint64_t> n = digits(value);
      if (!n || *n < o.min || *n > o.max)
        return fmt::format("{} '{}': expected a whole number from {} to {}", flag, value, o.min,
                           o.max);
    }
  }
  return "";
}

po::options_description make_options(fastvs::DaemonOptions& o, bool& no_kernel_path,
                                     bool& no_state_file) {
  po::options_description d("fastvsd options (after the EAL options and --)");
  d.add_options()("help,h", "print this help and exit")(
      "config,c", po::value(&o.config_path),
      "file of fastvsadm commands, one per line, '#' comments; applied all or nothing before "
      "any packet is forwarded: an error names the line and fastvsd exits non-zero")(
      "socket", po::value(&o.socket_path)->default_value(o.socket_path),
      "Unix socket for fastvsadm, mode 0600; one a running fastvsd answers on is refused, one "
      "left by a crash is replaced")(
      "conn-capacity", po::value(&o.conn_capacity)->default_value(o.conn_capacity),
      "connections per worker; when full, new flows are dropped and counted and existing "
      "flows are untouched")(
      "conn-keys", po::value(&o.conn_keys),
      "keys in each worker's connection index, from --conn-capacity to twice it (the default, "
      "also 0): "
      "a NAT connection takes two (client's and real server's side), a DR or TUN connection "
      "one. A DR/TUN-only director sets it to --conn-capacity and saves a third of the "
      "table's memory; when the index is full, new flows are dropped and counted")(
      "no-kernel-path", po::bool_switch(&no_kernel_path),
      "no TAP interfaces for the host's stack: traffic the data plane does not handle is "
      "dropped and counted instead of handed to the host")(
      "kernel-if-prefix", po::value(&o.kernel_if_prefix)->default_value(o.kernel_if_prefix),
      "the kernel path's interfaces are PREFIX0, PREFIX1, ... (one per port)")(
      "kernel-table", po::value(&o.kernel_table)->default_value(o.kernel_table),
      "routing table for fastvsd's routes in the host (protocol 250), and the priority of its "
      "ip rules: 1 to 32765, not 253-255. fastvsd changes only what it made there, and will "
      "not start on a table that holds rules or routes it did not make")(
      "kernel-rate", po::value(&o.kernel_rate)->default_value(o.kernel_rate),
      "packets a second the workers hand to the host at most, all together (more are dropped "
      "and counted as kernel_path_limit). 0: none handed but VRRP and ARP, which have a "
      "budget of their own")(
      "arp-rate", po::value(&o.arp_rate)->default_value(o.arp_rate),
      "ARP requests for our addresses each worker answers a second at most, in bursts of a "
      "tenth of that; more are dropped (arp_rate_limited) and not learned from. 0: none "
      "answered")(
      "icmp-rate", po::value(&o.icmp_rate)->default_value(o.icmp_rate),
      "ICMP echo requests to our addresses each worker answers a second at most, in bursts of "
      "a tenth of that; more are dropped (echo_rate_limited). 0: none answered")(
      "icmp-error-rate", po::value(&o.icmp_error_rate)->default_value(o.icmp_error_rate),
      "ICMP errors (time exceeded, fragmentation needed) each worker sends a second at most, in "
      "bursts of 50 (the kernel's icmp_msgs_per_sec and icmp_msgs_burst); more are not sent "
      "(icmp_rate_limited). 0: none sent")(
      "keepalived-conf", po::value(&o.keepalived_conf),
      "keepalived.conf whose virtual_server blocks (services, real servers, TCP_CHECK / HTTP_GET "
      "/ SSL_GET / UDP_CHECK / DNS_CHECK / PING_CHECK / SMTP_CHECK / MISC_CHECK health checks, "
      "quorum, "
      "sorry_server) "
      "fastvsd runs; "
      "vrrp_instance "
      "and other "
      "blocks are reported and skipped, an error rejects the whole file; `fastvsadm "
      "--keepalived-reload` reads it again")(
      "persist-capacity", po::value(&o.persist_capacity)->default_value(o.persist_capacity),
      "persistence templates (-p), shared by the workers; when a client's bucket is full its "
      "new connection is dropped and counted")(
      "idle-sleep-us", po::value(&o.idle_sleep_us)->default_value(o.idle_sleep_us),
      "microseconds (at most 1000000) an idle worker sleeps after 64 empty polls; 0 = pure "
      "polling (benchmarks). "
      "Use it when workers share CPUs with other programs (the lab, tests)")(
      "mbufs", po::value(&o.mbufs)->default_value(o.mbufs),
      "packet buffers in the pool; 0 = sized from the ports' queues")(
      "stats-file", po::value(&o.stats_file),
      "write the counters (per worker, drops by reason, per destination) to this file as JSON, "
      "replaced atomically (and safely: a link at its name is never followed) every "
      "--stats-interval-ms, on SIGUSR2 and once more at exit")(
      "stats-interval-ms", po::value(&o.stats_interval_ms)->default_value(o.stats_interval_ms),
      "how often (10 to 86400000) --stats-file is rewritten and the numbers DPDK telemetry's "
      "/fastvs/ commands show are refreshed; a minimum: each collection is followed by at least "
      "five times its own length")(
      "metrics-listen", po::value(&o.metrics_listen),
      "serve Prometheus metrics (text format 0.0.4) at http://ADDR:PORT/metrics, e.g. "
      "127.0.0.1:9469 or [::1]:9469 (numeric address; port 0: any free port, logged); off by "
      "default. Counters are raw sums, not reset by fastvsadm -Z")(
      "misc-check-output", po::value(&o.misc_check_output)->default_value(o.misc_check_output),
      "log the first N bytes (at most 4096) of what each MISC_CHECK program writes to its "
      "standard output and error, escaped, on one line per run (with the count of all it "
      "wrote); 0: its output goes to /dev/null, as keepalived's does")(
      "state-file", po::value(&o.state_file)->default_value(o.state_file),
      "at a clean stop (SIGTERM, SIGINT, SIGQUIT) save the connections and persistence "
      "templates here (mode 0600, replaced atomically; its directory made, mode 0700), and at "
      "start load those that have not expired meanwhile (their time reduced by the time fastvsd "
      "was down) before forwarding, then remove it. Connections of services or real servers no "
      "longer configured are dropped; a damaged file or one of another version is refused with "
      "one log line and fastvsd starts with an empty table")(
      "no-state-file", po::bool_switch(&no_state_file),
      "neither save nor load a state file: a restart starts with an empty table")(
      "sync-threshold", po::value(&o.sync.threshold)->default_value(o.sync.threshold),
      "connection sync (IPVS's sync_threshold, first value): the master syncs a connection at "
      "its client's packet number THRESHOLD modulo --sync-period")(
      "sync-period", po::value(&o.sync.period)->default_value(o.sync.period),
      "IPVS's sync_threshold, second value: 0 syncs once, at the threshold's packet")(
      "sync-refresh-period", po::value(&o.sync_refresh_period)->default_value(0),
      "IPVS's sync_refresh_period in seconds: resync a connection no sooner than this (or half "
      "its timeout, or 10 s) since it was last synced; 0: off")(
      "sync-retries", po::value(&o.sync.retries)->default_value(o.sync.retries),
      "IPVS's sync_retries (0..3): resends of a sync within a refresh period")(
      "sync-persist-mode", po::bool_switch(&o.sync.persist_mode),
      "IPVS's sync_persist_mode: connections under a persistence template are not synced, "
      "only their templates");
  return d;
}

void usage(const po::options_description& d) {
  std::cout
      << "usage: fastvsd [EAL options] -- [options]\n\n"
         "The LVS director on DPDK ports. Every ethdev given to the EAL (--vdev ..., PCI\n"
         "devices) becomes a port named dpdk0, dpdk1, ... in port-id order. The EAL main\n"
         "lcore runs control; every other lcore is a worker (at least one: -l 0-1).\n\n"
         "example: fastvsd -l 0-1 --no-pci --vdev net_af_xdp0,iface=veth0 -- --config lab.conf\n\n"
      << d
      << "\nSignals: SIGTERM, SIGINT and SIGQUIT stop the workers, flush their TX buffers, save "
         "the --state-file, close the ports and exit 0;\nSIGHUP reads --config and "
         "--keepalived-conf again (all or nothing: the table becomes what they say);\nSIGUSR1 logs "
         "the counters; SIGUSR2 writes "
         "the --stats-file now; SIGPIPE and the others are ignored.\n";
}

}  // namespace

int main(int argc, char** argv) {
  fastvs::DaemonOptions opt;
  bool no_kernel_path = false, no_state_file = false;
  auto desc = make_options(opt, no_kernel_path, no_state_file);
  // --help works without the EAL (and without root).
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      usage(desc);
      return 0;
    }
  }
#if defined(__x86_64__)
  // Built for SSE4.2 (meson.build): refuse a CPU without it rather than die of SIGILL.
  if (!__builtin_cpu_supports("sse4.2")) {
    fmt::print(stderr,
               "fastvsd: this CPU has no SSE4.2, which fastvsd is built for "
               "(x86-64-v2: any x86-64 CPU since 2009)\n");
    return 1;
  }
#endif
  // The EAL's arguments come before "--", ours after. Ours are read first: a mistake in them, or
  // a socket another fastvsd answers on, is reported before the EAL takes hugepages and ports.
  std::vector<std::string> eal_args, rest;
  {
    int i = 1;
    for (; i < argc && std::string(argv[i]) != "--"; ++i) eal_args.emplace_back(argv[i]);
    if (i < argc) rest.assign(argv + i + 1, argv + argc);
  }
  try {
    if (const std::string bad = check_numbers(rest); !bad.empty()) throw po::error(bad);
    po::variables_map vm;
    po::store(po::command_line_parser(rest).options(desc).run(), vm);
    po::notify(vm);
    opt.kernel_path = !no_kernel_path;
    if (no_state_file) opt.state_file.clear();
    // proc_do_sync_threshold and proc_do_sync_ports' checks.
    if (opt.sync.period != 0 && opt.sync.threshold >= opt.sync.period)
      throw po::error("--sync-threshold must be below --sync-period (or --sync-period 0)");
    if (opt.sync.retries > 3) throw po::error("--sync-retries is 0..3");
    if (opt.sync_refresh_period > 86400 * 31)
      throw po::error("--sync-refresh-period is at most 31 days");
    opt.sync.refresh_ticks = opt.sync_refresh_period * fastvs::kTicksPerSecond;
    opt.sync.ticks_per_second = fastvs::kTicksPerSecond;
  } catch (const po::error& e) {
    fmt::print(stderr, "fastvsd: {} (see fastvsd --help)\n", e.what());
    return 2;
  }
  if (!opt.metrics_listen.empty()) {
    if (const fastvs::Status st = fastvs::check_metrics_listen(opt.metrics_listen); !st) {
      fmt::print(stderr, "fastvsd: {}\n", st.error());
      return 2;
    }
  }
  if (opt.kernel_path) {
    if (const fastvs::Status st = fastvs::check_kernel_table(opt.kernel_table); !st) {
      fmt::print(stderr, "fastvsd: {}\n", st.error());
      return 2;
    }
  }
  if (const fastvs::Result<int> lock = fastvs::CliServer::claim(opt.socket_path); !lock) {
    fmt::print(stderr, "fastvsd: {}\n", lock.error());
    return 1;
  } else {
    opt.socket_lock = *lock;
  }
  // Descriptors for the clients the CLI socket and /metrics take at once (4096 + 1024, each
  // refused with a line beyond) and everything else: the soft limit raised towards the hard one.
  if (rlimit rl{}; getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < kWantedFiles) {
    rl.rlim_cur = std::min<rlim_t>(rl.rlim_max, kWantedFiles);
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  fastvs::note_eal_args(eal_args);
  // Before the EAL starts its threads: they inherit the mask (control/signals.h).
  const int signal_fd = fastvs::block_daemon_signals();
  if (signal_fd < 0) {
    fmt::print(stderr, "fastvsd: signalfd: {}\n", std::strerror(errno));
    return 1;
  }
  if (rte_eal_init(argc, argv) < 0) {
    fmt::print(stderr, "fastvsd: {}\n", fastvs::eal_failure_reason(rte_errno, eal_args));
    return 1;
  }
  // The EAL carries on without a device whose driver refused it; the ports would then be
  // numbered differently from what the operator wrote (dpdk1 becoming dpdk0).
  if (const auto missing = fastvs::missing_devices(eal_args); !missing.empty()) {
    fmt::print(stderr,
               "fastvsd: port {} could not be created (its driver refused the arguments, or the "
               "device is not there or not bound to a DPDK driver: see the EAL's message above)\n",
               missing.front());
    rte_eal_cleanup();
    return 1;
  }
  int rc = 0;
  {
    fastvs::Director dir(opt);
    // --config's host names are looked up at start (control/loads.cpp looks up a reload's); the
    // control thread then runs without a resolver: it never waits on DNS.
    fastvs::set_host_resolver(fastvs::resolve_host_ipv4);
    const fastvs::Status started = dir.init();
    fastvs::set_host_resolver(nullptr);
    if (const fastvs::Status& st = started; !st) {
      fmt::print(stderr, "fastvsd: {}\n", st.error());
      rc = 1;
    } else {
      for (const std::string& sig : fastvs::release_driver_signals(signal_fd))
        fastvs::log_line(sig +
                         ": left to the handler a DPDK driver installed (net_tap's RX trigger)");
      dir.run(signal_fd);
    }
  }
  rte_eal_cleanup();
  return rc;
}
