// An immutable view of the configuration, built by control and read by every worker without
// locks. Everything a worker needs to classify, schedule and route a packet is here, in network
// byte order; Destination objects are stable and outlive snapshots (DestStore).
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "dataplane/flat_map.h"
#include "dataplane/fwmark.h"
#include "common/model.h"
#include "dataplane/dest.h"
#include "dataplane/parse.h"
#include "dataplane/sync_policy.h"
#include "dataplane/sched/sched.h"
#include "dataplane/tcp_state.h"

namespace fastvs {

constexpr unsigned kMaxPorts = 16;

struct SnapService {
  uint32_t id = 0;   // stable for the service's life (keys per-worker scheduler state)
  uint32_t gen = 0;  // changes when its destinations, weights or scheduler change
  uint8_t proto = 0;
  uint32_t vip = 0;  // network order
  uint16_t vport = 0;
  uint32_t fwmark = 0;  // a firewall-mark service's mark (host order); proto, vip, vport 0
  SchedService sched;
  // -p/-M: templates key on (id, CIP & persist_mask) and live persist_ticks.
  bool persistent = false;
  // -o on a UDP service: each datagram scheduled, its connection forgotten once it is sent.
  bool ops = false;
  uint32_t persist_mask = 0;  // network order
  uint32_t persist_ticks = 0;
  // Its VIP is a local address (of any port): only then does it take traffic. As in IPVS, where
  // only the director that holds the VIP receives it: a VRRP backup has the service configured
  // (and checked) but no VIP, and must not serve a stray packet the master will not know about.
  bool vip_local = false;
  std::vector<Destination*> dests;  // kernel list order
  std::vector<Destination*> table;  // sh, dh, mh: the scheduler's lookup table
  // An IPv6 service: vip holds its VIP's fold (ip6_fold), vip6 the whole of it; -M is a prefix
  // length (svc->netmask for AF_INET6).
  bool v6 = false;
  uint8_t persist_plen = 128;
  uint8_t vip6[16]{};

  // The port a connection to d is made on: the destination's, or when it has none (a port 0
  // service's, a firewall-mark service's given without one) the port the client asked for
  // (ip_vs_schedule: dest->port ? dest->port : vport). Network order.
  static uint16_t real_port(const Destination& d, uint16_t dport_be) {
    return d.rport_be != 0 ? d.rport_be : dport_be;
  }
};

struct SnapAddr {
  uint32_t ip = 0;  // network order
  uint32_t mask = 0;
  uint16_t port = 0;
};

// An IPv6 address of the director's on a port (network order), as neighbour discovery answers
// for it.
struct SnapAddr6 {
  uint8_t ip[16]{};
  uint8_t prefix_len = 128;
  uint16_t port = 0;
};

// The first `len` bits of two IPv6 addresses are the same.
inline bool prefix6_match(const uint8_t* a, const uint8_t* b, unsigned len) {
  const unsigned whole = len / 8u, bits = len % 8u;
  if (std::memcmp(a, b, whole) != 0) return false;
  return bits == 0 || ((a[whole] ^ b[whole]) & (0xff00u >> bits) & 0xff) == 0;
}

struct SnapRoute6 {
  uint8_t prefix[16]{};  // already masked
  uint8_t len = 0;
  bool has_via = false;  // false: connected (the destination itself is the next hop)
  uint8_t via[16]{};
  uint16_t port = 0;
};

struct SnapRoute {
  uint32_t prefix = 0;  // network order
  uint32_t mask = 0;
  uint8_t len = 0;
  uint32_t via = 0;  // 0: connected (the destination itself is the next hop)
  uint16_t port = 0;
};

struct Snapshot {
  uint64_t seq = 0;  // publication order
  std::vector<SnapService> services;
  FlatMap64<uint32_t> service_by_key;  // svc_key() -> index in services
  FlatMap64<uint32_t> service_by_id;   // SnapService::id -> index in services
  // Every service by key, also those whose VIP is not here (a backup's): what a synced
  // connection is looked up in.
  FlatMap64<uint32_t> service_configured;
  FlatMap64<Destination*> masq_by_rs;  // svc_key(proto, RIP, rport) -> a Masq destination
  FlatMap64<uint16_t> local_by_ip;     // IP -> port it is configured on
  // Non-first fragments carry no ports: they are classified by address alone. addr_key(proto,
  // IP) -> kAddrVip (a service's VIP) | kAddrMasqRip (a Masq destination's RIP).
  FlatMap64<uint8_t> addr_roles;
  std::vector<SnapAddr> addrs;
  std::vector<SnapAddr6> addrs6;
  std::vector<SnapRoute> routes;    // longest prefix first; connected routes included
  std::vector<SnapRoute6> routes6;  // the same for IPv6
  TcpTimeouts tcp_timeouts;
  uint32_t udp_timeout = 300;
  // The master sync daemon runs: workers record what IPVS would sync (sync.h), by these rules.
  bool sync_master = false;
  SyncParams sync;
  uint16_t nports = 0;
  // Port 0 services (every port of a VIP) exist: a lookup that misses tries port 0 too, and a
  // reply from a NAT real server of one is found by (RIP, 0).
  bool has_port0 = false;
  bool has_port0_masq = false;
  MacAddr port_mac[kMaxPorts]{};
  uint16_t port_mtu[kMaxPorts]{};

  // IPv6 services and Masq destinations, keyed as IPv4's by svc_key with the address's fold in
  // place of the address, the whole address checked on a hit. Two addresses of one fold (and
  // proto and port) make `fold6_shared`: then every lookup scans (the fold is no secret, but
  // only the configuration chooses the addresses). IPv4's maps never hold an IPv6 entry.
  bool has_v6 = false;  // an IPv6 service whose VIP is here: ip6_input looks for services
  bool fold6_shared = false;
  bool has_port0_6 = false;
  bool has_port0_masq6 = false;
  FlatMap64<uint32_t> service6_by_key;      // VIP here
  FlatMap64<uint32_t> service6_configured;  // every IPv6 service
  FlatMap64<Destination*> masq6_by_rs;
  std::vector<std::pair<uint8_t, Destination*>> masq6;  // (proto, each): the scan's

  // Firewall-mark services (fwmark.h): fwm4/fwm6 when one of that family exists, its family's
  // mark rules, and the services by mark_key(). A packet is walked through the rules only when
  // its destination is one of the director's addresses (IPVS sees it at LOCAL_IN).
  bool fwm4 = false, fwm6 = false;
  // A firewall-mark service of the family exists, rules or not: packets to our addresses that
  // nothing else claims may be its connections' (Verdict::FwmConn).
  bool fwm_any4 = false, fwm_any6 = false;
  std::vector<SnapMarkRule> mark_rules4, mark_rules6;
  FlatMap64<uint32_t> service_by_mark;
  static uint64_t mark_key(uint32_t mark, bool v6) { return uint64_t{v6} << 32 | mark; }

  static uint64_t svc_key(uint8_t proto, uint32_t ip_be, uint16_t port_be) {
    return uint64_t{proto} << 48 | uint64_t{port_be} << 32 | ip_be;
  }
  static constexpr uint8_t kAddrVip = 1, kAddrMasqRip = 2;
  static uint64_t addr_key(uint8_t proto, uint32_t ip_be) { return uint64_t{proto} << 32 | ip_be; }
  uint8_t addr_role(uint8_t proto, uint32_t ip) const {
    const uint8_t* r = addr_roles.find(addr_key(proto, ip));
    return r ? *r : 0;
  }

  // __ip_vs_svc_fwm_find for an IPv4 packet to one of the director's addresses: the service of
  // the mark its rules give it. Ports network order.
  const SnapService* find_fwmark(uint16_t in_port, uint8_t proto, uint32_t saddr, uint32_t daddr,
                                 uint16_t sport_be, uint16_t dport_be, bool ports = true) const {
    if (!local_by_ip.find(daddr)) return nullptr;
    const MarkTuple t{proto, in_port, be16_host(sport_be), be16_host(dport_be), ports};
    const uint32_t mark = fwmark_of4(mark_rules4, t, saddr, daddr);
    const uint32_t* i = mark ? service_by_mark.find(mark_key(mark, false)) : nullptr;
    return i ? &services[*i] : nullptr;
  }
  // The same for IPv6 (addresses whole).
  const SnapService* find_fwmark6(uint16_t in_port, uint8_t proto, const uint8_t* saddr,
                                  const uint8_t* daddr, uint16_t sport_be, uint16_t dport_be,
                                  bool ports = true) const {
    if (!local6(daddr)) return nullptr;
    const MarkTuple t{proto, in_port, be16_host(sport_be), be16_host(dport_be), ports};
    const uint32_t mark = fwmark_of6(mark_rules6, t, saddr, daddr);
    const uint32_t* i = mark ? service_by_mark.find(mark_key(mark, true)) : nullptr;
    return i ? &services[*i] : nullptr;
  }
  // A configured firewall-mark service, by mark (a synced connection's).
  const SnapService* find_by_mark(uint32_t mark, bool v6) const {
    const uint32_t* i = service_by_mark.find(mark_key(mark, v6));
    return i ? &services[*i] : nullptr;
  }
  static uint16_t be16_host(uint16_t be) {
    return load_be16(reinterpret_cast<const uint8_t*>(&be));
  }

  // ip_vs_service_find: the exact <proto, VIP, vport>, then the VIP's port 0 service.
  const SnapService* find_service(uint8_t proto, uint32_t ip, uint16_t port) const {
    const uint32_t* i = service_by_key.find(svc_key(proto, ip, port));
    if (!i && has_port0) i = service_by_key.find(svc_key(proto, ip, 0));
    return i ? &services[*i] : nullptr;
  }
  // A configured service, whether or not its VIP is here (exact port, then port 0).
  const SnapService* find_configured(uint8_t proto, uint32_t ip, uint16_t port) const {
    const uint32_t* i = service_configured.find(svc_key(proto, ip, port));
    if (!i) i = service_configured.find(svc_key(proto, ip, 0));
    return i ? &services[*i] : nullptr;
  }
  // The Masq destination a packet from ip:port (a real server's reply) belongs to.
  Destination* find_masq(uint8_t proto, uint32_t ip, uint16_t port) const {
    Destination* const* d = masq_by_rs.find(svc_key(proto, ip, port));
    if (!d && has_port0_masq) d = masq_by_rs.find(svc_key(proto, ip, 0));
    return d ? *d : nullptr;
  }
  // The IPv6 forms: ip6_fold keys, whole addresses compared.
  const SnapService* find_service6(uint8_t proto, const uint8_t* ip, uint16_t port) const {
    return find6(service6_by_key, has_port0_6, proto, ip, port, true);
  }
  const SnapService* find_configured6(uint8_t proto, const uint8_t* ip, uint16_t port) const {
    return find6(service6_configured, true, proto, ip, port, false);
  }
  Destination* find_masq6(uint8_t proto, const uint8_t* ip, uint16_t port) const {
    const uint32_t f = ip6_fold(ip);
    for (const uint16_t p : {port, uint16_t{0}}) {
      if (p == 0 && port != 0 && !has_port0_masq6) break;
      if (fold6_shared) {
        for (const auto& [pr, d] : masq6)
          if (pr == proto && d->rport_be == p && std::memcmp(d->rip6, ip, 16) == 0) return d;
        continue;
      }
      Destination* const* d = masq6_by_rs.find(svc_key(proto, f, p));
      if (d && std::memcmp((*d)->rip6, ip, 16) == 0) return *d;
      if (port == 0) break;
    }
    return nullptr;
  }
  const SnapService* find_by_id(uint32_t id) const {
    const uint32_t* i = service_by_id.find(id);
    return i ? &services[*i] : nullptr;
  }
  const SnapRoute* route(uint32_t dst) const {
    for (const auto& r : routes)
      if ((dst & r.mask) == r.prefix) return &r;
    return nullptr;
  }
  // The address to speak from on a port: one on the same subnet as `peer`, else the first.
  const SnapAddr* source_addr(uint16_t port, uint32_t peer) const {
    const SnapAddr* first = nullptr;
    for (const auto& a : addrs) {
      if (a.port != port) continue;
      if ((peer & a.mask) == (a.ip & a.mask)) return &a;
      if (!first) first = &a;
    }
    return first;
  }
  // One of the director's IPv6 addresses (a few: a scan).
  const SnapAddr6* local6(const uint8_t* ip) const {
    for (const auto& a : addrs6)
      if (std::memcmp(a.ip, ip, 16) == 0) return &a;
    return nullptr;
  }
  // On a subnet of one of the port's IPv6 addresses, or link-local (fe80::/10: every link's).
  bool on_connected_subnet6(uint16_t port, const uint8_t* ip) const {
    if (ip6_is_link_local(ip)) return true;
    for (const auto& a : addrs6)
      if (a.port == port && prefix6_match(a.ip, ip, a.prefix_len)) return true;
    return false;
  }
  const SnapRoute6* route6(const uint8_t* dst) const {
    for (const auto& r : routes6)
      if (prefix6_match(dst, r.prefix, r.len)) return &r;
    return nullptr;
  }
  // The IPv6 address to speak from on a port: one on the same subnet as `peer`, else the first.
  const SnapAddr6* source_addr6(uint16_t port, const uint8_t* peer) const {
    const SnapAddr6* first = nullptr;
    for (const auto& a : addrs6) {
      if (a.port != port) continue;
      if (prefix6_match(a.ip, peer, a.prefix_len)) return &a;
      if (!first) first = &a;
    }
    return first;
  }
  const SnapService* find6(const FlatMap64<uint32_t>& map, bool port0, uint8_t proto,
                           const uint8_t* ip, uint16_t port, bool local) const {
    const uint32_t f = ip6_fold(ip);
    for (const uint16_t p : {port, uint16_t{0}}) {
      if (p == 0 && port != 0 && !port0) break;
      if (fold6_shared) {
        for (const SnapService& s : services)
          if (s.v6 && (s.vip_local || !local) && s.proto == proto && s.vport == p &&
              std::memcmp(s.vip6, ip, 16) == 0)
            return &s;
        continue;
      }
      const uint32_t* i = map.find(svc_key(proto, f, p));
      if (i && std::memcmp(services[*i].vip6, ip, 16) == 0) return &services[*i];
      if (port == 0) break;
    }
    return nullptr;
  }
  bool on_connected_subnet(uint16_t port, uint32_t ip) const {
    for (const auto& a : addrs)
      if (a.port == port && (ip & a.mask) == (a.ip & a.mask)) return true;
    return false;
  }
};

// What a worker's scheduler state for a service is built from (sched_dests_changed): the
// scheduler, its flags, and the destinations in list order with their weights.
struct SchedInputs {
  SchedKind kind = SchedKind::Wlc;
  uint32_t flags = 0;
  std::vector<std::pair<const Destination*, int32_t>> dests;
  friend bool operator==(const SchedInputs&, const SchedInputs&) = default;
};

// Owns the Destination objects. A destination keeps its identity (and so its counters and
// connection counts) for as long as its (service, RIP, port) stays configured. One that leaves
// the configuration goes to the trash, as IPVS's does (ip_vs_trash_put_dest): it is marked
// unavailable, its connections' packets are dropped (expire_nodest_conn=0), re-adding it revives
// it with its counts, and it is freed once no connection uses it and no snapshot names it.
class DestStore {
 public:
  explicit DestStore(unsigned nworkers) : nworkers_(nworkers) {}

  // A snapshot build: begin(), then get()/service_id()/service_gen() for everything in the
  // configuration, then end(), which trashes what was not named.
  void begin();
  Destination* get(const ServiceKey& svc, const DestConfig& d);
  uint32_t service_id(const ServiceKey& svc);
  // The generation of service `id`'s scheduler inputs: bumped when they differ from the last
  // build's, so that a worker rebuilds its scheduler state for that service only then.
  uint32_t service_gen(uint32_t id, const SchedInputs& inputs);
  void end();

  // Frees trashed destinations with no connections. Only call when no snapshot older than the
  // current one can still be read by a worker.
  // With workers running, pass a grace period: start() when a destination is first seen unused
  // (an RCU token), done(token) once every worker has passed a quiescent state since, so none
  // still holds a pointer it read before (a persistence template's, say). Without them (tests,
  // one thread) it is freed at once.
  unsigned reclaim(const std::function<uint64_t()>& start = {},
                   const std::function<bool(uint64_t)>& done = {});
  size_t trashed() const;
  template <typename F>
  void for_each_trashed(F&& fn) const {
    for (const DestKey& key : trash_) {
      // A firewall-mark service's destination takes both protocols.
      fn(static_cast<uint8_t>(key.service.proto), dests_.at(key).dest.get());
      if (key.service.is_fwmark()) fn(uint8_t{17}, dests_.at(key).dest.get());
    }
  }
  size_t size() const { return dests_.size(); }

 private:
  struct Entry {
    std::unique_ptr<Destination> dest;
    uint64_t seen = 0;
    std::optional<uint64_t> grace;  // the RCU token taken when it was first seen unused
  };
  struct SvcEntry {
    uint32_t id = 0;
    uint32_t gen = 0;
    SchedInputs inputs;
    uint64_t seen = 0;
  };
  unsigned nworkers_;
  uint64_t epoch_ = 0;
  std::map<DestKey, Entry> dests_;
  std::vector<DestKey> trash_;  // the keys of dests_ the last build did not name
  std::map<ServiceKey, SvcEntry> services_;
  std::map<uint32_t, ServiceKey> service_keys_;
  uint32_t next_service_id_ = 0;
};

// Builds a snapshot from the configuration. Port MACs come from the ports (or a test).
// port_mtus: the ports' IP MTU (null: 1500 each).
std::unique_ptr<Snapshot> build_snapshot(const Config& cfg, DestStore& store, uint16_t nports,
                                         const MacAddr* port_macs,
                                         const uint16_t* port_mtus = nullptr);

}  // namespace fastvs
