// IPv6 LVS traffic: classify (a request to a service, a NAT66 reply, an ICMPv6 error about a
// connection, a later fragment of either), steer to the owner worker by the client address's
// fold, then process as IPv4's pipeline does. Out of IPv4's way: ip6_input calls it only when
// the snapshot has an IPv6 service (Snapshot::has_v6), and IPv4's burst never comes here.
#include "dataplane/steer.h"
#include "dataplane/worker.h"

namespace fastvs {

namespace {

// IPv6's addr_roles: a later fragment has no ports, so it is known by its addresses alone. A
// scan: fragments are rare, and IPv6 services few (a map when either stops being true).
bool is_vip6(const Snapshot& s, uint8_t proto, const uint8_t* ip) {
  for (const SnapService& svc : s.services)
    if (svc.v6 && svc.vip_local && svc.proto == proto && std::memcmp(svc.vip6, ip, 16) == 0)
      return true;
  return false;
}

bool is_masq_rip6(const Snapshot& s, uint8_t proto, const uint8_t* ip) {
  for (const auto& [p, d] : s.masq6)
    if (p == proto && std::memcmp(d->rip6, ip, 16) == 0) return true;
  return false;
}

}  // namespace

bool ip6_forward(Worker& w, rte_mbuf* m, const PacketInfo& pi, bool steer) {
  const Snapshot& s = *w.snap;
  const uint8_t* ip = rte_pktmbuf_mtod_offset(m, const uint8_t*, pi.l3_off);
  const SnapService* svc = nullptr;
  Verdict v;
  uint32_t cip;
  switch (pi.kind) {
    case PktKind::Tcp:
    case PktKind::Udp:
      if ((unlikely(s.fwm6) &&
           (svc = s.find_fwmark6(m->port, pi.proto, ip + 8, ip + 24, pi.sport, pi.dport))) ||
          (svc = s.find_service6(pi.proto, ip + 24, pi.dport))) {
        v = Verdict::Request;
        cip = pi.saddr;
      } else if (s.find_masq6(pi.proto, ip + 8, pi.sport)) {
        v = Verdict::Reply;
        cip = pi.daddr;
      } else if (unlikely(s.fwm_any6) && s.local6(ip + 24)) {
        v = Verdict::FwmConn;  // fwmark_follow6: its connection's, else the host's
        cip = pi.saddr;
      } else {
        return false;
      }
      break;
    case PktKind::Icmp: {
      if (pi.frag || !pi.icmp_error ||
          (pi.inner_proto != kIpProtoTcp && pi.inner_proto != kIpProtoUdp))
        return false;
      const uint8_t* in = rte_pktmbuf_mtod_offset(m, const uint8_t*, pi.inner_l3_off);
      // ip_vs_in_icmp_v6: about a packet we sent from VIP:vport to a client.
      if (s.find_service6(pi.inner_proto, in + 8, pi.inner_sport) ||
          (unlikely(s.fwm6) && s.find_fwmark6(m->port, pi.inner_proto, in + 24, in + 8,
                                              pi.inner_dport, pi.inner_sport))) {
        v = Verdict::IcmpToRs;
        cip = pi.inner_daddr;
      } else if (s.find_masq6(pi.inner_proto, in + 24, pi.inner_dport)) {
        // ip_vs_out_icmp_v6: about a packet we sent from a client to RIP:rport.
        v = Verdict::IcmpToClient;
        cip = pi.inner_saddr;
      } else {
        return false;
      }
      break;
    }
    case PktKind::Fragment:
      if (pi.proto != kIpProtoTcp && pi.proto != kIpProtoUdp) return false;
      if (is_vip6(s, pi.proto, ip + 24) ||
          (unlikely(s.fwm6) &&
           s.find_fwmark6(m->port, pi.proto, ip + 8, ip + 24, 0, 0, /*ports=*/false))) {
        v = Verdict::FragIn;
        cip = pi.saddr;
      } else if (is_masq_rip6(s, pi.proto, ip + 8)) {
        v = Verdict::FragOut;
        cip = pi.daddr;
      } else {
        return false;
      }
      break;
    default:
      return false;
  }
  if (steer && w.nworkers > 1) {
    const unsigned owner = owner_of(cip, w.nworkers);
    if (owner != w.id) {
      handoff(w, owner, m);
      return true;
    }
  }
  switch (v) {
    case Verdict::Request:
      service_request6(w, m, pi, *svc);
      break;
    case Verdict::Reply:
      nat_reply6(w, m, pi);
      break;
    case Verdict::IcmpToRs:
      nat_icmp6(w, m, pi, false);
      break;
    case Verdict::IcmpToClient:
      nat_icmp6(w, m, pi, true);
      break;
    case Verdict::FragIn:
      frag_follow6(w, m, pi, false);
      break;
    case Verdict::FragOut:
      frag_follow6(w, m, pi, true);
      break;
    case Verdict::FwmConn:
      return fwmark_follow6(w, m, pi);
    default:
      break;
  }
  return true;
}

}  // namespace fastvs
