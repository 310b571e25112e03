// The connection table with an injected clock (ticks): index under both keys, capacity, and
// expiry whose cost is O(expired + re-armed), never O(table).
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "dataplane/conn_table.h"
#include "dataplane/parse.h"
#include "tests/eal/eal_env.h"

namespace fastvs {
namespace {

ConnKey in_key(uint32_t i) {
  return make_key(0x0a000000 + i, 0xc0a80001, uint16_t(i), 80, 6);
}
ConnKey out_key(uint32_t i) {
  return make_key(0xc0a80012, 0x0a000000 + i, 80, uint16_t(i), 6);
}

Conn* ins(ConnTable& t, const ConnKey& in, const ConnKey* out, uint32_t timeout, uint32_t now) {
  bool collision;
  Conn* c = t.insert(in, out, timeout, now, &collision);
  EXPECT_FALSE(collision);
  return c;
}

struct Table {
  ConnTable t;
  explicit Table(uint32_t cap, uint32_t now = 100, uint64_t keys = 0) {
    static int n = 0;
    const std::string name = "ct" + std::to_string(n++);
    EXPECT_TRUE(t.init(name.c_str(), cap, 0, now, keys));
  }
};

TEST(ConnTable, FindsBothKeys) {
  Table tb(16);
  const ConnKey in = in_key(1), out = out_key(1);
  Conn* c = ins(tb.t, in, &out, 160, 100);
  ASSERT_NE(c, nullptr);
  bool is_out = true;
  EXPECT_EQ(tb.t.lookup(in, &is_out), c);
  EXPECT_FALSE(is_out);
  EXPECT_EQ(tb.t.lookup(out, &is_out), c);
  EXPECT_TRUE(is_out);
  EXPECT_EQ(c->rip, out.saddr);
  EXPECT_EQ(c->rport, out.sport);
  EXPECT_EQ(tb.t.lookup(in_key(2), &is_out), nullptr);
  tb.t.remove(c);
  EXPECT_EQ(tb.t.lookup(in, &is_out), nullptr);
  EXPECT_EQ(tb.t.lookup(out, &is_out), nullptr);
  EXPECT_EQ(tb.t.size(), 0u);
}

// One client port talking to two VIPs that share a real server: both connections would have the
// same reply key. The second is refused rather than stealing the first's replies.
TEST(ConnTable, SharedReplyKeyIsRefused) {
  Table tb(16);
  const ConnKey in1 = make_key(1, 100, 5060, 5060, 17), in2 = make_key(1, 200, 5060, 5060, 17);
  const ConnKey out = make_key(50, 1, 5060, 5060, 17);
  Conn* a = ins(tb.t, in1, &out, 160, 100);
  ASSERT_NE(a, nullptr);
  bool collision = false;
  EXPECT_EQ(tb.t.insert(in2, &out, 160, 100, &collision), nullptr);
  EXPECT_TRUE(collision);
  bool is_out;
  EXPECT_EQ(tb.t.lookup(out, &is_out), a);
  EXPECT_EQ(tb.t.lookup(in2, &is_out), nullptr);
  EXPECT_EQ(tb.t.size(), 1u);
}

TEST(ConnTable, FullRefusesNewAndKeepsOld) {
  Table tb(100);
  for (uint32_t i = 0; i < 100; ++i) {
    const ConnKey in = in_key(i), out = out_key(i);
    ASSERT_NE(ins(tb.t, in, &out, 160, 100), nullptr) << i;
  }
  const ConnKey in = in_key(1000), out = out_key(1000);
  bool collision = true;
  EXPECT_EQ(tb.t.insert(in, &out, 160, 100, &collision), nullptr);
  EXPECT_FALSE(collision);
  EXPECT_EQ(tb.t.size(), 100u);
  bool is_out;
  for (uint32_t i = 0; i < 100; ++i) EXPECT_NE(tb.t.lookup(in_key(i), &is_out), nullptr) << i;
  EXPECT_EQ(tb.t.lookup(in, &is_out), nullptr);
  // Recovery: once entries expire, new flows fit again.
  tb.t.expire(100 + 160, 1000, [](Conn&) {});
  EXPECT_EQ(tb.t.size(), 0u);
  EXPECT_NE(ins(tb.t, in, &out, 160, 260), nullptr);
}

TEST(ConnTable, ExpiresAtItsTickNotBefore) {
  Table tb(16);
  const ConnKey in = in_key(1), out = out_key(1);
  ins(tb.t, in, &out, 10, 100);
  int expired = 0;
  tb.t.expire(109, 100, [&](Conn&) { ++expired; });
  EXPECT_EQ(expired, 0);
  tb.t.expire(110, 100, [&](Conn&) { ++expired; });
  EXPECT_EQ(expired, 1);
  EXPECT_EQ(tb.t.size(), 0u);
}

TEST(ConnTable, TouchExtendsAndShortens) {
  Table tb(16);
  const ConnKey in = in_key(1), out = out_key(1);
  Conn* c = ins(tb.t, in, &out, 10, 100);
  int expired = 0;
  auto count = [&](Conn&) { ++expired; };
  tb.t.touch(c, 10, 105);  // now due at 115: the entry stays in slot 110 and is re-armed there
  EXPECT_EQ(tb.t.expire(110, 100, count), 1u);  // one re-armed, none expired
  EXPECT_EQ(expired, 0);
  tb.t.expire(114, 100, count);
  EXPECT_EQ(expired, 0);
  tb.t.expire(115, 100, count);
  EXPECT_EQ(expired, 1);
  // Shortening moves it at once: ESTABLISHED 900 s -> CLOSE 10 s.
  c = ins(tb.t, in, &out, 900 * kTicksPerSecond, 200);
  tb.t.touch(c, 10, 201);
  tb.t.expire(211, 100, count);
  EXPECT_EQ(expired, 2);
}

TEST(ConnTable, ExpiryCostIsExpiredPlusRearmedNotTable) {
  Table tb(20000);
  for (uint32_t i = 0; i < 10000; ++i) {
    const ConnKey in = in_key(i), out = out_key(i);
    ASSERT_NE(ins(tb.t, in, &out, 900 * kTicksPerSecond, 100), nullptr);
  }
  for (uint32_t i = 10000; i < 10010; ++i) {
    const ConnKey in = in_key(i), out = out_key(i);
    ASSERT_NE(ins(tb.t, in, &out, 5, 100), nullptr);
  }
  // Advancing 100 ticks examines only the 10 that were due.
  EXPECT_EQ(tb.t.expire(200, 1u << 30, [](Conn&) {}), 10u);
  EXPECT_EQ(tb.t.size(), 10000u);
  // A budget stops mid-slot and resumes there.
  EXPECT_EQ(tb.t.expire(100 + 900 * kTicksPerSecond, 4000, [](Conn&) {}), 4000u);
  EXPECT_EQ(tb.t.size(), 6000u);
  EXPECT_EQ(tb.t.expire(100 + 900 * kTicksPerSecond, 1u << 30, [](Conn&) {}), 6000u);
  EXPECT_EQ(tb.t.size(), 0u);
}

// Expiry takes due entries in batches (their keys fetched together): in a slot where due and
// extended entries alternate, under a budget that splits batches, every due entry goes exactly
// once with both its keys, and every extended one stays, found under both.
TEST(ConnTable, BatchedExpiryUnderABudget) {
  Table tb(256);
  std::vector<Conn*> cs;
  for (uint32_t i = 0; i < 100; ++i) {
    const ConnKey in = in_key(i), out = out_key(i);
    cs.push_back(ins(tb.t, in, i % 3 ? &out : nullptr, 10, 100));
  }
  for (uint32_t i = 0; i < 100; i += 2) tb.t.touch(cs[i], 50, 105);  // the even ones: due at 155
  std::vector<int> seen(100);
  auto count = [&](Conn& c) { ++seen[c.cport]; };
  uint32_t examined = 0;
  for (int call = 0; call < 100 && tb.t.size() > 50; ++call) examined += tb.t.expire(110, 7, count);
  EXPECT_EQ(examined, 100u);  // each entry once: 50 expired, 50 re-armed
  EXPECT_EQ(tb.t.size(), 50u);
  for (uint32_t i = 0; i < 100; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(seen[i], i % 2 ? 1 : 0);
    bool is_out = false;
    const ConnKey in = in_key(i), out = out_key(i);
    EXPECT_EQ(tb.t.lookup(in, &is_out) != nullptr, i % 2 == 0);
    if (i % 3) {
      EXPECT_EQ(tb.t.lookup(out, &is_out) != nullptr, i % 2 == 0);
    }
  }
  tb.t.expire(155, 1000, count);
  EXPECT_EQ(tb.t.size(), 0u);
}

TEST(ConnTable, TimeoutBeyondTheWheelIsRearmed) {
  Table tb(16);
  const ConnKey in = in_key(1);
  const uint32_t far = ConnTable::kWheelSlots * 2 + 7;
  ins(tb.t, in, nullptr, far, 0);
  int expired = 0;
  uint32_t examined = 0;
  for (uint32_t now = 0; now < far; now += 1000)
    examined += tb.t.expire(now, 100, [&](Conn&) { ++expired; });
  EXPECT_EQ(expired, 0);
  tb.t.expire(far, 100, [&](Conn&) { ++expired; });
  EXPECT_EQ(expired, 1);
  EXPECT_LE(examined, 3u);
}

// Records the real memory per connection: rte_hash (buckets + key slots, sized for two keys
// per NAT connection) + the 64-byte entry + the wheel, as allocated from the DPDK heap.
// The budgets: 192 bytes a NAT connection (two keys), 128 a DR/TUN one (--conn-keys = capacity).
TEST(ConnTable, BytesPerConnection) {
  const uint32_t cap = 1u << 17;
  for (const uint64_t keys : {uint64_t{0}, uint64_t{cap}}) {
    Table tb(cap, 100, keys);
    const double per = double(tb.t.memory_bytes()) / cap;
    RecordProperty(keys ? "bytes_per_connection_one_key" : "bytes_per_connection",
                   std::to_string(per));
    std::printf("connection table: %u entries, keys %s, %zu bytes, %.1f bytes per connection\n",
                cap, keys ? "one a connection" : "two a connection", tb.t.memory_bytes(), per);
    EXPECT_GT(per, 64.0);  // at least the entry itself
    EXPECT_LE(per, keys ? 128.0 : 192.0);
  }
}

// A miss looked up ahead stays a miss across inserts of other keys, and
// becomes a hit when its own key is inserted, as the in or the out key, recently or long ago.
TEST(ConnTable, ResolveAMissAfterInserts) {
  Table tb(4096);
  const uint32_t n = 200;
  std::vector<ConnKey> keys;
  for (uint32_t i = 0; i < n; ++i) keys.push_back(in_key(i));
  keys.push_back(out_key(7));
  std::vector<const ConnKey*> kp;
  for (const ConnKey& k : keys) kp.push_back(&k);
  std::vector<ConnLookahead> ahead(keys.size());
  for (size_t i = 0; i < keys.size(); i += 32)
    tb.t.lookup_bulk(kp.data() + i, std::min<unsigned>(32, unsigned(keys.size() - i)),
                     ahead.data() + i);
  bool is_out;
  for (size_t i = 0; i < keys.size(); ++i) ASSERT_EQ(ahead[i].found, kConnNone);
  // Insert every other in key, with its out key; the odd ones stay misses.
  for (uint32_t i = 0; i < n; i += 2) {
    const ConnKey out = out_key(i);
    ASSERT_NE(ins(tb.t, keys[i], &out, 160, 100), nullptr);
    if (i == 8) {  // a few inserts after
      EXPECT_NE(tb.t.resolve(ahead[0], keys[0], &is_out), nullptr);
      EXPECT_EQ(tb.t.resolve(ahead[1], keys[1], &is_out), nullptr);
      EXPECT_EQ(tb.t.resolve(ahead[n], keys[n], &is_out), nullptr);  // out_key(7): not yet
    }
  }
  // Many inserts after.
  for (uint32_t i = 0; i < n; ++i) {
    Conn* c = tb.t.resolve(ahead[i], keys[i], &is_out);
    if (i % 2) {
      EXPECT_EQ(c, nullptr) << i;
    } else {
      ASSERT_NE(c, nullptr) << i;
      EXPECT_FALSE(is_out);
    }
  }
  const ConnKey out8 = out_key(8);
  const ConnKey in7 = in_key(7);
  ASSERT_NE(ins(tb.t, in7, &keys[n], 160, 100), nullptr);  // inserts out_key(7) as an out key
  ConnLookahead a8;
  const ConnKey* p8 = &out8;
  tb.t.lookup_bulk(&p8, 1, &a8);
  EXPECT_NE(a8.found, kConnNone);  // out_key(8) was inserted with in_key(8)
  Conn* c = tb.t.resolve(ahead[n], keys[n], &is_out);
  ASSERT_NE(c, nullptr);
  EXPECT_TRUE(is_out);
  EXPECT_EQ(c->cip, in7.saddr);
}

// A one-key index holds a full pool of DR/TUN connections; NAT connections, two keys each, fill
// it at about half the pool, and then new ones are refused and the old ones stay.
TEST(ConnTable, OneKeyIndex) {
  const uint32_t cap = 4096;
  {
    Table tb(cap, 100, cap);
    for (uint32_t i = 0; i < cap; ++i) ASSERT_NE(ins(tb.t, in_key(i), nullptr, 160, 100), nullptr);
    bool collision;
    EXPECT_EQ(tb.t.insert(in_key(cap), nullptr, 160, 100, &collision), nullptr);
    EXPECT_EQ(tb.t.size(), cap);
  }
  // cap + 1 keys: an odd number of key slots (4673), so the last NAT insert adds its in key and
  // then finds no slot for its out key, and must take the in key back out.
  Table tb(cap, 100, cap + 1);
  uint32_t n = 0;
  for (;; ++n) {
    const ConnKey out = out_key(n);
    bool collision;
    if (!tb.t.insert(in_key(n), &out, 160, 100, &collision)) {
      EXPECT_FALSE(collision);
      break;
    }
  }
  EXPECT_GE(n, cap / 2);
  EXPECT_LT(n, cap * 3 / 4);
  EXPECT_EQ(tb.t.size(), n);
  for (uint32_t i = 0; i < n; ++i) {
    bool is_out = true;
    ASSERT_NE(tb.t.lookup(in_key(i), &is_out), nullptr) << i;
    EXPECT_FALSE(is_out);
    ASSERT_NE(tb.t.lookup(out_key(i), &is_out), nullptr) << i;
    EXPECT_TRUE(is_out);
  }
  bool is_out;
  EXPECT_EQ(tb.t.lookup(in_key(n), &is_out), nullptr);  // the refused one left nothing behind
}

// fastvsd refuses a --conn-capacity that cannot fit from memory_needed() before it allocates:
// the estimate must not fall short of what init() really takes, nor overstate it much.
TEST(ConnTable, MemoryNeededMatchesWhatInitTakes) {
  for (const uint32_t cap : {16u, 1000u, 1u << 16, 100000u, 1u << 18}) {
    for (const uint64_t keys : {uint64_t{0}, uint64_t{cap}, uint64_t{cap} * 3 / 2}) {
      Table tb(cap, 100, keys);
      const uint64_t need = ConnTable::memory_needed(cap, keys);
      const uint64_t took = tb.t.memory_bytes();
      std::printf("capacity %u, %llu keys: init took %llu bytes, memory_needed says %llu\n", cap,
                  static_cast<unsigned long long>(keys), static_cast<unsigned long long>(took),
                  static_cast<unsigned long long>(need));
      EXPECT_GE(need, took) << cap << " " << keys;
      EXPECT_LE(need, took + took / 50 + 4096) << cap << " " << keys;
    }
  }
}

// IPv6 connections: their own index, the entries, wheel and capacity shared with IPv4's.
struct Addr6 {
  uint8_t b[16];
};
Addr6 a6(uint16_t last, uint8_t net = 1) {
  Addr6 a{{0x20, 0x01, 0x0d, 0xb8, 0, net}};
  a.b[14] = static_cast<uint8_t>(last >> 8);
  a.b[15] = static_cast<uint8_t>(last);
  return a;
}
ConnKey6 in_key6(uint16_t i) {
  return make_key6(a6(i).b, a6(1, 0xfe).b, i, 80, 6);
}
ConnKey6 out_key6(uint16_t i) {
  return make_key6(a6(0x18, 2).b, a6(i).b, 80, i, 6);
}
// The real server of the out keys: a connection's out key is made from its destination.
Destination* rs6() {
  static Destination d;
  std::memcpy(d.rip6, a6(0x18, 2).b, 16);
  return &d;
}
Conn* ins6(ConnTable& t, const ConnKey6& in, const ConnKey6* out, uint32_t timeout, uint32_t now,
           bool want_collision = false) {
  bool collision;
  Conn* c = t.insert6(in, out, timeout, now, &collision);
  EXPECT_EQ(collision, want_collision);
  if (c) c->dest = rs6();
  return c;
}

TEST(ConnTable6, FindsBothKeysBesideIpv4) {
  Table tb(16);
  EXPECT_FALSE(tb.t.ipv6());
  const size_t v4_bytes = tb.t.memory_bytes();
  ASSERT_TRUE(tb.t.enable_ipv6("ct6a", 0));
  EXPECT_TRUE(tb.t.ipv6());
  EXPECT_GT(tb.t.memory_bytes(), v4_bytes);
  EXPECT_EQ(tb.t.memory_bytes(), v4_bytes + tb.t.memory_bytes6());
  const ConnKey6 in = in_key6(1), out = out_key6(1);
  Conn* c = ins6(tb.t, in, &out, 160, 100);
  ASSERT_NE(c, nullptr);
  // An IPv4 connection whose addresses are the IPv6 ones' folds is another connection.
  const ConnKey in4 = make_key(c->cip, c->vip, c->cport, c->vport, 6);
  Conn* c4 = ins(tb.t, in4, nullptr, 160, 100);
  EXPECT_EQ(c->cip, ip6_fold(in.saddr));
  ASSERT_NE(c4, nullptr);
  EXPECT_NE(c4, c);
  bool is_out = true;
  EXPECT_EQ(tb.t.lookup6(in, &is_out), c);
  EXPECT_FALSE(is_out);
  EXPECT_EQ(tb.t.lookup6(out, &is_out), c);
  EXPECT_TRUE(is_out);
  EXPECT_EQ(tb.t.lookup(in4, &is_out), c4);
  EXPECT_EQ(c->flags, kConnV6 | kConnHasOut);
  EXPECT_EQ(std::memcmp(tb.t.addrs6(*c).cip, in.saddr, 16), 0);
  EXPECT_EQ(std::memcmp(tb.t.addrs6(*c).vip, in.daddr, 16), 0);
  EXPECT_EQ(c->rport, out.sport);
  EXPECT_EQ(tb.t.keys(), 3u);
  EXPECT_EQ(tb.t.lookup6(in_key6(2), &is_out), nullptr);
  tb.t.remove(c);
  EXPECT_EQ(tb.t.lookup6(in, &is_out), nullptr);
  EXPECT_EQ(tb.t.lookup6(out, &is_out), nullptr);
  EXPECT_EQ(tb.t.lookup(in4, &is_out), c4);
  EXPECT_EQ(tb.t.size(), 1u);
  EXPECT_EQ(tb.t.keys(), 1u);
}

TEST(ConnTable6, SharedReplyKeyIsRefused) {
  Table tb(16);
  ASSERT_TRUE(tb.t.enable_ipv6("ct6b", 0));
  const ConnKey6 out = out_key6(7);
  ASSERT_NE(ins6(tb.t, in_key6(7), &out, 160, 100), nullptr);
  ConnKey6 other = in_key6(7);
  other.daddr[15] ^= 1;  // another VIP, the same real server and client port
  EXPECT_EQ(ins6(tb.t, other, &out, 160, 100, true), nullptr);
  EXPECT_EQ(tb.t.size(), 1u);
  EXPECT_EQ(tb.t.keys(), 2u);
}

TEST(ConnTable6, OneCapacityAndOneWheelForBoth) {
  Table tb(4, 100);
  ASSERT_TRUE(tb.t.enable_ipv6("ct6c", 0));
  ASSERT_NE(ins(tb.t, in_key(1), nullptr, 32, 100), nullptr);
  ASSERT_NE(ins6(tb.t, in_key6(1), nullptr, 16, 100), nullptr);
  const ConnKey6 o2 = out_key6(2);
  ASSERT_NE(ins6(tb.t, in_key6(2), &o2, 48, 100), nullptr);
  ASSERT_NE(ins(tb.t, in_key(2), nullptr, 48, 100), nullptr);
  EXPECT_EQ(ins6(tb.t, in_key6(3), nullptr, 16, 100), nullptr);  // full, for either family
  EXPECT_EQ(ins(tb.t, in_key(3), nullptr, 16, 100), nullptr);
  std::vector<uint32_t> gone;
  tb.t.expire(116, 100, [&](Conn& c) { gone.push_back(c.cport); });
  EXPECT_EQ(gone, std::vector<uint32_t>{1});  // the IPv6 one armed for 116
  bool is_out;
  EXPECT_EQ(tb.t.lookup6(in_key6(1), &is_out), nullptr);
  tb.t.expire(148, 100, [&](Conn& c) { gone.push_back(c.cport); });
  EXPECT_EQ(gone.size(), 4u);
  EXPECT_EQ(tb.t.size(), 0u);
  EXPECT_EQ(tb.t.keys(), 0u);
  ASSERT_NE(ins6(tb.t, in_key6(3), nullptr, 16, 148), nullptr);  // room again
}

// What an IPv6 connection takes: its entry (64 bytes), its addresses and its two keys (NAT66)
// in the IPv6 index: within the budget of 256 bytes. Enabling IPv6 also leaves the IPv4 index
// sized for the whole capacity (any connection may be of either family): printed beside.
TEST(ConnTable6, BytesPerConnection) {
  const uint32_t cap = 1u << 17;
  Table tb(cap);
  const size_t v4 = tb.t.memory_bytes();
  ASSERT_TRUE(tb.t.enable_ipv6("ct6d", 0));
  const double per6 = double(tb.t.memory_bytes6()) / cap;
  const double per = double(tb.t.memory_bytes()) / cap;
  RecordProperty("bytes_per_connection_ipv6", std::to_string(per));
  std::printf(
      "connection table: %u entries, IPv4 %.1f bytes, with IPv6 %.1f (+%.1f) bytes per "
      "connection\n",
      cap, double(v4) / cap, per, per6);
  RecordProperty("bytes_per_ipv6_connection", std::to_string(64 + per6));
  std::printf("an IPv6 connection: %.1f bytes (entry 64, addresses and IPv6 index %.1f)\n",
              64 + per6, per6);
  EXPECT_GT(per6, 32.0 + 2 * 40);  // at least the addresses and two keys
  EXPECT_LE(64 + per6, 256.0);
  EXPECT_GE(ConnTable::memory_needed6(cap), tb.t.memory_bytes6());
  EXPECT_LE(ConnTable::memory_needed6(cap),
            tb.t.memory_bytes6() + tb.t.memory_bytes6() / 50 + 4096);
}

}  // namespace
}  // namespace fastvs
