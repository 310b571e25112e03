// The words the grammars (ipvsadm's, `ip`'s, `--check`'s) share, and the checks that applying a
// command repeats on them: scheduler and scheduler-flag names, addresses and ports as written,
// device names, prefixes, durations. Pure.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/model.h"
#include "common/result.h"

namespace fastvs {

// A scheduler fastvs has (kSchedulers: all of IPVS's); else "bad scheduler name 'x'".
Status check_scheduler(std::string_view name);

// ipvsadm's -b names: the scheduler they belong to ("" for the generic flag-N, which any
// scheduler takes, as the kernel does) and the bit (SCHED1 = fallback, SCHED2 = port) they set.
struct SchedFlagName {
  std::string_view name;
  std::string_view sched;
  uint32_t bit;
  std::string_view help;
};
inline constexpr std::array<SchedFlagName, 7> kSchedFlagNames = {{
    {"sh-fallback", "sh", kSchedShFallback, "a client of an unavailable server is rehashed"},
    {"sh-port", "sh", kSchedShPort, "hash the client's port too"},
    {"mh-fallback", "mh", kSchedMhFallback, "as sh-fallback, for mh"},
    {"mh-port", "mh", kSchedMhPort, "as sh-port, for mh"},
    {"flag-1", "", kSchedShFallback, "any scheduler: sh's and mh's fallback, unread by others"},
    {"flag-2", "", kSchedShPort, "any scheduler: sh's and mh's port, unread by others"},
    {"flag-3", "", kSchedFlag3, "any scheduler: read by none (kept and listed)"},
}};

// The names of `flags` as scheduler `sched` calls them, in print_sched_flags' order.
std::string flag_names(uint32_t flags, std::string_view sched);

// -b's argument ("sh-fallback,sh-port"): the bits, and in `of` the scheduler they belong to.
Result<uint32_t> parse_sched_flags(std::string_view arg, std::string* of);

// ipvsadm's parse_sched_flags: the sh-* flags belong to the sh scheduler, the mh-* flags to mh.
// `flags_of` is the scheduler whose names were given.
Status check_sched_flags(std::string_view scheduler, uint32_t flags, std::string_view flags_of);

// True if `word` is a non-empty prefix of `full` (iproute2's matches()).
bool abbrev_of(std::string_view word, std::string_view full);

// Why `s` is not an IPv4 or IPv6 address: "host names are not resolved", or "bad".
std::string bad_ip(std::string_view what, std::string_view s);

// HOST[:PORT] for -t/-u/-r as ipvsadm's parse_service reads it: "10.0.0.1", "10.0.0.1:80",
// "[2001:db8::1]:80", or a bare IPv6 address "2001:db8::1" (its last group is never a port);
// `port` is nullopt when no port was given.
Status parse_host_port(std::string_view what, std::string_view s, IpAddr& ip,
                       std::optional<uint16_t>& port);

// A service name's port (getservbyname_r, any protocol: the names -S writes are the same port
// for TCP and UDP in the services database), or none.
std::optional<uint16_t> service_port(std::string_view name);

// dpdkN.
Status parse_device(std::string_view s, uint16_t& port);

// The sync daemon's settings as written (ipvsadm's --mcast-interface, --syncid, --sync-maxlen,
// --mcast-group, --mcast-port, --mcast-ttl; keepalived's lvs_sync_daemon words), with ipvsadm's
// ranges: a port dpdkN, 0..255, 1..65507, an IPv4 multicast address, 1..65535, 1..255.
enum class SyncField : uint8_t { Interface, SyncId, Maxlen, Group, Port, Ttl };
// Sets field f of c from s, or says why not, naming the value `what`: "bad --syncid '300'
// (0..255)", "--mcast-group 'ff02::1': an IPv6 group is not supported yet".
Status set_sync_field(SyncDaemonConfig& c, SyncField f, std::string_view what, std::string_view s);

// "10.0.0.0/24", "2001:db8::/32", or "default" for 0.0.0.0/0 and ::/0 (as iproute2 prints).
std::string prefix_name(const IpAddr& prefix, unsigned len);

// Whether ip is in net/len (never across families).
inline bool in_subnet(const IpAddr& ip, const IpAddr& net, unsigned len) {
  return ip.family() == net.family() && ip.masked(len) == net.masked(len);
}

// An address an interface, a gateway or a real server may have: IPv4 not 0.0.0.0, not
// loopback, not multicast or class E, not the limited broadcast; IPv6 not ::, not ::1, not
// multicast (ff00::/8).
inline bool is_unicast_ip(const IpAddr& ip) {
  if (ip.is_v6()) {
    const auto& b = ip.bytes();
    return !ip.is_zero() && ip != IpAddr::v6({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}) &&
           b[0] != 0xff;
  }
  const uint32_t first = ip.v4() >> 24;
  return ip.v4() != 0 && first != 127 && first < 224;
}

// "6", "6s", "1.5", "500ms": seconds (at most 31 days).
std::optional<double> parse_seconds(std::string_view s);

}  // namespace fastvs
