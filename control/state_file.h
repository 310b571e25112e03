// The state file (--state-file): the connections and persistence templates fastvsd saves at a
// clean stop (SIGTERM) and loads at the next start, so that a restart keeps established flows.
// Pure code, no EAL: the format, its checks and the ageing of entries by the time fastvsd was
// down. Walking the workers' tables and filling them again is control/state_restore.h's.
//
// Layout, every integer little-endian, addresses and ports in network order as on the wire:
//
//   header, 64 bytes
//     0  magic "FVSSTATE"
//     8  u32 version (kStateVersion)
//    12  u32 header size (64)
//    16  u32 connection record size (40)
//    20  u32 template record size (32)
//    24  u64 connections
//    32  u64 templates
//    40  i64 wall-clock time of saving, ms since the Unix epoch
//    48  u32 ticks a second (16)
//    52  u32 zero
//    56  u32 CRC32-C of bytes 0..55 of the header and of every record after it
//    60  u32 zero
//   connection records, then template records
//
// Why CRC32-C: SSE4.2 computes it 8 bytes an instruction (the build requires SSE4.2 already, for
// the connection table's hash), and a CRC is guaranteed to catch every error burst of up to 32
// bits, so any one byte flipped anywhere is refused, which a 64-bit hash would only make likely.
// It guards against a damaged or half-written file, not against someone forging one: the file is
// root's, mode 0600, in a directory of mode 0700.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace fastvs {

constexpr char kStateMagic[8] = {'F', 'V', 'S', 'S', 'T', 'A', 'T', 'E'};
constexpr uint32_t kStateVersion = 1;
constexpr size_t kStateHeaderSize = 64;
constexpr size_t kStateConnSize = 40;
constexpr size_t kStateTmplSize = 32;
constexpr uint32_t kStateTicksPerSecond = 16;

// One connection (dataplane/conn_table.h's Conn) as saved: what finds it again (its keys), what
// it is bound to (the service and destination, by address: ids and pointers do not survive a
// restart) and where it is in its life.
struct StateConn {
  uint8_t proto = 0;     // 6 or 17
  uint8_t method = 0;    // ForwardMethod: 0 Masq, 1 Route, 2 Tunnel
  uint8_t state = 0;     // TcpState (UDP: 0)
  uint8_t flags = 0;     // kStateConn* below
  uint32_t svc_vip = 0;  // the service <proto, VIP, vport> (vport 0: a port 0 service)
  uint16_t svc_vport = 0;
  uint16_t dest_rport = 0;  // the destination's configured port (0 in a port 0 service)
  uint32_t cip = 0, vip = 0, rip = 0;
  uint16_t cport = 0, vport = 0, rport = 0;
  uint32_t timeout = 0;    // ticks: the current state's timeout
  uint32_t remaining = 0;  // ticks left when saved
  friend bool operator==(const StateConn&, const StateConn&) = default;
};

// Connection flags (IP_VS_CONN_F_* that matter here, and whether a template controls it).
enum StateConnFlags : uint8_t {
  kStateConnInactive = 1u << 0,  // counted in InActConn
  kStateConnNoOutput = 1u << 1,  // no reply seen yet (DR/TUN: never)
  kStateConnTemplate = 1u << 2,  // controlled by its client's persistence template
  // Of a firewall-mark service: svc_vip holds the mark (network order), svc_vport is 0.
  kStateConnFwmark = 1u << 3,
  kStateConnFlagsAll = 0x0f,
};

// One persistence template (dataplane/persist.h): <service, CIP & mask> -> destination.
// Protocol 0 (IPPROTO_IP, as IPVS makes a firewall-mark service's template): svc_vip holds the
// service's mark (network order), svc_vport is 0.
struct StateTmpl {
  uint8_t proto = 0;
  uint16_t svc_vport = 0;
  uint32_t svc_vip = 0;
  uint32_t cip = 0;   // the client address, masked
  uint32_t mask = 0;  // the service's persistence netmask when saved
  uint32_t rip = 0;
  uint16_t dest_rport = 0;
  uint32_t timeout = 0;    // ticks
  uint32_t remaining = 0;  // ticks left when saved
  friend bool operator==(const StateTmpl&, const StateTmpl&) = default;
};

struct StateFile {
  int64_t saved_at_ms = 0;  // wall clock, ms since the Unix epoch
  std::vector<StateConn> conns;
  std::vector<StateTmpl> tmpls;
};

// CRC32-C (Castagnoli), as iSCSI's and ext4's: crc32c(0, "123456789") == 0xe3069283.
uint32_t crc32c(uint32_t crc, const void* data, size_t len);

// Writes a state file's bytes as the records come, without holding them twice: begin, add each
// record, then finish() fills the header's counts and checksum and gives the bytes.
class StateWriter {
 public:
  explicit StateWriter(int64_t saved_at_ms, size_t conns_hint = 0, size_t tmpls_hint = 0);
  // Connections first, then templates (the order of the file).
  void add(const StateConn& c);
  void add(const StateTmpl& t);
  std::string finish();

 private:
  std::string buf_;
  uint64_t nconns_ = 0, ntmpls_ = 0;
};

std::string encode_state(const StateFile& f);

// Reads a state file: the header checked (magic, version, sizes, counts that the file's length
// holds, before anything is allocated for them), then the checksum, then every field of every
// record (a known protocol, method, state and flags, reserved bytes zero, a timeout that a
// remaining time does not exceed). An error is one line saying why.
Result<StateFile> decode_state(std::string_view bytes);

// What ageing and loading kept and dropped, and why.
struct StateCounts {
  uint64_t conns = 0, tmpls = 0;  // kept
  uint64_t expired_conns = 0, expired_tmpls = 0;
  uint64_t no_service = 0;  // connections and templates whose service is gone
  uint64_t no_dest = 0;     // ... whose destination is gone
  uint64_t full = 0;        // ... that found the table full
  uint64_t collisions = 0;  // connections whose keys another one loaded first holds
};

// Takes `elapsed_ms` (the wall-clock time since the file was saved; negative, the clock went
// back: taken as 0) off every entry's remaining time; those with none left are dropped, as
// ip_vs_conn_expire would have dropped them while fastvsd was down. A template whose time ran
// out but which still controls a connection that is kept is re-armed for its full timeout
// instead, as ip_vs_conn_expire does ("do I control anybody?").
void age_state(StateFile& f, int64_t elapsed_ms, StateCounts* counts);

// "kept 10 connections and 2 templates (saved 3.2 s ago, loaded in 4 ms); dropped 1 expired
// connection, ...".
std::string describe_state_load(const StateCounts& c, int64_t elapsed_ms, double load_ms = 0);

}  // namespace fastvs
