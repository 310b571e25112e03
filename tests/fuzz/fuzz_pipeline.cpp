// libFuzzer: the whole worker pipeline on a burst of packets, with a fixed configuration (NAT,
// DR and TUN services) and a table warmed before the first input (and kept warm as inputs open
// connections). An input is one packet, or several separated by kSep: a burst, as one RX queue
// gives it, so the burst-wide lookup and look-ahead see packets of one flow meet (a SYN and its
// retransmission, a request and its reply, the fragments of a datagram). Every mbuf must come back
// to the pool (transmitted ones are freed by the harness): a leak or a double free aborts.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include <arpa/inet.h>

#include <rte_eal.h>
#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>
#include <rte_tcp.h>

#include "control/config/loader.h"
#include "dataplane/worker.h"
#include "tests/packet/pktbuild.h"

namespace {

const char* kConfig =
    "ip addr add 172.16.254.200/24 dev dpdk0\n"
    "ip addr add 192.168.0.8/24 dev dpdk1\n"
    "ip route add default via 172.16.254.1 dev dpdk0\n"
    "-A -t 172.16.254.200:80 -s wrr\n"
    "-a -t 172.16.254.200:80 -r 192.168.0.18:80 -m -w 1\n"
    "-a -t 172.16.254.200:80 -r 192.168.0.28:80 -m -w 1\n"
    "-A -u 172.16.254.200:53 -s sh -b sh-fallback\n"
    "-a -u 172.16.254.200:53 -r 192.168.0.18 -g\n"
    "-a -u 172.16.254.200:53 -r 192.168.0.28 -i\n"
    "-A -t 172.16.254.200:443 -s lc\n"
    "-a -t 172.16.254.200:443 -r 192.168.0.28 -i\n"
    // Persistence (a port 0 service; a netmask), thresholds.
    "ip addr add 172.16.254.201/24 dev dpdk0\n"
    "-A -t 172.16.254.201:0 -s rr -p 60\n"
    "-a -t 172.16.254.201:0 -r 192.168.0.18 -m\n"
    "-a -t 172.16.254.201:0 -r 192.168.0.28 -g\n"
    "-A -u 172.16.254.200:5000 -s wlc -p 10 -M 255.255.0.0\n"
    "-a -u 172.16.254.200:5000 -r 192.168.0.18:6000 -m -x 3 -y 1\n"
    "-a -u 172.16.254.200:5000 -r 192.168.0.28:6000 -m -x 2\n"
    // IPv6: NAT66, DR, TUN (IPv6 in IPv6), persistence under a prefix, tunnels between the
    // families (the seeds' addresses: make_seeds.py).
    "ip addr add 2001:db8:fe::200/64 dev dpdk0\n"
    "ip addr add 2001:db8:1::8/64 dev dpdk1\n"
    "ip route add default via 2001:db8:fe::1 dev dpdk0\n"
    "-A -t [2001:db8:fe::200]:80 -s rr\n"
    "-a -t [2001:db8:fe::200]:80 -r [2001:db8:1::18]:80 -m\n"
    "-a -t [2001:db8:fe::200]:80 -r [2001:db8:1::28]:8080 -m\n"
    "-A -u [2001:db8:fe::200]:53 -s sh\n"
    "-a -u [2001:db8:fe::200]:53 -r 2001:db8:1::18 -g\n"
    "-a -u [2001:db8:fe::200]:53 -r 2001:db8:1::28 -i\n"
    "-a -u [2001:db8:fe::200]:53 -r 192.168.0.18 -i\n"
    "-A -u [2001:db8:fe::200]:5000 -s wlc -p 10 -M 64\n"
    "-a -u [2001:db8:fe::200]:5000 -r [2001:db8:1::18]:6000 -m\n"
    "-A -t 172.16.254.200:7000 -s rr\n"
    "-a -t 172.16.254.200:7000 -r 2001:db8:1::28 -i\n"
    // Firewall-mark services fed by mark rules (the last match wins), IPv4 and IPv6.
    "iptables -t mangle -A PREROUTING -p tcp -d 172.16.254.201 -m multiport --dports 8000,8443 "
    "-j MARK --set-mark 5\n"
    "iptables -t mangle -A PREROUTING -p udp -d 172.16.254.201 --sport 1024: -i dpdk0 -j MARK "
    "--set-mark 5\n"
    "iptables -t mangle -A PREROUTING -s 172.16.254.0/28 -p tcp --dport 8443 -j MARK "
    "--set-mark 6\n"
    "-A -f 5 -s rr -p 30 -o\n"
    "-a -f 5 -r 192.168.0.18 -m\n"
    "-a -f 5 -r 192.168.0.28:9000 -m\n"
    "-A -f 6 -s sh\n"
    "-a -f 6 -r 192.168.0.28 -g\n"
    "ip6tables -t mangle -A PREROUTING -p tcp --dport 8000 -j MARK --set-mark 5\n"
    "-A -f 5 -6 -s rr\n"
    "-a -f 5 -6 -r [2001:db8:1::18]:8000 -m\n";

struct State {
  rte_mempool* pool = nullptr;
  fastvs::Config cfg;
  std::unique_ptr<fastvs::DestStore> store;
  std::unique_ptr<fastvs::Snapshot> snap;
  std::unique_ptr<fastvs::NeighTable> neigh;
  std::unique_ptr<fastvs::NeighTable6> neigh6;
  rte_ring* learn6 = nullptr;
  rte_ring* learn = nullptr;
  fastvs::PersistTable persist;
  std::unique_ptr<fastvs::Worker> w;
  std::vector<rte_mbuf*> out;
  uint32_t tick = 1000;
};
State* g = nullptr;

// Between the packets of a burst. Each packet starts with a control byte: bit 0 of the first
// one is the burst's port; every high nibble adds ticks the clock moves on before the burst, so
// connections also expire.
constexpr uint8_t kSep[] = {0xfb, 'F', 'V', 'S'};

// The table after every input: each live connection found by its keys, and no other key in the
// index (a key left behind, or one connection's key taken by another, aborts).
void check_table(const fastvs::ConnTable& t) {
  uint32_t live = 0, keys = 0;
  t.for_each(0, t.capacity(), [&](const fastvs::Conn& c) {
    ++live;
    bool is_out = true;
    if (c.flags & fastvs::kConnV6) {
      const fastvs::ConnAddrs6& a = t.addrs6(c);
      if (t.lookup6(fastvs::make_key6(a.cip, a.vip, c.cport, c.vport, c.proto), &is_out) != &c ||
          is_out)
        std::abort();
      ++keys;
      if (c.flags & fastvs::kConnHasOut) {
        if (t.lookup6(fastvs::make_key6(c.dest->rip6, a.cip, c.rport, c.cport, c.proto),
                      &is_out) != &c ||
            !is_out)
          std::abort();
        ++keys;
      }
      return;
    }
    const fastvs::ConnKey in = fastvs::make_key(c.cip, c.vip, c.cport, c.vport, c.proto);
    if (t.lookup(in, &is_out) != &c || is_out) std::abort();
    ++keys;
    if (c.flags & fastvs::kConnHasOut) {
      const fastvs::ConnKey out = fastvs::make_key(c.rip, c.cip, c.rport, c.cport, c.proto);
      if (t.lookup(out, &is_out) != &c || !is_out) std::abort();
      ++keys;
    }
  });
  if (live != t.size() || keys != t.keys()) std::abort();
}

// One client's first packet to a service, a SYN or a datagram, built by the packet fixtures'
// builder.
rte_mbuf* first_packet(const std::string& cip, const std::string& vip, uint16_t sport,
                       uint16_t dport, uint8_t proto) {
  namespace t = fastvs::testing;
  const bool v6 = cip.find(':') != std::string::npos;
  const t::Bytes l4 = proto == IPPROTO_TCP ? t::tcp(cip, vip, sport, dport, RTE_TCP_SYN_FLAG)
                                           : t::udp(cip, vip, sport, dport, {'q'});
  const t::Bytes frame =
      t::eth(t::mac("02:00:00:00:00:00"), t::mac("c0:00:00:00:00:01"),
             v6 ? RTE_ETHER_TYPE_IPV6 : RTE_ETHER_TYPE_IPV4,
             v6 ? t::ipv6(cip, vip, proto, l4) : t::ipv4(cip, vip, proto, l4));
  rte_mbuf* m = rte_pktmbuf_alloc(g->pool);
  if (!m) std::abort();
  std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size())), frame.data(),
              frame.size());
  m->port = 0;  // dpdk0, whose MAC the frame is for
  return m;
}

// A warm table before the first input: 32 clients, each with a connection to every service
// (NAT, DR and TUN, persistent and port 0), so inputs meet existing connections from the start.
void warm_up(fastvs::Worker& w) {
  const std::string vip = "172.16.254.200", vip0 = "172.16.254.201", vip6 = "2001:db8:fe::200";
  const struct {
    std::string vip;
    uint16_t port;
    uint8_t proto;
  } services[] = {{vip, 80, IPPROTO_TCP},   {vip, 53, IPPROTO_UDP},   {vip, 443, IPPROTO_TCP},
                  {vip0, 22, IPPROTO_TCP},  {vip, 5000, IPPROTO_UDP}, {vip, 7000, IPPROTO_TCP},
                  {vip6, 80, IPPROTO_TCP},  {vip6, 53, IPPROTO_UDP},  {vip6, 5000, IPPROTO_UDP}};
  for (uint32_t c = 0; c < 32; ++c) {
    rte_mbuf* burst[std::size(services)];
    unsigned n = 0;
    const std::string cip = "172.16.254." + std::to_string(20 + c);
    const std::string cip6 = "2001:db8:fe::" + std::to_string(20 + c);
    for (const auto& s : services)
      burst[n++] = first_packet(s.vip == vip6 ? cip6 : cip, s.vip,
                                static_cast<uint16_t>(40000 + c), s.port, s.proto);
    fastvs::worker_rx_burst(w, burst, n);
    fastvs::worker_flush(w);
    for (rte_mbuf* o : g->out) rte_pktmbuf_free(o);
    g->out.clear();
  }
  // Every one of them made (the masked persistent service's clients all follow its one
  // template, whose destination takes them past its threshold, as IPVS's template does).
  if (w.conns.size() != 32 * std::size(services)) std::abort();
  check_table(w.conns);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* args[] = {"fuzz",         "-l",       "0",           "--no-huge",      "-m",
                        "256",          "--no-pci", "--no-shconf", "--no-telemetry", "--log-level",
                        "lib.eal:error"};
  if (rte_eal_init(sizeof args / sizeof args[0], const_cast<char**>(args)) < 0) std::abort();
  g = new State;
  g->pool = rte_pktmbuf_pool_create("fuzz", 4095, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
  const fastvs::Result<fastvs::Config> lr = fastvs::load_config_text(kConfig, "fuzz", 2);
  if (!lr) std::abort();
  g->cfg = *lr;
  if (!g->persist.init(64, 0)) std::abort();
  g->store = std::make_unique<fastvs::DestStore>(1);
  fastvs::MacAddr macs[2] = {{2, 0, 0, 0, 0, 0}, {2, 0, 0, 0, 0, 1}};
  g->snap = fastvs::build_snapshot(g->cfg, *g->store, 2, macs);
  g->neigh = std::make_unique<fastvs::NeighTable>();
  g->neigh->set(inet_addr("172.16.254.1"), 0, {0xc0, 0, 0, 0, 0, 1}, fastvs::NeighState::Permanent);
  g->neigh->set(inet_addr("192.168.0.18"), 1, {0xaa, 0, 0, 0, 0, 0x18},
                fastvs::NeighState::Reachable);
  g->neigh->set(inet_addr("192.168.0.28"), 1, {0xaa, 0, 0, 0, 0, 0x28},
                fastvs::NeighState::Reachable);
  g->learn = rte_ring_create_elem("fuzzlearn", sizeof(fastvs::NeighLearn), 1024, 0,
                                  RING_F_SP_ENQ | RING_F_SC_DEQ);
  g->learn6 = rte_ring_create_elem("fuzzlearn6", sizeof(fastvs::NeighLearn6), 1024, 0,
                                   RING_F_SP_ENQ | RING_F_SC_DEQ);
  g->neigh6 = std::make_unique<fastvs::NeighTable6>();
  for (const auto& [ip, mac, port] :
       {std::tuple{"2001:db8:fe::1", 0x01, 0}, {"2001:db8:1::18", 0x18, 1},
        {"2001:db8:1::28", 0x28, 1}}) {
    fastvs::Ip6Key k;
    inet_pton(AF_INET6, ip, k.b);
    g->neigh6->set(k, static_cast<uint16_t>(port),
                   {0xaa, 0, 0, 0, 0, static_cast<uint8_t>(mac)}, fastvs::NeighState::Reachable);
  }
  g->w = std::make_unique<fastvs::Worker>();
  fastvs::Worker& w = *g->w;
  w.pool = g->pool;
  w.neigh = g->neigh.get();
  w.neigh_learn = g->learn;
  w.neigh6 = g->neigh6.get();
  w.neigh_learn6 = g->learn6;
  w.txq[0] = w.txq[1] = 0;
  w.capture = &g->out;
  w.persist = &g->persist;
  g->out.reserve(64);
  w.tsc_per_tick = 1;
  fastvs::worker_set_time(w, g->tick);
  if (!w.conns.init("fuzzconns", 512, 0, w.now)) std::abort();
  if (!w.conns.enable_ipv6("fuzzconns6", 0)) std::abort();
  fastvs::worker_adopt(w, g->snap.get());
  warm_up(w);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > 16384) return 0;
  fastvs::Worker& w = *g->w;
  const unsigned avail = rte_mempool_avail_count(g->pool);
  rte_mbuf* burst[fastvs::kBurst];
  unsigned n = 0;
  const uint8_t* p = data;
  const uint8_t* const end = data + size;
  while (p < end && n < fastvs::kBurst) {
    const uint8_t* next = std::search(p, end, std::begin(kSep), std::end(kSep));
    const size_t len = static_cast<size_t>(next - p);
    if (len >= 1 && len <= 1601) {
      rte_mbuf* m = rte_pktmbuf_alloc(g->pool);
      if (!m) std::abort();
      std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(len - 1)), p + 1, len - 1);
      // One RX queue: the whole burst comes from the first packet's port.
      m->port = data[0] & 1;
      g->tick += p[0] >> 4;
      burst[n++] = m;
    }
    p = next == end ? end : next + sizeof kSep;
  }
  fastvs::worker_set_time(w, g->tick);
  if (n) fastvs::worker_rx_burst(w, burst, n);
  fastvs::worker_flush(w);
  fastvs::worker_expire(w, 64);
  // Control's sweep of persistence templates (control's slot is 1 with one worker).
  g->persist.sweep(g->tick, [](fastvs::Destination* d) {
    fastvs::slot_add(d->slot[1].persistconns, -1);
    fastvs::slot_add(d->slot[1].refs, -1);
  });
  for (rte_mbuf* o : g->out) rte_pktmbuf_free(o);
  g->out.clear();
  g->neigh->drain(g->learn);
  g->neigh6->drain(g->learn6);
  // Packets still waiting for a next hop are the worker's until then: given back here, so that
  // every input's mbufs are accounted for.
  fastvs::worker_drop_pending(w);
  if (rte_mempool_avail_count(g->pool) != avail) std::abort();  // every mbuf came back once
  check_table(w.conns);
  return 0;
}
