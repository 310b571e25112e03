#include "control/director.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_random.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <fmt/core.h>

#include "common/grammar/command.h"
#include "control/config/loader.h"
#include "control/signals.h"
#include "control/startup.h"
#include "control/state_file.h"
#include "control/state_restore.h"
#include "control/report/stats_file.h"
#include "control/report/telemetry.h"
#include "dataplane/conn_table.h"
#include "dataplane/sync.h"
#include "control/epoll.h"

namespace fastvs {

void log_line(const std::string& s) {
  // One line per event, with the time: changes are logged as they are applied. One write, and
  // its failure ignored: a log reader that went away (EPIPE: SIGPIPE is ignored) must not stop
  // the director.
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  tm t;
  gmtime_r(&ts.tv_sec, &t);
  const std::string line =
      fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z fastvsd: {}\n", t.tm_year + 1900,
                  t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, ts.tv_nsec / 1000000, s);
  for (size_t off = 0; off < line.size();) {
    const ssize_t n = write(STDERR_FILENO, line.data() + off, line.size() - off);
    if (n <= 0 && errno == EINTR) continue;
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

namespace {

rte_ring* make_ring(const std::string& name, unsigned size, unsigned esize = 0) {
  const unsigned flags = RING_F_SP_ENQ | RING_F_SC_DEQ;
  return esize ? rte_ring_create_elem(name.c_str(), esize, size, SOCKET_ID_ANY, flags)
               : rte_ring_create(name.c_str(), size, SOCKET_ID_ANY, flags);
}

bool has_ipv6_service(const Config& c) {
  return std::any_of(c.services.begin(), c.services.end(),
                     [](const ServiceConfig& s) { return s.key.vip.is_v6(); });
}

// Keys in each worker's connection index: --conn-keys, or two a connection (a NAT
// connection's in and reply keys).
uint64_t index_keys(const DaemonOptions& o) {
  return o.conn_keys ? o.conn_keys : ConnTable::default_keys(o.conn_capacity);
}

int64_t wall_ms() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// The whole file, or an errno (ENOENT: there is none).
int read_whole(const std::string& path, std::string* out) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  struct stat st {};
  if (fstat(fd, &st) == 0 && st.st_size > 0) out->reserve(static_cast<size_t>(st.st_size));
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int e = errno;
      close(fd);
      return e;
    }
    out->append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return 0;
}

// The state file's directory (/var/lib/fastvs), made if missing, mode 0700: the file names
// every client and server address in use.
Status make_state_dir(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0) return {};
  const std::string dir = path.substr(0, slash);
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return Error{fmt::format("creating {}: {}", dir, std::strerror(errno))};
  return {};
}

// Whether a save at stop can be made at `path` (its directory made, writable, the path not a
// directory): said at start, when it can still be mended, not only at the stop that needs it.
Status check_state_path(const std::string& path) {
  if (Status st = make_state_dir(path); !st) return st;
  struct stat sb {};
  if (stat(path.c_str(), &sb) == 0 && S_ISDIR(sb.st_mode))
    return Error{fmt::format("{} is a directory", path)};
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "."
                          : slash == 0               ? "/"
                                                     : path.substr(0, slash);
  if (access(dir.c_str(), W_OK) != 0)
    return Error{fmt::format("{}: {}", dir, std::strerror(errno))};
  return {};
}

}  // namespace

Director::~Director() {
  reporter_.stop();
  telemetry_publish(nullptr);
  if (epoll_fd_ >= 0) close(epoll_fd_);
  for (auto& w : workers_) {
    for (unsigned o = 0; o < kMaxWorkers; ++o) {
      rte_ring_free(w->handoff_out[o]);
      rte_ring_free(w->txho_out[o]);
    }
    rte_ring_free(w->neigh_learn);
    rte_ring_free(w->neigh_learn6);
    rte_ring_free(w->sync_out);
    rte_ring_free(w->sync_in);
    rte_free(w->sync_counts);
  }
  workers_.clear();
  rte_free(qsbr_);
  rte_mempool_free(pool_);
}

Status Director::init() {
  const unsigned nworkers = rte_lcore_count() - 1;
  if (nworkers < 1) {
    return Error{
        "fastvsd needs at least two lcores (e.g. -l 0-1): the main one runs control, the "
        "others are workers"};
  }
  if (nworkers > kMaxWorkers) {
    return Error{fmt::format("{} workers: at most {} are supported", nworkers, kMaxWorkers)};
  }
  const unsigned nports = rte_eth_dev_count_avail();
  if (nports == 0) {
    return Error{
        "no ports: give fastvsd at least one ethdev (e.g. --vdev net_af_xdp0,iface=veth0)"};
  }
  if (nports > kMaxPorts) {
    return Error{fmt::format("{} ports: at most {} are supported", nports, kMaxPorts)};
  }
  // A socket that is not ours to take stops us before any port is touched.
  // The configuration first: a bad file stops us before any port forwards a packet.
  if (!opt_.config_path.empty()) {
    Result<Config> lr = load_config_file(opt_.config_path, nports);
    if (!lr) return Error{lr.error()};
    cfg_ = std::move(*lr);
    log_line(fmt::format("loaded {}: {} services, {} addresses, {} routes", opt_.config_path,
                         cfg_.services.size(), cfg_.addrs.size(), cfg_.routes.size()));
  }
  if (!opt_.keepalived_conf.empty()) {
    LoadOutcome out = load_keepalived_into(opt_.keepalived_conf, cfg_, {}, nports);
    for (const std::string& line : out.log) log_line(line);
    if (!out.config) return Error{out.config.error()};
    cfg_ = std::move(*out.config);
    ka_keys_ = std::move(out.ka_keys);
    ka_vrrp_addrs_ = std::move(out.ka_vrrp_addrs);
    ka_sync_ = std::move(out.ka_sync);
    ka_sync_addrs_ = std::move(out.ka_sync_addrs);
  }
  unsigned mbufs = opt_.mbufs;
  if (!mbufs) {
    // RX and TX rings of every queue, hand-off rings, per-lcore caches, and slack.
    mbufs = nports * nworkers * 2048 + nworkers * nworkers * 2048 + nworkers * 512 + 4096;
    // The kernel path: the TAP queues' descriptors and its two rings.
    if (opt_.kernel_path) mbufs += nports * 1024 + 2 * 4096;
  }
  if (Status st = check_conn_capacity(mbufs); !st) return st;
  pool_ = rte_pktmbuf_pool_create("fastvs_mbufs", mbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                  static_cast<int>(rte_socket_id()));
  if (!pool_) {
    const int e = rte_errno;
    return Error{
        e == ENOMEM
            ? fmt::format("packet buffers ({} mbufs): out of memory, {} left for DPDK: give "
                          "the EAL more memory (reserve hugepages: scripts/hugepages N) or "
                          "lower --mbufs",
                          mbufs,
                          format_bytes(dpdk_memory_available(static_cast<int>(rte_socket_id()))))
            : fmt::format("mbuf pool of {}: {}", mbufs, rte_strerror(e))};
  }
  if (Status st = ports_init(nworkers, pool_, &ports_); !st) return st;
  for (const auto& p : ports_)
    log_line(fmt::format("{}: port {} ({}), mac {}, mtu {}, {} rx / {} tx queues{}", p.name,
                         p.port_id, p.driver, format_mac(p.mac), p.mtu, p.nrxq, p.ntxq,
                         p.rss ? ", RSS" : ""));
  for (size_t i = 0; i < ports_.size(); ++i) {
    macs_[i] = ports_[i].mac;
    mtus_[i] = ports_[i].mtu;
  }
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) {
    return Error{fmt::format("epoll: {}", strerror(errno))};
  }
  if (opt_.kernel_path) {
    if (Status st =
            kernel_.init(ports_, pool_, opt_.kernel_if_prefix, opt_.kernel_table, epoll_fd_);
        !st)
      return st;
    kernel_.sync(cfg_);
  }
  if (!persist_.init(opt_.persist_capacity, static_cast<int>(rte_socket_id()))) {
    return Error{
        fmt::format("persistence table of {} templates: out of memory", opt_.persist_capacity)};
  }
  store_ = std::make_unique<DestStore>(nworkers);
  for (const std::string& line : vip_reach_changes(Config{}, cfg_, 10, &ka_vrrp_addrs_))
    log_line(line);
  refresh_health();
  auto first = make_snapshot();
  published_ = effective_;
  for (const auto& n : cfg_.neighs) set_static_neigh(n.ip, n.port, n.mac);
  const size_t qsz = rte_rcu_qsbr_get_memsize(nworkers);
  qsbr_ = static_cast<rte_rcu_qsbr*>(rte_zmalloc("fastvs_qsbr", qsz, RTE_CACHE_LINE_SIZE));
  if (!qsbr_ || rte_rcu_qsbr_init(qsbr_, nworkers) != 0) {
    return Error{"RCU QSBR variable: out of memory"};
  }
  if (Status st = make_workers(first.get()); !st) return st;
  if (has_ipv6_service(cfg_)) {
    if (Status st = enable_ipv6_conns(); !st) return st;
    first->has_v6 = std::any_of(first->services.begin(), first->services.end(),
                                [](const SnapService& s) { return s.v6 && s.vip_local; });
  }
  // A master the first snapshot already runs (a --config line, keepalived's instance holding its
  // addresses): its counts now that the workers exist, before they are launched.
  if (sync_master_.running()) {
    if (Status st = make_sync_counts(); !st) return Error{"master sync daemon: " + st.error()};
  }
  if (!opt_.state_file.empty()) {
    load_state(*first);
    if (const Status st = check_state_path(opt_.state_file); !st)
      log_line(
          fmt::format("WARNING: state file {} cannot be saved at stop ({}): a restart will "
                      "start with an empty table",
                      opt_.state_file, st.error()));
  }
  std::vector<Worker*> ws;
  for (auto& w : workers_) ws.push_back(w.get());
  changes_.start(std::make_unique<Publisher>(qsbr_, ws, std::move(first)));
  if (Status st = cli_.listen(opt_.socket_path, opt_.socket_lock, epoll_fd_); !st) return st;
  if (cli_.replaced_stale())
    log_line(fmt::format("replaced the stale socket {} (a fastvsd that did not stop cleanly)",
                         opt_.socket_path));
  if (Status st = health_.start(epoll_fd_, opt_.misc_check_output); !st) return st;
  if (Status st = loads_.start(epoll_fd_); !st) return st;
  cli_.set_handler([this](uint64_t client, const CliRequest& req, CliReply* r) {
    return handle(client, req, r);
  });
  log_line(fmt::format("listening for fastvsadm on {}", opt_.socket_path));
  std::vector<const Worker*> ws_read(workers_.size());
  for (size_t i = 0; i < workers_.size(); ++i) ws_read[i] = workers_[i].get();
  if (Status st =
          reporter_.init({opt_.stats_file, opt_.stats_interval_ms, opt_.metrics_listen},
                         std::move(ws_read), worker_lcores_, [this] { return health_.servers(); });
      !st)
    return st;
  if (!opt_.metrics_listen.empty())
    log_line(fmt::format("Prometheus metrics on http://{}/metrics", reporter_.metrics_bound()));
  telemetry_register();
  return reporter_.start(report_input());
}

Status Director::check_conn_capacity(unsigned mbufs) const {
  const uint32_t cap = opt_.conn_capacity;
  if (cap == 0) {
    return Error{"--conn-capacity 0: give at least 1 connection per worker"};
  }
  const uint64_t keys = index_keys(opt_);
  if (keys < cap || keys > ConnTable::default_keys(cap)) {
    return Error{fmt::format(
        "--conn-keys {}: give from {} (--conn-capacity, one key a DR/TUN connection) to {} (two "
        "keys a NAT connection)",
        keys, cap, ConnTable::default_keys(cap))};
  }
  // Before anything is allocated: the tables, and the packet buffers that come first. What the
  // EAL can still map is an upper bound (--legacy-mem or --socket-limit may give less); a
  // shortfall found later is reported when the allocation fails.
  std::map<int, uint64_t> need;
  unsigned lcore;
  RTE_LCORE_FOREACH_WORKER(lcore) {
    need[static_cast<int>(rte_lcore_to_socket_id(lcore))] += ConnTable::memory_needed(cap, keys);
  }
  rte_mempool_objsz sz{};
  const uint64_t pool = uint64_t{mbufs} * rte_mempool_calc_obj_size(
                                              sizeof(rte_mbuf) + RTE_MBUF_DEFAULT_BUF_SIZE, 0, &sz);
  const int main_socket = static_cast<int>(rte_socket_id());
  if (const uint64_t avail = dpdk_memory_available(main_socket); pool > avail) {
    return Error{fmt::format(
        "not enough memory for DPDK: the packet buffers ({} mbufs) need {} but {} is left on "
        "socket {}: {}, or lower --mbufs",
        mbufs, format_bytes(pool), format_bytes(avail), main_socket,
        rte_eal_has_hugepages() ? "reserve more hugepages (scripts/hugepages N)"
                                : "give the EAL more memory (-m)")};
  }
  for (const auto& [socket, bytes] : need) {
    const uint64_t avail = dpdk_memory_available(socket);
    const uint64_t others = socket == main_socket ? pool : 0;
    if (bytes + others <= avail) continue;
    return Error{fmt::format(
        "--conn-capacity {} does not fit in memory: the connection tables need {} ({} per "
        "worker, {:.0f} bytes a connection) but DPDK can give {} on socket {}{}: lower "
        "--conn-capacity or give the EAL more memory (hugepages, or -m with --no-huge)",
        cap, format_bytes(bytes), format_bytes(ConnTable::memory_needed(cap, keys)),
        double(ConnTable::memory_needed(cap, keys)) / cap,
        format_bytes(avail > others ? avail - others : 0), socket,
        others ? fmt::format(" after {} of packet buffers", format_bytes(others)) : "")};
  }
  if (cap > ConnTable::kMaxCapacity) {
    return Error{
        fmt::format("--conn-capacity {}: at most {} connections per worker (rte_hash's limit)", cap,
                    ConnTable::kMaxCapacity)};
  }
  return {};
}

Status Director::make_workers(const Snapshot* first) {
  const unsigned nworkers = rte_lcore_count() - 1;
  const uint64_t hz = rte_get_tsc_hz();
  unsigned lcore;
  RTE_LCORE_FOREACH_WORKER(lcore) worker_lcores_.push_back(lcore);
  for (unsigned i = 0; i < nworkers; ++i) {
    auto w = std::make_unique<Worker>();
    w->id = i;
    w->tun_ip_id = static_cast<uint16_t>(rte_rand());
    w->nworkers = nworkers;
    w->pool = pool_;
    w->neigh = &neigh_;
    w->neigh6 = &neigh6_;
    w->idle_sleep_us = opt_.idle_sleep_us;
    w->stop = &worker_stop_;
    w->exit = &worker_exit_;
    w->tsc_per_tick = hz / kTicksPerSecond;
    worker_set_time(*w, rte_rdtsc());
    w->arp_bucket = TokenBucket::tenth_deep(opt_.arp_rate);
    w->echo_bucket = TokenBucket::tenth_deep(opt_.icmp_rate);
    w->icmp_error_bucket = TokenBucket(opt_.icmp_error_rate, kIcmpErrorBurst);
    w->neigh_learn = make_ring(fmt::format("neigh_w{}", i), 1024, sizeof(NeighLearn));
    w->neigh_learn6 = make_ring(fmt::format("neigh6_w{}", i), 1024, sizeof(NeighLearn6));
    w->sync_out = make_ring(fmt::format("sync_out_w{}", i), kSyncRingSize, sizeof(SyncConn));
    w->sync_in = make_ring(fmt::format("sync_in_w{}", i), kSyncRingSize, sizeof(SyncConn));
    sync_out_rings_.push_back(w->sync_out);
    sync_in_rings_.push_back(w->sync_in);
    w->qsbr = qsbr_;
    w->persist = &persist_;
    if (kernel_.enabled()) {
      w->to_kernel = kernel_.to_kernel();
      w->kernel_wake_fd = kernel_.wake_fd();
      // Shared out among the workers, at least 1 a second each; 0: nothing goes to the host.
      w->kernel_bucket =
          TokenBucket::tenth_deep(opt_.kernel_rate ? std::max(1u, opt_.kernel_rate / nworkers) : 0);
      if (i == 0) w->from_kernel = kernel_.from_kernel();
    }
    rte_rcu_qsbr_thread_register(qsbr_, i);
    if (!w->neigh_learn || !w->neigh_learn6 || !w->sync_out || !w->sync_in) {
      return Error{fmt::format("ring: {}", rte_strerror(rte_errno))};
    }
    const std::string name = fmt::format("conns_w{}", i);
    if (const Status st = w->conns.init(name.c_str(), opt_.conn_capacity,
                                        static_cast<int>(rte_lcore_to_socket_id(worker_lcores_[i])),
                                        w->now, index_keys(opt_));
        !st) {
      return Error{fmt::format(
          "connection table of {} entries ({}) for worker {}: {}, {} left: lower "
          "--conn-capacity or give the EAL more memory (hugepages, or -m with --no-huge)",
          opt_.conn_capacity,
          format_bytes(ConnTable::memory_needed(opt_.conn_capacity, index_keys(opt_))), i,
          st.error(),
          format_bytes(
              dpdk_memory_available(static_cast<int>(rte_lcore_to_socket_id(worker_lcores_[i])))))};
    }
    log_line(
        fmt::format("worker {} on lcore {}: connection table {} entries, {} keys, {} bytes "
                    "({:.0f} per connection)",
                    i, worker_lcores_[i], opt_.conn_capacity, index_keys(opt_),
                    w->conns.memory_bytes(), double(w->conns.memory_bytes()) / opt_.conn_capacity));
    for (const auto& p : ports_) {
      if (i < p.nrxq) w->rxq[w->nrxq++] = RxQueue{p.port_id, static_cast<uint16_t>(i)};
      w->txq[p.port_id] = i < p.ntxq ? static_cast<int32_t>(i) : -1;
      w->tx_owner[p.port_id] = static_cast<uint16_t>(i % p.ntxq);
    }
    worker_adopt(*w, first);
    workers_.push_back(std::move(w));
  }
  // One single-producer/single-consumer ring per ordered pair of workers, each way.
  for (unsigned a = 0; a < nworkers; ++a) {
    for (unsigned b = 0; b < nworkers; ++b) {
      if (a == b) continue;
      rte_ring* h = make_ring(fmt::format("ho_{}_{}", a, b), 2048);
      rte_ring* t = make_ring(fmt::format("tx_{}_{}", a, b), 2048);
      if (!h || !t) {
        return Error{fmt::format("hand-off ring: {}", rte_strerror(rte_errno))};
      }
      workers_[a]->handoff_out[b] = workers_[b]->handoff_in[a] = h;
      workers_[a]->txho_out[b] = workers_[b]->txho_in[a] = t;
    }
  }
  return {};
}

bool Director::on_signals(int signal_fd) {
  bool stop = false;
  signalfd_siginfo si;
  while (read(signal_fd, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
    const int sig = static_cast<int>(si.ssi_signo);
    const std::string name = signal_name(sig);
    const std::string from = fmt::format(" (from pid {})", si.ssi_pid);
    if (sig == SIGTERM || sig == SIGINT || sig == SIGQUIT) {
      log_line(name + from + ": stopping");
      stop = true;
    } else if (sig == SIGHUP) {
      log_line(name + from + ": reloading the configuration files");
      reload_wanted_ = true;
    } else if (sig == SIGUSR1) {
      size_t dests = 0, conns = 0;
      for (const ServiceConfig& svc : effective_->services) dests += svc.dests.size();
      for (const auto& w : workers_) conns += w->conns.size();
      log_line(name + from +
               fmt::format(": {} services, {} destinations, {} connections",
                           effective_->services.size(), dests, conns));
      log_counters();
      log_sync_stats();
    } else if (sig == SIGUSR2) {
      if (opt_.stats_file.empty()) {
        log_line(name + from + ": no --stats-file to write");
      } else {
        log_line(name + from + ": writing " + opt_.stats_file);
        reporter_.write_stats_soon();
      }
    } else {
      log_line(name + from + ": ignored");
    }
  }
  return stop;
}

void Director::run(int signal_fd) {
  if (signal_fd >= 0) {
    epoll_set(epoll_fd_, EPOLL_CTL_ADD, signal_fd, EPOLLIN);
  }
  for (size_t i = 0; i < workers_.size(); ++i)
    rte_eal_remote_launch(worker_main, workers_[i].get(), worker_lcores_[i]);
  log_line(fmt::format("forwarding with {} workers on {} ports", workers_.size(), ports_.size()));
  uint64_t last_reclaim = 0, last_sweep = 0, last_sync = 0, last_est = rte_get_tsc_cycles();
  const uint64_t hz = rte_get_tsc_hz();
  epoll_event events[16];
  bool stop = false;
  while (!stop) {
    // Short naps while a change waits for the workers (they adopt it within one poll loop, a
    // few microseconds: a millisecond's nap would cap sequential changes below 1,000/s), long
    // ones otherwise.
    const long timeout_us = changes_.in_flight() || dumping_               ? 50
                            : changes_.retired() || sync_master_.running() ? 10000
                                                                           : 50000;
    const timespec timeout{0, timeout_us * 1000};
    const int n = epoll_pwait2(epoll_fd_, events, 16, &timeout, nullptr);
    for (int i = 0; i < n; ++i)
      if (events[i].data.fd == signal_fd)
        stop |= on_signals(signal_fd);
      else if (loads_.owns(events[i].data.fd))
        on_load_done();
      else if (events[i].data.fd == sync_backup_.fd())
        on_sync_readable();
      else if (!cli_.on_event(events[i].data.fd, events[i].events) &&
               !kernel_.on_event(events[i].data.fd)) {
        if (health_.owns(events[i].data.fd)) on_health();
      }
    if (kernel_.take_addrs_changed()) host_addrs_dirty_ = true;
    poll_changes();
    if (dumping_) poll_dump();
    for (auto& w : workers_) {
      neigh_.drain(w->neigh_learn);
      neigh6_.drain(w->neigh_learn6);
    }
    const uint64_t now = rte_get_tsc_cycles();
    // IPVS_SYNC_SEND_DELAY: what the workers recorded goes out within 20 ms.
    if (sync_master_.running() && now - last_sync >= hz / 50) {
      sync_master_.poll(sync_out_rings_);
      last_sync = now;
    }
    if (now - last_sweep >= hz) {
      sweep_templates();
      last_sweep = now;
    }
    if (now - last_est >= hz * RateEstimator::kIntervalSeconds) {
      stats_.estimate(*effective_, changes_.current());
      last_est += hz * RateEstimator::kIntervalSeconds;
      if (now - last_est >= hz * RateEstimator::kIntervalSeconds) last_est = now;  // fell behind
    }
    if (now - last_reclaim >= hz / 10) {
      cli_.expire_idle();
      // Trashed destinations go once no connection and no snapshot but the current uses them,
      // and the reporter reads none.
      if (const auto hold = reporter_.try_hold(); hold && changes_.retired() == 0) {
        const auto start = [this] { return rte_rcu_qsbr_start(qsbr_); };
        const auto done = [this](uint64_t t) { return rte_rcu_qsbr_check(qsbr_, t, false) == 1; };
        if (const unsigned freed = store_->reclaim(start, done))
          log_line(fmt::format("freed {} removed destination(s) with no connections left", freed));
      }
      last_reclaim = now;
    }
  }
  // Two phases, so that nothing in a hand-off ring is lost: stop RX everywhere, then let the
  // workers drain their rings until no packet has moved for three rounds (bounded: 2 s).
  worker_stop_.store(true);
  uint64_t last = ~uint64_t{0};
  for (int quiet = 0, rounds = 0; quiet < 3 && rounds < 200; ++rounds) {
    timespec ts{0, 10 * 1000 * 1000};
    nanosleep(&ts, nullptr);
    uint64_t moved = 0;
    for (const auto& w : workers_) moved += w->drained;
    quiet = moved == last ? quiet + 1 : 0;
    last = moved;
  }
  worker_exit_.store(true, std::memory_order_release);
  rte_eal_mp_wait_lcore();
  // The workers have stopped and will not touch their tables again: they are read as they are.
  if (!opt_.state_file.empty()) save_state();
  health_.stop();
  // What the health thread said while stopping (omega's scripts): logged, no verdict applied.
  for (const HealthRunner::Update& u : health_.take())
    for (const std::string& line : u.log) log_line("health: " + line);
  if (sync_master_.running()) sync_master_.poll(sync_out_rings_);
  log_sync_stats();
  sync_master_.stop();
  sync_backup_.stop();
  kernel_.close();
  reporter_.stop();  // and the stats file written once more
  log_counters();
  ports_close(ports_);
  log_line("stopped");
}

void Director::load_state(const Snapshot& snap) {
  const std::string& path = opt_.state_file;
  const auto t0 = std::chrono::steady_clock::now();
  std::string bytes;
  if (const int e = read_whole(path, &bytes); e == ENOENT) {
    log_line(fmt::format("no state file at {}: starting with an empty table", path));
    return;
  } else if (e) {
    log_line(fmt::format("state file {} not read ({}): starting with an empty table", path,
                         std::strerror(e)));
    return;
  }
  Result<StateFile> f = decode_state(bytes);
  bytes.clear();
  bytes.shrink_to_fit();
  if (!f) {
    // Left where it is for whoever wants to look at it; the next clean stop replaces it.
    log_line(
        fmt::format("state file {} refused: {}; starting with an empty table", path, f.error()));
    return;
  }
  const int64_t elapsed = wall_ms() - f->saved_at_ms;
  StateCounts counts;
  age_state(*f, elapsed, &counts);
  std::vector<Worker*> ws;
  for (auto& w : workers_) ws.push_back(w.get());
  restore_state(*f, ws, persist_, snap, now_tick(), static_cast<unsigned>(workers_.size()), &counts,
                &worker_lcores_);
  // Loaded, it describes a table that moves on from now: after a crash (no save), the next
  // start must not bring back connections that ended meanwhile.
  if (unlink(path.c_str()) != 0 && errno != ENOENT)
    log_line(
        fmt::format("state file {}: not removed after loading: {}", path, std::strerror(errno)));
  log_line(
      fmt::format("state file {}: {}", path, describe_state_load(counts, elapsed, ms_since(t0))));
}

void Director::save_state() {
  const std::string& path = opt_.state_file;
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<Worker*> ws;
  for (auto& w : workers_) ws.push_back(w.get());
  uint64_t nconns = 0, ntmpls = 0;
  const std::string bytes =
      collect_state(ws, persist_, changes_.current(), now_tick(), wall_ms(), &nconns, &ntmpls);
  Status st = make_state_dir(path);
  // Mode 0600, replaced whole: a crash while it is written leaves the previous file or none.
  if (st) st = replace_file(path, bytes, 0600);
  if (!st) {
    log_line(fmt::format("state file {} not saved: {}", path, st.error()));
    return;
  }
  log_line(fmt::format("saved {} connections and {} templates to {} ({} bytes) in {:.0f} ms",
                       nconns, ntmpls, path, bytes.size(), ms_since(t0)));
}

std::shared_ptr<const ReportInput> Director::report_input() const {
  auto in = std::make_shared<ReportInput>();
  in->cfg = published_;
  in->snap = &changes_.current();
  return in;
}

void Director::log_counters() const {
  std::array<uint64_t, kCounterCount> sum{};
  std::array<uint64_t, kDropCount> drops{};
  for (const auto& w : workers_) {
    const auto v = w->ctr.values();
    for (unsigned c = 0; c < kCounterCount; ++c) sum[c] += v[c];
    for (unsigned d = 0; d < kDropCount; ++d) drops[d] += w->ctr.drops[d];
  }
  std::string line = "counters:";
  for (unsigned c = 0; c < kCounterCount; ++c)
    if (sum[c]) line += fmt::format(" {} {}", kCounters[c].name, sum[c]);
  log_line(line == "counters:" ? "counters: none moved" : line);
  for (unsigned d = 0; d < kDropCount; ++d)
    if (drops[d]) log_line(fmt::format("drop {} {}", drop_name(static_cast<Drop>(d)), drops[d]));
}

Status Director::enable_ipv6_conns() {
  if (ipv6_conns_ || workers_.empty()) return {};
  const uint64_t keys = index_keys(opt_);
  for (size_t i = 0; i < workers_.size(); ++i) {
    const int socket = static_cast<int>(rte_lcore_to_socket_id(worker_lcores_[i]));
    const std::string name = fmt::format("conns6_w{}", i);
    if (const Status st = workers_[i]->conns.enable_ipv6(name.c_str(), socket, keys); !st)
      return Error{fmt::format(
          "IPv6 connection table for worker {} ({}): {}, {} left: lower --conn-capacity or give "
          "the EAL more memory",
          i, format_bytes(ConnTable::memory_needed6(opt_.conn_capacity, keys)), st.error(),
          format_bytes(dpdk_memory_available(socket)))};
  }
  ipv6_conns_ = true;
  // The IPv6 index and addresses only: a NAT66 connection also takes its entry, shared with
  // IPv4 (docs/performance.md: 252 bytes in all).
  log_line(
      fmt::format("IPv6 connection tables made: {} more per worker ({:.0f} bytes a "
                  "connection beside its entry)",
                  format_bytes(workers_[0]->conns.memory_bytes6()),
                  double(workers_[0]->conns.memory_bytes6()) / opt_.conn_capacity));
  return {};
}

std::unique_ptr<Snapshot> Director::make_snapshot() {
  update_sync();
  // A configuration that names an IPv6 service needs the tables for it; a fastvsadm command
  // was refused when they could not be made, a file's service is configured but not forwarded.
  if (!ipv6_conns_ && !workers_.empty() && has_ipv6_service(*effective_))
    if (const Status st = enable_ipv6_conns(); !st)
      log_line("WARNING: IPv6 services are not forwarded: " + st.error());
  auto s = build_snapshot(*effective_, *store_, static_cast<uint16_t>(ports_.size()), macs_, mtus_);
  if (!ipv6_conns_) s->has_v6 = false;
  s->sync_master = sync_master_.running();
  s->sync = opt_.sync;
  return s;
}

int Director::port_of_name(const std::string& ifname) const {
  if (ifname.rfind("dpdk", 0) != 0) return -1;
  const std::optional<uint16_t> p = parse_port(std::string_view(ifname).substr(4));
  return p && *p < ports_.size() ? *p : -1;
}

void Director::update_sync() {
  const Config& c = *effective_;
  const bool overridden = ka_sync_ && (cfg_.sync_master || cfg_.sync_backup);
  if (overridden && !ka_sync_override_logged_)
    log_line(
        fmt::format("WARNING: the sync daemon roles of the config file give way to "
                    "keepalived.conf's lvs_sync_daemon ({}:{}), which alone runs them",
                    opt_.keepalived_conf, ka_sync_->line));
  ka_sync_override_logged_ = overridden;
  const auto host_if = [&](const SyncDaemonConfig& d) {
    return opt_.kernel_if_prefix + d.ifname.substr(4);
  };
  const auto describe = [&](const char* role, const SyncDaemonConfig& d, uint16_t maxlen) {
    return fmt::format("{} sync daemon (mcast={}, syncid={}, maxlen={}, group={}, port={}, ttl={})",
                       role, d.ifname, d.syncid, maxlen, format_ip4(d.group), d.port, d.ttl);
  };
  // Stopped first, so that a change of options restarts it.
  if (sync_master_.running() && (!c.sync_master || !(sync_master_.config() == *c.sync_master))) {
    sync_master_.poll(sync_out_rings_);  // what the workers recorded so far goes out
    log_sync_stats();
    sync_master_.stop();
    log_line("master sync daemon stopped");
  }
  if (sync_backup_.running() && (!c.sync_backup || !(sync_backup_.config() == *c.sync_backup))) {
    epoll_set(epoll_fd_, EPOLL_CTL_DEL, sync_backup_.fd(), 0);
    log_sync_stats();
    sync_backup_.stop();
    log_line("backup sync daemon stopped");
  }
  // A daemon that could not start is tried again at the next change (logged each time).
  for (const bool master : {true, false}) {
    const std::optional<SyncDaemonConfig>& want = master ? c.sync_master : c.sync_backup;
    if (!want || (master ? sync_master_.running() : sync_backup_.running())) continue;
    const char* role = master ? "master" : "backup";
    const int port = port_of_name(want->ifname);
    const uint16_t maxlen = sync_daemon_maxlen(*want, master, port >= 0 ? mtus_[port] : 1500);
    Status st;
    if (!kernel_.enabled()) {
      st = Error{"it speaks through the kernel path, which --no-kernel-path turned off"};
    } else if (master) {
      // Before init() has made the workers, make_sync_counts waits for them (init calls it).
      if (!workers_.empty()) st = make_sync_counts();
      if (st) st = sync_master_.start(*want, host_if(*want), maxlen);
      if (st) discard_sync_events();
    } else if ((st = sync_backup_.start(*want, host_if(*want)))) {
      epoll_set(epoll_fd_, EPOLL_CTL_ADD, sync_backup_.fd(), EPOLLIN);
    }
    log_line(st ? describe(role, *want, maxlen) + " started"
                : fmt::format("{} sync daemon not started: {}", role, st.error()));
  }
}

// The master's per-connection counts, one array per worker parallel to its table, made the
// first time a master daemon starts (before the snapshot that tells the workers to use it).
Status Director::make_sync_counts() {
  for (size_t i = 0; i < workers_.size(); ++i) {
    Worker& w = *workers_[i];
    if (w.sync_counts) continue;
    const size_t bytes = sizeof(SyncCount) * size_t{w.conns.capacity()};
    w.sync_counts = static_cast<SyncCount*>(rte_zmalloc_socket(
        "sync_counts", bytes, 64, static_cast<int>(rte_lcore_to_socket_id(worker_lcores_[i]))));
    if (!w.sync_counts)
      return Error{
          fmt::format("no memory for worker {}'s sync counts ({})", i, format_bytes(bytes))};
  }
  return {};
}

// The backup's messages; what it had to drop is said at once (a syncid that differs from the
// master's drops every message: nothing else would show why nothing is synced), then at most
// once a minute.
void Director::on_sync_readable() {
  sync_backup_.on_readable(sync_in_rings_);
  const SyncBackupStats& b = sync_backup_.stats();
  uint64_t dropped = b.method + b.ring_full;
  for (uint64_t d : b.drops) dropped += d;
  if (dropped == sync_drops_logged_) return;
  const uint64_t now = rte_get_tsc_cycles();
  if (sync_drops_logged_ != 0 && now - sync_drops_log_tsc_ < 60 * rte_get_tsc_hz()) return;
  std::string why;
  for (size_t i = 0; i < sync::kDropCount; ++i)
    if (b.drops[i])
      why += fmt::format("{}{} {} ({})", why.empty() ? "" : ", ", b.drops[i],
                         sync::drop_name(static_cast<sync::Drop>(i)),
                         sync::drop_text(static_cast<sync::Drop>(i)));
  if (b.method)
    why += fmt::format("{}{} of a forwarding method fastvs does not have", why.empty() ? "" : ", ",
                       b.method);
  if (b.ring_full)
    why += fmt::format("{}{} lost to full rings", why.empty() ? "" : ", ", b.ring_full);
  log_line(fmt::format("backup sync daemon (syncid {}): dropped so far: {}",
                       sync_backup_.config().syncid, why));
  sync_drops_logged_ = dropped;
  sync_drops_log_tsc_ = now;
}

// What the workers recorded before they adopted the snapshot that stopped the last master (or
// while none ran): older than what a new master must send, and never sent.
void Director::discard_sync_events() {
  SyncConn buf[64];
  for (rte_ring* r : sync_out_rings_)
    while (rte_ring_sc_dequeue_burst_elem(r, buf, sizeof(SyncConn), 64, nullptr) > 0) {
    }
}

void Director::log_sync_stats() const {
  if (sync_master_.stats().messages || sync_master_.stats().send_errors) {
    const SyncMasterStats& m = sync_master_.stats();
    log_line(fmt::format("master sync daemon: {} messages, {} connections sent, {} send errors{}",
                         m.messages, m.entries, m.send_errors,
                         m.send_errors ? " (last: " + sync_master_.last_error() + ")" : ""));
  }
  const SyncBackupStats& b = sync_backup_.stats();
  if (b.messages) {
    std::string drops;
    for (size_t i = 0; i < sync::kDropCount; ++i)
      if (b.drops[i])
        drops += fmt::format(", {} {}", b.drops[i], sync::drop_name(static_cast<sync::Drop>(i)));
    log_line(
        fmt::format("backup sync daemon: {} messages, {} connections taken, {} of a "
                    "forwarding method fastvs does not have, {} lost to full rings{}",
                    b.messages, b.entries, b.method, b.ring_full, drops));
  }
}

}  // namespace fastvs
