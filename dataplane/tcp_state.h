// IPVS's TCP state machine (ip_vs_proto_tcp.c: tcp_states, tcp_state_idx, set_tcp_state) and
// its default timeouts. Pure logic, no EAL.
#pragma once

#include <cstdint>

namespace fastvs {

// IP_VS_TCP_S_*, same order and numbering as the kernel.
enum class TcpState : uint8_t {
  None = 0,
  Established,
  SynSent,
  SynRecv,
  FinWait,
  TimeWait,
  Close,
  CloseWait,
  LastAck,
  Listen,
  Synack,
  Last
};
constexpr unsigned kTcpStateCount = static_cast<unsigned>(TcpState::Last);

// Which rows of tcp_states apply: the director sees the client's packets (Input), the real
// server's replies (Output, NAT only), or only the client's (InputOnly: DR and TUN).
// The kernel derives InputOnly from the connection's IP_VS_CONN_F_NOOUTPUT flag (set for every
// method but NAT, and cleared by the first Output packet): see tcp_effective_dir().
enum class TcpDir : uint8_t { Input = 0, Output = 1, InputOnly = 2 };

// TCP header flag bits as on the wire (byte 13 of the TCP header).
enum TcpFlags : uint8_t {
  kTcpFin = 0x01,
  kTcpSyn = 0x02,
  kTcpRst = 0x04,
  kTcpPsh = 0x08,
  kTcpAck = 0x10,
};

// Next state for a packet with these flags, or `cur` when the flags carry no event
// (tcp_state_idx() < 0). Events by priority: RST, then SYN, then FIN, then ACK.
TcpState tcp_next_state(TcpState cur, TcpDir dir, uint8_t tcp_flags);

// set_tcp_state()'s choice of rows for a packet seen in direction `seen` (Input or Output) on a
// connection whose IP_VS_CONN_F_NOOUTPUT flag is `*no_output`: an Output packet clears the flag
// and uses the Output rows; an Input packet while the flag is set uses the InputOnly rows.
inline TcpDir tcp_effective_dir(TcpDir seen, bool* no_output) {
  if (!*no_output) return seen;
  if (seen == TcpDir::Output) {
    *no_output = false;
    return TcpDir::Output;
  }
  return TcpDir::InputOnly;
}

// "ESTABLISHED" ... as ipvsadm -c prints them (tcp_state_name_table).
const char* tcp_state_name(TcpState s);

// Per-state timeouts in seconds; defaults are the kernel's tcp_timeouts[].
struct TcpTimeouts {
  uint32_t secs[kTcpStateCount];
  TcpTimeouts();
  uint32_t operator[](TcpState s) const { return secs[static_cast<unsigned>(s)]; }
};

// States counted in activeconns (ActiveConn); every other state counts in inactconns. This is
// tcp_state_active_table[] of ip_vs_proto_tcp.c since Linux 4.8 (commit be2cef49904b "ipvs: count
// pre-established TCP states as active"): ESTABLISHED, SYN_SENT, SYN_RECV and SYNACK. Before 4.8
// only ESTABLISHED was active. set_tcp_state() moves a connection between the two counters when
// a transition crosses this boundary (IP_VS_CONN_F_INACTIVE tracks which one it is counted in).
inline bool tcp_state_active(TcpState s) {
  return s == TcpState::Established || s == TcpState::SynSent || s == TcpState::SynRecv ||
         s == TcpState::Synack;
}

// The sysctl net.ipv4.vs.conn_reuse_mode; the kernel default is 1.
constexpr int kDefaultConnReuseMode = 1;

// A client packet with the SYN bit (is_new_conn(): th->syn, any other bits) that finds the
// connection in one of these states expires it and schedules anew (is_new_conn_expected() in
// ip_vs_core.c, TCP case; conn_reuse_mode 0 disables it). `no_output` is the connection's
// IP_VS_CONN_F_NOOUTPUT: set for every method but NAT until a reply is seen, so in practice
// DR/TUN. Not covered here, the caller's part: is_new_conn_expected() is false for a controlled
// connection (cp->control set: every connection of a persistent service, or FTP data), and
// ip_vs_in() does not expire a connection that controls others (n_control != 0).
bool tcp_conn_reusable(TcpState s, bool no_output, int conn_reuse_mode);
inline bool tcp_conn_reusable(TcpState s, bool no_output) {
  return tcp_conn_reusable(s, no_output, kDefaultConnReuseMode);
}

}  // namespace fastvs
