// Masq (LVS-NAT): the request's destination VIP:vport becomes RIP:rport, the reply's source
// RIP:rport becomes VIP:vport, and ICMP errors about either are translated (ip_vs_nat_icmp).
// Checksums are updated incrementally (RFC 1624); a UDP checksum of 0 stays 0.
#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "dataplane/worker.h"

namespace fastvs {

namespace {

void rewrite_l4(rte_mbuf* m, const PacketInfo& pi, uint32_t old_ip, uint32_t new_ip,
                uint16_t old_port, uint16_t new_port, bool dst) {
  uint8_t* l4 = rte_pktmbuf_mtod_offset(m, uint8_t*, pi.l4_off);
  if (pi.proto == kIpProtoTcp) {
    auto* th = reinterpret_cast<rte_tcp_hdr*>(l4);
    uint16_t sum = th->cksum;
    csum_replace4(&sum, old_ip, new_ip);
    csum_replace2(&sum, old_port, new_port);
    th->cksum = sum;
    (dst ? th->dst_port : th->src_port) = new_port;
  } else {
    auto* uh = reinterpret_cast<rte_udp_hdr*>(l4);
    uint16_t sum = uh->dgram_cksum;
    udp_csum_replace4(&sum, old_ip, new_ip);
    udp_csum_replace2(&sum, old_port, new_port);
    uh->dgram_cksum = sum;
    (dst ? uh->dst_port : uh->src_port) = new_port;
  }
}

// The IP header's part of NAT: one address and the header checksum (over the options too, which
// stay as they are: ip_vs_nat_xmit leaves them alone).
void masq_in_l3(Worker& w, rte_mbuf* m, const PacketInfo& pi, const Conn& c) {
  auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, pi.l3_off);
  ip->hdr_checksum = csum_update4(ip->hdr_checksum, ip->dst_addr, c.rip);
  ip->dst_addr = c.rip;
  ++w.ctr.nat_in;
  route_out(w, m, c.rip);
}

void masq_out_l3(Worker& w, rte_mbuf* m, const PacketInfo& pi, const Conn& c) {
  auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, pi.l3_off);
  ip->hdr_checksum = csum_update4(ip->hdr_checksum, ip->src_addr, c.vip);
  ip->src_addr = c.vip;
  ++w.ctr.nat_out;
  route_out(w, m, pi.daddr);
}

}  // namespace

// ip_vs_nat_xmit: the TTL first (decrement_ttl, on the packet as received), then the rewrite.
// In a first fragment the L4 header is whole (parse.h) and its checksum, which covers the whole
// datagram, is updated incrementally for the changed address and port: right for the datagram
// without reading the bytes of it that other fragments carry.
void xmit_masq(Worker& w, rte_mbuf* m, const PacketInfo& pi, const Conn& c) {
  if (!decrement_ttl(w, m)) return;
  rewrite_l4(m, pi, pi.daddr, c.rip, pi.dport, c.rport, true);
  masq_in_l3(w, m, pi, c);
}

// A non-first fragment has no L4 header: its first fragment's checksum update covered it.
void xmit_masq_frag(Worker& w, rte_mbuf* m, const PacketInfo& pi, const Conn& c) {
  if (!decrement_ttl(w, m)) return;
  masq_in_l3(w, m, pi, c);
}

void nat_reply_frag(Worker& w, rte_mbuf* m, const PacketInfo& pi, const Conn& c) {
  if (!decrement_ttl(w, m)) return;
  masq_out_l3(w, m, pi, c);
}

void nat_reply(Worker& w, rte_mbuf* m, const PacketInfo& pi, const ConnLookahead* ahead) {
  const ConnKey out = make_key(pi.saddr, pi.daddr, pi.sport, pi.dport, pi.proto);
  bool is_out = false;
  Conn* c = ahead ? w.conns.resolve(*ahead, out, &is_out) : w.conns.lookup(out, &is_out);
  // Unlike ip_vs_in, ip_vs_out does not look at the destination's availability: the replies of
  // a removed destination's connections still go back to the client.
  // No connection: an answer to the host's own traffic (a health check, from RIP:rport to the
  // DIP) is the kernel's, as IPVS lets it through to the local stack.
  // (Not a fragment: the host's stack would never see the rest of its datagram.)
  if (!c || !is_out)
    return w.snap->local_by_ip.find(pi.daddr) && !pi.frag ? to_kernel(w, m, Drop::no_conn)
                                                          : drop(w, m, Drop::no_conn);
  // The kernel forwards NAT replies through ip_forward, which drops an expired TTL before the
  // FORWARD hook where IPVS sees the reply: the connection's state is untouched then.
  if (!decrement_ttl(w, m)) return;
  if (unlikely(pi.frag)) frag_remember(w, pi);
  conn_update_state(w, c, TcpDir::Output, pi.tcp_flags);
  conn_count(w, c->dest, m, false);
  rewrite_l4(m, pi, pi.saddr, c->vip, pi.sport, c->vport, false);
  masq_out_l3(w, m, pi, *c);
}

// ICMP errors about a connection (ip_vs_in_icmp, ip_vs_out_icmp). ip_vs_nat_icmp: to_client
// (inout=1, from the real server's side) rewrites the outer source and the embedded destination to
// VIP:vport; !to_client (inout=0) rewrites the outer destination and the embedded source to
// RIP:rport. Both IP header checksums are recomputed and the ICMP checksum over the whole message;
// the embedded TCP/UDP checksum is left as it was, as IPVS leaves it.
void nat_icmp(Worker& w, rte_mbuf* m, const PacketInfo& pi, bool to_client) {
  auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, pi.l3_off);
  uint8_t* icmp = rte_pktmbuf_mtod_offset(m, uint8_t*, pi.l4_off);
  const uint16_t icmp_len = static_cast<uint16_t>(pi.ip_len - (pi.l4_off - pi.l3_off));
  // ip_vs_in_icmp / handle_response_icmp verify the ICMP checksum before trusting the body.
  if (csum_fold32(csum_partial(icmp, icmp_len)) != 0xffff) return drop(w, m, Drop::icmp_checksum);

  // The embedded packet was sent by us: reversed, it is the key of the connection it belongs to.
  const ConnKey key =
      make_key(pi.inner_daddr, pi.inner_saddr, pi.inner_dport, pi.inner_sport, pi.inner_proto);
  bool is_out = false;
  Conn* c = w.conns.lookup(key, &is_out);
  if (!c || is_out != to_client)
    return w.snap->local_by_ip.find(pi.daddr) ? to_kernel(w, m, Drop::icmp_no_conn)
                                              : drop(w, m, Drop::icmp_no_conn);
  conn_count(w, c->dest, m, !to_client);  // ip_vs_in_stats / ip_vs_out_stats count ICMP too
  // ip_vs_icmp_xmit: only NAT translates; for DR and TUN the error goes to the real server
  // unchanged, through the connection's own transmitter.
  if (c->method == ForwardMethod::Route) return xmit_route(w, m, *c);
  if (c->method == ForwardMethod::Tunnel) return xmit_tunnel(w, m, *c);
  if (!decrement_ttl(w, m)) return;

  auto* inner = reinterpret_cast<rte_ipv4_hdr*>(icmp + 8);
  uint8_t* inner_l4 = rte_pktmbuf_mtod_offset(m, uint8_t*, pi.inner_l4_off);
  uint32_t route_to;
  if (to_client) {
    ip->src_addr = c->vip;
    inner->dst_addr = c->vip;
    std::memcpy(inner_l4 + 2, &c->vport, 2);
    route_to = ip->dst_addr;
  } else {
    ip->dst_addr = c->rip;
    inner->src_addr = c->rip;
    std::memcpy(inner_l4, &c->rport, 2);
    route_to = c->rip;
  }
  ip->hdr_checksum = 0;
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  inner->hdr_checksum = 0;
  inner->hdr_checksum = rte_ipv4_cksum(inner);
  icmp[2] = icmp[3] = 0;
  const uint16_t sum = csum_buffer(icmp, icmp_len);
  std::memcpy(icmp + 2, &sum, 2);
  ++w.ctr.icmp_nat;
  route_out(w, m, route_to);
}

// ---- NAT66 (ip_vs_nat_xmit_v6, and ip_vs_out / ip_vs_nat_icmp_v6 for IPv6) -------------------

namespace {

// One IPv6 address (in the pseudo-header) and one port of the TCP/UDP header change. A UDP
// datagram without a checksum (0: invalid over IPv6, RFC 8200 8.1) gets one computed whole,
// as udp_snat_handler/udp_dnat_handler compute it when they cannot update it; a fragment's
// cannot be (its data is in other fragments), nor one whose length does not fit what the
// packet holds (udpv6_rcv would drop it as short): false, with *why, and the caller drops it.
bool rewrite_l4_6(rte_mbuf* m, const PacketInfo& pi, uint8_t* addr, const uint8_t* to,
                  uint16_t new_port, bool dst, Drop* why) {
  uint8_t* l4 = rte_pktmbuf_mtod_offset(m, uint8_t*, pi.l4_off);
  uint8_t* port = l4 + (dst ? 2 : 0);
  uint16_t old_port;
  std::memcpy(&old_port, port, 2);
  uint8_t* sump = l4 + (pi.proto == kIpProtoTcp ? 16 : 6);
  uint16_t sum;
  std::memcpy(&sum, sump, 2);
  if (pi.proto == kIpProtoUdp && sum == 0) {
    if (pi.frag) return *why = Drop::udp6_no_checksum, false;
    // The datagram's own length: the checksum covers it, not padding after it.
    const uint32_t len = load_be16(l4 + 4);
    if (len < 8 || len > static_cast<uint32_t>(pi.ip_len - (pi.l4_off - pi.l3_off)))
      return *why = Drop::l4_truncated, false;
    std::memcpy(addr, to, 16);
    std::memcpy(port, &new_port, 2);
    const uint8_t* ip = rte_pktmbuf_mtod_offset(m, const uint8_t*, pi.l3_off);
    sum = csum_finish(csum_partial(l4, len, csum_pseudo6(ip + 8, ip + 24, len, kIpProtoUdp)));
    if (sum == 0) sum = 0xffff;
    std::memcpy(sump, &sum, 2);
    return true;
  }
  csum_replace16(&sum, addr, to);
  csum_replace2(&sum, old_port, new_port);
  if (pi.proto == kIpProtoUdp && sum == 0) sum = 0xffff;  // CSUM_MANGLED_0
  std::memcpy(sump, &sum, 2);
  std::memcpy(addr, to, 16);
  std::memcpy(port, &new_port, 2);
  return true;
}

// What may be the host's: one of our addresses, or one on the network of the port the packet
// came in on (where the host's own IPv6 address is).
bool for_host6(const Worker& w, const rte_mbuf* m, const uint8_t* dst) {
  return w.snap->local6(dst) || w.snap->on_connected_subnet6(m->port, dst);
}

uint8_t* ip6_of(rte_mbuf* m, const PacketInfo& pi) {
  return rte_pktmbuf_mtod_offset(m, uint8_t*, pi.l3_off);
}

}  // namespace

// The hop limit first (decrement_hop_limit, ip_vs_nat_xmit_v6's __ip_vs_get_out_rt_v6), then
// the destination and its port, and the checksum over the pseudo-header.
void xmit_masq6(Worker& w, rte_mbuf* m, const PacketInfo& pi, const Conn& c) {
  if (!decrement_hop_limit(w, m)) return;
  uint8_t* ip = ip6_of(m, pi);
  Drop why;
  if (!rewrite_l4_6(m, pi, ip + 24, c.dest->rip6, c.rport, true, &why)) return drop(w, m, why);
  ++w.ctr.nat_in;
  route_out6(w, m, c.dest->rip6);
}

// A later fragment: the address alone (its first fragment's checksum update covered the rest).
void xmit_masq6_frag(Worker& w, rte_mbuf* m, const PacketInfo& pi, const Conn& c) {
  if (!decrement_hop_limit(w, m)) return;
  std::memcpy(ip6_of(m, pi) + 24, c.dest->rip6, 16);
  ++w.ctr.nat_in;
  route_out6(w, m, c.dest->rip6);
}

void nat_reply6_frag(Worker& w, rte_mbuf* m, const PacketInfo& pi, const Conn& c) {
  if (!decrement_hop_limit(w, m)) return;
  uint8_t* ip = ip6_of(m, pi);
  std::memcpy(ip + 8, w.conns.addrs6(c).vip, 16);
  ++w.ctr.nat_out;
  route_out6(w, m, ip + 24);
}

void nat_reply6(Worker& w, rte_mbuf* m, const PacketInfo& pi) {
  uint8_t* ip = ip6_of(m, pi);
  bool is_out = false;
  Conn* c = w.conns.ipv6()
                ? w.conns.lookup6(make_key6(ip + 8, ip + 24, pi.sport, pi.dport, pi.proto), &is_out)
                : nullptr;
  // No connection: an answer to the host's own traffic (a health check over IPv6, from ours or
  // from the host's own address on the port's network, which fastvsd does not know) is the
  // kernel's; not a fragment, whose datagram the host would never see whole. A reply to anyone
  // else (a client whose connection is gone) is dropped, as IPv4's is.
  if (!c || !is_out)
    return !pi.frag && for_host6(w, m, ip + 24) ? to_kernel(w, m, Drop::no_conn)
                                                : drop(w, m, Drop::no_conn);
  if (!decrement_hop_limit(w, m)) return;
  if (pi.frag) frag_remember(w, pi);
  conn_update_state(w, c, TcpDir::Output, pi.tcp_flags);
  conn_count(w, c->dest, m, false);
  Drop why;
  if (!rewrite_l4_6(m, pi, ip + 8, w.conns.addrs6(*c).vip, c->vport, false, &why))
    return drop(w, m, why);
  ++w.ctr.nat_out;
  route_out6(w, m, ip + 24);
}

// ip_vs_in_icmp_v6 / ip_vs_out_icmp_v6 and ip_vs_nat_icmp_v6: to_client rewrites the outer
// source and the embedded destination (and its port) to VIP:vport; !to_client the outer
// destination and the embedded source (and its port) to RIP:rport. The ICMPv6 checksum is
// computed again over the pseudo-header and the whole message (no IP header checksums in
// IPv6); the embedded TCP/UDP checksum is left as it was, as IPVS leaves it.
void nat_icmp6(Worker& w, rte_mbuf* m, const PacketInfo& pi, bool to_client) {
  uint8_t* ip = ip6_of(m, pi);
  uint8_t* icmp = rte_pktmbuf_mtod_offset(m, uint8_t*, pi.l4_off);
  const uint32_t icmp_len = pi.ip_len - (pi.l4_off - pi.l3_off);
  if (csum_fold32(csum_partial(icmp, icmp_len,
                               csum_pseudo6(ip + 8, ip + 24, icmp_len, kIpProtoIcmp6))) != 0xffff)
    return drop(w, m, Drop::icmp_checksum);
  uint8_t* inner = rte_pktmbuf_mtod_offset(m, uint8_t*, pi.inner_l3_off);
  // The embedded packet was sent by us: reversed, it is its connection's key.
  bool is_out = false;
  Conn* c = w.conns.ipv6() ? w.conns.lookup6(make_key6(inner + 24, inner + 8, pi.inner_dport,
                                                       pi.inner_sport, pi.inner_proto),
                                             &is_out)
                           : nullptr;
  if (!c || is_out != to_client)
    return for_host6(w, m, ip + 24) ? to_kernel(w, m, Drop::icmp_no_conn)
                                    : drop(w, m, Drop::icmp_no_conn);
  conn_count(w, c->dest, m, !to_client);
  // ip_vs_icmp_xmit_v6: only NAT translates; DR and TUN forward the error to the real server.
  if (c->method == ForwardMethod::Route) return xmit_route6(w, m, *c);
  if (c->method == ForwardMethod::Tunnel) return xmit_tunnel6(w, m, *c);
  if (!decrement_hop_limit(w, m)) return;
  uint8_t* inner_l4 = rte_pktmbuf_mtod_offset(m, uint8_t*, pi.inner_l4_off);
  const uint8_t* route_to;
  if (to_client) {
    const uint8_t* vip = w.conns.addrs6(*c).vip;
    std::memcpy(ip + 8, vip, 16);
    std::memcpy(inner + 24, vip, 16);
    std::memcpy(inner_l4 + 2, &c->vport, 2);
    route_to = ip + 24;
  } else {
    std::memcpy(ip + 24, c->dest->rip6, 16);
    std::memcpy(inner + 8, c->dest->rip6, 16);
    std::memcpy(inner_l4, &c->rport, 2);
    route_to = c->dest->rip6;
  }
  icmp[2] = icmp[3] = 0;
  const uint16_t sum = csum_finish(
      csum_partial(icmp, icmp_len, csum_pseudo6(ip + 8, ip + 24, icmp_len, kIpProtoIcmp6)));
  std::memcpy(icmp + 2, &sum, 2);
  ++w.ctr.icmp_nat;
  route_out6(w, m, route_to);
}

}  // namespace fastvs
