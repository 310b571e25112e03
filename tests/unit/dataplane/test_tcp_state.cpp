// The IPVS TCP state machine against the kernel's tables (ip_vs_proto_tcp.c, ip_vs_core.c).
#include "dataplane/tcp_state.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

namespace fastvs {
namespace {

constexpr uint8_t kSyn = kTcpSyn;
constexpr uint8_t kSynAck = kTcpSyn | kTcpAck;
constexpr uint8_t kAck = kTcpAck;
constexpr uint8_t kPshAck = kTcpPsh | kTcpAck;
constexpr uint8_t kFinAck = kTcpFin | kTcpAck;
constexpr uint8_t kRst = kTcpRst;
constexpr uint8_t kRstAck = kTcpRst | kTcpAck;

using S = TcpState;

TcpState FromAbbrev(const std::string& a) {
  static const char* const kAbbrev[kTcpStateCount] = {"sNO", "sES", "sSS", "sSR", "sFW", "sTW",
                                                      "sCL", "sCW", "sLA", "sLI", "sSA"};
  for (unsigned i = 0; i < kTcpStateCount; ++i) {
    if (a == kAbbrev[i]) return static_cast<TcpState>(i);
  }
  ADD_FAILURE() << "bad abbreviation " << a;
  return TcpState::Last;
}

// The whole of tcp_states[] typed again in the kernel's own notation: one line per row, the
// columns in the order sNO sES sSS sSR sFW sTW sCL sCW sLA sLI sSA.
struct Row {
  TcpDir dir;
  uint8_t flags;
  const char* next;
};
const Row kKernelTable[] = {
    // INPUT
    {TcpDir::Input, kSyn, "sSR sES sES sSR sSR sSR sSR sSR sSR sSR sSR"},
    {TcpDir::Input, kTcpFin, "sCL sCW sSS sTW sTW sTW sCL sCW sLA sLI sTW"},
    {TcpDir::Input, kAck, "sES sES sSS sES sFW sTW sCL sCW sCL sLI sES"},
    {TcpDir::Input, kRst, "sCL sCL sCL sSR sCL sCL sCL sCL sLA sLI sSR"},
    // OUTPUT
    {TcpDir::Output, kSyn, "sSS sES sSS sSR sSS sSS sSS sSS sSS sLI sSR"},
    {TcpDir::Output, kTcpFin, "sTW sFW sSS sTW sFW sTW sCL sTW sLA sLI sTW"},
    {TcpDir::Output, kAck, "sES sES sSS sES sFW sTW sCL sCW sLA sES sES"},
    {TcpDir::Output, kRst, "sCL sCL sSS sCL sCL sTW sCL sCL sCL sCL sCL"},
    // INPUT-ONLY
    {TcpDir::InputOnly, kSyn, "sSR sES sES sSR sSR sSR sSR sSR sSR sSR sSR"},
    {TcpDir::InputOnly, kTcpFin, "sCL sFW sSS sTW sFW sTW sCL sCW sLA sLI sTW"},
    {TcpDir::InputOnly, kAck, "sES sES sSS sES sFW sTW sCL sCW sCL sLI sES"},
    {TcpDir::InputOnly, kRst, "sCL sCL sCL sSR sCL sCL sCL sCL sLA sLI sCL"},
};

TEST(TcpStateTest, WholeTableMatchesKernel) {
  for (const Row& row : kKernelTable) {
    std::istringstream in(row.next);
    std::string a;
    for (unsigned from = 0; from < kTcpStateCount; ++from) {
      ASSERT_TRUE(in >> a);
      EXPECT_EQ(tcp_next_state(static_cast<S>(from), row.dir, row.flags), FromAbbrev(a))
          << "dir " << static_cast<int>(row.dir) << " flags " << static_cast<int>(row.flags)
          << " from " << tcp_state_name(static_cast<S>(from));
    }
    EXPECT_FALSE(in >> a);
  }
}

// Every row, spelled out, for a handful of states (with the flags real stacks send).
struct Case {
  S from;
  TcpDir dir;
  uint8_t flags;
  S to;
};

TEST(TcpStateTest, EveryRowForSelectedStates) {
  const Case cases[] = {
      // NONE
      {S::None, TcpDir::Input, kSyn, S::SynRecv},
      {S::None, TcpDir::Input, kFinAck, S::Close},
      {S::None, TcpDir::Input, kAck, S::Established},
      {S::None, TcpDir::Input, kRst, S::Close},
      {S::None, TcpDir::Output, kSynAck, S::SynSent},
      {S::None, TcpDir::Output, kFinAck, S::TimeWait},
      {S::None, TcpDir::Output, kAck, S::Established},
      {S::None, TcpDir::Output, kRstAck, S::Close},
      {S::None, TcpDir::InputOnly, kSyn, S::SynRecv},
      {S::None, TcpDir::InputOnly, kFinAck, S::Close},
      {S::None, TcpDir::InputOnly, kAck, S::Established},
      {S::None, TcpDir::InputOnly, kRst, S::Close},
      // ESTABLISHED
      {S::Established, TcpDir::Input, kSyn, S::Established},
      {S::Established, TcpDir::Input, kFinAck, S::CloseWait},
      {S::Established, TcpDir::Input, kPshAck, S::Established},
      {S::Established, TcpDir::Input, kRst, S::Close},
      {S::Established, TcpDir::Output, kSynAck, S::Established},
      {S::Established, TcpDir::Output, kFinAck, S::FinWait},
      {S::Established, TcpDir::Output, kPshAck, S::Established},
      {S::Established, TcpDir::Output, kRstAck, S::Close},
      {S::Established, TcpDir::InputOnly, kSyn, S::Established},
      {S::Established, TcpDir::InputOnly, kFinAck, S::FinWait},
      {S::Established, TcpDir::InputOnly, kAck, S::Established},
      {S::Established, TcpDir::InputOnly, kRst, S::Close},
      // SYN_RECV
      {S::SynRecv, TcpDir::Input, kSyn, S::SynRecv},
      {S::SynRecv, TcpDir::Input, kFinAck, S::TimeWait},
      {S::SynRecv, TcpDir::Input, kAck, S::Established},
      {S::SynRecv, TcpDir::Input, kRst, S::SynRecv},
      {S::SynRecv, TcpDir::Output, kSynAck, S::SynRecv},
      {S::SynRecv, TcpDir::Output, kFinAck, S::TimeWait},
      {S::SynRecv, TcpDir::Output, kAck, S::Established},
      {S::SynRecv, TcpDir::Output, kRstAck, S::Close},
      {S::SynRecv, TcpDir::InputOnly, kSyn, S::SynRecv},
      {S::SynRecv, TcpDir::InputOnly, kFinAck, S::TimeWait},
      {S::SynRecv, TcpDir::InputOnly, kAck, S::Established},
      {S::SynRecv, TcpDir::InputOnly, kRst, S::SynRecv},
      // FIN_WAIT
      {S::FinWait, TcpDir::Input, kSyn, S::SynRecv},
      {S::FinWait, TcpDir::Input, kFinAck, S::TimeWait},
      {S::FinWait, TcpDir::Input, kAck, S::FinWait},
      {S::FinWait, TcpDir::Input, kRst, S::Close},
      {S::FinWait, TcpDir::Output, kSyn, S::SynSent},
      {S::FinWait, TcpDir::Output, kFinAck, S::FinWait},
      {S::FinWait, TcpDir::Output, kAck, S::FinWait},
      {S::FinWait, TcpDir::Output, kRst, S::Close},
      {S::FinWait, TcpDir::InputOnly, kSyn, S::SynRecv},
      {S::FinWait, TcpDir::InputOnly, kFinAck, S::FinWait},
      {S::FinWait, TcpDir::InputOnly, kAck, S::FinWait},
      {S::FinWait, TcpDir::InputOnly, kRst, S::Close},
      // TIME_WAIT
      {S::TimeWait, TcpDir::Input, kSyn, S::SynRecv},
      {S::TimeWait, TcpDir::Input, kFinAck, S::TimeWait},
      {S::TimeWait, TcpDir::Input, kAck, S::TimeWait},
      {S::TimeWait, TcpDir::Input, kRst, S::Close},
      {S::TimeWait, TcpDir::Output, kSyn, S::SynSent},
      {S::TimeWait, TcpDir::Output, kFinAck, S::TimeWait},
      {S::TimeWait, TcpDir::Output, kAck, S::TimeWait},
      {S::TimeWait, TcpDir::Output, kRst, S::TimeWait},
      {S::TimeWait, TcpDir::InputOnly, kSyn, S::SynRecv},
      {S::TimeWait, TcpDir::InputOnly, kFinAck, S::TimeWait},
      {S::TimeWait, TcpDir::InputOnly, kAck, S::TimeWait},
      {S::TimeWait, TcpDir::InputOnly, kRst, S::Close},
      // CLOSE_WAIT
      {S::CloseWait, TcpDir::Input, kSyn, S::SynRecv},
      {S::CloseWait, TcpDir::Input, kFinAck, S::CloseWait},
      {S::CloseWait, TcpDir::Input, kAck, S::CloseWait},
      {S::CloseWait, TcpDir::Input, kRst, S::Close},
      {S::CloseWait, TcpDir::Output, kSyn, S::SynSent},
      {S::CloseWait, TcpDir::Output, kFinAck, S::TimeWait},
      {S::CloseWait, TcpDir::Output, kAck, S::CloseWait},
      {S::CloseWait, TcpDir::Output, kRst, S::Close},
      {S::CloseWait, TcpDir::InputOnly, kSyn, S::SynRecv},
      {S::CloseWait, TcpDir::InputOnly, kFinAck, S::CloseWait},
      {S::CloseWait, TcpDir::InputOnly, kAck, S::CloseWait},
      {S::CloseWait, TcpDir::InputOnly, kRst, S::Close},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(tcp_next_state(c.from, c.dir, c.flags), c.to)
        << tcp_state_name(c.from) << " dir " << static_cast<int>(c.dir) << " flags 0x" << std::hex
        << static_cast<int>(c.flags);
  }
}

// Feeds a packet sequence through tcp_effective_dir() + tcp_next_state() as set_tcp_state()
// does, and returns the states after each packet.
struct Pkt {
  TcpDir seen;  // Input (client -> director) or Output (real server -> director)
  uint8_t flags;
};
std::vector<S> Replay(bool no_output, const std::vector<Pkt>& pkts) {
  std::vector<S> out;
  S s = S::None;
  for (const Pkt& p : pkts) {
    s = tcp_next_state(s, tcp_effective_dir(p.seen, &no_output), p.flags);
    out.push_back(s);
  }
  return out;
}

constexpr TcpDir kIn = TcpDir::Input;
constexpr TcpDir kOut = TcpDir::Output;

TEST(TcpStateTest, SynFromNoneIsSynRecv) {
  EXPECT_EQ(tcp_next_state(S::None, kIn, kSyn), S::SynRecv);
  EXPECT_EQ(tcp_next_state(S::None, TcpDir::InputOnly, kSyn), S::SynRecv);
}

TEST(TcpStateTest, NatHandshakeThenClientCloses) {
  // NAT: no NOOUTPUT flag, the director sees both directions.
  const std::vector<S> got = Replay(false, {
                                               {kIn, kSyn},      // SYN
                                               {kOut, kSynAck},  // SYN+ACK: syn row wins
                                               {kIn, kAck},      // ACK
                                               {kIn, kPshAck},   // request
                                               {kOut, kPshAck},  // response
                                               {kIn, kFinAck},   // client FIN
                                               {kOut, kAck},     // server ACKs it
                                               {kOut, kFinAck},  // server FIN
                                               {kIn, kAck},      // client's last ACK
                                           });
  const std::vector<S> want = {S::SynRecv,     S::SynRecv,     S::Established,
                               S::Established, S::Established, S::CloseWait,
                               S::CloseWait,   S::TimeWait,    S::TimeWait};
  EXPECT_EQ(got, want);
}

TEST(TcpStateTest, NatHandshakeThenServerCloses) {
  const std::vector<S> got = Replay(false, {
                                               {kIn, kSyn},
                                               {kOut, kSynAck},
                                               {kIn, kAck},
                                               {kOut, kFinAck},  // server FIN
                                               {kIn, kAck},      // client ACKs it
                                               {kIn, kFinAck},   // client FIN
                                               {kOut, kAck},     // server's last ACK
                                           });
  const std::vector<S> want = {S::SynRecv, S::SynRecv,  S::Established, S::FinWait,
                               S::FinWait, S::TimeWait, S::TimeWait};
  EXPECT_EQ(got, want);
}

TEST(TcpStateTest, NatServerRefuses) {
  // Server answers the SYN with RST+ACK: CLOSE (timeout 10 s).
  EXPECT_EQ(Replay(false, {{kIn, kSyn}, {kOut, kRstAck}}), (std::vector<S>{S::SynRecv, S::Close}));
}

TEST(TcpStateTest, RstGoesToClose) {
  EXPECT_EQ(tcp_next_state(S::Established, kIn, kRst), S::Close);
  EXPECT_EQ(tcp_next_state(S::Established, kOut, kRstAck), S::Close);
  EXPECT_EQ(tcp_next_state(S::Established, TcpDir::InputOnly, kRst), S::Close);
  EXPECT_EQ(tcp_next_state(S::FinWait, kIn, kRstAck), S::Close);
  EXPECT_EQ(tcp_next_state(S::CloseWait, kOut, kRst), S::Close);
  // The exceptions the kernel table keeps: a client RST does not move SYN_RECV or LAST_ACK,
  // a server RST does not move SYN_SENT or TIME_WAIT.
  EXPECT_EQ(tcp_next_state(S::SynRecv, kIn, kRst), S::SynRecv);
  EXPECT_EQ(tcp_next_state(S::LastAck, kIn, kRst), S::LastAck);
  EXPECT_EQ(tcp_next_state(S::SynSent, kOut, kRst), S::SynSent);
  EXPECT_EQ(tcp_next_state(S::TimeWait, kOut, kRst), S::TimeWait);
}

TEST(TcpStateTest, DrHandshakeAndCloseUseInputOnlyRows) {
  // DR/TUN: NOOUTPUT set, only client packets are seen.
  const std::vector<S> got =
      Replay(true, {
                       {kIn, kSyn},
                       {kIn, kAck},
                       {kIn, kPshAck},
                       {kIn, kFinAck},  // client FIN: INPUT-ONLY says FIN_WAIT
                       {kIn, kAck},     // ACK of the server's FIN
                   });
  const std::vector<S> want = {S::SynRecv, S::Established, S::Established, S::FinWait, S::FinWait};
  EXPECT_EQ(got, want);
  // With the INPUT rows instead the client FIN would have given CLOSE_WAIT.
  EXPECT_EQ(tcp_next_state(S::Established, kIn, kFinAck), S::CloseWait);
}

TEST(TcpStateTest, EffectiveDirFollowsNoOutputFlag) {
  bool no_output = true;
  EXPECT_EQ(tcp_effective_dir(kIn, &no_output), TcpDir::InputOnly);
  EXPECT_TRUE(no_output);
  EXPECT_EQ(tcp_effective_dir(kOut, &no_output), kOut);  // first reply clears the flag
  EXPECT_FALSE(no_output);
  EXPECT_EQ(tcp_effective_dir(kIn, &no_output), kIn);
  EXPECT_EQ(tcp_effective_dir(kOut, &no_output), kOut);
  EXPECT_FALSE(no_output);
}

TEST(TcpStateTest, FlagsWithoutEventKeepState) {
  const uint8_t no_event[] = {
      0, kTcpPsh, 0x20 /* URG */, 0x40 /* ECE */, 0x80 /* CWR */, kTcpPsh | 0x20 | 0x40 | 0x80};
  for (unsigned s = 0; s < kTcpStateCount; ++s) {
    for (TcpDir d : {TcpDir::Input, TcpDir::Output, TcpDir::InputOnly}) {
      for (uint8_t f : no_event) {
        EXPECT_EQ(tcp_next_state(static_cast<S>(s), d, f), static_cast<S>(s));
      }
    }
  }
}

TEST(TcpStateTest, PshAckCountsAsAck) {
  for (unsigned s = 0; s < kTcpStateCount; ++s) {
    for (TcpDir d : {TcpDir::Input, TcpDir::Output, TcpDir::InputOnly}) {
      EXPECT_EQ(tcp_next_state(static_cast<S>(s), d, kPshAck),
                tcp_next_state(static_cast<S>(s), d, kAck));
    }
  }
  EXPECT_EQ(tcp_next_state(S::SynRecv, kIn, kPshAck), S::Established);
  EXPECT_EQ(tcp_next_state(S::None, kIn, kPshAck | 0xc0), S::Established);
}

TEST(TcpStateTest, EventPriorityRstSynFinAck) {
  for (unsigned s = 0; s < kTcpStateCount; ++s) {
    const S from = static_cast<S>(s);
    for (TcpDir d : {TcpDir::Input, TcpDir::Output, TcpDir::InputOnly}) {
      const S rst = tcp_next_state(from, d, kRst);
      const S syn = tcp_next_state(from, d, kSyn);
      const S fin = tcp_next_state(from, d, kTcpFin);
      EXPECT_EQ(tcp_next_state(from, d, kRst | kSyn | kTcpFin | kAck), rst);
      EXPECT_EQ(tcp_next_state(from, d, kRstAck), rst);
      EXPECT_EQ(tcp_next_state(from, d, kSyn | kTcpFin | kAck), syn);
      EXPECT_EQ(tcp_next_state(from, d, kSynAck), syn);
      EXPECT_EQ(tcp_next_state(from, d, kFinAck), fin);
      EXPECT_EQ(tcp_next_state(from, d, kFinAck | kTcpPsh), fin);
    }
  }
}

TEST(TcpStateTest, OutOfRangeStateIsKept) {
  EXPECT_EQ(tcp_next_state(S::Last, kIn, kSyn), S::Last);
}

TEST(TcpStateTest, DefaultTimeoutsMatchKernel) {
  const TcpTimeouts t;
  EXPECT_EQ(t[S::None], 2u);
  EXPECT_EQ(t[S::Established], 900u);
  EXPECT_EQ(t[S::SynSent], 120u);
  EXPECT_EQ(t[S::SynRecv], 60u);
  EXPECT_EQ(t[S::FinWait], 120u);
  EXPECT_EQ(t[S::TimeWait], 120u);
  EXPECT_EQ(t[S::Close], 10u);
  EXPECT_EQ(t[S::CloseWait], 60u);
  EXPECT_EQ(t[S::LastAck], 30u);
  EXPECT_EQ(t[S::Listen], 120u);
  EXPECT_EQ(t[S::Synack], 120u);
}

TEST(TcpStateTest, TimeoutsAreAdjustable) {
  TcpTimeouts t;
  t.secs[static_cast<unsigned>(S::Established)] = 7200;  // ipvsadm --set 7200 120 300
  EXPECT_EQ(t[S::Established], 7200u);
  EXPECT_EQ(TcpTimeouts()[S::Established], 900u);
}

TEST(TcpStateTest, NamesAsIpvsadmPrintsThem) {
  const char* const want[kTcpStateCount] = {"NONE",     "ESTABLISHED", "SYN_SENT", "SYN_RECV",
                                            "FIN_WAIT", "TIME_WAIT",   "CLOSE",    "CLOSE_WAIT",
                                            "LAST_ACK", "LISTEN",      "SYNACK"};
  for (unsigned i = 0; i < kTcpStateCount; ++i) {
    EXPECT_STREQ(tcp_state_name(static_cast<S>(i)), want[i]);
  }
  EXPECT_STREQ(tcp_state_name(S::Last), "ERR!");
}

TEST(TcpStateTest, ActiveStates) {
  for (unsigned i = 0; i < kTcpStateCount; ++i) {
    const S s = static_cast<S>(i);
    const bool want = s == S::Established || s == S::SynSent || s == S::SynRecv || s == S::Synack;
    EXPECT_EQ(tcp_state_active(s), want) << tcp_state_name(s);
  }
}

TEST(TcpStateTest, ReusableWithDefaultMode) {
  for (unsigned i = 0; i < kTcpStateCount; ++i) {
    const S s = static_cast<S>(i);
    const bool want = s == S::TimeWait || s == S::Close;
    EXPECT_EQ(tcp_conn_reusable(s, false), want) << tcp_state_name(s);
    EXPECT_EQ(tcp_conn_reusable(s, true), want) << tcp_state_name(s);
    EXPECT_EQ(tcp_conn_reusable(s, true, 1), want) << tcp_state_name(s);
  }
}

TEST(TcpStateTest, ReusableFinWaitNeedsModeBit2AndNoOutput) {
  EXPECT_TRUE(tcp_conn_reusable(S::FinWait, true, 2));
  EXPECT_TRUE(tcp_conn_reusable(S::FinWait, true, 3));
  EXPECT_FALSE(tcp_conn_reusable(S::FinWait, false, 3));
  EXPECT_FALSE(tcp_conn_reusable(S::FinWait, true, 1));
  EXPECT_TRUE(tcp_conn_reusable(S::TimeWait, false, 2));
  EXPECT_FALSE(tcp_conn_reusable(S::Established, true, 3));
  EXPECT_FALSE(tcp_conn_reusable(S::CloseWait, true, 3));
}

TEST(TcpStateTest, ReuseModeZeroDisablesReuse) {
  for (unsigned i = 0; i < kTcpStateCount; ++i) {
    EXPECT_FALSE(tcp_conn_reusable(static_cast<S>(i), true, 0));
  }
}

}  // namespace
}  // namespace fastvs
