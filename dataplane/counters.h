// Per-worker counters: packets by outcome, drops by reason. A worker writes only its own
// struct; readers (control, tests) sum across workers.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace fastvs {

#define FASTVS_DROP_REASONS(X)                                                       \
  X(eth_truncated, "Ethernet header truncated")                                      \
  X(ethertype, "not IPv4 or ARP")                                                    \
  X(multi_segment, "multi-segment packet")                                           \
  X(arp_malformed, "malformed ARP")                                                  \
  X(arp_not_ours, "ARP for an address that is not ours")                             \
  X(ip_truncated, "IPv4 header truncated")                                           \
  X(ip_version, "IP version is not 4")                                               \
  X(ip_ihl, "IPv4 header length below 20")                                           \
  X(ip_total_length, "IPv4 total length beyond the frame or below the header")       \
  X(ip_checksum, "bad IPv4 header checksum")                                         \
  X(ip_options, "malformed IPv4 options (an option's length does not fit)")          \
  X(ip_source_route, "source-routed (LSRR/SSRR): refused as accept_source_route=0")  \
  X(frag_malformed, "fragment lacking the TCP/UDP header, inside it, or past 64K")   \
  X(frag_unknown, "non-first fragment of no known datagram (first not seen)")        \
  X(frag_local, "fragment to a local address, not a service (not reassembled)")      \
  X(frag_other, "fragment not of a TCP/UDP service or NAT reply (ICMP, routed)")     \
  X(martian_source, "source that cannot be a client: 0/8, 127/8, multicast, ours")   \
  X(other_host, "unicast to another host's MAC (the port is promiscuous)")           \
  X(l4_truncated, "TCP/UDP/ICMP header truncated")                                   \
  X(tcp_doff, "TCP data offset out of range")                                        \
  X(icmp_malformed, "ICMP error without a usable embedded header")                   \
  X(icmp_checksum, "bad ICMP checksum (echo request or error)")                      \
  X(icmp_other, "ICMP to a local address that is not an echo request")               \
  X(icmp_no_conn, "ICMP error about no known connection")                            \
  X(local_other, "to a local address, not a service")                                \
  X(no_service, "not to a service, not a NAT reply, not local")                      \
  X(no_conn, "not a connection start and no connection")                             \
  X(no_dest, "the scheduler found no available destination")                         \
  X(dest_removed, "the connection's destination was removed (expire_nodest_conn=0)") \
  X(conn_table_full, "connection table full")                                        \
  X(conn_collision, "another connection holds the same real-server tuple")           \
  X(persist_table_full, "no room for a persistence template (its bucket is full)")   \
  X(ttl_exceeded, "TTL expired in transit")                                          \
  X(no_route, "no route to the destination")                                         \
  X(no_source_addr, "no local address on the egress port")                           \
  X(neigh_unresolved, "next hop not resolved yet (ARP sent)")                        \
  X(handoff_full, "hand-off ring to the owner worker full")                          \
  X(tx_full, "TX queue full")                                                        \
  X(tunnel_too_big, "too big for the tunnel (ICMP fragmentation needed sent if DF)") \
  X(no_headroom, "no room in the buffer for the tunnel header")                      \
  X(icmp_rate_limited, "ICMP error not sent: rate limit")                            \
  X(arp_rate_limited, "ARP request for us not answered: rate limit")                 \
  X(echo_rate_limited, "ICMP echo request to us not answered: rate limit")           \
  X(kernel_path_limit, "for the kernel, over the kernel path's rate limit")          \
  X(kernel_path_full, "for the kernel, but its ring was full")

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

struct alignas(64) WorkerCounters {
  Counter rx;           // packets taken from RX queues
  Counter tx;           // packets handed to TX queues
  Counter handoff_out;  // mbufs sent to their owner worker
  Counter handoff_in;
  Counter nat_in;          // requests rewritten to a real server
  Counter nat_out;         // replies rewritten to the VIP
  Counter icmp_nat;        // ICMP errors translated
  Counter dr_out;          // requests sent on by direct routing
  Counter tun_out;         // requests sent on in an IPIP tunnel
  Counter arp_replies;     // answered
  Counter arp_replies_in;  // received, learned from and consumed (not handed to the kernel)
  Counter arp_requests;
  Counter echo_replies;
  Counter icmp_errors_sent;
  Counter conns_created;
  Counter conns_expired;
  Counter to_kernel;    // handed to the host's stack (the kernel path)
  Counter from_kernel;  // the host's frames sent out of a port
  // Fragments (frag_table.h): first fragments whose datagram was remembered, non-first ones
  // forwarded after it, remembered datagrams overwritten while live (the table was full).
  Counter frags_tracked;
  Counter frags_followed;
  Counter frags_evicted;
  std::array<Counter, kDropCount> drops{};

  void drop(Drop d) { ++drops[static_cast<unsigned>(d)]; }
};

}  // namespace fastvs
