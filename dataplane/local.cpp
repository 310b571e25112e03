// What the director answers itself: ARP for its addresses, ICMP echo to them, and the ICMP
// errors it originates (time exceeded). Also ARP requests for next hops it must resolve.
#include <rte_arp.h>
#include <rte_ether.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "dataplane/hash.h"
#include "dataplane/worker.h"

namespace fastvs {

namespace {

// Learned neighbours travel to control, which alone writes the table. As the kernel does
// (arp_process), an ARP addressed to us creates an entry; any other ARP heard on the wire (the
// port is promiscuous) only refreshes an entry that exists, so strangers cannot fill the table.
void learn(Worker& w, uint16_t port, uint32_t ip, const rte_ether_addr& mac, bool to_us) {
  if (ip == 0 || !w.snap->on_connected_subnet(port, ip)) return;
  uint16_t known_port;
  MacAddr known;
  const bool exists = w.neigh->lookup(ip, &known_port, &known);
  if (!exists && !to_us) return;
  if (exists && known_port == port && std::memcmp(known.data(), mac.addr_bytes, 6) == 0) return;
  NeighLearn nl{};
  nl.ip = ip;
  nl.port = port;
  std::memcpy(nl.mac, mac.addr_bytes, 6);
  if (w.neigh_learn) rte_ring_sp_enqueue_elem(w.neigh_learn, &nl, sizeof nl);
}

void arp_input(Worker& w, rte_mbuf* m, const PacketInfo& pi) {
  auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
  auto* arp = reinterpret_cast<rte_arp_hdr*>(eth + 1);
  const uint16_t port = m->port;
  const uint16_t* where = w.snap->local_by_ip.find(pi.daddr);
  const bool to_us = where && *where == port;
  // A request over the limit is neither answered nor learned from: a flood of requests from
  // made-up senders must not become a flood of neighbour updates through control either.
  if (pi.sport == kArpOpRequest && to_us && !w.arp_bucket.take(w.now))
    return drop(w, m, Drop::arp_rate_limited);
  learn(w, port, pi.saddr, arp->arp_data.arp_sha, to_us);
  if (pi.sport == kArpOpReply) {
    // The host's stack resolves its own next hops (health checks, ssh): it needs the answers to
    // its requests too. Without a kernel path, learning was all the reply was for.
    if (w.to_kernel && to_us) return to_kernel(w, m, Drop::arp_not_ours, true);
    ++w.ctr.arp_replies_in;
    rte_pktmbuf_free(m);
    return;
  }
  if (!to_us) return drop(w, m, Drop::arp_not_ours);
  // Turn the request into the reply in place (RFC 826).
  const MacAddr& ours = w.snap->port_mac[port];
  arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
  arp->arp_data.arp_tha = arp->arp_data.arp_sha;
  arp->arp_data.arp_tip = arp->arp_data.arp_sip;
  std::memcpy(&arp->arp_data.arp_sha, ours.data(), 6);
  arp->arp_data.arp_sip = pi.daddr;
  eth->dst_addr = arp->arp_data.arp_tha;
  std::memcpy(&eth->src_addr, ours.data(), 6);
  ++w.ctr.arp_replies;
  tx_enqueue(w, port, m);
}

void echo_reply(Worker& w, rte_mbuf* m, const PacketInfo& pi) {
  auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
  auto* icmp = rte_pktmbuf_mtod_offset(m, rte_icmp_hdr*, pi.l4_off);
  const uint16_t icmp_len = static_cast<uint16_t>(pi.ip_len - (pi.l4_off - pi.l3_off));
  // The bucket before the checksum: over the limit, a flood's packet costs no pass over its
  // payload (a request with a bad checksum under the limit spends a token).
  if (!w.echo_bucket.take(w.now)) return drop(w, m, Drop::echo_rate_limited);
  if (csum_fold32(csum_partial(icmp, icmp_len)) != 0xffff) return drop(w, m, Drop::icmp_checksum);
  // Type 8 -> 0: the checksum's word (type, code) loses 0x0800.
  icmp->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
  icmp->icmp_cksum = csum_update2(icmp->icmp_cksum, rte_cpu_to_be_16(RTE_IP_ICMP_ECHO_REQUEST << 8),
                                  rte_cpu_to_be_16(RTE_IP_ICMP_ECHO_REPLY << 8));
  ip->dst_addr = pi.saddr;
  ip->src_addr = pi.daddr;
  ip->time_to_live = 64;
  ip->hdr_checksum = 0;
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  // Answer through the routing table, as the kernel does (the path back may be another port).
  ++w.ctr.echo_replies;
  rte_pktmbuf_trim(m, static_cast<uint16_t>(m->data_len - pi.l3_off - pi.ip_len));
  route_out(w, m, pi.saddr);
}

}  // namespace

void local_input(Worker& w, rte_mbuf* m, const PacketInfo& pi) {
  if (pi.kind == PktKind::Arp) return arp_input(w, m, pi);
  if (pi.kind == PktKind::Icmp && pi.icmp_type == kIcmpEcho) return echo_reply(w, m, pi);
  // Not a service, not what the workers answer: the host's stack (ssh to the DIP, the answers
  // to its own health checks and pings).
  // VRRPv3 to a unicast peer comes to a local address.
  to_kernel(w, m, pi.kind == PktKind::Icmp ? Drop::icmp_other : Drop::local_other,
            pi.proto == kIpProtoVrrp);
}

// IPv6 is the host's for now: fastvs has no IPv6 service yet, so every IPv6 packet that the
// kernel's ip6_rcv_core would take goes up the kernel path, and the host's IPv6 (its link-local
// and global addresses on dpdkN, neighbour discovery, health checks over IPv6) works through the
// ports. Neighbour discovery, MLD and VRRP ride the control budget, as ARP and VRRP do.
void ip6_input(Worker& w, rte_mbuf* m, const PacketInfo& pi) {
  const uint8_t* ip = rte_pktmbuf_mtod_offset(m, const uint8_t*, pi.l3_off);
  const uint8_t* src = ip + 8;
  const uint8_t* dst = ip + 24;
  // ip6_rcv_core: no multicast source; no loopback either way off the loopback device; no
  // IPv4-mapped address either way (RFC 4038); no multicast to the reserved scope 0 or the
  // interface-local scope 1 (RFC 4291 2.7).
  constexpr uint8_t kLoopback[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (src[0] == 0xff || std::memcmp(src, kLoopback, 16) == 0 || std::memcmp(src, kMapped, 12) == 0)
    return drop(w, m, Drop::martian_source);
  if (std::memcmp(dst, kLoopback, 16) == 0 || std::memcmp(dst, kMapped, 12) == 0 ||
      (dst[0] == 0xff && (dst[1] & 0x0f) <= 1))
    return drop(w, m, Drop::martian_dest);
  const bool control = pi.proto == kIpProtoVrrp ||
                       (pi.kind == PktKind::Icmp &&
                        ((pi.icmp_type >= kIcmp6MldQuery && pi.icmp_type <= kIcmp6Redirect) ||
                         pi.icmp_type == kIcmp6Mld2Report));
  to_kernel(w, m, Drop::no_service, control);
}

void to_kernel(Worker& w, rte_mbuf* m, Drop otherwise, bool control) {
  if (!w.to_kernel) return drop(w, m, otherwise);
  // A token bucket (--kernel-rate), a tenth of a second deep: a flood of traffic the data plane
  // does not handle must not turn into a flood of system calls.
  if (control) {
    if (!w.kernel_ctl_bucket.take(w.now)) return drop(w, m, Drop::kernel_ctl_limit);
  } else if (!w.kernel_bucket.take(w.now)) {
    return drop(w, m, Drop::kernel_path_limit);
  }
  if (rte_ring_mp_enqueue(w.to_kernel, m) != 0) return drop(w, m, Drop::kernel_path_full);
  ++w.ctr.to_kernel;
  if (control) ++w.ctr.to_kernel_ctl;
  w.kernel_wake = true;
}

void send_arp_request(Worker& w, uint16_t port, uint32_t target) {
  const unsigned slot = kernel_hash_32(target, slot_bits<Worker::kArpSlots>());
  if (w.arp_ip[slot] == target && w.now - w.arp_tick[slot] < kTicksPerSecond) return;
  const SnapAddr* src = w.snap->source_addr(port, target);
  if (!src) {
    w.ctr.drop(Drop::no_source_addr);
    return;
  }
  rte_mbuf* m = rte_pktmbuf_alloc(w.pool);
  if (!m) return;
  w.arp_ip[slot] = target;
  w.arp_tick[slot] = w.now;
  auto* eth = reinterpret_cast<rte_ether_hdr*>(
      rte_pktmbuf_append(m, sizeof(rte_ether_hdr) + sizeof(rte_arp_hdr)));
  if (!eth) return (void)rte_pktmbuf_free(m);
  auto* arp = reinterpret_cast<rte_arp_hdr*>(eth + 1);
  const MacAddr& ours = w.snap->port_mac[port];
  std::memset(&eth->dst_addr, 0xff, 6);
  std::memcpy(&eth->src_addr, ours.data(), 6);
  eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
  arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
  arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
  arp->arp_hlen = 6;
  arp->arp_plen = 4;
  arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
  std::memcpy(&arp->arp_data.arp_sha, ours.data(), 6);
  arp->arp_data.arp_sip = src->ip;
  std::memset(&arp->arp_data.arp_tha, 0, 6);
  arp->arp_data.arp_tip = target;
  ++w.ctr.arp_requests;
  tx_enqueue(w, port, m);
}

void send_icmp_error(Worker& w, const rte_mbuf* orig, uint8_t type, uint8_t code, uint32_t info) {
  const auto* oip = rte_pktmbuf_mtod_offset(orig, const rte_ipv4_hdr*, kEthHdrLen);
  // RFC 1122 3.2.2: never an ICMP error to a source that is no single host, nor about an ICMP
  // error.
  const uint8_t first = static_cast<uint8_t>(oip->src_addr);
  if (first == 0 || first >= 224) return;
  // icmp_send: only about a datagram's first fragment (a later one has no header to quote).
  if (oip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_OFFSET_MASK)) return;
  if (oip->next_proto_id == kIpProtoIcmp) {
    const uint8_t t =
        *(rte_pktmbuf_mtod_offset(orig, const uint8_t*, kEthHdrLen) + rte_ipv4_hdr_len(oip));
    if (t != kIcmpEcho && t != kIcmpEchoReply) return;
  }
  const SnapAddr* src = w.snap->source_addr(orig->port, oip->src_addr);
  if (!src) {
    w.ctr.drop(Drop::no_source_addr);
    return;
  }
  // Per worker, like the kernel's icmp_msgs_per_sec=1000 with icmp_msgs_burst=50
  // (--icmp-error-rate); an error that was never going out spends no token.
  if (!w.icmp_error_bucket.take(w.now)) {
    w.ctr.drop(Drop::icmp_rate_limited);
    return;
  }
  rte_mbuf* m = rte_pktmbuf_alloc(w.pool);
  if (!m) return;
  // icmp_send quotes as much of the offending datagram as fits in 576 bytes.
  const uint16_t olen = rte_be_to_cpu_16(oip->total_length);
  const uint16_t quote = std::min<uint16_t>(olen, 576 - 20 - 8);
  const uint16_t total = static_cast<uint16_t>(20 + 8 + quote);
  auto* eth = reinterpret_cast<rte_ether_hdr*>(
      rte_pktmbuf_append(m, static_cast<uint16_t>(sizeof(rte_ether_hdr) + total)));
  if (!eth) return (void)rte_pktmbuf_free(m);
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
  auto* icmp = reinterpret_cast<uint8_t*>(ip + 1);
  ip->version_ihl = RTE_IPV4_VHL_DEF;
  ip->type_of_service = 0xc0;  // IPTOS_PREC_INTERNETCONTROL, as icmp_send sets it
  ip->total_length = rte_cpu_to_be_16(total);
  ip->packet_id = 0;
  ip->fragment_offset = 0;
  ip->time_to_live = 64;
  ip->next_proto_id = kIpProtoIcmp;
  ip->src_addr = src->ip;
  ip->dst_addr = oip->src_addr;
  ip->hdr_checksum = 0;
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  icmp[0] = type;
  icmp[1] = code;
  icmp[2] = icmp[3] = 0;
  const uint32_t info_be = rte_cpu_to_be_32(info);
  std::memcpy(icmp + 4, &info_be, 4);
  std::memcpy(icmp + 8, oip, quote);
  const uint16_t sum = csum_buffer(icmp, 8u + quote);
  std::memcpy(icmp + 2, &sum, 2);
  ++w.ctr.icmp_errors_sent;
  route_out(w, m, oip->src_addr);
}

}  // namespace fastvs
