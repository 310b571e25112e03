// ipvsadm's printers, rewritten from the formats of ipvsadm 1.31 (ipvsadm.c: list_all,
// print_title, print_service_entry, print_largenum, print_sched_flags, fwd_name, fwd_switch,
// addrport_to_anyname, list_timeout, list_daemon; libipvs/libipvs.c: ipvs_cmp_services,
// ipvs_cmp_dests). Each function names the ipvsadm code whose output it reproduces; the printf
// formats are quoted so a reader can check the widths.
#include "control/report/ipvsadm_print.h"

#include <netdb.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstddef>
#include <iterator>
#include <vector>

#include <fmt/core.h>

namespace fastvs {

// ---------------------------------------------------------------------------------------------
// Names.

// port_to_anyname: getservbyport(htons(port), "tcp"|"udp"), else the number. The reentrant
// variant, because the control thread may not be the only caller of the NSS functions.
std::string port_to_anyname(uint16_t port, Proto proto) {
  const char* proto_str = proto == Proto::Tcp ? "tcp" : "udp";
  std::vector<char> buf(1024);
  while (true) {
    servent entry{};
    servent* found = nullptr;
    const int rc = getservbyport_r(static_cast<int>(htons(port)), proto_str, &entry, buf.data(),
                                   buf.size(), &found);
    if (rc == ERANGE && buf.size() < (1u << 20)) {
      buf.resize(buf.size() * 2);
      continue;
    }
    if (rc == 0 && found != nullptr && found->s_name != nullptr) return found->s_name;
    return std::to_string(port);
  }
}

namespace {

// addrport_to_anyname. Without -n ipvsadm also resolves the address (gethostbyaddr): fastvs
// deliberately does not. A reverse lookup can block for seconds on an unreachable resolver, and
// the listing is answered by the control thread; an address whose PTR lookup fails is printed
// numerically by ipvsadm too, so the numeric address is what ipvsadm prints on a director
// without reverse DNS. Ports are resolved as ipvsadm does (a local /etc/services lookup).
// snprintf(buf, 60, "%s%s%s:%u", af == AF_INET ? "" : "[", inet_ntop(...), af == AF_INET ?
// "" : "]", port).
std::string addrport_to_anyname(const IpAddr& ip, uint16_t port, Proto proto, bool numeric) {
  const std::string host = ip.is_v4() ? format_ip(ip) : "[" + format_ip(ip) + "]";
  std::string s = host + ":" + (numeric ? std::to_string(port) : port_to_anyname(port, proto));
  // ipvsadm's buffer: malloc(60) filled with snprintf(buf, 60, ...).
  if (s.size() > 59) s.resize(59);
  return s;
}

// fwd_name.
const char* fwd_name(const DestStatus& d) {
  return d.local_node ? "Local" : method_name(d.cfg.method);
}

// fwd_switch (ipvsadm saves IP_VS_CONN_F_LOCALNODE as -g, like DROUTE; -S works on the
// configuration, where a destination is never local).
const char* fwd_switch(ForwardMethod m) {
  switch (m) {
    case ForwardMethod::Masq:
      return "-m";
    case ForwardMethod::Route:
      return "-g";
    case ForwardMethod::Tunnel:
      return "-i";
  }
  return "-g";
}

// The model's flag bits are the kernel's IP_VS_SVC_F_SCHED1 (sh-fallback, mh-fallback) and
// IP_VS_SVC_F_SCHED2 (sh-port, mh-port); ipvsadm tests `flags & (SCHED1 | SCHED2 | SCHED3)`.
// print_sched_flags: the names depend on the scheduler; the generic names otherwise.
std::string sched_flags_text(const ServiceConfig& s) {
  const bool flag1 = s.sched_flags & kSchedShFallback;
  const bool flag2 = s.sched_flags & kSchedShPort;
  const char* name1 = "flag-1";
  const char* name2 = "flag-2";
  if (s.scheduler == "sh") {
    name1 = "sh-fallback";
    name2 = "sh-port";
  } else if (s.scheduler == "mh") {
    name1 = "mh-fallback";
    name2 = "mh-port";
  }
  std::string out;
  if (flag1) out += name1;
  if (flag2) out += std::string(out.empty() ? "" : ",") + name2;
  // IP_VS_SVC_F_SCHED3 has a name only for the schedulers other than sh and mh.
  if ((s.sched_flags & kSchedFlag3) && s.scheduler != "sh" && s.scheduler != "mh")
    out += std::string(out.empty() ? "" : ",") + "flag-3";
  return out;
}

bool has_sched_flags(const ServiceConfig& s) {
  return !sched_flags_text(s).empty();
}

// ---------------------------------------------------------------------------------------------
// Order.

// libipvs compares addresses as `int r = ntohl(a) - ntohl(b)`: the unsigned difference read as
// an int. That orders two addresses correctly only when they are less than 2^31 apart; further
// apart the sign flips, so 172.16.254.200 lists before 10.0.0.1 (0x0a000001 - 0xac10fec8 wraps
// to a positive int). Printing exactly what ipvsadm prints means keeping the quirk. An IPv6
// address (the first one's family decides) is compared so 32 bits at a time,
// ntohl(s6_addr32[i]); an IPv4 one against an IPv6 one reads its first 32 bits (the union).
uint32_t word(const IpAddr& a, int i) {
  const auto& b = a.bytes();
  return uint32_t{b[4 * i]} << 24 | uint32_t{b[4 * i + 1]} << 16 | uint32_t{b[4 * i + 2]} << 8 |
         b[4 * i + 3];
}

int cmp_addr(const IpAddr& a, const IpAddr& b) {
  const int words = a.is_v6() ? 4 : 1;
  int r = 0;
  for (int i = 0; r == 0 && i < words; ++i) r = static_cast<int32_t>(word(a, i) - word(b, i));
  return r;
}

// glibc's qsort is a top-down merge sort (msort.c, msort_with_tmp): left half n/2 elements, and
// the merge takes the left element when cmp <= 0. Because the comparator above is not a strict
// weak order when addresses span more than 2^31, the result can depend on the algorithm; this
// is glibc's, so the order is ipvsadm's on glibc systems. (std::sort with such a comparator
// would be undefined behaviour.)
template <typename T, typename Cmp>
void msort(T* b, size_t n, T* tmp, const Cmp& cmp) {
  if (n <= 1) return;
  size_t n1 = n / 2;
  size_t n2 = n - n1;
  T* b1 = b;
  T* b2 = b + n1;
  msort(b1, n1, tmp, cmp);
  msort(b2, n2, tmp, cmp);
  T* t = tmp;
  while (n1 > 0 && n2 > 0) {
    if (cmp(*b1, *b2) <= 0) {
      *t++ = *b1++;
      --n1;
    } else {
      *t++ = *b2++;
      --n2;
    }
  }
  while (n1 > 0) {
    *t++ = *b1++;
    --n1;
  }
  for (size_t i = 0; i < n - n2; ++i) b[i] = tmp[i];
}

template <typename T, typename Cmp>
void ipvsadm_qsort(std::vector<T>& v, const Cmp& cmp) {
  std::vector<T> tmp(v.size());
  msort(v.data(), v.size(), tmp.data(), cmp);
}

std::vector<const DestStatus*> sorted_dests(const std::vector<DestStatus>& dests, bool nosort) {
  std::vector<const DestStatus*> out;
  out.reserve(dests.size());
  for (const DestStatus& d : dests) out.push_back(&d);
  if (nosort) return out;  // FMT_NOSORT: the kernel's list order
  ipvsadm_qsort(out, [](const DestStatus* a, const DestStatus* b) {
    return ipvsadm_cmp_dests(a->cfg.rip, a->cfg.rport, b->cfg.rip, b->cfg.rport);
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
// Numbers.

// print_largenum: right-aligned in 9 columns, scaled with a K/M/G/T suffix from 100 million on;
// with --exact the whole number, in 9 columns or its length plus one.
void append_largenum(std::string& out, uint64_t i, bool exact) {
  if (exact) {
    const std::string digits = std::to_string(i);
    const size_t width = digits.size() <= 8 ? 9 : digits.size() + 1;
    out += fmt::format("{:>{}}", digits, width);  // "%*llu"
    return;
  }
  if (i < 100000000ULL) {
    out += fmt::format("{:>9}", i);  // "%9llu"
  } else if (i < 1000000000ULL) {
    out += fmt::format("{:>8}K", i / 1000);  // "%8lluK"
  } else if (i < 100000000000ULL) {
    out += fmt::format("{:>8}M", i / 1000000);  // "%8lluM"
  } else if (i < 100000000000000ULL) {
    out += fmt::format("{:>8}G", i / 1000000000ULL);  // "%8lluG"
  } else {
    out += fmt::format("{:>8}T", i / 1000000000000ULL);  // "%8lluT"
  }
}

// The kernel's counts are u32 and ipvsadm prints them with %u.
uint32_t as_u32(int32_t v) {
  return static_cast<uint32_t>(v);
}

// ---------------------------------------------------------------------------------------------
// -L.

// print_title.
void append_title(std::string& out, const ListOptions& o) {
  if (o.stats) {
    // "%-33s %8s %8s %8s %8s %8s\n  -> RemoteAddress:Port\n"
    out +=
        fmt::format("{:<33} {:>8} {:>8} {:>8} {:>8} {:>8}\n  -> RemoteAddress:Port\n",
                    "Prot LocalAddress:Port", "Conns", "InPkts", "OutPkts", "InBytes", "OutBytes");
  } else if (o.rate) {
    out += fmt::format("{:<33} {:>8} {:>8} {:>8} {:>8} {:>8}\n  -> RemoteAddress:Port\n",
                       "Prot LocalAddress:Port", "CPS", "InPPS", "OutPPS", "InBPS", "OutBPS");
  } else if (o.thresholds) {
    // "%-33s %-10s %-10s %-10s %-10s\n  -> RemoteAddress:Port\n"
    out += fmt::format("{:<33} {:<10} {:<10} {:<10} {:<10}\n  -> RemoteAddress:Port\n",
                       "Prot LocalAddress:Port", "Uthreshold", "Lthreshold", "ActiveConn",
                       "InActConn");
  } else if (o.persistent_conn) {
    // "%-33s %-9s %-11s %-10s %-10s\n  -> RemoteAddress:Port\n"
    out +=
        fmt::format("{:<33} {:<9} {:<11} {:<10} {:<10}\n  -> RemoteAddress:Port\n",
                    "Prot LocalAddress:Port", "Weight", "PersistConn", "ActiveConn", "InActConn");
  } else if (o.tun_info) {
    out +=
        "Prot LocalAddress:Port Scheduler Flags\n"
        "  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn\n";
  } else {
    out +=
        "Prot LocalAddress:Port Scheduler Flags\n"
        "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n";
  }
}

// print_service_entry without FMT_RULE.
void append_service(std::string& out, const ServiceStatus& s, const ListOptions& o) {
  const ServiceConfig& c = s.cfg;
  // snprintf(svc_name, ..., "%-4s %s", protocol_name, vname); svc_name[33] = '\0' unless
  // the service is IPv6 (whose name may be wider: the columns then shift, as in ipvsadm).
  // A firewall-mark service: sprintf(svc_name, "FWM  %d", fwmark), " IPv6" after it for one.
  // Unsigned here: ipvsadm's %d prints a mark above 2^31 negative, which its -f then refuses.
  std::string svc_name =
      c.key.is_fwmark()
          ? fmt::format("FWM  {}{}", c.key.fwmark, c.key.vip.is_v6() ? " IPv6" : "")
          : fmt::format("{:<4} {}", proto_name(c.key.proto),
                        addrport_to_anyname(c.key.vip, c.key.vport, c.key.proto, o.numeric));
  if (!c.key.is_fwmark() && !c.key.vip.is_v6() && svc_name.size() > 33) svc_name.resize(33);

  if (o.stats) {
    out += fmt::format("{:<33}", svc_name);  // "%-33s"
    for (uint64_t v : {s.conns, s.inpkts, s.outpkts, s.inbytes, s.outbytes})
      append_largenum(out, v, o.exact);
  } else if (o.rate) {
    out += fmt::format("{:<33}", svc_name);
    for (uint64_t v : {s.cps, s.inpps, s.outpps, s.inbps, s.outbps})
      append_largenum(out, v, o.exact);
  } else {
    // "%s %s", then " (flags)", " persistent %u" and " mask %s" (only when it is not
    // 255.255.255.255), for IPv6 " mask %i" (only when the prefix length is not 128);
    // --thresholds and --persistent-conn use this line too.
    out += svc_name + " " + c.scheduler;
    if (has_sched_flags(c)) out += " (" + sched_flags_text(c) + ")";
    if (c.persistent) {
      out += fmt::format(" persistent {}", c.timeout);
      if (c.key.vip.is_v4() && c.netmask != 0xffffffffu) out += " mask " + format_ip4(c.netmask);
      if (c.key.vip.is_v6() && c.netmask6 != 128) out += fmt::format(" mask {}", c.netmask6);
    }
    if (c.ops) out += " ops";
  }
  out += "\n";

  for (const DestStatus* d : sorted_dests(s.dests, o.nosort)) {
    std::string dname = addrport_to_anyname(d->cfg.rip, d->cfg.rport, c.key.proto, o.numeric);
    // dname[28] = '\0' unless the destination is IPv6.
    if (!d->cfg.rip.is_v6() && dname.size() > 28) dname.resize(28);
    if (o.stats) {
      out += fmt::format("  -> {:<28}", dname);  // "  -> %-28s"
      for (uint64_t v : {d->conns, d->inpkts, d->outpkts, d->inbytes, d->outbytes})
        append_largenum(out, v, o.exact);
      out += "\n";
    } else if (o.rate) {
      // "  -> %-28s %8llu %8llu %8llu": CPS and the packet rates are never scaled, even though
      // the service line scales them.
      out += fmt::format("  -> {:<28} {:>8} {:>8} {:>8}", dname, d->cps, d->inpps, d->outpps);
      append_largenum(out, d->inbps, o.exact);
      append_largenum(out, d->outbps, o.exact);
      out += "\n";
    } else if (o.thresholds) {
      // "  -> %-28s %-10u %-10u %-10u %-10u\n"
      out += fmt::format("  -> {:<28} {:<10} {:<10} {:<10} {:<10}\n", dname, d->cfg.u_threshold,
                         d->cfg.l_threshold, as_u32(d->activeconns), as_u32(d->inactconns));
    } else if (o.persistent_conn) {
      // "  -> %-28s %-9u %-11u %-10u %-10u\n"
      out += fmt::format("  -> {:<28} {:<9} {:<11} {:<10} {:<10}\n", dname,
                         static_cast<uint32_t>(d->cfg.weight), as_u32(d->persistconns),
                         as_u32(d->activeconns), as_u32(d->inactconns));
    } else if (o.tun_info) {
      // "  -> %-28s %-7s %-13s %-6d %-10u %-10u\n", fwd_tun_info: "ipip" for a tunnel (fastvs's
      // only type; GUE's would be "gue:PORT:FLAGS"), NA ("n/a") otherwise.
      const bool tunnel = !d->local_node && d->cfg.method == ForwardMethod::Tunnel;
      out += fmt::format("  -> {:<28} {:<7} {:<13} {:<6} {:<10} {:<10}\n", dname, fwd_name(*d),
                         tunnel ? "ipip" : "n/a", d->cfg.weight, as_u32(d->activeconns),
                         as_u32(d->inactconns));
    } else {
      // "  -> %-28s %-7s %-6d %-10u %-10u\n"
      out += fmt::format("  -> {:<28} {:<7} {:<6} {:<10} {:<10}\n", dname, fwd_name(*d),
                         d->cfg.weight, as_u32(d->activeconns), as_u32(d->inactconns));
    }
  }
}

}  // namespace

int ipvsadm_cmp_services(const ServiceKey& a, const ServiceKey& b) {
  // "r = s1->fwmark - s2->fwmark" (unsigned, read as int): address services (0) first.
  if (const int r = static_cast<int>(a.fwmark - b.fwmark); r != 0) return r;
  // "r = s1->af - s2->af": AF_INET first.
  if (a.vip.family() != b.vip.family()) return a.vip.is_v4() ? -1 : 1;
  if (const int r = static_cast<int>(a.proto) - static_cast<int>(b.proto); r != 0) return r;
  if (const int r = cmp_addr(a.vip, b.vip); r != 0) return r;
  return static_cast<int>(a.vport) - static_cast<int>(b.vport);
}

int ipvsadm_cmp_dests(const IpAddr& rip_a, uint16_t rport_a, const IpAddr& rip_b,
                      uint16_t rport_b) {
  if (const int r = cmp_addr(rip_a, rip_b); r != 0) return r;
  return static_cast<int>(rport_a) - static_cast<int>(rport_b);
}

std::string format_list(const std::vector<ServiceStatus>& services, const ListOptions& o,
                        uint32_t conn_table_size) {
  // list_all: "IP Virtual Server version %d.%d.%d (size=%d)\n"; the kernel's size is an int.
  std::string out = fmt::format("IP Virtual Server version {} (size={})\n", kIpvsVersion,
                                static_cast<int32_t>(conn_table_size));
  append_title(out, o);
  std::vector<const ServiceStatus*> order;
  order.reserve(services.size());
  for (const ServiceStatus& s : services) order.push_back(&s);
  if (!o.nosort) {
    ipvsadm_qsort(order, [](const ServiceStatus* a, const ServiceStatus* b) {
      return ipvsadm_cmp_services(a->cfg.key, b->cfg.key);
    });
  }
  for (const ServiceStatus* s : order) append_service(out, *s, o);
  return out;
}

std::string format_list_service(const ServiceStatus& service, const ListOptions& o) {
  std::string out;
  append_title(out, o);
  append_service(out, service, o);
  return out;
}

// list_all with FMT_RULE: print_service_entry's rule lines, no version line, no title.
std::string format_save(const Config& cfg, bool numeric) {
  std::vector<const ServiceConfig*> order;
  order.reserve(cfg.services.size());
  for (const ServiceConfig& s : cfg.services) order.push_back(&s);
  ipvsadm_qsort(order, [](const ServiceConfig* a, const ServiceConfig* b) {
    return ipvsadm_cmp_services(a->key, b->key);
  });

  std::string out;
  for (const ServiceConfig* s : order) {
    // snprintf(svc_name, ..., "%s %s", option_from_protocol, vname)
    // sprintf(svc_name, "-f %d -6") / "-f %d" for a firewall-mark service.
    const std::string svc_name =
        s->key.is_fwmark()
            ? fmt::format("-f {}{}", s->key.fwmark, s->key.vip.is_v6() ? " -6" : "")
            : fmt::format("{} {}", s->key.proto == Proto::Tcp ? "-t" : "-u",
                          addrport_to_anyname(s->key.vip, s->key.vport, s->key.proto, numeric));
    // "-A %s -s %s", then " -p %u" / " -M %s" / " --pe %s" (not in the model) / " -o", then
    // " -b " and print_sched_flags.
    out += fmt::format("-A {} -s {}", svc_name, s->scheduler);
    if (s->persistent) {
      out += fmt::format(" -p {}", s->timeout);
      // " -M %s" of the mask (IPv4), " -M %i" of the prefix length (IPv6).
      if (s->key.vip.is_v4() && s->netmask != 0xffffffffu) out += " -M " + format_ip4(s->netmask);
      if (s->key.vip.is_v6() && s->netmask6 != 128) out += fmt::format(" -M {}", s->netmask6);
    }
    if (s->ops) out += " -o";
    if (has_sched_flags(*s)) out += " -b " + sched_flags_text(*s);
    out += "\n";

    std::vector<const DestConfig*> dests;
    dests.reserve(s->dests.size());
    for (const DestConfig& d : s->dests) dests.push_back(&d);
    ipvsadm_qsort(dests, [](const DestConfig* a, const DestConfig* b) {
      return ipvsadm_cmp_dests(a->rip, a->rport, b->rip, b->rport);
    });
    for (const DestConfig* d : dests) {
      const std::string dname = addrport_to_anyname(d->rip, d->rport, s->key.proto, numeric);
      // "-a %s -r %s %s -w %d\n". ipvsadm never saves -x/-y: thresholds do not survive
      // `ipvsadm -S | ipvsadm -R`, and fastvsadm -S keeps that behaviour.
      out += fmt::format("-a {} -r {} {} -w {}", svc_name, dname, fwd_switch(d->method), d->weight);
      // print_tunnel_rule: ipvsadm 1.31 reads tun_type 0 (ipip) for every tunnel destination
      // (the netlink attribute, or the zeroed entry on kernels without it).
      if (d->method == ForwardMethod::Tunnel) out += " --tun-type ipip";
      out += "\n";
    }
  }
  // ipvsadm -S saves no sync daemon; fastvsadm's does, in --start-daemon's own words.
  const SyncDaemonConfig defaults;
  for (const bool master : {true, false}) {
    const std::optional<SyncDaemonConfig>& d = master ? cfg.sync_master : cfg.sync_backup;
    if (!d) continue;
    out += fmt::format("--start-daemon {} --mcast-interface {} --syncid {}",
                       master ? "master" : "backup", d->ifname, d->syncid);
    if (d->maxlen != 0) out += fmt::format(" --sync-maxlen {}", d->maxlen);
    if (d->group != defaults.group) out += " --mcast-group " + format_ip4(d->group);
    if (d->port != defaults.port) out += fmt::format(" --mcast-port {}", d->port);
    if (d->ttl != defaults.ttl) out += fmt::format(" --mcast-ttl {}", d->ttl);
    out += "\n";
  }
  return out;
}

std::string format_daemon(const Config& cfg, const MtuOf& mtu_of) {
  std::string out;
  // list_daemon, for each role the kernel reports (ip_vs_genl_dump_daemons: master, then
  // backup): "%s sync daemon (mcast=%s, syncid=%d", then ", maxlen=%u", ", group=%s",
  // ", port=%u", ", ttl=%u" for each field the kernel sends (every one since 4.3), then ")\n".
  for (const bool master : {true, false}) {
    const std::optional<SyncDaemonConfig>& d = master ? cfg.sync_master : cfg.sync_backup;
    if (!d) continue;
    out += fmt::format("{} sync daemon (mcast={}, syncid={}", master ? "master" : "backup",
                       d->ifname, static_cast<int>(d->syncid));
    out += fmt::format(", maxlen={}", sync_daemon_maxlen(*d, master, mtu_of(d->ifname)));
    out += ", group=" + format_ip4(d->group);
    out += fmt::format(", port={}, ttl={})\n", d->port, d->ttl);
  }
  return out;
}

std::string format_timeout(const Timeouts& t) {
  // list_timeout: "Timeout (tcp tcpfin udp): %d %d %d\n"
  return fmt::format("Timeout (tcp tcpfin udp): {} {} {}\n", static_cast<int32_t>(t.tcp),
                     static_cast<int32_t>(t.tcpfin), static_cast<int32_t>(t.udp));
}

std::string format_conns(const std::vector<ConnListEntry>& conns, bool numeric,
                         bool persistent_conn) {
  // list_conn's title; with --persistent-conn it names the persistence engine's columns, which
  // print_conn fills only for entries that have an engine (none here: fastvs has no --pe).
  std::string out = "IPVS connection entries\n";
  if (persistent_conn) {
    out += fmt::format("pro expire {:<11} {:<18} {:<18} {:<18} {:<16} {}\n", "state", "source",
                       "virtual", "destination", "pe name", "pe_data");
  } else {
    out += fmt::format("pro expire {:<11} {:<18} {:<18} {}\n", "state", "source", "virtual",
                       "destination");
  }
  for (const ConnListEntry& c : conns) {
    // print_conn: "%02d:%02d" of the seconds left, then "%-3s %-6s %-11s %-18s %-18s %s\n".
    const std::string expire = fmt::format("{:02}:{:02}", c.expires / 60, c.expires % 60);
    out += fmt::format("{:<3} {:<6} {:<11} {:<18} {:<18} {}\n",
                       c.ip_proto ? "IP" : proto_name(c.proto), expire, c.state,
                       addrport_to_anyname(c.cip, c.cport, c.proto, numeric),
                       addrport_to_anyname(c.vip, c.vport, c.proto, numeric),
                       addrport_to_anyname(c.rip, c.rport, c.proto, numeric));
  }
  return out;
}

}  // namespace fastvs
