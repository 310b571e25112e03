// A worker core: its state in one struct (DPDK l3fwd's lcore_conf), the poll loop, and the
// pipeline as plain functions that tests call on crafted bursts.
//
// Stages, each findable by name: parse (parse.h) -> classify (which service, NAT reply, ICMP
// error, local) -> steer (steer.h: hand to the owner worker) -> lookup/schedule (conn_table,
// sched/) -> transmit by method (xmit/) -> route + neighbour -> TX buffer -> drain.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "dataplane/conn_table.h"
#include "dataplane/counters.h"
#include "dataplane/frag_table.h"
#include "dataplane/neigh.h"
#include "dataplane/parse.h"
#include "dataplane/persist.h"
#include "dataplane/snapshot.h"
#include "dataplane/token_bucket.h"

struct rte_mbuf;
struct rte_mempool;
struct rte_ring;
struct rte_rcu_qsbr;

namespace fastvs {

constexpr unsigned kBurst = 32;
constexpr unsigned kTxBufSize = 64;
constexpr unsigned kMaxRxQueues = kMaxPorts;

// Answers per second per worker (fastvsd's defaults; see --arp-rate and its siblings).
constexpr uint32_t kDefaultArpRate = 10000;
constexpr uint32_t kDefaultEchoRate = 10000;
constexpr uint32_t kDefaultIcmpErrorRate = 1000;
constexpr uint32_t kIcmpErrorBurst = 50;

struct RxQueue {
  uint16_t port;
  uint16_t queue;
};

struct TxBuffer {
  uint16_t n = 0;
  rte_mbuf* pkts[kTxBufSize];
};

// What the packet is to the director, decided from the snapshot alone.
enum class Verdict : uint8_t {
  Request,       // to a service: schedule or follow its connection, NAT to the real server
  Reply,         // from a Masq destination: NAT back to the client
  IcmpToRs,      // ICMP error about a packet the director sent to a client
  IcmpToClient,  // ICMP error about a packet the director sent to a real server
  Local,         // ARP or ICMP for one of our addresses: answered by whichever worker has it
  FragIn,        // a non-first fragment toward a VIP: follows its first fragment (frag_table.h)
  FragOut,       // a non-first fragment from a Masq real server: follows its first fragment
  // To one of our addresses while a firewall-mark service exists, and no service or reply
  // claims it: a connection of that service's (the mark rules changed since it was made), or
  // the host's as Local (fwmark_follow).
  FwmConn,
  Drop,
};

// fastvsadm -c: control asks, the worker copies its live connections between bursts (a bounded
// number of entries per loop iteration, into room control reserved), control collects. The
// worker alone reads its table; nothing is read across cores while it changes.
struct ConnRow {
  IpAddr cip, vip, rip;
  uint16_t cport, vport, rport;  // network order
  uint8_t proto;
  TcpState state;
  uint32_t expires_in;  // ticks
};

struct ConnDump {
  enum : uint32_t { kIdle, kAsked, kDone };
  std::atomic<uint32_t> state{kIdle};
  std::vector<ConnRow> rows;  // control reserves; the worker never grows it past capacity
  uint32_t cursor = 0;
  bool truncated = false;
};

struct Worker {
  // Identity and wiring (set up once).
  unsigned id = 0;
  unsigned nworkers = 1;
  rte_mempool* pool = nullptr;  // for packets the worker makes (ARP requests, ICMP errors)
  NeighTable* neigh = nullptr;
  rte_ring* neigh_learn = nullptr;  // to control
  NeighTable6* neigh6 = nullptr;
  rte_ring* neigh_learn6 = nullptr;      // to control (NeighLearn6)
  rte_ring* handoff_out[kMaxWorkers]{};  // to worker i: packets it owns
  rte_ring* handoff_in[kMaxWorkers]{};   // from worker i: packets this worker owns
  rte_ring* txho_out[kMaxWorkers]{};     // to worker i: packets for its TX queue
  rte_ring* txho_in[kMaxWorkers]{};
  RxQueue rxq[kMaxRxQueues];
  unsigned nrxq = 0;
  int32_t txq[kMaxPorts];        // this worker's TX queue on each port, or -1
  uint16_t tx_owner[kMaxPorts];  // who transmits on a port for a worker without a queue
  uint32_t idle_sleep_us = 0;

  // Configuration in force. Control publishes each new snapshot in `latest` (one pointer: a
  // worker that was asleep through several changes adopts only the newest, and nothing can
  // overflow); the worker adopts it at the top of its loop and then reports a quiescent state.
  const Snapshot* snap = nullptr;
  std::atomic<const Snapshot*> latest{nullptr};
  rte_rcu_qsbr* qsbr = nullptr;
  PersistTable* persist = nullptr;  // shared by every worker (persistence templates)
  // The seq of the snapshot in use. Adoption reads the one it replaces (scheduler positions
  // follow destinations across lists), so control frees a snapshot only once every worker has
  // adopted a newer one, not merely passed a quiescent state (an idle worker is offline).
  std::atomic<uint64_t> adopted_seq{0};
  std::vector<SchedState> sched;  // by SnapService::id

  // Per-packet state.
  ConnTable conns;
  FragTable frags;  // fragmented datagrams in flight: whose connection they are
  TxBuffer txbuf[kMaxPorts];
  WorkerCounters ctr;
  uint64_t tsc_per_tick = 1;
  uint32_t now = 0;  // ticks (1/16 s)
  uint64_t now_tsc = 0;
  // The outer IP ID of the next tunnelled packet without DF. Seeded at random by control, so
  // it is not guessable from outside; fixtures start it at 0.
  uint16_t tun_ip_id = 0;
  // Next hops already resolved: destination address -> egress port and both MACs, valid for one
  // snapshot (routes) and one neighbour-table generation (MACs). Direct-mapped; a miss takes the
  // full path (route lookup, neighbour lookup) and fills the slot.
  struct NextHop {
    uint32_t dst = 0;
    uint32_t neigh_gen = 0;  // 0: empty
    uint64_t snap_seq = 0;   // seq, not the pointer: a new snapshot may reuse a freed address
    uint16_t port = 0;
    uint8_t macs[12]{};  // destination MAC, then source MAC: the first 12 bytes of the frame
  };
  static constexpr unsigned kNextHops = 256;
  NextHop nexthop[kNextHops];
  // The same for IPv6 destinations (route_out6), keyed by the address's fold, valid for one
  // snapshot and one IPv6 neighbour-table generation.
  struct NextHop6 {
    uint8_t dst[16]{};
    uint32_t neigh_gen = 0;  // 0: empty
    uint64_t snap_seq = 0;
    uint16_t port = 0;
    uint8_t macs[12]{};
  };
  static constexpr unsigned kNextHops6 = 64;
  NextHop6 nexthop6[kNextHops6];
  uint32_t neigh_gen = 0;  // the neighbour table's generation, read once per burst

  // Packets waiting for their next hop's MAC (an ARP request or a solicitation went out), as the
  // kernel's neighbour queue holds them (unres_qlen) rather than losing a connection's first
  // packet: routed again when a neighbour table changes, dropped (neigh_unresolved) once
  // kPendingTicks old or when the queue is full and a newer one needs the room.
  struct Pending {
    rte_mbuf* m;
    uint32_t since;  // tick
    int16_t link_port;
    bool v6;
    uint32_t dst4;  // network order
    uint8_t dst6[16];
  };
  static constexpr unsigned kPendingMax = 64;
  static constexpr uint32_t kPendingTicks = 3 * 16;  // 3 s: the kernel's 3 probes a second apart
  Pending pending[kPendingMax];
  unsigned npending = 0;
  uint32_t pending_gen4 = 0, pending_gen6 = 0;  // the tables' generations last routed against

  // ARP request rate limit: one request per next hop per second (a small direct-mapped cache).
  static constexpr uint32_t kArpSlots = 64;
  uint32_t arp_ip[kArpSlots]{};
  uint32_t arp_tick[kArpSlots]{};
  // What the worker answers itself, at most so many a second each (fastvsd --arp-rate,
  // --icmp-rate, --icmp-error-rate; the rest is dropped and counted): a flood of requests to our
  // addresses costs a bucket check per packet, not a reply per packet.
  TokenBucket arp_bucket = TokenBucket::tenth_deep(kDefaultArpRate);
  TokenBucket echo_bucket = TokenBucket::tenth_deep(kDefaultEchoRate);
  // ICMP errors we originate: like the kernel's icmp_msgs_per_sec=1000 and icmp_msgs_burst=50.
  TokenBucket icmp_error_bucket{kDefaultIcmpErrorRate, kIcmpErrorBurst};

  // Tests: when set, drained TX buffers land here instead of in the port's TX queue.
  std::vector<rte_mbuf*>* capture = nullptr;

  ConnDump dump;

  // The kernel path (control/kernel_path.h): what the data plane does not handle itself goes to
  // the host's stack through control, at most so many packets a second (fastvsd --kernel-rate).
  rte_ring* to_kernel = nullptr;    // multi-producer, control consumes; null: no kernel path
  int kernel_wake_fd = -1;          // eventfd control sleeps on, written once per loop at most
  bool kernel_wake = false;         // something was queued since the last wake-up
  rte_ring* from_kernel = nullptr;  // the host's frames to send out (worker 0)
  TokenBucket kernel_bucket = TokenBucket::tenth_deep(100000);
  // VRRP adverts and ARP replies to the host's requests have a budget of their own: a flood of
  // other traffic for the host must not cost the backup its master's adverts (a failover for
  // nothing) or the host its neighbours.
  TokenBucket kernel_ctl_bucket = TokenBucket::tenth_deep(kKernelCtlRate);
  static constexpr uint32_t kKernelCtlRate = 2000;  // packets a second, per worker

  // Connection sync (sync.h): events for the master daemon (the worker produces, control
  // consumes), synced connections for the backup (control produces, the worker consumes).
  rte_ring* sync_out = nullptr;
  rte_ring* sync_in = nullptr;
  // The master's per-connection counts (conn_table.h's SyncCount, by entry index): set by
  // control before the first snapshot that says the master runs, kept for the worker's life.
  SyncCount* sync_counts = nullptr;

  std::atomic<bool>* stop = nullptr;  // first phase: stop taking packets in
  std::atomic<bool>* exit = nullptr;  // second phase: every ring is drained, leave
  Counter drained;                    // packets moved after stop (control watches it settle)

  // The services whose scheduler state has a lblc/lblcr table, aged once a tick; `loc_tick`: the
  // last. At the end: the per-packet fields above keep their places.
  std::vector<uint32_t> loc_ids;
  uint32_t loc_tick = 0;
};

// Gives a packet to the host's stack (the kernel path); without one, drops it as `otherwise`.
// control: VRRP or ARP, on their own budget.
void to_kernel(Worker& w, rte_mbuf* m, Drop otherwise, bool control = false);
// An IPv6 packet that passed the frame checks: LVS traffic (ip6_forward), neighbour discovery
// and echo for our addresses, else the host's, through the kernel path. steer: it came from an
// RX queue (not handed over), and may belong to another worker.
void ip6_input(Worker& w, rte_mbuf* m, const PacketInfo& pi, bool steer);
// IPv6's classify, steer and process (forward6.cpp): false when the packet is no LVS traffic
// (left to the caller), true when it was taken (forwarded, handed off, or dropped and counted).
bool ip6_forward(Worker& w, rte_mbuf* m, const PacketInfo& pi, bool steer);
// Hands a packet to the worker that owns it (its ring full: dropped and counted).
void handoff(Worker& w, unsigned owner, rte_mbuf* m);

// IPv6's route_out: the route, the next hop's MAC from the IPv6 neighbour table (unresolved: a
// neighbour solicitation, and the packet dropped), out of the route's port, remembered in the
// worker's next-hop cache (nexthop6). A link-local destination is on `link_port` (the port an
// answer's request came in on; -1: none, dropped as no_route), and is not cached.
void route_out6(Worker& w, rte_mbuf* m, const uint8_t* dst, int link_port = -1);
// A neighbour solicitation for `target` out of `port` (at most one a second per address).
void send_nd_solicit(Worker& w, uint16_t port, const uint8_t* target);
// An unsolicited neighbour advertisement of `addr` (just added on `port`) to all nodes.
void send_unsolicited_na(Worker& w, uint16_t port, const uint8_t* addr);
// An ICMPv6 error about `m` (still as received) to its source (icmp6_send's rules, RFC 4443
// 2.4), rate-limited as IPv4's are.
void send_icmp6_error(Worker& w, const rte_mbuf* m, uint8_t type, uint8_t code, uint32_t info);
// The hop limit, as decrement_ttl for IPv6 (ip6_forward: time exceeded when it runs out).
bool decrement_hop_limit(Worker& w, rte_mbuf* m);

// Adopts a snapshot (between bursts): sizes and resets the scheduler state.
void worker_adopt(Worker& w, const Snapshot* snap);

// The whole pipeline for a burst taken from an RX queue: parse, steer, process, buffer TX.
void worker_rx_burst(Worker& w, rte_mbuf** pkts, unsigned n);
// A burst handed over by another worker: this worker owns every packet in it.
void worker_owned_burst(Worker& w, rte_mbuf** pkts, unsigned n);
// Drains every TX buffer that holds something.
void worker_flush(Worker& w);
// Routes the packets waiting for a next hop again when a neighbour table changed, and drops
// those that waited too long. Cheap when none waits (the poll loop calls it every iteration).
void worker_retry_pending(Worker& w);
// Drops every waiting packet (the worker stops; a test or fuzz harness accounts for its mbufs).
void worker_drop_pending(Worker& w);
// Advances the clock from the TSC (or a test's ticks) and expires due connections.
void worker_set_time(Worker& w, uint64_t tsc);
void worker_expire(Worker& w, uint32_t budget);

// Copies up to `budget` table entries into w.dump when control asked for them.
void worker_dump_step(Worker& w, uint32_t budget);

// Adopts the newest snapshot control has pushed, if any (the top of every loop iteration).
void worker_poll_snapshot(Worker& w);

// The poll loop (rte_eal_remote_launch target).
int worker_main(void* arg);

// Stage functions shared by the pipeline files.
void tx_enqueue(Worker& w, uint16_t port, rte_mbuf* m);
// Routes an IPv4 packet (whose Ethernet header is in place) toward `dst`: picks the port and next
// hop, fills both MACs, buffers it. Frees and counts it when it cannot.
void route_out(Worker& w, rte_mbuf* m, uint32_t dst);
// Handles ARP and ICMP addressed to this director.
void local_input(Worker& w, rte_mbuf* m, const PacketInfo& pi);
// Asks who has `target` on `port` (at most once a second per target).
void send_arp_request(Worker& w, uint16_t port, uint32_t target);
// Sends an ICMP error about `m` (still in its received form) back to its source.
void send_icmp_error(Worker& w, const rte_mbuf* m, uint8_t type, uint8_t code, uint32_t info);
// Decrements the TTL as the kernel's decrement_ttl/ip_decrease_ttl do; false (and an ICMP time
// exceeded sent, and the packet freed) when it had expired.
bool decrement_ttl(Worker& w, rte_mbuf* m);

// A packet to a service (request.cpp): its connection, found or scheduled, then its method.
// `ahead`: the burst's lookup of the packet's key (ConnTable::lookup_bulk), or null.
void service_request(Worker& w, rte_mbuf* m, const PacketInfo& pi, const SnapService& svc,
                     const ConnLookahead* ahead = nullptr);
// The connection's life, the same for every method (request.cpp).
void conn_update_state(Worker& w, Conn* c, TcpDir dir, uint8_t tcp_flags);
void conn_forget(Worker& w, Conn* c);
// Takes a connection's counts and reference off its destination (before it is freed).
void conn_release(Worker& w, Conn& c);
Conn* conn_schedule(Worker& w, const PacketInfo& pi, const SnapService& svc, Drop* why);
// A connection loaded from the state file, before the workers start (control/state_restore.h):
// `saved` names its keys, destination, service id, method, state, flags, timeout and template
// slot + 1; it expires `remaining` ticks from w.now. Null when the table is full or (with
// *collision) another connection holds one of its keys.
Conn* conn_restore(Worker& w, const Conn& saved, uint32_t remaining, bool* collision);
void conn_count(Worker& w, Destination* d, rte_mbuf* m, bool in);
// A template's PersistConn and reference on its destination, in this worker's slot.
void tmpl_bind(Worker& w, Destination* d, int delta);

// A packet that FwmConn classified (request.cpp): a firewall-mark service's connection goes on
// by its tuple whatever the mark rules say now (ip_vs_in looks the connection up before any
// service), else it is the host's (local_input). The IPv6 form answers false for the host's.
void fwmark_follow(Worker& w, rte_mbuf* m, const PacketInfo& pi);
bool fwmark_follow6(Worker& w, rte_mbuf* m, const PacketInfo& pi);

// IPv6's request path (request.cpp), as service_request's.
void service_request6(Worker& w, rte_mbuf* m, const PacketInfo& pi, const SnapService& svc);
Conn* conn_schedule6(Worker& w, const PacketInfo& pi, const uint8_t* ip, const SnapService& svc,
                     Drop* why);

// The forwarding methods, one file each (xmit/): cp->packet_xmit.
void xmit_masq(Worker& w, rte_mbuf* m, const PacketInfo& pi, const Conn& c);  // nat.cpp
void xmit_route(Worker& w, rte_mbuf* m, const Conn& c);                       // dr.cpp
void xmit_tunnel(Worker& w, rte_mbuf* m, const Conn& c);                      // tunnel.cpp
// NAT's other directions (xmit/nat.cpp): replies, and ICMP errors about any connection.
void nat_reply(Worker& w, rte_mbuf* m, const PacketInfo& pi, const ConnLookahead* ahead = nullptr);
void nat_icmp(Worker& w, rte_mbuf* m, const PacketInfo& pi, bool to_client);
// NAT of a non-first fragment (xmit/nat.cpp): the IP header only, the L4 header is not in it.
void xmit_masq_frag(Worker& w, rte_mbuf* m, const PacketInfo& pi, const Conn& c);
void nat_reply_frag(Worker& w, rte_mbuf* m, const PacketInfo& pi, const Conn& c);
// The same for IPv6 (ip_vs_nat_xmit_v6, ip_vs_dr_xmit_v6, ip_vs_tunnel_xmit_v6; the NAT66
// replies and ICMPv6 errors of ip_vs_out and ip_vs_nat_icmp_v6).
void xmit_masq6(Worker& w, rte_mbuf* m, const PacketInfo& pi, const Conn& c);
void xmit_route6(Worker& w, rte_mbuf* m, const Conn& c);
void xmit_tunnel6(Worker& w, rte_mbuf* m, const Conn& c);
void nat_reply6(Worker& w, rte_mbuf* m, const PacketInfo& pi);
void nat_icmp6(Worker& w, rte_mbuf* m, const PacketInfo& pi, bool to_client);
void xmit_masq6_frag(Worker& w, rte_mbuf* m, const PacketInfo& pi, const Conn& c);
void nat_reply6_frag(Worker& w, rte_mbuf* m, const PacketInfo& pi, const Conn& c);

// Fragments (frag.cpp): a first fragment's datagram is remembered once its connection is known;
// the later ones follow it (reply: from the real server's side, NAT).
void frag_remember(Worker& w, const PacketInfo& pi);
void frag_follow(Worker& w, rte_mbuf* m, const PacketInfo& pi, bool reply);
void frag_follow6(Worker& w, rte_mbuf* m, const PacketInfo& pi, bool reply);

inline void drop(Worker& w, rte_mbuf* m, Drop why);

}  // namespace fastvs

#include <rte_mbuf.h>

namespace fastvs {
inline void drop(Worker& w, rte_mbuf* m, Drop why) {
  w.ctr.drop(why);
  rte_pktmbuf_free(m);
}
}  // namespace fastvs
