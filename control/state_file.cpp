#include "control/state_file.h"

#include <array>
#include <cstring>
#include <unordered_map>

#include <fmt/core.h>

namespace fastvs {

namespace {

// Offsets in the header (state_file.h has the table).
constexpr size_t kOffVersion = 8, kOffHeaderSize = 12, kOffConnSize = 16, kOffTmplSize = 20,
                 kOffConns = 24, kOffTmpls = 32, kOffSavedAt = 40, kOffTicks = 48, kOffZero1 = 52,
                 kOffCrc = 56, kOffZero2 = 60;

// The protocols, methods and TCP states a record may name (common/net.h's ForwardMethod,
// dataplane/tcp_state.h's TcpState: kept here as numbers so that this file stays pure).
constexpr uint8_t kTcp = 6, kUdp = 17;
constexpr uint8_t kMethods = 3;     // Masq, Route, Tunnel
constexpr uint8_t kTcpStates = 11;  // IP_VS_TCP_S_NONE .. IP_VS_TCP_S_SYNACK
constexpr uint8_t kMethodMasq = 0;

void put8(std::string& b, uint8_t v) {
  b.push_back(static_cast<char>(v));
}
void put16le(std::string& b, uint16_t v) {
  put8(b, static_cast<uint8_t>(v));
  put8(b, static_cast<uint8_t>(v >> 8));
}
void put32le(std::string& b, uint32_t v) {
  put16le(b, static_cast<uint16_t>(v));
  put16le(b, static_cast<uint16_t>(v >> 16));
}
// Network-order values (addresses, ports) keep their bytes as they are in memory.
void put_raw(std::string& b, const void* p, size_t n) {
  b.append(static_cast<const char*>(p), n);
}

void store32le(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
void store64le(char* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
uint16_t load16le(const unsigned char* p) {
  return static_cast<uint16_t>(p[0] | p[1] << 8);
}
uint32_t load32le(const unsigned char* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}
uint64_t load64le(const unsigned char* p) {
  return uint64_t{load32le(p)} | uint64_t{load32le(p + 4)} << 32;
}
template <typename T>
T load_raw(const unsigned char* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

#if !defined(__SSE4_2__)
std::array<uint32_t, 256> make_crc_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
    t[i] = c;
  }
  return t;
}
#endif

std::string plural(uint64_t n, const char* one, const char* many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

}  // namespace

uint32_t crc32c(uint32_t crc, const void* data, size_t len) {
  const auto* p = static_cast<const unsigned char*>(data);
  uint32_t c = ~crc;
#if defined(__SSE4_2__)
  uint64_t c64 = c;
  for (; len >= 8; p += 8, len -= 8) c64 = __builtin_ia32_crc32di(c64, load_raw<uint64_t>(p));
  c = static_cast<uint32_t>(c64);
  for (; len; ++p, --len) c = __builtin_ia32_crc32qi(c, *p);
#else
  static const std::array<uint32_t, 256> table = make_crc_table();
  for (; len; ++p, --len) c = table[(c ^ *p) & 0xff] ^ (c >> 8);
#endif
  return ~c;
}

StateWriter::StateWriter(int64_t saved_at_ms, size_t conns_hint, size_t tmpls_hint) {
  buf_.reserve(kStateHeaderSize + conns_hint * kStateConnSize + tmpls_hint * kStateTmplSize);
  buf_.assign(kStateHeaderSize, '\0');
  std::memcpy(buf_.data(), kStateMagic, sizeof kStateMagic);
  store32le(&buf_[kOffVersion], kStateVersion);
  store32le(&buf_[kOffHeaderSize], kStateHeaderSize);
  store32le(&buf_[kOffConnSize], kStateConnSize);
  store32le(&buf_[kOffTmplSize], kStateTmplSize);
  store64le(&buf_[kOffSavedAt], static_cast<uint64_t>(saved_at_ms));
  store32le(&buf_[kOffTicks], kStateTicksPerSecond);
}

void StateWriter::add(const StateConn& c) {
  // Connections come before templates in the file: a template after one is a caller's bug.
  if (ntmpls_) return;
  put8(buf_, c.proto);
  put8(buf_, c.method);
  put8(buf_, c.state);
  put8(buf_, c.flags);
  put_raw(buf_, &c.svc_vip, 4);
  put_raw(buf_, &c.cip, 4);
  put_raw(buf_, &c.vip, 4);
  put_raw(buf_, &c.rip, 4);
  put_raw(buf_, &c.svc_vport, 2);
  put_raw(buf_, &c.dest_rport, 2);
  put_raw(buf_, &c.cport, 2);
  put_raw(buf_, &c.vport, 2);
  put_raw(buf_, &c.rport, 2);
  put16le(buf_, 0);
  put32le(buf_, c.timeout);
  put32le(buf_, c.remaining);
  ++nconns_;
}

void StateWriter::add(const StateTmpl& t) {
  put8(buf_, t.proto);
  put8(buf_, 0);
  put_raw(buf_, &t.svc_vport, 2);
  put_raw(buf_, &t.svc_vip, 4);
  put_raw(buf_, &t.cip, 4);
  put_raw(buf_, &t.mask, 4);
  put_raw(buf_, &t.rip, 4);
  put_raw(buf_, &t.dest_rport, 2);
  put16le(buf_, 0);
  put32le(buf_, t.timeout);
  put32le(buf_, t.remaining);
  ++ntmpls_;
}

std::string StateWriter::finish() {
  store64le(&buf_[kOffConns], nconns_);
  store64le(&buf_[kOffTmpls], ntmpls_);
  uint32_t crc = crc32c(0, buf_.data(), kOffCrc);
  crc = crc32c(crc, buf_.data() + kStateHeaderSize, buf_.size() - kStateHeaderSize);
  store32le(&buf_[kOffCrc], crc);
  return std::move(buf_);
}

std::string encode_state(const StateFile& f) {
  StateWriter w(f.saved_at_ms, f.conns.size(), f.tmpls.size());
  for (const StateConn& c : f.conns) w.add(c);
  for (const StateTmpl& t : f.tmpls) w.add(t);
  return w.finish();
}

Result<StateFile> decode_state(std::string_view bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t size = bytes.size();
  if (size < kStateHeaderSize)
    return Error{fmt::format("truncated: {} bytes, shorter than the {}-byte header", size,
                             kStateHeaderSize)};
  if (std::memcmp(p, kStateMagic, sizeof kStateMagic) != 0)
    return Error{"not a fastvs state file (no FVSSTATE magic)"};
  if (const uint32_t v = load32le(p + kOffVersion); v != kStateVersion)
    return Error{fmt::format("version {}: this fastvsd reads version {}", v, kStateVersion)};
  if (load32le(p + kOffHeaderSize) != kStateHeaderSize ||
      load32le(p + kOffConnSize) != kStateConnSize ||
      load32le(p + kOffTmplSize) != kStateTmplSize ||
      load32le(p + kOffTicks) != kStateTicksPerSecond || load32le(p + kOffZero1) != 0 ||
      load32le(p + kOffZero2) != 0)
    return Error{"bad header: record sizes, tick length or reserved fields are not version 1's"};
  const uint64_t nconns = load64le(p + kOffConns);
  const uint64_t ntmpls = load64le(p + kOffTmpls);
  // Checked against the length before anything is sized by them: a count from a damaged header
  // must not allocate. Divisions rather than products, which could overflow.
  const uint64_t body = size - kStateHeaderSize;
  if (nconns > body / kStateConnSize ||
      ntmpls > (body - nconns * kStateConnSize) / kStateTmplSize ||
      body != nconns * kStateConnSize + ntmpls * kStateTmplSize)
    return Error{fmt::format(
        "truncated or damaged: the header says {} and {}, the file has {} bytes after it",
        plural(nconns, "connection", "connections"), plural(ntmpls, "template", "templates"),
        body)};
  uint32_t crc = crc32c(0, p, kOffCrc);
  crc = crc32c(crc, p + kStateHeaderSize, body);
  if (const uint32_t want = load32le(p + kOffCrc); crc != want)
    return Error{fmt::format("checksum mismatch (CRC32-C {:08x}, the header says {:08x}): damaged",
                             crc, want)};
  StateFile f;
  f.saved_at_ms = static_cast<int64_t>(load64le(p + kOffSavedAt));
  f.conns.reserve(nconns);
  f.tmpls.reserve(ntmpls);
  const unsigned char* r = p + kStateHeaderSize;
  for (uint64_t i = 0; i < nconns; ++i, r += kStateConnSize) {
    StateConn c;
    c.proto = r[0];
    c.method = r[1];
    c.state = r[2];
    c.flags = r[3];
    c.svc_vip = load_raw<uint32_t>(r + 4);
    c.cip = load_raw<uint32_t>(r + 8);
    c.vip = load_raw<uint32_t>(r + 12);
    c.rip = load_raw<uint32_t>(r + 16);
    c.svc_vport = load_raw<uint16_t>(r + 20);
    c.dest_rport = load_raw<uint16_t>(r + 22);
    c.cport = load_raw<uint16_t>(r + 24);
    c.vport = load_raw<uint16_t>(r + 26);
    c.rport = load_raw<uint16_t>(r + 28);
    c.timeout = load32le(r + 32);
    c.remaining = load32le(r + 36);
    const char* bad = nullptr;
    if (c.proto != kTcp && c.proto != kUdp)
      bad = "protocol";
    else if (c.method >= kMethods)
      bad = "forwarding method";
    else if (c.proto == kTcp ? c.state >= kTcpStates : c.state != 0)
      bad = "state";
    else if (c.flags & ~kStateConnFlagsAll)
      bad = "flags";
    // __ip_vs_update_dest: every method but NAT is NOOUTPUT for its whole life.
    else if (c.method != kMethodMasq && !(c.flags & kStateConnNoOutput))
      bad = "flags for its method";
    else if (load16le(r + 30) != 0)
      bad = "reserved field";
    else if (c.remaining > c.timeout)
      bad = "remaining time (more than its timeout)";
    else if (c.svc_vport != 0 && c.svc_vport != c.vport)
      bad = "service port";
    else if ((c.flags & kStateConnFwmark) && (c.svc_vport != 0 || c.svc_vip == 0))
      bad = "firewall mark";
    if (bad) return Error{fmt::format("connection record {}: bad {}", i + 1, bad)};
    f.conns.push_back(c);
  }
  for (uint64_t i = 0; i < ntmpls; ++i, r += kStateTmplSize) {
    StateTmpl t;
    t.proto = r[0];
    t.svc_vport = load_raw<uint16_t>(r + 2);
    t.svc_vip = load_raw<uint32_t>(r + 4);
    t.cip = load_raw<uint32_t>(r + 8);
    t.mask = load_raw<uint32_t>(r + 12);
    t.rip = load_raw<uint32_t>(r + 16);
    t.dest_rport = load_raw<uint16_t>(r + 20);
    t.timeout = load32le(r + 24);
    t.remaining = load32le(r + 28);
    const char* bad = nullptr;
    if (t.proto != kTcp && t.proto != kUdp && t.proto != 0)
      bad = "protocol";
    else if (t.proto == 0 && (t.svc_vport != 0 || t.svc_vip == 0))
      bad = "firewall mark";
    else if (r[1] != 0 || load16le(r + 22) != 0)
      bad = "reserved field";
    else if ((t.cip & t.mask) != t.cip)
      bad = "client address (bits outside its netmask)";
    else if (t.remaining > t.timeout)
      bad = "remaining time (more than its timeout)";
    if (bad) return Error{fmt::format("template record {}: bad {}", i + 1, bad)};
    f.tmpls.push_back(t);
  }
  return f;
}

void age_state(StateFile& f, int64_t elapsed_ms, StateCounts* counts) {
  const uint64_t ms = elapsed_ms > 0 ? static_cast<uint64_t>(elapsed_ms) : 0;
  const uint64_t elapsed = ms * kStateTicksPerSecond / 1000;
  const auto left = [elapsed](uint32_t remaining) -> uint32_t {
    return remaining > elapsed ? static_cast<uint32_t>(remaining - elapsed) : 0;
  };
  size_t kept = 0;
  for (StateConn& c : f.conns) {
    c.remaining = left(c.remaining);
    if (c.remaining == 0) {
      ++counts->expired_conns;
      continue;
    }
    f.conns[kept++] = c;
  }
  f.conns.resize(kept);
  if (f.tmpls.empty()) return;
  // Which templates still control a kept connection: <service, CIP & mask> of each.
  struct SvcKey {
    uint8_t proto;
    uint32_t vip;
    uint16_t vport;
    uint32_t cip;
    bool operator==(const SvcKey&) const = default;
  };
  struct SvcHash {
    size_t operator()(const SvcKey& k) const {
      const uint64_t a = uint64_t{k.proto} << 48 | uint64_t{k.vport} << 32 | k.vip;
      return std::hash<uint64_t>()(a * 0x9e3779b97f4a7c15ull ^ k.cip);
    }
  };
  std::unordered_map<SvcKey, size_t, SvcHash> by_key;
  std::unordered_map<SvcKey, uint32_t, SvcHash> mask_of;  // cip 0: per service
  for (size_t i = 0; i < f.tmpls.size(); ++i) {
    const StateTmpl& t = f.tmpls[i];
    by_key.emplace(SvcKey{t.proto, t.svc_vip, t.svc_vport, t.cip}, i);
    mask_of.emplace(SvcKey{t.proto, t.svc_vip, t.svc_vport, 0}, t.mask);
  }
  std::vector<bool> controls(f.tmpls.size());
  for (const StateConn& c : f.conns) {
    if (!(c.flags & kStateConnTemplate)) continue;
    // A firewall-mark service's template has protocol 0, whatever its connections' are.
    const uint8_t proto = c.flags & kStateConnFwmark ? 0 : c.proto;
    const auto m = mask_of.find(SvcKey{proto, c.svc_vip, c.svc_vport, 0});
    if (m == mask_of.end()) continue;
    const auto t = by_key.find(SvcKey{proto, c.svc_vip, c.svc_vport, c.cip & m->second});
    if (t != by_key.end()) controls[t->second] = true;
  }
  kept = 0;
  for (size_t i = 0; i < f.tmpls.size(); ++i) {
    StateTmpl t = f.tmpls[i];
    t.remaining = left(t.remaining);
    if (t.remaining == 0) {
      // ip_vs_conn_expire: a template that still controls connections lives another timeout.
      if (!controls[i] || t.timeout == 0) {
        ++counts->expired_tmpls;
        continue;
      }
      t.remaining = t.timeout;
    }
    f.tmpls[kept++] = t;
  }
  f.tmpls.resize(kept);
}

std::string describe_state_load(const StateCounts& c, int64_t elapsed_ms, double load_ms) {
  std::string s = fmt::format(
      "kept {} and {} (saved {:.1f} s ago, loaded in {:.0f} ms)",
      plural(c.conns, "connection", "connections"), plural(c.tmpls, "template", "templates"),
      static_cast<double>(elapsed_ms > 0 ? elapsed_ms : 0) / 1000.0, load_ms);
  std::string dropped;
  const auto add = [&dropped](uint64_t n, const std::string& what) {
    if (!n) return;
    dropped += dropped.empty() ? "; dropped " : ", ";
    dropped += fmt::format("{} {}", n, what);
  };
  add(c.expired_conns, c.expired_conns == 1 ? "expired connection" : "expired connections");
  add(c.expired_tmpls, c.expired_tmpls == 1 ? "expired template" : "expired templates");
  // What expire_nodest_conn would do at their next packet (ip_vs_in): their service or
  // destination is not in the configuration any more.
  add(c.no_service, "whose service is no longer configured");
  add(c.no_dest, "whose real server is no longer configured");
  add(c.full, "that found the table full");
  add(c.collisions, "whose keys another connection held");
  return s + (dropped.empty() ? "; dropped none" : dropped);
}

}  // namespace fastvs
