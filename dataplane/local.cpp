// What the director answers itself: ARP for its addresses, ICMP echo to them, and the ICMP
// errors it originates (time exceeded). Also ARP requests for next hops it must resolve.
#include <rte_arp.h>
#include <rte_branch_prediction.h>
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

// IPv6's neighbour discovery and echo for the director's own IPv6 addresses (RFC 4861, RFC
// 4443): what arp_input and echo_reply are for IPv4.

constexpr uint8_t kNdOptSourceLl = 1, kNdOptTargetLl = 2;
constexpr unsigned kNdNsLen = 24;  // type, code, checksum, reserved, target

void learn6(Worker& w, uint16_t port, const uint8_t* ip, const uint8_t* mac) {
  if (!w.neigh_learn6 || !w.snap->on_connected_subnet6(port, ip)) return;
  NeighLearn6 nl{};
  std::memcpy(nl.ip.b, ip, 16);
  nl.port = port;
  std::memcpy(nl.mac, mac, 6);
  rte_ring_sp_enqueue_elem(w.neigh_learn6, &nl, sizeof nl);
}

// RFC 4861 4.6: options of (type, length in units of 8 bytes); a zero length is invalid and so
// is one past the end. *ll: the link-layer address of the first option of `type`, if any.
bool nd_options(const uint8_t* o, unsigned len, uint8_t type, const uint8_t** ll) {
  *ll = nullptr;
  for (unsigned i = 0; i < len;) {
    if (i + 2 > len || o[i + 1] == 0 || o[i + 1] * 8u > len - i) return false;
    if (o[i] == type && o[i + 1] == 1 && !*ll) *ll = o + i + 2;
    i += o[i + 1] * 8u;
  }
  return true;
}

bool icmp6_csum_ok(const uint8_t* ip, const uint8_t* icmp, uint32_t len) {
  return csum_fold32(csum_partial(icmp, len, csum_pseudo6(ip + 8, ip + 24, len, kIpProtoIcmp6))) ==
         0xffff;
}

void set_icmp6_csum(uint8_t* ip, uint8_t* icmp, uint32_t len) {
  icmp[2] = icmp[3] = 0;
  const uint16_t sum =
      csum_finish(csum_partial(icmp, len, csum_pseudo6(ip + 8, ip + 24, len, kIpProtoIcmp6)));
  std::memcpy(icmp + 2, &sum, 2);
}

// Makes the packet exactly `len` bytes long (a reply built in place is its own length).
bool set_len(rte_mbuf* m, uint16_t len) {
  if (m->data_len > len) return rte_pktmbuf_trim(m, static_cast<uint16_t>(m->data_len - len)) == 0;
  return m->data_len == len ||
         rte_pktmbuf_append(m, static_cast<uint16_t>(len - m->data_len)) != nullptr;
}

// A neighbour solicitation: true when it was for one of the director's addresses on this port
// (answered with an advertisement, or dropped and counted); false: the host's (its link-local
// and its own addresses), for the kernel path. As ndisc_recv_ns: the checks of RFC 4861 7.1.1,
// the sender learned from its source link-layer option, and the answer (7.2.4) solicited and
// overriding, to the sender, or to all nodes for duplicate address detection's (from ::).
bool nd_solicit(Worker& w, rte_mbuf* m, const PacketInfo& pi) {
  uint8_t* ip = rte_pktmbuf_mtod_offset(m, uint8_t*, pi.l3_off);
  uint8_t* icmp = rte_pktmbuf_mtod_offset(m, uint8_t*, pi.l4_off);
  const uint32_t len = pi.ip_len - (pi.l4_off - pi.l3_off);
  if (len < kNdNsLen) return false;
  const uint8_t* target = icmp + 8;
  const SnapAddr6* ours = w.snap->local6(target);
  const uint16_t port = m->port;
  if (!ours || ours->port != port) return false;
  const uint8_t* sll = nullptr;
  static constexpr uint8_t kUnspec[16] = {};
  const bool from_unspec = std::memcmp(ip + 8, kUnspec, 16) == 0;
  // The target's solicited-node group: ff02::1:ffXX:XXXX.
  static constexpr uint8_t kSolicited[13] = {0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff};
  const bool to_solicited =
      std::memcmp(ip + 24, kSolicited, 13) == 0 && std::memcmp(ip + 37, target + 13, 3) == 0;
  if (ip[7] != 255 || pi.icmp_code != 0 || !icmp6_csum_ok(ip, icmp, len) ||
      !nd_options(icmp + kNdNsLen, len - kNdNsLen, kNdOptSourceLl, &sll) ||
      (from_unspec && (!to_solicited || sll))) {
    drop(w, m, Drop::nd_malformed);
    return true;
  }
  // A flood of solicitations from made-up senders must not become a flood of neighbour updates.
  if (!w.arp_bucket.take(w.now)) {
    drop(w, m, Drop::nd_rate_limited);
    return true;
  }
  auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
  if (sll) learn6(w, port, ip + 8, sll);
  // The advertisement, in place: to the sender's link-layer address (its option, else the
  // frame's source), or to all nodes.
  const MacAddr& mac = w.snap->port_mac[port];
  static constexpr uint8_t kAllNodes[16] = {0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  static constexpr uint8_t kAllNodesMac[6] = {0x33, 0x33, 0, 0, 0, 1};
  if (from_unspec)
    std::memcpy(&eth->dst_addr, kAllNodesMac, 6);
  else if (sll)
    std::memcpy(&eth->dst_addr, sll, 6);
  else
    eth->dst_addr = eth->src_addr;
  std::memcpy(&eth->src_addr, mac.data(), 6);
  uint8_t tgt[16];
  std::memcpy(tgt, target, 16);
  constexpr uint16_t kNaLen = kNdNsLen + 8;  // and the target link-layer address option
  if (!set_len(m, static_cast<uint16_t>(pi.l3_off + kIp6HdrLen + kNaLen))) {
    drop(w, m, Drop::no_headroom);
    return true;
  }
  uint8_t* na = ip + kIp6HdrLen;
  ip[0] = 0x60;
  ip[1] = ip[2] = ip[3] = 0;
  ip[4] = 0;
  ip[5] = kNaLen;
  ip[6] = kIpProtoIcmp6;
  ip[7] = 255;
  std::memcpy(ip + 24, from_unspec ? kAllNodes : ip + 8, 16);
  std::memcpy(ip + 8, tgt, 16);
  na[0] = kIcmp6NeighAdvert;
  na[1] = 0;
  na[4] = from_unspec ? 0x20 : 0x60;  // solicited (to a unicast sender), override
  na[5] = na[6] = na[7] = 0;
  std::memcpy(na + 8, tgt, 16);
  na[24] = kNdOptTargetLl;
  na[25] = 1;
  std::memcpy(na + 26, mac.data(), 6);
  set_icmp6_csum(ip, na, kNaLen);
  ++w.ctr.nd_adverts;
  tx_enqueue(w, port, m);
  return true;
}

// An advertisement (to us, or heard: the port is promiscuous) refreshes what is known; one sent
// to one of our addresses (the answer to our solicitation) also creates it, as ARP's rule. Its
// target link-layer option names the MAC (RFC 4861 7.2.5). The host gets it too: it may be the
// answer to the host's own solicitation.
void nd_advert(Worker& w, const rte_mbuf* m, const PacketInfo& pi) {
  const uint8_t* ip = rte_pktmbuf_mtod_offset(m, const uint8_t*, pi.l3_off);
  const uint8_t* icmp = rte_pktmbuf_mtod_offset(m, const uint8_t*, pi.l4_off);
  const uint32_t len = pi.ip_len - (pi.l4_off - pi.l3_off);
  const uint8_t* tll = nullptr;
  if (len < kNdNsLen || ip[7] != 255 || pi.icmp_code != 0 || !w.neigh6 ||
      !nd_options(icmp + kNdNsLen, len - kNdNsLen, kNdOptTargetLl, &tll) || !tll ||
      !icmp6_csum_ok(ip, icmp, len))
    return;
  Ip6Key target;
  std::memcpy(target.b, icmp + 8, 16);
  uint16_t port;
  MacAddr known;
  const bool exists = w.neigh6->lookup(target, &port, &known);
  if (!exists && !w.snap->local6(ip + 24)) return;
  if (exists && port == m->port && std::memcmp(known.data(), tll, 6) == 0) return;
  learn6(w, m->port, target.b, tll);
}

// ICMPv6 echo to one of the director's addresses, answered as icmpv6_echo_reply does, on the
// bucket IPv4's echo uses.
void echo6_reply(Worker& w, rte_mbuf* m, const PacketInfo& pi) {
  if (!w.echo_bucket.take(w.now)) return drop(w, m, Drop::echo_rate_limited);
  uint8_t* ip = rte_pktmbuf_mtod_offset(m, uint8_t*, pi.l3_off);
  uint8_t* icmp = rte_pktmbuf_mtod_offset(m, uint8_t*, pi.l4_off);
  const uint32_t len = pi.ip_len - (pi.l4_off - pi.l3_off);
  if (!icmp6_csum_ok(ip, icmp, len)) return drop(w, m, Drop::icmp_checksum);
  // The request's extension headers are not the answer's: its message moves up to the header.
  if (pi.l4_off != pi.l3_off + kIp6HdrLen) {
    std::memmove(ip + kIp6HdrLen, icmp, len);
    icmp = ip + kIp6HdrLen;
  }
  ip[4] = static_cast<uint8_t>(len >> 8);
  ip[5] = static_cast<uint8_t>(len);
  ip[6] = kIpProtoIcmp6;
  ip[7] = 64;
  uint8_t peer[16];
  std::memcpy(peer, ip + 8, 16);
  std::memcpy(ip + 8, ip + 24, 16);
  std::memcpy(ip + 24, peer, 16);
  // Type 128 -> 129, and the pseudo-header's sum is the same over swapped addresses: one word
  // of the checksum changes.
  icmp[0] = kIcmp6EchoReply;
  uint16_t sum;
  std::memcpy(&sum, icmp + 2, 2);
  sum = csum_update2(sum, rte_cpu_to_be_16(kIcmp6EchoRequest << 8),
                     rte_cpu_to_be_16(kIcmp6EchoReply << 8));
  std::memcpy(icmp + 2, &sum, 2);
  if (!set_len(m, static_cast<uint16_t>(pi.l3_off + kIp6HdrLen + len)))
    return drop(w, m, Drop::no_headroom);
  ++w.ctr.echo_replies;
  // Through the routing table, as the kernel answers (the path back may be another port).
  route_out6(w, m, ip + 24, m->port);
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

// What the kernel's ip6_rcv_core refuses goes no further; then IPv6 services (ip6_forward, when
// the snapshot has any); then neighbour discovery and echo for the director's own addresses; the
// rest is the host's (its link-local and global addresses on dpdkN, health checks over IPv6),
// through the kernel path. Neighbour discovery, MLD and VRRP ride the control budget, as ARP and
// VRRP do.
void ip6_input(Worker& w, rte_mbuf* m, const PacketInfo& pi, bool steer) {
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
  if (w.snap->has_v6 && ip6_forward(w, m, pi, steer)) return;
  // A fragment to one of fastvsd's own addresses that is no service's is not handed to the host
  // (the data plane answers for those addresses, and nothing reassembles for it): counted here,
  // as IPv4's (frag_local).
  if (unlikely(pi.frag) && w.snap->local6(dst)) return drop(w, m, Drop::frag_local);
  // The director's own IPv6 addresses: neighbour discovery and echo, as ARP and echo for IPv4.
  if (unlikely(!w.snap->addrs6.empty()) && pi.kind == PktKind::Icmp && !pi.frag) {
    if (pi.icmp_type == kIcmp6NeighSolicit) {
      if (nd_solicit(w, m, pi)) return;
    } else if (pi.icmp_type == kIcmp6NeighAdvert) {
      nd_advert(w, m, pi);
    } else if (pi.icmp_type == kIcmp6EchoRequest && w.snap->local6(dst)) {
      return echo6_reply(w, m, pi);
    }
  }
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

namespace {
// One of our neighbour discovery messages (RFC 4861 4.3, 4.4), hop limit 255, with our
// link-layer address as its one option: a solicitation (135, the source's option) or an
// advertisement (136, the target's option, `flags`), from `src` to `dst` (`dst_mac` its MAC).
void send_nd(Worker& w, uint16_t port, const uint8_t* dst_mac, const uint8_t* src,
             const uint8_t* dst, uint8_t type, uint8_t flags, const uint8_t* target) {
  rte_mbuf* m = rte_pktmbuf_alloc(w.pool);
  if (!m) return;
  constexpr uint16_t kLen = kNdNsLen + 8;  // and the link-layer address option
  auto* eth = reinterpret_cast<rte_ether_hdr*>(
      rte_pktmbuf_append(m, sizeof(rte_ether_hdr) + kIp6HdrLen + kLen));
  if (!eth) return (void)rte_pktmbuf_free(m);
  const MacAddr& ours = w.snap->port_mac[port];
  std::memcpy(&eth->dst_addr, dst_mac, 6);
  std::memcpy(&eth->src_addr, ours.data(), 6);
  eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6);
  uint8_t* ip = reinterpret_cast<uint8_t*>(eth + 1);
  const uint8_t head[8] = {0x60, 0, 0, 0, 0, kLen, kIpProtoIcmp6, 255};
  std::memcpy(ip, head, 8);
  std::memcpy(ip + 8, src, 16);
  std::memcpy(ip + 24, dst, 16);
  uint8_t* nd = ip + kIp6HdrLen;
  std::memset(nd, 0, 8);
  nd[0] = type;
  nd[4] = flags;
  std::memcpy(nd + 8, target, 16);
  nd[24] = type == kIcmp6NeighSolicit ? kNdOptSourceLl : kNdOptTargetLl;
  nd[25] = 1;
  std::memcpy(nd + 26, ours.data(), 6);
  set_icmp6_csum(ip, nd, kLen);
  ++(type == kIcmp6NeighSolicit ? w.ctr.nd_solicits : w.ctr.nd_adverts);
  tx_enqueue(w, port, m);
}
}  // namespace

// As ndisc_send_ns: to the target's solicited-node group, from an address of ours on the port
// (RFC 4861 7.2.2). Limited as ARP's requests are.
void send_nd_solicit(Worker& w, uint16_t port, const uint8_t* target) {
  const uint32_t fold = ip6_fold(target);
  const unsigned slot = kernel_hash_32(fold, slot_bits<Worker::kArpSlots>());
  if (w.arp_ip[slot] == fold && w.now - w.arp_tick[slot] < kTicksPerSecond) return;
  const SnapAddr6* src = w.snap->source_addr6(port, target);
  if (!src) {
    w.ctr.drop(Drop::no_source_addr);
    return;
  }
  w.arp_ip[slot] = fold;
  w.arp_tick[slot] = w.now;
  const uint8_t group_mac[6] = {0x33, 0x33, 0xff, target[13], target[14], target[15]};
  const uint8_t group[16] = {0xff, 2, 0, 0, 0,    0,          0,          0,
                             0,    0, 0, 1, 0xff, target[13], target[14], target[15]};
  send_nd(w, port, group_mac, src->ip, group, kIcmp6NeighSolicit, 0, target);
}

// RFC 4861 7.2.6: an address just added is announced to all nodes (solicited flag clear,
// override set, our link-layer address), so neighbours that cached another MAC for it (the
// previous holder's, a VIP moved here) take ours at once, as ndisc_send_unsol_na does.
void send_unsolicited_na(Worker& w, uint16_t port, const uint8_t* addr) {
  static constexpr uint8_t kAllNodesMac[6] = {0x33, 0x33, 0, 0, 0, 1};
  static constexpr uint8_t kAllNodes[16] = {0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  send_nd(w, port, kAllNodesMac, addr, kAllNodes, kIcmp6NeighAdvert, 0x20, addr);
}

void send_icmp6_error(Worker& w, const rte_mbuf* orig, uint8_t type, uint8_t code, uint32_t info) {
  const uint8_t* oip = rte_pktmbuf_mtod_offset(orig, const uint8_t*, kEthHdrLen);
  const uint8_t* osrc = oip + 8;
  // icmp6_send: never to a source that is no single host (unspecified, multicast), nor about a
  // packet to a multicast group unless it is too big (RFC 4443 2.4 e), nor about an ICMPv6
  // error (is_ineligible).
  static constexpr uint8_t kUnspec[16] = {};
  if (osrc[0] == 0xff || std::memcmp(osrc, kUnspec, 16) == 0) return;
  if (oip[24] == 0xff && type != kIcmp6PacketTooBig) return;
  const uint16_t olen = static_cast<uint16_t>(kIp6HdrLen + load_be16(oip + 4));
  Ip6Chain chain;
  Drop ignored;
  if (ip6_walk(oip, olen, chain, &ignored) && chain.proto == kIpProtoIcmp6 &&
      !(chain.frag & kFragLater) && (olen <= chain.off || oip[chain.off] < kIcmp6EchoRequest))
    return;
  const SnapAddr6* src = w.snap->source_addr6(orig->port, osrc);
  if (!src) {
    w.ctr.drop(Drop::no_source_addr);
    return;
  }
  if (!w.icmp_error_bucket.take(w.now)) {
    w.ctr.drop(Drop::icmp_rate_limited);
    return;
  }
  rte_mbuf* m = rte_pktmbuf_alloc(w.pool);
  if (!m) return;
  // As much of the offending packet as fits in the minimum MTU (RFC 4443 2.4 c).
  const uint16_t quote = std::min<uint16_t>(olen, 1280 - kIp6HdrLen - 8);
  const uint16_t plen = static_cast<uint16_t>(8 + quote);
  auto* eth = reinterpret_cast<rte_ether_hdr*>(
      rte_pktmbuf_append(m, static_cast<uint16_t>(sizeof(rte_ether_hdr) + kIp6HdrLen + plen)));
  if (!eth) return (void)rte_pktmbuf_free(m);
  eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6);
  uint8_t* ip = reinterpret_cast<uint8_t*>(eth + 1);
  const uint8_t head[8] = {
      0x60,          0, 0, 0, static_cast<uint8_t>(plen >> 8), static_cast<uint8_t>(plen),
      kIpProtoIcmp6, 64};
  std::memcpy(ip, head, 8);
  std::memcpy(ip + 8, src->ip, 16);
  std::memcpy(ip + 24, osrc, 16);
  uint8_t* icmp = ip + kIp6HdrLen;
  icmp[0] = type;
  icmp[1] = code;
  const uint32_t info_be = rte_cpu_to_be_32(info);
  std::memcpy(icmp + 4, &info_be, 4);
  std::memcpy(icmp + 8, oip, quote);
  set_icmp6_csum(ip, icmp, plen);
  ++w.ctr.icmp_errors_sent;
  route_out6(w, m, ip + 24, orig->port);
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
