// Per-worker counters: packets by outcome, drops by reason. A worker writes only its own
// struct; readers (control, tests) sum across workers.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace fastvs {

#define FASTVS_DROP_REASONS(X)                                                           \
  X(eth_truncated, "Ethernet header truncated")                                          \
  X(ethertype, "not IPv4, IPv6 or ARP")                                                  \
  X(multi_segment, "multi-segment packet")                                               \
  X(arp_malformed, "malformed ARP")                                                      \
  X(arp_not_ours, "ARP for an address that is not ours")                                 \
  X(ip_truncated, "IPv4 header truncated")                                               \
  X(ip_version, "IP version not the EtherType's (4 or 6)")                               \
  X(ip_ihl, "IPv4 header length below 20")                                               \
  X(ip_total_length, "IPv4 total length beyond the frame or below the header")           \
  X(ip_checksum, "bad IPv4 header checksum")                                             \
  X(ip_options, "malformed IPv4 options (an option's length does not fit)")              \
  X(ip_source_route, "source-routed (LSRR/SSRR): refused as accept_source_route=0")      \
  X(ip6_truncated, "IPv6 header truncated")                                              \
  X(ip6_payload_length, "IPv6 payload length beyond the frame")                          \
  X(ip6_ext_truncated, "IPv6 extension header truncated")                                \
  X(ip6_ext_order, "IPv6 hop-by-hop options not first")                                  \
  X(ip6_ext_chain, "more than 8 IPv6 extension headers")                                 \
  X(ip6_options, "IPv6 options that do not fit their header")                            \
  X(frag_malformed, "fragment lacking the TCP/UDP header, inside it, or past 64K")       \
  X(frag_unknown, "non-first fragment of no known datagram (first not seen)")            \
  X(frag_local, "fragment to a local address, not a service (not reassembled)")          \
  X(frag_other, "fragment not of a TCP/UDP service or NAT reply (ICMP, routed)")         \
  X(martian_source, "source that cannot be a client: 0/8, 127/8, multicast, ours")       \
  X(martian_dest, "IPv6 to loopback, IPv4-mapped or reserved/node-local multicast")      \
  X(other_host, "unicast to another host's MAC (the port is promiscuous)")               \
  X(l4_truncated, "TCP/UDP/ICMP header truncated")                                       \
  X(tcp_doff, "TCP data offset out of range")                                            \
  X(icmp_malformed, "ICMP error without a usable embedded header")                       \
  X(icmp_checksum, "bad ICMP checksum (echo request or error)")                          \
  X(udp6_no_checksum, "IPv6 UDP fragment without a checksum (cannot be computed)")       \
  X(icmp_other, "ICMP to a local address that is not an echo request")                   \
  X(icmp_no_conn, "ICMP error about no known connection")                                \
  X(local_other, "to a local address, not a service")                                    \
  X(no_service, "not to a service, not a NAT reply, not local")                          \
  X(no_conn, "not a connection start and no connection")                                 \
  X(no_dest, "the scheduler found no available destination")                             \
  X(dest_removed, "the connection's destination was removed (expire_nodest_conn=0)")     \
  X(conn_table_full, "connection table full")                                            \
  X(conn_collision, "another connection holds the same real-server tuple")               \
  X(persist_table_full, "no room for a persistence template (its bucket is full)")       \
  X(ttl_exceeded, "TTL expired in transit")                                              \
  X(no_route, "no route to the destination")                                             \
  X(no_source_addr, "no local address on the egress port")                               \
  X(neigh_unresolved, "next hop not resolved in 3 s, or its waiting queue full")         \
  X(handoff_full, "hand-off ring to the owner worker full")                              \
  X(tx_full, "TX queue full")                                                            \
  X(tunnel_too_big, "too big for the tunnel (frag needed if DF, or Packet Too Big)")     \
  X(no_headroom, "no room in the buffer for the tunnel header")                          \
  X(icmp_rate_limited, "ICMP error not sent: rate limit")                                \
  X(arp_rate_limited, "ARP request for us not answered: rate limit")                     \
  X(echo_rate_limited, "ICMP echo request to us not answered: rate limit")               \
  X(nd_malformed, "neighbour solicitation RFC 4861 7.1.1 discards (hop limit, options)") \
  X(nd_rate_limited, "neighbour solicitation for us not answered: rate limit (ARP's)")   \
  X(kernel_path_limit, "for the kernel, over the kernel path's rate limit")              \
  X(kernel_path_full, "for the kernel, but its ring was full")                           \
  X(kernel_ctl_limit, "VRRP or ARP for the kernel, over their own budget")

enum class Drop : uint8_t {
#define X(name, text) name,
  FASTVS_DROP_REASONS(X)
#undef X
      count
};
constexpr unsigned kDropCount = static_cast<unsigned>(Drop::count);

const char* drop_name(Drop d);
const char* drop_text(Drop d);

// A counter one worker writes and anyone reads: a relaxed load and store (no lock prefix on the
// hot path), so a reader on another core sees a whole value, never a torn one.
class Counter {
 public:
  Counter() = default;
  Counter(const Counter& o) : v_(o.get()) {}
  Counter& operator=(const Counter& o) {
    v_.store(o.get(), std::memory_order_relaxed);
    return *this;
  }
  void operator+=(uint64_t n) {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void operator++() { *this += 1; }
  uint64_t get() const { return v_.load(std::memory_order_relaxed); }
  operator uint64_t() const { return get(); }

 private:
  std::atomic<uint64_t> v_{0};
};

// What each worker counts besides drops: its name (the stats file's key, `ip -s link`'s word),
// its Prometheus family (fastvs_worker_<metric>_total) and what it counts. Every listing of the
// counters (the stats file, the log, ip -s link, /metrics, telemetry) is made from this list.
#define FASTVS_WORKER_COUNTERS(X)                                                            \
  X(rx, "rx_packets", "Packets taken from the ports' RX queues")                             \
  X(tx, "tx_packets", "Packets handed to the ports' TX queues")                              \
  X(handoff_out, "handoff_out_packets", "Packets handed to the worker that owns their flow") \
  X(handoff_in, "handoff_in_packets",                                                        \
    "Packets received from other workers (flows this worker "                                \
    "owns)")                                                                                 \
  X(nat_in, "nat_in_packets", "Requests rewritten to a real server (NAT)")                   \
  X(nat_out, "nat_out_packets", "Replies rewritten to the VIP (NAT)")                        \
  X(icmp_nat, "icmp_nat_packets", "ICMP errors translated (NAT)")                            \
  X(dr_out, "dr_out_packets", "Requests sent on by direct routing")                          \
  X(tun_out, "tun_out_packets", "Requests sent on in an IPIP tunnel")                        \
  X(arp_replies, "arp_replies_sent", "ARP requests for the director's addresses answered")   \
  X(arp_replies_in, "arp_replies_received", "ARP replies learned from and consumed")         \
  X(arp_requests, "arp_requests_sent", "ARP requests sent for next hops")                    \
  X(nd_adverts, "nd_adverts_sent",                                                           \
    "Neighbour solicitations for the director's IPv6 addresses answered")                    \
  X(nd_solicits, "nd_solicits_sent", "Neighbour solicitations sent for IPv6 next hops")      \
  X(echo_replies, "echo_replies_sent", "ICMP echo requests answered")                        \
  X(icmp_errors_sent, "icmp_errors_sent",                                                    \
    "ICMP errors sent (time exceeded, fragmentation "                                        \
    "needed)")                                                                               \
  X(conns_created, "connections_created", "Connections created")                             \
  X(conns_expired, "connections_expired", "Connections expired")                             \
  X(to_kernel, "to_kernel_packets", "Packets handed to the host's stack (the kernel path)")  \
  X(to_kernel_ctl, "to_kernel_control_packets",                                              \
    "Of those, VRRP and ARP, handed on a budget of their own")                               \
  X(from_kernel, "from_kernel_packets", "The host's packets sent out of a port")             \
  X(frags_tracked, "fragments_tracked", "First fragments whose datagram was remembered")     \
  X(frags_followed, "fragments_followed", "Non-first fragments forwarded after their first") \
  X(frags_evicted, "fragments_evicted",                                                      \
    "Remembered datagrams overwritten while live (the "                                      \
    "fragment table was full)")                                                              \
  X(sync_queued, "sync_queued", "Connections queued for the master sync daemon")             \
  X(sync_dropped, "sync_dropped",                                                            \
    "Connections the master sync daemon lost: the worker's sync ring was full")              \
  X(sync_applied, "sync_applied", "Synced connections installed or updated (backup)")        \
  X(sync_skipped, "sync_skipped",                                                            \
    "Synced connections skipped: their service or real server is not configured here")

enum class Ctr : uint8_t {
#define X(name, metric, help) name,
  FASTVS_WORKER_COUNTERS(X)
#undef X
};

struct CounterInfo {
  const char* name;
  const char* metric;
  const char* help;
};
inline constexpr CounterInfo kCounters[] = {
#define X(name, metric, help) {#name, metric, help},
    FASTVS_WORKER_COUNTERS(X)
#undef X
};
inline constexpr unsigned kCounterCount = sizeof kCounters / sizeof kCounters[0];

struct alignas(64) WorkerCounters {
#define X(name, metric, help) Counter name;
  FASTVS_WORKER_COUNTERS(X)
#undef X
  std::array<Counter, kDropCount> drops{};

  void drop(Drop d) {
    ++drops[static_cast<unsigned>(d)];
  }
  // The counters' values in kCounters' order.
  std::array<uint64_t, kCounterCount> values() const {
    return {
#define X(name, metric, help) name.get(),
        FASTVS_WORKER_COUNTERS(X)
#undef X
    };
  }
};

}  // namespace fastvs
