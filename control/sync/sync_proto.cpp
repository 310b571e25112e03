#include "control/sync/sync_proto.h"

#include <cstring>

namespace fastvs::sync {

namespace {

// Sizes of the kernel's structs (ip_vs_sync.c), packed as the compiler lays them out there.
constexpr size_t kHeaderV0 = 4;   // struct ip_vs_sync_mesg_v0
constexpr size_t kHeaderV1 = 8;   // struct ip_vs_sync_mesg
constexpr size_t kEntryV0 = 24;   // struct ip_vs_sync_conn_v0
constexpr size_t kSeqSize = 24;   // struct ip_vs_sync_conn_options: two struct ip_vs_seq
constexpr size_t kEntryV4 = 36;   // struct ip_vs_sync_v4
constexpr size_t kEntryV6 = 72;   // struct ip_vs_sync_v6
constexpr uint8_t kTypeInet6 = 1;  // STYPE_F_INET6
constexpr uint16_t kSverShift = 12, kSverMask = 0x0fff;
constexpr uint8_t kOptSeqData = 1, kOptPeData = 2, kOptPeName = 3;
constexpr uint8_t kOptFParam = 1 << (7 - 1);  // IPVS_OPT_F_PARAM: skippable when unknown
constexpr size_t kPeDataMax = 255;           // IP_VS_PEDATA_MAXLEN
constexpr size_t kPeNameMax = 16;            // IP_VS_PENAME_MAXLEN
constexpr uint8_t kProtoTcp = 6, kProtoUdp = 17;
constexpr size_t kMaxEntries = 255;  // nr_conns is one byte

uint16_t be16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
uint32_t be32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}
void put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
void put32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}
// Version 0 copies struct ip_vs_sync_conn_options as it lies in the sender's memory (host order,
// little-endian on x86); version 1 sends it in network order (ntoh_seq/hton_seq).
Seq seq_be(const uint8_t* p) {
  return Seq{be32(p), be32(p + 4), be32(p + 8)};
}
Seq seq_le(const uint8_t* p) {
  Seq s;
  std::memcpy(&s.init_seq, p, 4);
  std::memcpy(&s.delta, p + 4, 4);
  std::memcpy(&s.previous_delta, p + 8, 4);
  return s;
}
void put_seq(uint8_t* p, const Seq& s) {
  put32(p, s.init_seq);
  put32(p + 4, s.delta);
  put32(p + 8, s.previous_delta);
}

// The checks of ip_vs_proc_sync_conn() after the options, and of ip_vs_process_message_v0():
// protocol and state of a connection (a template's state is not checked).
bool known_state(const Entry& e, Drop* why) {
  if (e.flags & kTemplate) return true;
  uint16_t states = 0;
  if (e.protocol == kProtoTcp) states = kTcpStates;
  if (e.protocol == kProtoUdp) states = kUdpStates;
  if (!states) {
    *why = Drop::protocol;
    return false;
  }
  if (e.state >= states) {
    *why = Drop::state;
    return false;
  }
  return true;
}

void decode_v0(std::span<const uint8_t> m, Decoded& d) {
  const uint8_t* const end = m.data() + m.size();
  const uint8_t* p = m.data() + kHeaderV0;
  const unsigned n = m[0];
  for (unsigned i = 0; i < n; ++i) {
    if (p + kEntryV0 > end) {
      ++d.drops[static_cast<size_t>(Drop::truncated)];
      return;
    }
    const uint8_t* s = p;
    Entry e;
    e.protocol = s[1];
    e.cport = be16(s + 2);
    e.vport = be16(s + 4);
    e.dport = be16(s + 6);
    std::memcpy(e.caddr.data(), s + 8, 4);
    std::memcpy(e.vaddr.data(), s + 12, 4);
    std::memcpy(e.daddr.data(), s + 16, 4);
    e.flags = (uint32_t{be16(s + 20)} | kSync) & ~kHashed;
    e.state = be16(s + 22);
    if (e.flags & kSeqMask) {
      p += kEntryV0 + kSeqSize;
      if (p > end) {
        ++d.drops[static_cast<size_t>(Drop::truncated)];
        return;
      }
      e.has_seq = true;
      e.in_seq = seq_le(s + kEntryV0);
      e.out_seq = seq_le(s + kEntryV0 + 12);
    } else {
      p += kEntryV0;
    }
    Drop why;
    if (!known_state(e, &why)) {
      ++d.drops[static_cast<size_t>(why)];
      continue;
    }
    d.entries.push_back(std::move(e));
  }
}

// One version 1 entry in [p, end): <0 drops the rest of the message, >0 skips this entry.
int decode_entry_v1(const uint8_t* p, const uint8_t* end, Decoded& d) {
  const uint8_t* s = p;
  Entry e;
  if (s[0] & kTypeInet6) {
    e.v6 = true;
    p += kEntryV6;
  } else if (s[0] == 0) {
    p += kEntryV4;
  } else {
    ++d.drops[static_cast<size_t>(Drop::entry_type)];
    return -1;
  }
  if (p > end) {
    ++d.drops[static_cast<size_t>(Drop::truncated)];
    return -1;
  }
  bool seq = false, pe_data = false, pe_name = false, skip_mandatory = false;
  while (p < end) {
    if (p + 2 > end) {
      ++d.drops[static_cast<size_t>(Drop::bad_option)];
      return -1;
    }
    const uint8_t type = *p++;
    const uint8_t len = *p++;
    if (!len || p + len > end) {
      ++d.drops[static_cast<size_t>(Drop::bad_option)];
      return -1;
    }
    switch (type & ~kOptFParam) {
      case kOptSeqData:
        if (len != kSeqSize || seq) {
          ++d.drops[static_cast<size_t>(Drop::bad_option)];
          return -1;
        }
        seq = true;
        e.in_seq = seq_be(p);
        e.out_seq = seq_be(p + 12);
        break;
      case kOptPeData:
        if (len > kPeDataMax || pe_data) {
          ++d.drops[static_cast<size_t>(Drop::bad_option)];
          return -1;
        }
        pe_data = true;
        e.pe_data.assign(reinterpret_cast<const char*>(p), len);
        break;
      case kOptPeName:
        if (len > kPeNameMax || pe_name) {
          ++d.drops[static_cast<size_t>(Drop::bad_option)];
          return -1;
        }
        pe_name = true;
        e.pe_name.assign(reinterpret_cast<const char*>(p), len);
        break;
      default:
        // The kernel leaves the entry at the first unknown mandatory option.
        if (!(type & kOptFParam)) skip_mandatory = true;
        break;
    }
    if (skip_mandatory) {
      ++d.drops[static_cast<size_t>(Drop::mandatory_option)];
      return 1;
    }
    p += len;
  }
  e.has_seq = seq;
  e.protocol = s[1];
  e.flags = (be32(s + 4) & kBackupMask) | kSync;
  e.state = be16(s + 8);
  e.cport = be16(s + 10);
  e.vport = be16(s + 12);
  e.dport = be16(s + 14);
  e.fwmark = be32(s + 16);
  e.timeout = be32(s + 20);
  const size_t alen = e.v6 ? 16 : 4;
  std::memcpy(e.caddr.data(), s + 24, alen);
  std::memcpy(e.vaddr.data(), s + 24 + alen, alen);
  std::memcpy(e.daddr.data(), s + 24 + 2 * alen, alen);
  Drop why;
  if (!known_state(e, &why)) {
    ++d.drops[static_cast<size_t>(why)];
    return 1;
  }
  // ip_vs_conn_fill_param_sync(): data without its engine's name, or an engine not loaded.
  if (!e.pe_data.empty()) {
    ++d.drops[static_cast<size_t>(Drop::pe_data)];
    return 1;
  }
  if (e.v6) {
    ++d.drops[static_cast<size_t>(Drop::ipv6)];
    return 1;
  }
  d.entries.push_back(std::move(e));
  return 0;
}

}  // namespace

void Entry::set4(uint32_t c, uint32_t v, uint32_t d) {
  caddr = vaddr = daddr = {};
  put32(caddr.data(), c);
  put32(vaddr.data(), v);
  put32(daddr.data(), d);
}

const char* drop_name(Drop d) {
  switch (d) {
#define X(name, text) \
  case Drop::name:    \
    return #name;
    FASTVS_SYNC_DROPS(X)
#undef X
  }
  return "?";
}

const char* drop_text(Drop d) {
  switch (d) {
#define X(name, text) \
  case Drop::name:    \
    return text;
    FASTVS_SYNC_DROPS(X)
#undef X
  }
  return "?";
}

uint32_t Decoded::dropped() const {
  uint32_t n = 0;
  for (uint32_t c : drops) n += c;
  return n;
}

Decoded decode(std::span<const uint8_t> m, uint8_t syncid) {
  Decoded d;
  // ip_vs_process_message()
  if (m.size() < kHeaderV0) {
    ++d.drops[static_cast<size_t>(Drop::short_header)];
    return d;
  }
  if (m.size() != be16(m.data() + 2)) {
    ++d.drops[static_cast<size_t>(Drop::size_mismatch)];
    return d;
  }
  d.syncid = m[1];
  if (syncid != 0 && m[1] != syncid) {
    ++d.drops[static_cast<size_t>(Drop::other_syncid)];
    return d;
  }
  // Version 1 only with reserved 0 and spare 0 (and a header whole); anything else is version
  // 0, whose first byte is the count.
  if (m.size() >= kHeaderV1 && m[0] == 0 && m[5] == kVersion && m[6] == 0 && m[7] == 0) {
    d.version = 1;
    const uint8_t* const end = m.data() + m.size();
    const uint8_t* next = m.data() + kHeaderV1;
    for (unsigned i = 0; i < m[4]; ++i) {
      const uint8_t* p = next;
      if (p + kEntryV4 > end) {
        ++d.drops[static_cast<size_t>(Drop::truncated)];
        return d;
      }
      const uint16_t ver_size = be16(p + 2);
      const size_t size = ver_size & kSverMask;
      if (p + size > end) {
        ++d.drops[static_cast<size_t>(Drop::truncated)];
        return d;
      }
      if (ver_size >> kSverShift) {
        ++d.drops[static_cast<size_t>(Drop::entry_version)];
        return d;
      }
      if (decode_entry_v1(p, p + size, d) < 0) return d;
      next = p + ((size + 3) & ~size_t{3});
    }
    return d;
  }
  d.version = 0;
  decode_v0(m, d);
  return d;
}

size_t Writer::entry_size(const Entry& e) {
  size_t len = e.v6 ? kEntryV6 : kEntryV4;
  if (e.flags & kSeqMask) len += kSeqSize + 2;
  if (!e.pe_data.empty()) {
    len += e.pe_data.size() + 2;
    if (!e.pe_name.empty()) len += e.pe_name.size() + 2;
  }
  return len;
}

void Writer::clear() {
  buf_.assign(kHeaderV1, 0);
  buf_[1] = syncid_;
  buf_[5] = kVersion;
  put16(buf_.data() + 2, static_cast<uint16_t>(kHeaderV1));
  count_ = 0;
}

bool Writer::add(const Entry& e) {
  const size_t len = entry_size(e);
  const size_t pad = (4 - buf_.size()) & 3;
  if (count_ > 0 && (buf_.size() + pad + len > maxlen_ || count_ == kMaxEntries)) return false;
  buf_.resize(buf_.size() + pad, 0);
  const size_t at = buf_.size();
  buf_.resize(at + len, 0);
  uint8_t* s = buf_.data() + at;
  s[0] = e.v6 ? kTypeInet6 : 0;
  s[1] = e.protocol;
  put16(s + 2, static_cast<uint16_t>(len & kSverMask));  // version 0 of the entry format
  put32(s + 4, e.flags & ~kHashed);
  put16(s + 8, e.state);
  put16(s + 10, e.cport);
  put16(s + 12, e.vport);
  put16(s + 14, e.dport);
  put32(s + 16, e.fwmark);
  put32(s + 20, e.timeout);
  const size_t alen = e.v6 ? 16 : 4;
  std::memcpy(s + 24, e.caddr.data(), alen);
  std::memcpy(s + 24 + alen, e.vaddr.data(), alen);
  std::memcpy(s + 24 + 2 * alen, e.daddr.data(), alen);
  uint8_t* p = s + (e.v6 ? kEntryV6 : kEntryV4);
  if (e.flags & kSeqMask) {
    *p++ = kOptSeqData;
    *p++ = kSeqSize;
    put_seq(p, e.in_seq);
    put_seq(p + 12, e.out_seq);
    p += kSeqSize;
  }
  if (!e.pe_data.empty()) {
    *p++ = kOptPeData;
    *p++ = static_cast<uint8_t>(e.pe_data.size());
    std::memcpy(p, e.pe_data.data(), e.pe_data.size());
    p += e.pe_data.size();
    if (!e.pe_name.empty()) {
      *p++ = kOptPeName;
      *p++ = static_cast<uint8_t>(e.pe_name.size());
      std::memcpy(p, e.pe_name.data(), e.pe_name.size());
    }
  }
  ++count_;
  buf_[4] = static_cast<uint8_t>(count_);
  put16(buf_.data() + 2, static_cast<uint16_t>(buf_.size()));
  return true;
}

}  // namespace fastvs::sync
