// The state file's format (control/state_file.h): round trip, and every way a file can be wrong
// refused with a reason, never crashing and never allocating what a damaged header claims.
#include "control/state_file.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstring>

namespace fastvs {
namespace {

StateConn conn(uint32_t i, uint8_t proto = 6) {
  StateConn c;
  c.proto = proto;
  c.method = static_cast<uint8_t>(i % 3);
  c.state = proto == 6 ? static_cast<uint8_t>(1 + i % 10) : 0;
  c.flags = static_cast<uint8_t>((i % 2 ? kStateConnInactive : 0) |
                                 (c.method != 0 ? kStateConnNoOutput : 0) |
                                 (i % 5 == 0 ? kStateConnTemplate : 0));
  c.svc_vip = htonl(0xac10fec8);
  c.svc_vport = htons(80);
  c.dest_rport = htons(8080);
  c.cip = htonl(0x0a000000 + i);
  c.vip = c.svc_vip;
  c.rip = htonl(0xc0a80012 + i % 4);
  c.cport = htons(static_cast<uint16_t>(1024 + i));
  c.vport = htons(80);
  c.rport = htons(8080);
  c.timeout = 900 * 16;
  c.remaining = 900 * 16 - i;
  return c;
}

StateTmpl tmpl(uint32_t i) {
  StateTmpl t;
  t.proto = 6;
  t.svc_vip = htonl(0xac10fec8);
  t.svc_vport = htons(80);
  t.mask = htonl(0xffffff00);
  t.cip = htonl(0x0a000000 + (i << 8));
  t.rip = htonl(0xc0a80012);
  t.dest_rport = htons(8080);
  t.timeout = 300 * 16;
  t.remaining = 100 * 16;
  return t;
}

StateFile sample(uint32_t nconns = 7, uint32_t ntmpls = 3) {
  StateFile f;
  f.saved_at_ms = 1765000000123;
  for (uint32_t i = 0; i < nconns; ++i) f.conns.push_back(conn(i, i % 4 == 3 ? 17 : 6));
  for (uint32_t i = 0; i < ntmpls; ++i) f.tmpls.push_back(tmpl(i));
  return f;
}

void put_u64(std::string& s, size_t off, uint64_t v) {
  for (int i = 0; i < 8; ++i) s[off + i] = static_cast<char>(v >> (8 * i));
}
void put_u32(std::string& s, size_t off, uint32_t v) {
  for (int i = 0; i < 4; ++i) s[off + i] = static_cast<char>(v >> (8 * i));
}
// Keeps the checksum right after a deliberate change, so that the check behind it is reached.
void fix_crc(std::string& s) {
  uint32_t crc = crc32c(0, s.data(), 56);
  crc = crc32c(crc, s.data() + kStateHeaderSize, s.size() - kStateHeaderSize);
  put_u32(s, 56, crc);
}

TEST(StateFile, Crc32cKnownAnswer) {
  EXPECT_EQ(crc32c(0, "123456789", 9), 0xe3069283u);
  // Chained in pieces as in one go.
  EXPECT_EQ(crc32c(crc32c(0, "12345", 5), "6789", 4), 0xe3069283u);
  EXPECT_EQ(crc32c(0, "", 0), 0u);
}

TEST(StateFile, RoundTrip) {
  const StateFile f = sample();
  const std::string bytes = encode_state(f);
  EXPECT_EQ(bytes.size(), kStateHeaderSize + 7 * kStateConnSize + 3 * kStateTmplSize);
  EXPECT_EQ(bytes.substr(0, 8), "FVSSTATE");
  Result<StateFile> back = decode_state(bytes);
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(back->saved_at_ms, f.saved_at_ms);
  EXPECT_EQ(back->conns, f.conns);
  EXPECT_EQ(back->tmpls, f.tmpls);
  // Empty is a valid file too.
  Result<StateFile> empty = decode_state(encode_state(StateFile{}));
  ASSERT_TRUE(empty) << empty.error();
  EXPECT_TRUE(empty->conns.empty() && empty->tmpls.empty());
}

TEST(StateFile, EveryTruncationRefused) {
  const std::string bytes = encode_state(sample());
  for (size_t n = 0; n < bytes.size(); ++n) {
    Result<StateFile> r = decode_state(std::string_view(bytes).substr(0, n));
    EXPECT_FALSE(r) << "accepted the first " << n << " bytes";
  }
  // Bytes beyond the records: refused as well.
  EXPECT_FALSE(decode_state(bytes + std::string(1, '\0')));
}

TEST(StateFile, EveryFlippedByteRefused) {
  const std::string bytes = encode_state(sample());
  for (size_t i = 0; i < bytes.size(); ++i) {
    for (uint8_t x : {0x01, 0x80, 0xff}) {
      std::string bad = bytes;
      bad[i] = static_cast<char>(bad[i] ^ x);
      EXPECT_FALSE(decode_state(bad)) << "byte " << i << " ^ " << int{x} << " accepted";
    }
  }
}

TEST(StateFile, ReasonsSaid) {
  const std::string bytes = encode_state(sample());
  std::string v2 = bytes;
  put_u32(v2, 8, 2);
  fix_crc(v2);
  Result<StateFile> r = decode_state(v2);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), "version 2: this fastvsd reads version 1");

  std::string magic = bytes;
  magic[0] = 'X';
  r = decode_state(magic);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("not a fastvs state file"), std::string::npos) << r.error();

  r = decode_state(bytes.substr(0, 10));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("truncated"), std::string::npos) << r.error();

  r = decode_state(bytes.substr(0, bytes.size() - 1));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("truncated"), std::string::npos) << r.error();

  std::string flipped = bytes;
  flipped[kStateHeaderSize + 5] ^= 1;
  r = decode_state(flipped);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("checksum"), std::string::npos) << r.error();
}

TEST(StateFile, HugeCountsRefusedWithoutAllocating) {
  // A header that claims 2^60 connections (or as many as would overflow a product) over a short
  // file: refused by the length check, before a vector is sized by it (ASan would fail an
  // allocation of that size; so would the test's memory).
  for (uint64_t n :
       {uint64_t{1} << 60, ~uint64_t{0}, ~uint64_t{0} / kStateConnSize + 1, uint64_t{1} << 32}) {
    std::string bytes = encode_state(sample(2, 1));
    put_u64(bytes, 24, n);
    fix_crc(bytes);
    Result<StateFile> r = decode_state(bytes);
    ASSERT_FALSE(r) << n;
    EXPECT_NE(r.error().find("truncated"), std::string::npos) << r.error();
    bytes = encode_state(sample(2, 1));
    put_u64(bytes, 32, n);
    fix_crc(bytes);
    EXPECT_FALSE(decode_state(bytes)) << n;
  }
}

TEST(StateFile, FieldsChecked) {
  // Each bad field with a right checksum: refused by the record's own check.
  const auto refused = [](StateConn c, const char* what) {
    StateFile f;
    f.conns.push_back(c);
    Result<StateFile> r = decode_state(encode_state(f));
    ASSERT_FALSE(r) << what;
    EXPECT_NE(r.error().find(what), std::string::npos) << r.error();
  };
  StateConn c = conn(0);
  c.proto = 1;
  refused(c, "bad protocol");
  c = conn(0);
  c.method = 3;
  refused(c, "bad forwarding method");
  c = conn(0);
  c.state = 11;
  refused(c, "bad state");
  c = conn(3, 17);
  c.state = 1;
  refused(c, "bad state");
  c = conn(0);
  c.flags |= 0x40;
  refused(c, "bad flags");
  c = conn(1);  // Route
  c.flags &= static_cast<uint8_t>(~kStateConnNoOutput);
  refused(c, "bad flags for its method");
  c = conn(0);
  c.remaining = c.timeout + 1;
  refused(c, "bad remaining time");
  c = conn(0);
  c.vport = htons(81);
  refused(c, "bad service port");

  StateFile f;
  StateTmpl t = tmpl(0);
  t.cip |= htonl(1);
  f.tmpls.push_back(t);
  Result<StateFile> r = decode_state(encode_state(f));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("template record 1: bad client address"), std::string::npos)
      << r.error();
  // Reserved bytes must be zero.
  std::string bytes = encode_state(sample(1, 0));
  bytes[kStateHeaderSize + 30] = 1;
  fix_crc(bytes);
  r = decode_state(bytes);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("reserved"), std::string::npos) << r.error();
}

TEST(StateFile, AgeingDropsExpiredAndKeepsControllingTemplates) {
  StateFile f;
  StateConn a = conn(0);  // template-controlled, 900 s left
  a.remaining = 900 * 16;
  StateConn b = conn(1);  // 5 s left
  b.flags &= static_cast<uint8_t>(~kStateConnTemplate);
  b.remaining = 5 * 16;
  f.conns = {a, b};
  StateTmpl t0 = tmpl(0);  // a's (cip 10.0.0.0/24): 2 s left, controls a
  t0.remaining = 2 * 16;
  StateTmpl t1 = tmpl(1);  // nobody's: 2 s left
  t1.remaining = 2 * 16;
  StateTmpl t2 = tmpl(2);  // nobody's: 100 s left
  f.tmpls = {t0, t1, t2};
  StateCounts n;
  age_state(f, 10'000, &n);  // down 10 s
  ASSERT_EQ(f.conns.size(), 1u);
  EXPECT_EQ(f.conns[0].cip, a.cip);
  EXPECT_EQ(f.conns[0].remaining, 890u * 16);
  EXPECT_EQ(n.expired_conns, 1u);
  ASSERT_EQ(f.tmpls.size(), 2u);
  // ip_vs_conn_expire: still controlling a connection, re-armed for a full timeout.
  EXPECT_EQ(f.tmpls[0].cip, t0.cip);
  EXPECT_EQ(f.tmpls[0].remaining, t0.timeout);
  EXPECT_EQ(f.tmpls[1].cip, t2.cip);
  EXPECT_EQ(f.tmpls[1].remaining, 90u * 16);
  EXPECT_EQ(n.expired_tmpls, 1u);

  // A clock that went back is taken as no time at all.
  StateFile g = sample(3, 0);
  const uint32_t before = g.conns[0].remaining;
  StateCounts m;
  age_state(g, -50'000, &m);
  EXPECT_EQ(g.conns.size(), 3u);
  EXPECT_EQ(g.conns[0].remaining, before);
}

// A firewall-mark service's records: the connection flagged, its service's mark where the
// VIP would be; the template with protocol 0 (IPPROTO_IP, as IPVS's). They round-trip, a mark
// record with a port or no mark is refused, and ageing pairs a marked connection of either
// protocol with its protocol 0 template.
TEST(StateFile, FirewallMarkRecords) {
  StateFile f;
  StateConn c = conn(5);  // template-controlled
  c.flags |= kStateConnFwmark;
  c.svc_vip = htonl(80);
  c.svc_vport = 0;
  c.remaining = 100 * 16;
  StateTmpl t = tmpl(0);
  t.proto = 0;
  t.svc_vip = htonl(80);
  t.svc_vport = 0;
  t.cip = c.cip & t.mask;
  t.remaining = 1 * 16;  // expires while down: kept, it controls c
  f.conns = {c};
  f.tmpls = {t};
  Result<StateFile> r = decode_state(encode_state(f));
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->conns, f.conns);
  EXPECT_EQ(r->tmpls, f.tmpls);
  StateCounts n;
  age_state(*r, 5'000, &n);
  ASSERT_EQ(r->tmpls.size(), 1u);
  EXPECT_EQ(r->tmpls[0].remaining, t.timeout);

  StateFile bad;
  bad.conns = {c};
  bad.conns[0].svc_vport = htons(80);
  bad.conns[0].vport = htons(80);
  Result<StateFile> b = decode_state(encode_state(bad));
  ASSERT_FALSE(b);
  EXPECT_NE(b.error().find("connection record 1: bad firewall mark"), std::string::npos)
      << b.error();
  bad = {};
  bad.tmpls = {t};
  bad.tmpls[0].svc_vip = 0;
  b = decode_state(encode_state(bad));
  ASSERT_FALSE(b);
  EXPECT_NE(b.error().find("template record 1: bad firewall mark"), std::string::npos) << b.error();
}

TEST(StateFile, Describe) {
  StateCounts c;
  c.conns = 3;
  c.tmpls = 1;
  c.expired_conns = 2;
  c.no_dest = 1;
  EXPECT_EQ(
      describe_state_load(c, 4200, 12.3),
      "kept 3 connections and 1 template (saved 4.2 s ago, loaded in 12 ms); dropped 2 expired "
      "connections, 1 whose real server is no longer configured");
  EXPECT_EQ(describe_state_load(StateCounts{}, 0),
            "kept 0 connections and 0 templates (saved 0.0 s ago, loaded in 0 ms); dropped none");
}

}  // namespace
}  // namespace fastvs
