#include "common/grammar/words.h"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <optional>
#include <vector>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "common/grammar/command.h"
#include "common/text.h"

namespace fastvs {

namespace {
thread_local HostResolver t_resolver;
}  // namespace

void set_host_resolver(HostResolver resolver) {
  t_resolver = std::move(resolver);
}

std::optional<IpAddr> resolve_host_ipv4(std::string_view name) {
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(std::string(name).c_str(), nullptr, &hints, &res) != 0 || !res)
    return std::nullopt;
  const auto* sin = reinterpret_cast<const sockaddr_in*>(res->ai_addr);
  const IpAddr a = IpAddr::v4(ntohl(sin->sin_addr.s_addr));
  freeaddrinfo(res);
  return a;
}

namespace {

bool has_letter(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); });
}

std::string known_flags() {
  std::string out = " (known: ";
  for (size_t i = 0; i < kSchedFlagNames.size(); ++i)
    out += (i ? ", " : "") + std::string(kSchedFlagNames[i].name);
  return out + ")";
}

}  // namespace

Status check_scheduler(std::string_view name) {
  for (const SchedulerName& s : kSchedulers)
    if (s.name == name) return {};
  return Error{"bad scheduler name " + quoted(name)};
}

std::string flag_names(uint32_t flags, std::string_view sched) {
  std::string out;
  for (const auto& f : kSchedFlagNames) {
    if (f.sched != sched || !(flags & f.bit)) continue;
    if (!out.empty()) out += ',';
    out += f.name;
  }
  return out;
}

Result<uint32_t> parse_sched_flags(std::string_view arg, std::string* of_out) {
  uint32_t flags = 0;
  std::string_view of, first;
  size_t start = 0;
  while (true) {
    const size_t comma = arg.find(',', start);
    const std::string_view f = arg.substr(start, comma == arg.npos ? arg.npos : comma - start);
    if (f.empty()) return Error{"empty scheduler flag in " + quoted(arg) + known_flags()};
    auto known = std::find_if(kSchedFlagNames.begin(), kSchedFlagNames.end(),
                              [&](const SchedFlagName& n) { return n.name == f; });
    if (known == kSchedFlagNames.end())
      return Error{"unknown scheduler flag " + quoted(f) + known_flags()};
    // One -b serves one scheduler: sh-port with mh-port cannot both be right. flag-N are any
    // scheduler's (ipvsadm's parse_sched_flags checks only the named ones).
    if (!known->sched.empty()) {
      if (!of.empty() && known->sched != of) {
        return Error{"scheduler flags " + quoted(first) + " and " + quoted(f) +
                     " are for different schedulers"};
      }
      if (of.empty()) first = f;
      of = known->sched;
    }
    flags |= known->bit;
    if (comma == arg.npos) break;
    start = comma + 1;
  }
  *of_out = std::string(of);
  return flags;
}

Status check_sched_flags(std::string_view scheduler, uint32_t flags, std::string_view flags_of) {
  // ipvsadm takes flag-3 with sh and mh, but its print_sched_flags has no name for it there:
  // -L lists "sh ()" and -S writes a "-b " that -R refuses. Refused here, so that what -S saves
  // is the table (keepalived's configurations lose it the same way: keepalived_resolve.cpp).
  if ((flags & kSchedFlag3) && (scheduler == "sh" || scheduler == "mh"))
    return Error{"scheduler flag 'flag-3' has no meaning for the " + std::string(scheduler) +
                 " scheduler (ipvsadm could not list or save it)"};
  if (flags == 0 || flags_of.empty() || scheduler == flags_of) return {};
  return Error{"scheduler flag " + quoted(flag_names(flags, flags_of)) + " needs the " +
               std::string(flags_of) + " scheduler, not " + quoted(scheduler)};
}

bool abbrev_of(std::string_view word, std::string_view full) {
  return !word.empty() && word.size() <= full.size() && full.substr(0, word.size()) == word;
}

std::string bad_ip(std::string_view what, std::string_view s) {
  if (s.find(':') != std::string_view::npos) {
    return "bad " + std::string(what) + " " + quoted(s) +
           " (expected an IPv6 address like 2001:db8::1)";
  }
  if (has_letter(s)) {
    return std::string(what) + " " + quoted(s) +
           " is not a numeric IP address (host names are not resolved)";
  }
  return "bad " + std::string(what) + " " + quoted(s) + " (expected a dotted quad like 10.0.0.1)";
}

std::optional<uint16_t> service_port(std::string_view name) {
  const std::string n(name);
  std::vector<char> buf(1024);
  while (true) {
    servent entry{};
    servent* found = nullptr;
    const int rc = getservbyname_r(n.c_str(), nullptr, &entry, buf.data(), buf.size(), &found);
    if (rc == ERANGE && buf.size() < (1u << 20)) {
      buf.resize(buf.size() * 2);
      continue;
    }
    if (rc != 0 || !found) return std::nullopt;
    return ntohs(static_cast<uint16_t>(found->s_port));
  }
}

// ipvsadm's parse_service: "[V6]:PORT" (the brackets need the port), a bare IPv6 address, else
// IPv4[:PORT]. ipvsadm also takes "[10.0.0.1]:80" and then drops the port; refused here.
Status parse_host_port(std::string_view what, std::string_view s, IpAddr& ip,
                       std::optional<uint16_t>& port) {
  std::string_view host = s;
  std::optional<std::string_view> port_text;
  port.reset();
  if (!s.empty() && s.front() == '[') {
    const size_t close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':') {
      return Error{"bad " + std::string(what) + " " + quoted(s) +
                   " (an IPv6 address in brackets takes a port: [2001:db8::1]:80)"};
    }
    host = s.substr(1, close - 1);
    port_text = s.substr(close + 2);
    if (!parse_ip6(host)) {
      return Error{"bad " + std::string(what) + " " + quoted(s) +
                   " (expected an IPv6 address in brackets like [2001:db8::1]:80)"};
    }
  } else if (const auto v6 = parse_ip6(s)) {
    ip = IpAddr::v6(*v6);
    return {};
  } else if (const size_t colon = s.find(':'); colon != std::string_view::npos) {
    if (s.find(':', colon + 1) != std::string_view::npos) {
      return Error{"bad " + std::string(what) + " " + quoted(s) +
                   " (an IPv6 address with a port is written [2001:db8::1]:80)"};
    }
    host = s.substr(0, colon);
    port_text = s.substr(colon + 1);
  }
  if (port_text) {
    const std::string_view p = *port_text;
    port = parse_port(p);
    if (!port && has_letter(p)) {
      // ipvsadm's parse_service: a service name from the services database (getservbyname),
      // as `-S` without -n writes them (port_to_anyname), so that -R reads them back.
      port = service_port(p);
      if (!port) {
        return Error{std::string(what) + " port " + quoted(p) +
                     " is neither a number nor a service name (/etc/services)"};
      }
    }
    if (!port) return Error{"bad " + std::string(what) + " port " + quoted(p) + " (0..65535)"};
  }
  if (const auto a = parse_ip(host)) {
    ip = *a;
    return {};
  }
  if (has_letter(host) && t_resolver) {
    const auto a = t_resolver(host);
    if (!a) {
      return Error{std::string(what) + " " + quoted(host) +
                   " is no host name with an IPv4 address (nor a numeric IP address)"};
    }
    ip = *a;
    return {};
  }
  return Error{bad_ip(what, host)};
}

Status parse_device(std::string_view s, uint16_t& port) {
  if (s.size() > 4 && s.substr(0, 4) == "dpdk" && !(s[4] == '0' && s.size() > 5)) {
    if (const auto n = parse_uint(s.substr(4), 65535)) {
      port = static_cast<uint16_t>(*n);
      return {};
    }
  }
  return Error{"unknown device " + quoted(s) + " (the director's ports are dpdk0, dpdk1, ...)"};
}

Status set_sync_field(SyncDaemonConfig& c, SyncField f, std::string_view what, std::string_view s) {
  const auto bad = [&](std::string_view range) {
    return Error{"bad " + std::string(what) + " " + quoted(s) + " (" + std::string(range) + ")"};
  };
  switch (f) {
    case SyncField::Interface: {
      uint16_t port = 0;
      if (!parse_device(s, port)) return bad("a port of the director: dpdk0, dpdk1, ...");
      c.ifname = port_name(port);
      return {};
    }
    case SyncField::SyncId: {
      const auto v = parse_uint(s, 255);
      if (!v) return bad("0..255");
      c.syncid = static_cast<uint8_t>(*v);
      return {};
    }
    case SyncField::Maxlen: {
      // ipvsadm's --sync-maxlen: 1 .. 65535 - 20 - 8 (0 would be "not given").
      const auto v = parse_uint(s, kSyncMaxlenMax);
      if (!v || *v == 0) return bad("1.." + std::to_string(kSyncMaxlenMax));
      c.maxlen = static_cast<uint16_t>(*v);
      return {};
    }
    case SyncField::Group: {
      const auto ip = parse_ip4(s);
      if (!ip && s.find(':') != std::string_view::npos)
        return Error{std::string(what) + " " + quoted(s) + ": an IPv6 group is not supported yet"};
      // IN_MULTICAST: 224.0.0.0/4, as ipvsadm and keepalived require.
      if (!ip || (*ip >> 28) != 0xe) return bad("an IPv4 multicast address, 224.0.0.0/4");
      c.group = *ip;
      return {};
    }
    case SyncField::Port: {
      const auto v = parse_port(s);
      if (!v || *v == 0) return bad("1..65535");
      c.port = *v;
      return {};
    }
    case SyncField::Ttl: {
      const auto v = parse_uint(s, 255);
      if (!v || *v == 0) return bad("1..255");
      c.ttl = static_cast<uint8_t>(*v);
      return {};
    }
  }
  return Error{"internal error: sync field"};
}

std::string prefix_name(const IpAddr& prefix, unsigned len) {
  if (prefix.is_zero() && len == 0) return "default";
  return format_ip(prefix) + "/" + std::to_string(len);
}

std::optional<double> parse_seconds(std::string_view s) {
  double scale = 1;
  if (s.size() > 2 && s.substr(s.size() - 2) == "ms") {
    scale = 0.001;
    s.remove_suffix(2);
  } else if (s.size() > 1 && s.back() == 's') {
    s.remove_suffix(1);
  }
  if (s.empty() || s.size() > 20) return std::nullopt;
  char buf[24];
  std::memcpy(buf, s.data(), s.size());
  buf[s.size()] = 0;
  char* end = nullptr;
  const double v = std::strtod(buf, &end);
  if (end != buf + s.size() || !(v >= 0) || v > 86400 * 31) return std::nullopt;
  return v * scale;
}

}  // namespace fastvs
