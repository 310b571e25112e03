// Per-worker counters: packets by outcome, drops by reason. A worker writes only its own
// struct; readers (control, tests) sum across workers.
#pragma once

#include <array>
#include <cstdint>

namespace fastvs {

#define FASTVS_DROP_REASONS(X)                                                   \
  X(eth_truncated, "Ethernet header truncated")                                  \
  X(ethertype, "not IPv4 or ARP")                                                \
  X(multi_segment, "multi-segment packet")                                       \
  X(arp_malformed, "malformed ARP")                                              \
  X(arp_not_ours, "ARP for an address that is not ours")                         \
  X(ip_truncated, "IPv4 header truncated")                                       \
  X(ip_version, "IP version is not 4")                                           \
  X(ip_ihl, "IPv4 header length below 20")                                       \
  X(ip_total_length, "IPv4 total length beyond the frame or below the header")   \
  X(ip_checksum, "bad IPv4 header checksum")                                     \
  X(ip_fragment, "non-first fragment (not supported yet)")                       \
  X(l4_truncated, "TCP/UDP/ICMP header truncated")                               \
  X(tcp_doff, "TCP data offset out of range")                                    \
  X(icmp_malformed, "ICMP error without a usable embedded header")               \
  X(icmp_checksum, "bad ICMP checksum on an ICMP error")                         \
  X(icmp_other, "ICMP to a local address that is not an echo request")           \
  X(icmp_no_conn, "ICMP error about no known connection")                        \
  X(local_other, "to a local address, not a service")                            \
  X(no_service, "not to a service, not a NAT reply, not local")                  \
  X(no_conn, "not a connection start and no connection")                         \
  X(no_dest, "the scheduler found no available destination")                     \
  X(dest_removed, "the connection's destination is gone or its service changed") \
  X(conn_table_full, "connection table full")                                    \
  X(ttl_exceeded, "TTL expired in transit")                                      \
  X(no_route, "no route to the destination")                                     \
  X(no_source_addr, "no local address on the egress port")                       \
  X(neigh_unresolved, "next hop not resolved yet (ARP sent)")                    \
  X(handoff_full, "hand-off ring to the owner worker full")                      \
  X(tx_full, "TX queue full")                                                    \
  X(icmp_rate_limited, "ICMP error not sent: rate limit")

enum class Drop : uint8_t {
#define X(name, text) name,
  FASTVS_DROP_REASONS(X)
#undef X
      count
};
constexpr unsigned kDropCount = static_cast<unsigned>(Drop::count);

const char* drop_name(Drop d);
const char* drop_text(Drop d);

struct alignas(64) WorkerCounters {
  uint64_t rx = 0;           // packets taken from RX queues
  uint64_t tx = 0;           // packets handed to TX queues
  uint64_t handoff_out = 0;  // mbufs sent to their owner worker
  uint64_t handoff_in = 0;
  uint64_t nat_in = 0;          // requests rewritten to a real server
  uint64_t nat_out = 0;         // replies rewritten to the VIP
  uint64_t icmp_nat = 0;        // ICMP errors translated
  uint64_t arp_replies = 0;     // answered
  uint64_t arp_replies_in = 0;  // received and learned from
  uint64_t arp_requests = 0;
  uint64_t echo_replies = 0;
  uint64_t icmp_errors_sent = 0;
  uint64_t conns_created = 0;
  uint64_t conns_expired = 0;
  std::array<uint64_t, kDropCount> drops{};

  void drop(Drop d) { ++drops[static_cast<unsigned>(d)]; }
  uint64_t drops_of(Drop d) const { return drops[static_cast<unsigned>(d)]; }
};

}  // namespace fastvs
