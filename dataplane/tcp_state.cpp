// IPVS TCP state machine. Values follow net/netfilter/ipvs/ip_vs_proto_tcp.c of current Linux
// (tcp_states[], tcp_timeouts[], tcp_state_name_table[], tcp_state_idx()) and
// is_new_conn_expected() of ip_vs_core.c. The table is the normal one, not tcp_states_dos[]
// (the secure_tcp variant, sysctl net.ipv4.vs.secure_tcp).
#include "dataplane/tcp_state.h"

namespace fastvs {

namespace {

constexpr unsigned kEventCount = 4;  // syn, fin, ack, rst: tcp_state_idx() values 0..3
constexpr unsigned kDirCount = 3;    // Input, Output, InputOnly: TCP_DIR_* / 4

// Short names for the table, as the kernel's sNO, sES, ... macros.
[[maybe_unused]] constexpr TcpState sNO = TcpState::None;  // the table never goes back to NONE
constexpr TcpState sES = TcpState::Established;
constexpr TcpState sSS = TcpState::SynSent;
constexpr TcpState sSR = TcpState::SynRecv;
constexpr TcpState sFW = TcpState::FinWait;
constexpr TcpState sTW = TcpState::TimeWait;
constexpr TcpState sCL = TcpState::Close;
constexpr TcpState sCW = TcpState::CloseWait;
constexpr TcpState sLA = TcpState::LastAck;
constexpr TcpState sLI = TcpState::Listen;
[[maybe_unused]] constexpr TcpState sSA = TcpState::Synack;  // nor to SYNACK (not in this table)

// kNext[dir][event][current state] = next state. Transcribed from tcp_states[] in
// net/netfilter/ipvs/ip_vs_proto_tcp.c as in current mainline (checked against 6.x sources).
// Rows: INPUT, OUTPUT, INPUT-ONLY; in each, syn fin ack rst. Columns: sNO sES sSS sSR sFW sTW
// sCL sCW sLA sLI sSA. (Old 2.6-era kernels had a different table, e.g. INPUT ack from sNO went
// to sCL, and SYNACK was reachable without secure_tcp; do not mix them up.)
constexpr TcpState kNext[kDirCount][kEventCount][kTcpStateCount] = {
    // INPUT
    {
        /* syn */ {sSR, sES, sES, sSR, sSR, sSR, sSR, sSR, sSR, sSR, sSR},
        /* fin */ {sCL, sCW, sSS, sTW, sTW, sTW, sCL, sCW, sLA, sLI, sTW},
        /* ack */ {sES, sES, sSS, sES, sFW, sTW, sCL, sCW, sCL, sLI, sES},
        /* rst */ {sCL, sCL, sCL, sSR, sCL, sCL, sCL, sCL, sLA, sLI, sSR},
    },
    // OUTPUT
    {
        /* syn */ {sSS, sES, sSS, sSR, sSS, sSS, sSS, sSS, sSS, sLI, sSR},
        /* fin */ {sTW, sFW, sSS, sTW, sFW, sTW, sCL, sTW, sLA, sLI, sTW},
        /* ack */ {sES, sES, sSS, sES, sFW, sTW, sCL, sCW, sLA, sES, sES},
        /* rst */ {sCL, sCL, sSS, sCL, sCL, sTW, sCL, sCL, sCL, sCL, sCL},
    },
    // INPUT-ONLY
    {
        /* syn */ {sSR, sES, sES, sSR, sSR, sSR, sSR, sSR, sSR, sSR, sSR},
        /* fin */ {sCL, sFW, sSS, sTW, sFW, sTW, sCL, sCW, sLA, sLI, sTW},
        /* ack */ {sES, sES, sSS, sES, sFW, sTW, sCL, sCW, sCL, sLI, sES},
        /* rst */ {sCL, sCL, sCL, sSR, sCL, sCL, sCL, sCL, sLA, sLI, sCL},
    },
};

// tcp_state_idx(): which row a packet selects; RST wins over SYN, SYN over FIN, FIN over ACK.
// -1: no event (e.g. a bare PSH or URG segment), the state is kept.
int event_index(uint8_t flags) {
  if (flags & kTcpRst) return 3;
  if (flags & kTcpSyn) return 0;
  if (flags & kTcpFin) return 1;
  if (flags & kTcpAck) return 2;
  return -1;
}

// tcp_state_name_table[], the names ipvsadm -lc prints.
constexpr const char* kNames[kTcpStateCount] = {
    "NONE",  "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT", "TIME_WAIT",
    "CLOSE", "CLOSE_WAIT",  "LAST_ACK", "LISTEN",   "SYNACK",
};

// tcp_timeouts[] in seconds (the kernel writes them as N*HZ).
constexpr uint32_t kDefaultTimeouts[kTcpStateCount] = {
    2,        // NONE
    15 * 60,  // ESTABLISHED
    2 * 60,   // SYN_SENT
    1 * 60,   // SYN_RECV
    2 * 60,   // FIN_WAIT
    2 * 60,   // TIME_WAIT
    10,       // CLOSE
    60,       // CLOSE_WAIT
    30,       // LAST_ACK
    2 * 60,   // LISTEN
    120,      // SYNACK
};

}  // namespace

TcpState tcp_next_state(TcpState cur, TcpDir dir, uint8_t tcp_flags) {
  const unsigned s = static_cast<unsigned>(cur);
  const unsigned d = static_cast<unsigned>(dir);
  if (s >= kTcpStateCount || d >= kDirCount) return cur;
  const int ev = event_index(tcp_flags);
  if (ev < 0) return cur;
  return kNext[d][ev][s];
}

const char* tcp_state_name(TcpState s) {
  const unsigned i = static_cast<unsigned>(s);
  // The kernel prints "ERR!" for a state number past the table.
  return i < kTcpStateCount ? kNames[i] : "ERR!";
}

TcpTimeouts::TcpTimeouts() {
  for (unsigned i = 0; i < kTcpStateCount; ++i) secs[i] = kDefaultTimeouts[i];
}

// is_new_conn_expected(), TCP case:
//   TIME_WAIT or CLOSE                       -> always reusable (when conn_reuse_mode != 0);
//   FIN_WAIT with IP_VS_CONN_F_NOOUTPUT set  -> reusable only when conn_reuse_mode has bit 1
//                                               (value 2) set.
// Why: in TIME_WAIT/CLOSE the old connection is over, so a fresh SYN from the same client
// port is a new connection and must be scheduled again (otherwise it would stick to the old
// real server for the rest of the 2-minute TIME_WAIT). FIN_WAIT without output only arises
// where the director sees one direction (DR/TUN): the client has sent its FIN but IPVS cannot
// tell whether the server has closed too, so reusing it is opt-in (mode bit 2). With the
// default mode 1 only TIME_WAIT and CLOSE qualify, and `no_output` makes no difference.
bool tcp_conn_reusable(TcpState s, bool no_output, int conn_reuse_mode) {
  if (conn_reuse_mode == 0) return false;
  if (s == TcpState::TimeWait || s == TcpState::Close) return true;
  return (conn_reuse_mode & 2) != 0 && s == TcpState::FinWait && no_output;
}

}  // namespace fastvs
