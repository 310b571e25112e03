// keepalived's virtual_server_group and `virtual_server group NAME`, as check_data.c's
// alloc_vsg_entry and inet_stor read the entries and ipvswrapper.c's ipvs_group_cmd adds them:
// one IPVS service per address of each entry, all with the virtual server block's settings.
#include <arpa/inet.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/net.h"
#include "common/text.h"
#include "control/config/keepalived_loader.h"

namespace fastvs::ka {

namespace {

// fastvsd makes one service per address (as keepalived without nftables makes one IPVS service
// per address); a /8 would be 16 million of them.
constexpr uint64_t kMaxGroupAddresses = 65536;

// An address of `like`'s family from its bytes (the first 4 for IPv4).
IpAddr of_family(const IpAddr& like, const IpAddr::Bytes& b) {
  if (like.is_v6()) return IpAddr::v6(b);
  return IpAddr::v4(uint32_t{b[0]} << 24 | uint32_t{b[1]} << 16 | uint32_t{b[2]} << 8 | b[3]);
}

// The next address of the family; false past its last.
bool next_addr(IpAddr& a) {
  IpAddr::Bytes b = a.bytes();
  for (size_t i = a.size(); i-- > 0;) {
    if (++b[i] != 0) {
      a = of_family(a, b);
      return true;
    }
  }
  return false;
}

}  // namespace

bool Loader::vsg_block(const Node& n) {
  if (!want_block(n) || !arity(n, 1, 1)) return false;
  const std::string& name = n.args[0];
  Vsg g;
  g.line = n.line;
  for (const Node& e : n.children) {
    if (!vsg_entry(g, name, e)) return false;
  }
  // keepalived: "virtual server group G has no entries - removing", and then its virtual
  // servers are not found and dropped: a group emptied by mistake would empty the table.
  if (g.addrs.empty() && g.fwmarks.empty())
    return fail(n.line, "virtual_server_group " + excerpt(name) + " has no entries");
  // keepalived keeps the first of two groups of one name (the second is never looked up).
  if (vsgs_.count(name)) {
    warn(n.line, "virtual_server_group " + excerpt(name) +
                     " is defined twice (ignored: the first is used)");
    return true;
  }
  vsgs_.emplace(name, std::move(g));
  return true;
}

bool Loader::vsg_entry(Vsg& g, const std::string& name, const Node& e) {
  const std::string where = "virtual_server_group " + excerpt(name) + ": ";
  if (e.block) return fail(e.line, where + quoted(e.key) + " takes no { } block");
  if (e.key == "fwmark") {
    if (!arity(e, 1, 2)) return false;
    uint64_t mark = 0;
    if (!uint_value(e, 0, 1, UINT32_MAX, mark)) return false;
    Vsg::Mark m{e.line, static_cast<uint32_t>(mark), std::nullopt};
    if (e.args.size() == 2) {
      if (e.args[1] != "inet" && e.args[1] != "inet6")
        return fail(e.line, where + "fwmark " + e.args[0] + ": family " + quoted(e.args[1]) +
                                " unknown (inet or inet6)");
      m.v6 = e.args[1] == "inet6";
    }
    const bool twice = std::any_of(g.fwmarks.begin(), g.fwmarks.end(), [&](const Vsg::Mark& o) {
      return o.mark == m.mark && o.v6 == m.v6;
    });
    if (twice) {
      warn(e.line, where + "fwmark " + e.args[0] + " is in the group already (ignored: once)");
      return true;
    }
    g.fwmarks.push_back(m);
    return true;
  }
  if (e.args.size() > 1) {
    return fail(e.line, where + "too many values for " + quoted(e.key) +
                            " (an address or range, and a port)");
  }
  uint16_t port = 0;
  if (!e.args.empty()) {
    const auto p = parse_port(e.args[0]);
    if (!p) return fail(e.line, where + "bad port " + quoted(e.args[0]) + " (0..65535)");
    port = *p;
  }
  // ADDR, ADDR-END (END the last byte in decimal, or the last 16 bits in hex for IPv6: inet_stor),
  // ADDR-ADDR2, or ADDR/LEN (the host bits of ADDR clear).
  const std::string& s = e.key;
  const size_t dash = s.find('-'), slash = s.find('/');
  const size_t cut = std::min(dash, slash);
  const auto first = parse_ip(s.substr(0, cut));
  const auto bad = [&](const std::string& why) {
    return fail(e.line, where + "bad address range " + quoted(s) + " (" + why + ")");
  };
  if (!first) return bad("an address, ADDR-END, ADDR-ADDR or ADDR/LEN");
  IpAddr last = *first;
  if (slash != std::string::npos && dash == std::string::npos) {
    const auto len = parse_uint(s.substr(slash + 1), first->is_v4() ? 32 : 128);
    if (!len || *len == 0)
      return bad(first->is_v4() ? "a prefix length 1..32" : "a prefix length 1..128");
    if (!(first->masked(static_cast<unsigned>(*len)) == *first))
      return bad("address mask bits not empty");
    IpAddr::Bytes b = first->bytes();
    for (unsigned bit = static_cast<unsigned>(*len); bit < first->max_prefix(); ++bit)
      b[bit / 8] = static_cast<uint8_t>(b[bit / 8] | (0x80u >> (bit % 8)));
    last = of_family(*first, b);
  } else if (dash != std::string::npos && slash == std::string::npos) {
    const std::string end = s.substr(dash + 1);
    if (end.find(first->is_v4() ? '.' : ':') != std::string::npos) {
      const auto a = parse_ip(end);
      if (!a || a->family() != first->family())
        return bad("the range's end is no address of its family");
      if (*a < *first) return bad("the range's end is less than its start");
      last = *a;
    } else {
      char* endp = nullptr;
      errno = 0;
      const unsigned long v = std::strtoul(end.c_str(), &endp, first->is_v4() ? 10 : 16);
      if (end.empty() || *endp || errno || v > (first->is_v4() ? 255ul : 0xfffful))
        return bad(first->is_v4() ? "the end is the last byte, 0..255"
                                  : "the end is the last 16 bits in hex, 0..ffff");
      IpAddr::Bytes b = first->bytes();
      const size_t end_byte = first->size() - 1;  // the range is on the last byte or two
      const unsigned start =
          first->is_v4() ? b[end_byte] : (unsigned{b[end_byte - 1]} << 8 | b[end_byte]);
      if (start >= v) return bad("the range's end is not greater than its start");
      b[end_byte] = static_cast<uint8_t>(v);
      if (first->is_v6()) b[end_byte - 1] = static_cast<uint8_t>(v >> 8);
      last = of_family(*first, b);
    }
  } else if (cut != std::string::npos) {
    return bad("a range or a prefix, not both");
  }
  for (IpAddr a = *first;;) {
    if (g.addrs.size() >= kMaxGroupAddresses) {
      return fail(e.line, where + quoted(s) + " makes more than " +
                              std::to_string(kMaxGroupAddresses) +
                              " addresses in the group (fastvsd makes a service of each)");
    }
    // An address and port twice (IPVS would refuse the second service: EEXIST) is one.
    if (!g.seen.insert({a, port}).second) {
      warn(e.line, where + addr_port(a, port) + " is in the group already (ignored: once)");
    } else {
      g.addrs.emplace_back(a, port);
    }
    if (a == last || !next_addr(a)) break;
  }
  return true;
}

bool Loader::group_virtual_server(const Node& n) {
  const std::string& name = n.args[1];
  const auto it = vsgs_.find(name);
  if (it == vsgs_.end())
    return fail(n.line,
                "virtual_server group " + excerpt(name) + ": no virtual_server_group of that name");
  const Vsg& g = it->second;
  // The block read once, as for its first address (an IPv6 group's granularity is a prefix
  // length) or, in a group of marks alone, as a fwmark virtual server's; then one virtual server
  // per address and one per mark (ipvs_group_cmd).
  RawVs tmpl;
  tmpl.line = n.line;
  if (!g.addrs.empty()) {
    tmpl.vip = g.addrs.front().first;
    tmpl.vport = g.addrs.front().second;
  } else {
    tmpl.fwmark = g.fwmarks.front().mark;
  }
  for (const Node& c : n.children) {
    if (!vs_key(tmpl, c)) return false;
  }
  for (const auto& [addr, port] : g.addrs) {
    RawVs vs = tmpl;
    vs.fwmark = 0;
    vs.vip = addr;
    vs.vport = port;
    if (!finish_vs(std::move(vs))) return false;
  }
  for (const Vsg::Mark& m : g.fwmarks) {
    RawVs vs = tmpl;
    vs.fwmark = m.mark;
    vs.vport = 0;
    vs.group_has_addrs = !g.addrs.empty();
    // The entry's family, else the virtual server's: its addresses', else as a fwmark virtual
    // server's is found.
    if (m.v6) {
      vs.fwm_v6 = m.v6;
    } else if (!g.addrs.empty()) {
      vs.fwm_v6 = tmpl.vip.is_v6();
    }
    if (!finish_vs(std::move(vs))) return false;
  }
  return true;
}

}  // namespace fastvs::ka
