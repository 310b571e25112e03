// Tunnel (LVS-TUN, ipvsadm -i): ip_vs_tunnel_xmit with IPIP. An outer IPv4 header is put in
// front: from the director's address on the egress port to the real server, protocol 4, its
// TOS and (decremented) TTL copied from the inner header, DF copied as IPVS does with its
// default pmtu_disc=1. The real server decapsulates and replies to the client directly.
// The outer ID as ip_select_ident gives it: 0 with DF (RFC 6864: the datagram is atomic), else
// a new one per packet. Copying the inner ID would give the fragments of one inner datagram
// (and two clients' packets) the same outer ID, which a fragmenting router would mix.
#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>

#include "dataplane/worker.h"

namespace fastvs {

namespace {

// A tunnel of the other family (a real server of the other family than its service, which
// ipvsadm takes with -i alone): ip_vs_tunnel_xmit_v6 with an IPv4 packet (IPv4 in IPv6, next
// header 4) and ip_vs_tunnel_xmit with an IPv6 one (IPv6 in IPv4, protocol 41), as
// ip_vs_prepare_tunneled_skb fills the outer header from the inner one of either family.

// IPv4 in IPv6: the inner TOS as the traffic class, its (decremented) TTL as the hop limit. Too
// big for the port, with DF: ICMP fragmentation needed naming the room, as for IPIP; without DF
// the director does not fragment the outer packet (it is dropped, as IPIP's is).
void xmit_tunnel_4in6(Worker& w, rte_mbuf* m, const Conn& c) {
  const uint8_t* rip = c.dest->rip6;
  const SnapRoute6* r = w.snap->route6(rip);
  if (unlikely(!r)) return drop(w, m, Drop::no_route);
  auto* inner = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, kEthHdrLen);
  const uint16_t inner_len = rte_be_to_cpu_16(inner->total_length);
  const uint16_t room = static_cast<uint16_t>(w.snap->port_mtu[r->port] - kIp6HdrLen);
  if (unlikely(inner_len > room)) {
    if (inner->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG))
      send_icmp_error(w, m, kIcmpDestUnreach, kIcmpFragNeeded, room);
    return drop(w, m, Drop::tunnel_too_big);
  }
  const SnapAddr6* src = w.snap->source_addr6(r->port, r->has_via ? r->via : rip);
  if (unlikely(!src)) return drop(w, m, Drop::no_source_addr);
  if (!decrement_ttl(w, m)) return;
  if (m->data_len > kEthHdrLen + inner_len)
    rte_pktmbuf_trim(m, static_cast<uint16_t>(m->data_len - kEthHdrLen - inner_len));
  auto* eth = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, kIp6HdrLen));
  if (unlikely(!eth)) return drop(w, m, Drop::no_headroom);
  std::memmove(eth, eth + kIp6HdrLen, kEthHdrLen);
  reinterpret_cast<rte_ether_hdr*>(eth)->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6);
  uint8_t* outer = eth + kEthHdrLen;
  inner = reinterpret_cast<rte_ipv4_hdr*>(outer + kIp6HdrLen);
  const uint8_t tos = inner->type_of_service;
  outer[0] = static_cast<uint8_t>(0x60 | tos >> 4);
  outer[1] = static_cast<uint8_t>(tos << 4);
  outer[2] = outer[3] = 0;
  outer[4] = static_cast<uint8_t>(inner_len >> 8);
  outer[5] = static_cast<uint8_t>(inner_len);
  outer[6] = kIpProtoIpip;
  outer[7] = inner->time_to_live;
  std::memcpy(outer + 8, src->ip, 16);
  std::memcpy(outer + 24, rip, 16);
  ++w.ctr.tun_out;
  route_out6(w, m, rip);
}

// IPv6 in IPv4: the traffic class as the TOS, the (decremented) hop limit as the TTL, DF clear
// and a new ID (ip_vs_prepare_tunneled_skb gives an IPv6 packet df 0). Too big for the port:
// Packet Too Big naming the room (a room below 1280 is none to give: dropped only).
void xmit_tunnel_6in4(Worker& w, rte_mbuf* m, const Conn& c) {
  const uint32_t rip = c.dest->rip_be;
  const SnapRoute* r = w.snap->route(rip);
  if (unlikely(!r)) return drop(w, m, Drop::no_route);
  const uint8_t* in6 = rte_pktmbuf_mtod_offset(m, const uint8_t*, kEthHdrLen);
  const uint16_t inner_len = static_cast<uint16_t>(kIp6HdrLen + load_be16(in6 + 4));
  const uint16_t room = static_cast<uint16_t>(w.snap->port_mtu[r->port] - sizeof(rte_ipv4_hdr));
  if (unlikely(inner_len > room)) {
    if (room >= 1280) send_icmp6_error(w, m, kIcmp6PacketTooBig, 0, room);
    return drop(w, m, Drop::tunnel_too_big);
  }
  const SnapAddr* src = w.snap->source_addr(r->port, r->via ? r->via : rip);
  if (unlikely(!src)) return drop(w, m, Drop::no_source_addr);
  if (!decrement_hop_limit(w, m)) return;
  if (m->data_len > kEthHdrLen + inner_len)
    rte_pktmbuf_trim(m, static_cast<uint16_t>(m->data_len - kEthHdrLen - inner_len));
  auto* eth = reinterpret_cast<rte_ether_hdr*>(rte_pktmbuf_prepend(m, sizeof(rte_ipv4_hdr)));
  if (unlikely(!eth)) return drop(w, m, Drop::no_headroom);
  std::memmove(eth, reinterpret_cast<uint8_t*>(eth) + sizeof(rte_ipv4_hdr), kEthHdrLen);
  eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
  auto* outer = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
  const uint8_t* inner = reinterpret_cast<const uint8_t*>(outer + 1);
  outer->version_ihl = RTE_IPV4_VHL_DEF;
  outer->type_of_service = static_cast<uint8_t>((inner[0] & 0x0f) << 4 | inner[1] >> 4);
  outer->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(inner_len + sizeof(rte_ipv4_hdr)));
  outer->packet_id = rte_cpu_to_be_16(w.tun_ip_id++);
  outer->fragment_offset = 0;
  outer->time_to_live = inner[7];
  outer->next_proto_id = kIpProtoIpv6;
  outer->src_addr = src->ip;
  outer->dst_addr = rip;
  outer->hdr_checksum = 0;
  outer->hdr_checksum = rte_ipv4_cksum(outer);
  ++w.ctr.tun_out;
  route_out(w, m, rip);
}

}  // namespace

void xmit_tunnel(Worker& w, rte_mbuf* m, const Conn& c) {
  if (unlikely(c.dest->v6)) return xmit_tunnel_4in6(w, m, c);
  const SnapRoute* r = w.snap->route(c.rip);
  if (unlikely(!r)) return drop(w, m, Drop::no_route);
  auto* inner = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, kEthHdrLen);
  const uint16_t inner_len = rte_be_to_cpu_16(inner->total_length);
  const bool df = inner->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
  // __ip_vs_get_out_rt, IP_VS_RT_MODE_TUNNEL: the room is the route's MTU less the outer
  // header. ensure_mtu_is_adequate: too big with DF set -> ICMP fragmentation needed, with that
  // room as the next-hop MTU, so the client's path MTU discovery shrinks its packets.
  const uint16_t room = static_cast<uint16_t>(w.snap->port_mtu[r->port] - sizeof(rte_ipv4_hdr));
  if (unlikely(inner_len > room)) {
    if (df) send_icmp_error(w, m, kIcmpDestUnreach, kIcmpFragNeeded, room);
    return drop(w, m, Drop::tunnel_too_big);
  }
  const SnapAddr* src = w.snap->source_addr(r->port, r->via ? r->via : c.rip);
  if (unlikely(!src)) return drop(w, m, Drop::no_source_addr);
  if (!decrement_ttl(w, m)) return;
  // Ethernet padding beyond the IP datagram must not end up inside the tunnel.
  if (m->data_len > kEthHdrLen + inner_len)
    rte_pktmbuf_trim(m, static_cast<uint16_t>(m->data_len - kEthHdrLen - inner_len));
  auto* eth = reinterpret_cast<rte_ether_hdr*>(rte_pktmbuf_prepend(m, sizeof(rte_ipv4_hdr)));
  if (unlikely(!eth)) return drop(w, m, Drop::no_headroom);
  std::memmove(eth, reinterpret_cast<uint8_t*>(eth) + sizeof(rte_ipv4_hdr), kEthHdrLen);
  inner =
      reinterpret_cast<rte_ipv4_hdr*>(reinterpret_cast<uint8_t*>(eth + 1) + sizeof(rte_ipv4_hdr));
  auto* outer = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
  outer->version_ihl = RTE_IPV4_VHL_DEF;
  outer->type_of_service = inner->type_of_service;
  outer->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(inner_len + sizeof(rte_ipv4_hdr)));
  outer->packet_id = df ? 0 : rte_cpu_to_be_16(w.tun_ip_id++);
  outer->fragment_offset = df ? rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG) : 0;
  outer->time_to_live = inner->time_to_live;
  outer->next_proto_id = kIpProtoIpip;
  outer->src_addr = src->ip;
  outer->dst_addr = c.rip;
  outer->hdr_checksum = 0;
  outer->hdr_checksum = rte_ipv4_cksum(outer);
  ++w.ctr.tun_out;
  route_out(w, m, c.rip);
}

// ip_vs_tunnel_xmit_v6: IPv6-in-IPv6 (next header 41). The outer header from the director's
// address on the egress port to the real server, the inner's traffic class and (decremented)
// hop limit, no flow label. IPv6 routers do not fragment: a packet the tunnel makes too big for
// the port is answered with a Packet Too Big that names the room (ensure_mtu_is_adequate), so
// the client's path MTU discovery shrinks its packets; a room below IPv6's minimum MTU (1280)
// is no path MTU to give, and the packet is only dropped, as __ip_vs_get_out_rt_v6 drops it.
void xmit_tunnel6(Worker& w, rte_mbuf* m, const Conn& c) {
  if (!c.dest->v6) return xmit_tunnel_6in4(w, m, c);
  const uint8_t* rip = c.dest->rip6;
  const SnapRoute6* r = w.snap->route6(rip);
  if (unlikely(!r)) return drop(w, m, Drop::no_route);
  const uint8_t* inner = rte_pktmbuf_mtod_offset(m, const uint8_t*, kEthHdrLen);
  const uint16_t inner_len = static_cast<uint16_t>(kIp6HdrLen + load_be16(inner + 4));
  const uint16_t room = static_cast<uint16_t>(w.snap->port_mtu[r->port] - kIp6HdrLen);
  if (unlikely(inner_len > room)) {
    if (room >= 1280) send_icmp6_error(w, m, kIcmp6PacketTooBig, 0, room);
    return drop(w, m, Drop::tunnel_too_big);
  }
  const SnapAddr6* src = w.snap->source_addr6(r->port, r->has_via ? r->via : rip);
  if (unlikely(!src)) return drop(w, m, Drop::no_source_addr);
  if (!decrement_hop_limit(w, m)) return;
  if (m->data_len > kEthHdrLen + inner_len)
    rte_pktmbuf_trim(m, static_cast<uint16_t>(m->data_len - kEthHdrLen - inner_len));
  auto* eth = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, kIp6HdrLen));
  if (unlikely(!eth)) return drop(w, m, Drop::no_headroom);
  std::memmove(eth, eth + kIp6HdrLen, kEthHdrLen);
  uint8_t* outer = eth + kEthHdrLen;
  inner = outer + kIp6HdrLen;
  const uint8_t tclass = static_cast<uint8_t>((inner[0] & 0x0f) << 4 | inner[1] >> 4);
  outer[0] = static_cast<uint8_t>(0x60 | tclass >> 4);
  outer[1] = static_cast<uint8_t>(tclass << 4);
  outer[2] = outer[3] = 0;
  outer[4] = static_cast<uint8_t>(inner_len >> 8);
  outer[5] = static_cast<uint8_t>(inner_len);
  outer[6] = kIpProtoIpv6;
  outer[7] = inner[7];
  std::memcpy(outer + 8, src->ip, 16);
  std::memcpy(outer + 24, rip, 16);
  ++w.ctr.tun_out;
  route_out6(w, m, rip);
}

}  // namespace fastvs
