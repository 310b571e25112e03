// IPVS's connection synchronisation protocol on the wire (net/netfilter/ipvs/ip_vs_sync.c), so
// that a fastvs director can be the backup of a kernel IPVS director and the other way round.
//
// A message is one UDP datagram (to 224.0.0.81:8848 by default). Version 1 (sent by every
// kernel since 2.6.39): an 8-byte header (reserved 0, syncid, size, count, version 1, spare 0)
// and `count` connection entries, each 32-bit aligned: type (bit 0: IPv6), protocol, version and
// size (4 + 12 bits), flags, state, ports, fwmark, timeout in seconds, the three addresses, then
// optional parameters (type, length, data): the TCP sequence adjustment (IPVS_OPT_SEQ_DATA) and
// a persistence engine's data and name. Version 0 (before 2.6.39): a 4-byte header (count,
// syncid, size) and 24-byte IPv4 entries, 48 with the sequence adjustment; no timeout.
//
// Pure: bytes in, entries out (and back). Decoding follows ip_vs_process_message() and
// ip_vs_proc_sync_conn() check for check: what makes the kernel drop the rest of a message drops
// it here too, what makes it skip one entry skips it, each with its reason counted; entries
// decoded before an error stand, as the kernel has applied them by then.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace fastvs::sync {

constexpr uint32_t kGroup = 0xe0000051;  // 224.0.0.81 (IP_VS_SYNC_GROUP)
constexpr uint16_t kPort = 8848;         // IP_VS_SYNC_PORT
constexpr uint8_t kVersion = 1;          // SYNC_PROTO_VER

// include/uapi/linux/ip_vs.h: the connection flags a sync entry carries.
constexpr uint32_t kFwdMask = 0x0007;  // IP_VS_CONN_F_FWD_MASK
constexpr uint32_t kFwdMasq = 0x0000;
constexpr uint32_t kFwdTunnel = 0x0002;
constexpr uint32_t kFwdDroute = 0x0003;
constexpr uint32_t kSync = 0x0020;      // IP_VS_CONN_F_SYNC: made by the sync daemon
constexpr uint32_t kHashed = 0x0040;    // never sent
constexpr uint32_t kNoOutput = 0x0080;  // IP_VS_CONN_F_NOOUTPUT
constexpr uint32_t kInactive = 0x0100;  // IP_VS_CONN_F_INACTIVE: counted in InActConn
constexpr uint32_t kOutSeq = 0x0200;
constexpr uint32_t kInSeq = 0x0400;
constexpr uint32_t kSeqMask = 0x0600;
constexpr uint32_t kNoCport = 0x0800;   // IP_VS_CONN_F_NO_CPORT
constexpr uint32_t kTemplate = 0x1000;  // IP_VS_CONN_F_TEMPLATE: a persistence template
constexpr uint32_t kOnePacket = 0x2000;
// What a backup takes from an entry (IP_VS_CONN_F_BACKUP_MASK).
constexpr uint32_t kBackupMask = kFwdMask | kNoOutput | kInactive | kSeqMask | kNoCport | kTemplate;

// The kernel's TCP states (IP_VS_TCP_S_*), as sync entries carry them.
enum class KernelTcpState : uint16_t {
  None = 0,
  Established = 1,
  SynSent = 2,
  SynRecv = 3,
  FinWait = 4,
  TimeWait = 5,
  Close = 6,
  CloseWait = 7,
  LastAck = 8,
  Listen = 9,
  SynAck = 10,
};
constexpr uint16_t kTcpStates = 11;  // IP_VS_TCP_S_LAST
constexpr uint16_t kUdpStates = 1;   // IP_VS_UDP_S_LAST

// struct ip_vs_seq, in host order.
struct Seq {
  uint32_t init_seq = 0, delta = 0, previous_delta = 0;
  friend bool operator==(const Seq&, const Seq&) = default;
};

// One connection (or, with kTemplate, a persistence template) as a sync entry says it. Addresses
// are in network order as they lie on the wire (an IPv4 address in the first 4 bytes), ports in
// host order.
struct Entry {
  bool v6 = false;
  uint8_t protocol = 0;
  uint32_t flags = 0;
  uint16_t state = 0;
  uint16_t cport = 0, vport = 0, dport = 0;
  uint32_t fwmark = 0;
  uint32_t timeout = 0;  // seconds; 0 in version 0 (the backup uses its own timeouts)
  std::array<uint8_t, 16> caddr{}, vaddr{}, daddr{};
  bool has_seq = false;
  Seq in_seq, out_seq;
  std::string pe_data, pe_name;  // a persistence engine's (sip): at most 255 and 16 bytes
  friend bool operator==(const Entry&, const Entry&) = default;

  uint32_t caddr4() const { return ip4(caddr); }  // host order
  uint32_t vaddr4() const { return ip4(vaddr); }
  uint32_t daddr4() const { return ip4(daddr); }
  void set4(uint32_t c, uint32_t v, uint32_t d);  // host order

 private:
  static uint32_t ip4(const std::array<uint8_t, 16>& a) {
    return uint32_t{a[0]} << 24 | uint32_t{a[1]} << 16 | uint32_t{a[2]} << 8 | a[3];
  }
};

// Why a message (the rest of it) or an entry was not taken: each names the kernel's check.
#define FASTVS_SYNC_DROPS(X)                                                             \
  X(short_header, "message shorter than a header")                                      \
  X(size_mismatch, "header size is not the datagram's length")                          \
  X(other_syncid, "another syncid than the backup's")                                   \
  X(truncated, "an entry runs past the message (the rest dropped)")                     \
  X(entry_version, "an entry of an unknown version (the rest dropped)")                 \
  X(entry_type, "an entry of an unknown type (the rest dropped)")                       \
  X(bad_option, "an option is cut, empty, repeated or of a wrong size (the rest dropped)") \
  X(mandatory_option, "an entry with an unknown mandatory option (skipped)")            \
  X(protocol, "an entry of a protocol IPVS does not sync (skipped)")                    \
  X(state, "an entry with a state its protocol does not have (skipped)")                \
  X(pe_data, "an entry with persistence-engine data (skipped: no engine here)")         \
  X(ipv6, "an IPv6 entry (skipped: fastvs is IPv4 only)")

enum class Drop : uint8_t {
#define X(name, text) name,
  FASTVS_SYNC_DROPS(X)
#undef X
};
constexpr size_t kDropCount = 0
#define X(name, text) +1
    FASTVS_SYNC_DROPS(X)
#undef X
    ;
const char* drop_name(Drop d);
const char* drop_text(Drop d);

struct Decoded {
  uint8_t version = 0;  // 0 or 1; meaningless when the header was refused
  uint8_t syncid = 0;
  std::vector<Entry> entries;                 // taken, in message order
  std::array<uint32_t, kDropCount> drops{};  // by reason (a whole-message drop counts once)
  uint32_t dropped() const;
};

// Decodes one datagram. syncid: the backup's (0 takes any, as IPVS's backup does).
Decoded decode(std::span<const uint8_t> msg, uint8_t syncid);

// Builds version 1 messages as ip_vs_sync_conn() does: entries 32-bit aligned (padding before
// an entry, none after the last), the sequence option only when the flags say so. A message
// holds what fits in maxlen (the header included), and always one entry, however large.
class Writer {
 public:
  Writer(uint8_t syncid, size_t maxlen) : syncid_(syncid), maxlen_(maxlen) { clear(); }
  // The entry's size on the wire (without padding).
  static size_t entry_size(const Entry& e);
  // Adds e when it fits (or the message is empty); false when the message must go first.
  bool add(const Entry& e);
  size_t count() const { return count_; }
  const std::vector<uint8_t>& bytes() const { return buf_; }
  void clear();

 private:
  uint8_t syncid_;
  size_t maxlen_;
  size_t count_ = 0;
  std::vector<uint8_t> buf_;
};

}  // namespace fastvs::sync
