// Packet fixtures: IPv6 before fastvs forwards it. Every IPv6 packet the kernel's receive path
// would take goes to the host's stack through the kernel path unchanged (its link-local and
// global addresses on dpdkN, its neighbour discovery and health checks work through the ports);
// neighbour discovery and MLD ride the control budget, as ARP does; what ip6_rcv_core refuses,
// and every malformed header chain, is dropped and counted by its reason. The frames are built
// by pktbuild (inet_pton, checksums over the IPv6 pseudo-header from scratch).
#include "tests/packet/pipeline.h"

namespace fastvs::testing {
namespace {

const std::string kC6 = "2001:db8:fe::10";   // a client
const std::string kD6 = "2001:db8:fe::200";  // the host's address on dpdk0
const Mac kSolicitedMac = mac("33:33:ff:00:02:00");

Bytes c2d6(const Bytes& ip, const Mac& dst = kPort0) {
  return eth(dst, kClient, 0x86dd, ip);
}

Bytes tcp6(const std::string& s, const std::string& d, uint16_t sp, uint16_t dp) {
  return ipv6(s, d, 6, tcp(s, d, sp, dp, SYN));
}

// A neighbour solicitation for `target` from `src` (RFC 4861 4.3), with the source link-layer
// address option.
Bytes solicitation(const std::string& src, const std::string& dst, const std::string& target) {
  const Bytes body = cat({{0, 0, 0, 0}, ip6(target), {1, 1}, Bytes(kClient.b, kClient.b + 6)});
  return ipv6(src, dst, 58, icmp6(src, dst, 135, 0, body), 255);
}

// The kernel path's ring: what the host's stack would be given.
struct KernelRing {
  explicit KernelRing(Pipeline& p, const char* name) : p(p) {
    ring = rte_ring_create(name, 256, 0, RING_F_SC_DEQ);
    EXPECT_NE(ring, nullptr);
    p.w.to_kernel = ring;
  }
  ~KernelRing() {
    take();
    p.w.to_kernel = nullptr;
    rte_ring_free(ring);
  }
  std::vector<Bytes> take() {
    std::vector<Bytes> got;
    rte_mbuf* m;
    while (rte_ring_dequeue(ring, reinterpret_cast<void**>(&m)) == 0) {
      got.push_back(to_bytes(m));
      rte_pktmbuf_free(m);
    }
    return got;
  }
  Pipeline& p;
  rte_ring* ring = nullptr;
};

TEST(Ipv6Fixtures, TheHostsPacketsGoUpTheKernelPathUnchanged) {
  Pipeline p;
  KernelRing k(p, "fx6_kernel");
  const Bytes syn = c2d6(tcp6(kC6, kD6, 40000, 22));
  const Bytes udp_chain = c2d6(ipv6(kC6, kD6, 0, [] {
    // Hop-by-hop (PadN), destination options (Pad1s), a routing header with no
    // segments left, then UDP.
    Bytes b = ip6_ext(60, {1, 4, 0, 0, 0, 0});
    const Bytes d = ip6_ext(43, {0, 0, 0, 0, 0, 0});
    const Bytes r = ip6_ext(17, {0, 0, 0, 0, 0, 0});
    b.insert(b.end(), d.begin(), d.end());
    b.insert(b.end(), r.begin(), r.end());
    const Bytes u = udp(kC6, kD6, 5000, 53, {1, 2, 3});
    b.insert(b.end(), u.begin(), u.end());
    return b;
  }()));
  const Bytes echo = c2d6(ipv6(kC6, kD6, 58, icmp6(kC6, kD6, 128, 0, {0, 7, 0, 1, 'p'})));
  const Bytes link_local = c2d6(tcp6("fe80::c200:ff:fe00:a", "fe80::2", 40001, 22));
  // A fragment of the host's own: it reassembles what is its own.
  const Bytes frag = c2d6(ipv6(kC6, kD6, 44, [] {
    Bytes b = ip6_frag(17, 8, false, 0x01020304);
    b.resize(b.size() + 16, 0xab);
    return b;
  }()));
  run_steps(p,
            {{"TCP to the host's address", 0, syn, {}, {}},
             {"UDP past hop-by-hop, destination options and routing headers", 0, udp_chain, {}, {}},
             {"ICMPv6 echo request: the host answers it", 0, echo, {}, {}},
             {"link-local TCP", 0, link_local, {}, {}},
             {"a non-first fragment", 0, frag, {}, {}}});
  EXPECT_EQ(k.take(), (std::vector<Bytes>{syn, udp_chain, echo, link_local, frag}));
  EXPECT_EQ(p.w.ctr.to_kernel.get(), 5u);
  EXPECT_EQ(p.w.ctr.to_kernel_ctl.get(), 0u);
}

TEST(Ipv6Fixtures, NeighbourDiscoveryAndMldRideTheControlBudget) {
  Pipeline p;
  KernelRing k(p, "fx6_kernel_ctl");
  p.w.kernel_bucket = TokenBucket::tenth_deep(0);  // the general budget spent
  const Bytes ns = eth(kSolicitedMac, kClient, 0x86dd, solicitation(kC6, "ff02::1:ff00:200", kD6));
  const Bytes dad =
      eth(kSolicitedMac, kClient, 0x86dd, solicitation("::", "ff02::1:ff00:200", kD6));
  const Bytes mld2 = eth(mac("33:33:00:00:00:16"), kClient, 0x86dd,
                         ipv6("fe80::c200:ff:fe00:a", "ff02::16", 58,
                              icmp6("fe80::c200:ff:fe00:a", "ff02::16", 143, 0, {0, 0, 0, 0}), 1));
  const Bytes echo = c2d6(ipv6(kC6, kD6, 58, icmp6(kC6, kD6, 128, 0, {0, 7, 0, 1})));
  run_steps(p,
            {{"a neighbour solicitation", 0, ns, {}, {}},
             {"duplicate address detection's, from ::", 0, dad, {}, {}},
             {"an MLDv2 report", 0, mld2, {}, {}},
             {"an echo request spends the general budget", 0, echo, {}, Drop::kernel_path_limit}});
  EXPECT_EQ(k.take(), (std::vector<Bytes>{ns, dad, mld2}));
  EXPECT_EQ(p.w.ctr.to_kernel_ctl.get(), 3u);
}

TEST(Ipv6Fixtures, WithoutAKernelPathNothingTakesIpv6) {
  Pipeline p;
  run_steps(p,
            {{"TCP to an IPv6 address", 0, c2d6(tcp6(kC6, kD6, 40000, 22)), {}, Drop::no_service}});
}

TEST(Ipv6Fixtures, WhatIp6RcvCoreRefuses) {
  Pipeline p;
  KernelRing k(p, "fx6_kernel_refused");
  run_steps(
      p,
      {{"unicast to another host's MAC",
        0,
        c2d6(tcp6(kC6, kD6, 40000, 22), mac("02:99:99:99:99:99")),
        {},
        Drop::other_host},
       {"a multicast source", 0, c2d6(tcp6("ff02::1", kD6, 40000, 22)), {}, Drop::martian_source},
       {"a loopback source", 0, c2d6(tcp6("::1", kD6, 40000, 22)), {}, Drop::martian_source},
       {"an IPv4-mapped source",
        0,
        c2d6(tcp6("::ffff:10.0.0.1", kD6, 40000, 22)),
        {},
        Drop::martian_source},
       {"to loopback", 0, c2d6(tcp6(kC6, "::1", 40000, 22)), {}, Drop::martian_dest},
       {"to an IPv4-mapped address",
        0,
        c2d6(tcp6(kC6, "::ffff:10.0.0.2", 40000, 22)),
        {},
        Drop::martian_dest},
       {"to interface-local multicast",
        0,
        eth(mac("33:33:00:00:00:01"), kClient, 0x86dd, tcp6(kC6, "ff01::1", 40000, 22)),
        {},
        Drop::martian_dest},
       {"to multicast of the reserved scope 0",
        0,
        eth(mac("33:33:00:00:00:01"), kClient, 0x86dd, tcp6(kC6, "ff00::1", 40000, 22)),
        {},
        Drop::martian_dest}});
  EXPECT_TRUE(k.take().empty());
}

// An IPv6 header carrying `payload` whose first header is `nh`, from the client to the host.
Bytes chain(uint8_t nh, const Bytes& payload) {
  return c2d6(ipv6(kC6, kD6, nh, payload));
}

TEST(Ipv6Fixtures, MalformedHeaderChainsDroppedByReason) {
  Pipeline p;
  KernelRing k(p, "fx6_kernel_malformed");
  const Bytes u = udp(kC6, kD6, 5000, 53, {1, 2, 3, 4});
  const Bytes good = chain(17, u);
  // Nine destination options headers (PadN of 4 each): one more than the bound.
  Bytes long_chain;
  for (int i = 0; i < 9; ++i)
    long_chain = cat({long_chain, ip6_ext(i < 8 ? 60 : 17, {1, 4, 0, 0, 0, 0})});
  Bytes cut_hdr = good;
  cut_hdr.resize(14 + 39);
  Bytes long_payload = good;
  long_payload[14 + 5] += 1;  // one byte more than the frame holds
  Bytes version4 = good;
  version4[14] = 0x45;
  run_steps(
      p,
      {{"IPv6 header cut", 0, cut_hdr, {}, Drop::ip6_truncated},
       {"version 4 in an IPv6 frame", 0, version4, {}, Drop::ip_version},
       {"payload length beyond the frame", 0, long_payload, {}, Drop::ip6_payload_length},
       {"an extension header cut",
        0,
        chain(60, {17, 1, 1, 4, 0, 0, 0, 0}),
        {},
        Drop::ip6_ext_truncated},
       {"hop-by-hop after destination options",
        0,
        chain(60, cat({ip6_ext(0, {1, 4, 0, 0, 0, 0}), ip6_ext(17, {1, 4, 0, 0, 0, 0}), u})),
        {},
        Drop::ip6_ext_order},
       {"nine extension headers", 0, chain(60, cat({long_chain, u})), {}, Drop::ip6_ext_chain},
       {"an option longer than its header",
        0,
        chain(60, cat({ip6_ext(17, {1, 5, 0, 0, 0, 0}), u})),
        {},
        Drop::ip6_options},
       {"a routing header with segments left (source routing)",
        0,
        chain(43,
              cat({ip6_ext(17, {0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}),
                   u})),
        {},
        Drop::ip_source_route},
       {"a fragment not the last, not a multiple of 8 bytes",
        0,
        chain(44, cat({ip6_frag(17, 0, true, 9), Bytes(u.begin(), u.begin() + 10)})),
        {},
        Drop::frag_malformed},
       {"a first fragment without its upper-layer header",
        0,
        chain(44, cat({ip6_frag(6, 0, true, 9), Bytes(8, 0)})),
        {},
        Drop::frag_malformed},
       {"a fragment past 64 KiB",
        0,
        chain(44, cat({ip6_frag(17, 65528, false, 9), Bytes(16, 0)})),
        {},
        Drop::frag_malformed},
       {"TCP cut", 0, chain(6, Bytes(12, 0)), {}, Drop::l4_truncated},
       {"the good packet still goes to the host", 0, good, {}, {}}});
  EXPECT_EQ(k.take(), std::vector<Bytes>{good});
}

// The director's own IPv6 addresses: neighbour discovery answered and learned from, echo
// answered, as ARP and echo for IPv4. (The address is put in the snapshot directly: the
// configuration takes IPv6 addresses in a later step.)
struct Nd {
  explicit Nd(Pipeline& p, const char* name) : p(p), k(p, name) {
    SnapAddr6 a;
    const Bytes ours = ip6(kD6);
    std::copy(ours.begin(), ours.end(), a.ip);
    a.prefix_len = 64;
    a.port = 0;
    p.snap->addrs6.push_back(a);
    SnapRoute6 connected;  // its subnet, 2001:db8:fe::/64, on dpdk0
    std::copy(ours.begin(), ours.begin() + 8, connected.prefix);
    connected.len = 64;
    p.snap->routes6.push_back(connected);
    learn = rte_ring_create_elem((std::string(name) + "l").c_str(), sizeof(NeighLearn6), 64, 0,
                                 RING_F_SP_ENQ | RING_F_SC_DEQ);
    p.w.neigh6 = &neigh6;
    p.w.neigh_learn6 = learn;
  }
  ~Nd() {
    p.w.neigh6 = nullptr;
    p.w.neigh_learn6 = nullptr;
    rte_ring_free(learn);
  }
  void known(const std::string& ip, const Mac& m) {
    Ip6Key k;
    const Bytes b = ip6(ip);
    std::copy(b.begin(), b.end(), k.b);
    MacAddr a;
    std::copy(m.b, m.b + 6, a.begin());
    neigh6.set(k, 0, a, NeighState::Reachable);
  }
  // What the worker told control it learned: (address, MAC) pairs.
  std::vector<std::pair<std::string, std::string>> learned() {
    std::vector<std::pair<std::string, std::string>> got;
    NeighLearn6 nl;
    while (rte_ring_dequeue_elem(learn, &nl, sizeof nl) == 0) {
      char buf[INET6_ADDRSTRLEN];
      inet_ntop(AF_INET6, nl.ip.b, buf, sizeof buf);
      MacAddr m;
      std::copy(nl.mac, nl.mac + 6, m.begin());
      got.emplace_back(buf, format_mac(m));
    }
    return got;
  }
  Pipeline& p;
  KernelRing k;
  NeighTable6 neigh6;
  rte_ring* learn = nullptr;
};

// A neighbour advertisement as RFC 4861 4.4 lays it out, with the target link-layer option.
Bytes advert(const std::string& src, const std::string& dst, const std::string& target,
             uint8_t flags, const Mac& ll, uint8_t hlim = 255) {
  const Bytes body = cat({{flags, 0, 0, 0}, ip6(target), {2, 1}, Bytes(ll.b, ll.b + 6)});
  return ipv6(src, dst, 58, icmp6(src, dst, 136, 0, body), hlim);
}

TEST(Ipv6Fixtures, NeighbourSolicitationsForOurAddressesAnswered) {
  Pipeline p;
  Nd nd(p, "fx6_nd");
  const Bytes ns = eth(kSolicitedMac, kClient, 0x86dd, solicitation(kC6, "ff02::1:ff00:200", kD6));
  // Duplicate address detection's: from ::, without a source link-layer option.
  const Bytes dad =
      eth(kSolicitedMac, kClient, 0x86dd,
          ipv6("::", "ff02::1:ff00:200", 58,
               icmp6("::", "ff02::1:ff00:200", 135, 0, cat({{0, 0, 0, 0}, ip6(kD6)})), 255));
  run_steps(p, {{"a solicitation from a client",
                 0,
                 ns,
                 {{0, eth(kClient, kPort0, 0x86dd, advert(kD6, kC6, kD6, 0x60, kPort0))}},
                 {}},
                {"duplicate address detection's",
                 0,
                 dad,
                 {{0, eth(mac("33:33:00:00:00:01"), kPort0, 0x86dd,
                          advert(kD6, "ff02::1", kD6, 0x20, kPort0))}},
                 {}}});
  EXPECT_EQ(nd.learned(),
            (std::vector<std::pair<std::string, std::string>>{{kC6, "c0:00:00:00:00:0a"}}));
  EXPECT_EQ(p.w.ctr.nd_adverts.get(), 2u);
  EXPECT_TRUE(nd.k.take().empty());
  // For an address that is not ours: the host's.
  const Bytes other = eth(kSolicitedMac, kClient, 0x86dd,
                          solicitation(kC6, "ff02::1:ff00:201", "2001:db8:fe::201"));
  run_steps(p, {{"for another address", 0, other, {}, {}}});
  EXPECT_EQ(nd.k.take(), std::vector<Bytes>{other});
}

TEST(Ipv6Fixtures, BadSolicitationsDroppedByReason) {
  Pipeline p;
  Nd nd(p, "fx6_nd_bad");
  Bytes hop64 = eth(kSolicitedMac, kClient, 0x86dd, solicitation(kC6, "ff02::1:ff00:200", kD6));
  hop64[14 + 7] = 64;  // the checksum does not cover the hop limit
  Bytes bad_sum = eth(kSolicitedMac, kClient, 0x86dd, solicitation(kC6, "ff02::1:ff00:200", kD6));
  bad_sum[14 + 40 + 2] ^= 1;
  const Bytes zero_opt = eth(kSolicitedMac, kClient, 0x86dd,
                             ipv6(kC6, "ff02::1:ff00:200", 58,
                                  icmp6(kC6, "ff02::1:ff00:200", 135, 0,
                                        cat({{0, 0, 0, 0}, ip6(kD6), {1, 0, 0, 0, 0, 0, 0, 0}})),
                                  255));
  const Bytes dad_with_sll =
      eth(kSolicitedMac, kClient, 0x86dd, solicitation("::", "ff02::1:ff00:200", kD6));
  run_steps(p,
            {{"hop limit not 255 (from off the link)", 0, hop64, {}, Drop::nd_malformed},
             {"bad checksum", 0, bad_sum, {}, Drop::nd_malformed},
             {"an option of length 0", 0, zero_opt, {}, Drop::nd_malformed},
             {"from :: with a source link-layer option", 0, dad_with_sll, {}, Drop::nd_malformed}});
  p.w.arp_bucket = TokenBucket::tenth_deep(0);
  run_steps(p, {{"over ARP's rate limit",
                 0,
                 eth(kSolicitedMac, kClient, 0x86dd, solicitation(kC6, "ff02::1:ff00:200", kD6)),
                 {},
                 Drop::nd_rate_limited}});
  EXPECT_TRUE(nd.learned().empty());
  EXPECT_TRUE(nd.k.take().empty());
}

TEST(Ipv6Fixtures, AdvertisementsLearnedAsArpIs) {
  Pipeline p;
  Nd nd(p, "fx6_na");
  const Mac rs = mac("aa:00:00:00:06:18");
  // The answer to our solicitation (to our address): learned, and the host sees it too.
  const Bytes to_us =
      eth(kPort0, rs, 0x86dd, advert("2001:db8:fe::18", kD6, "2001:db8:fe::18", 0x60, rs));
  // Heard, unsolicited, of a neighbour not known: not learned.
  const Bytes heard = eth(mac("33:33:00:00:00:01"), rs, 0x86dd,
                          advert("2001:db8:fe::19", "ff02::1", "2001:db8:fe::19", 0x20, rs));
  // Of a known one with a new MAC: learned.
  MacAddr old{};
  old[0] = 0xaa;
  nd.neigh6.set(Ip6Key{}, 0, old, NeighState::Reachable);  // :: is refused: no entry
  Ip6Key known;
  const Bytes k6 = ip6("2001:db8:fe::20");
  std::copy(k6.begin(), k6.end(), known.b);
  nd.neigh6.set(known, 0, old, NeighState::Reachable);
  const Bytes moved = eth(mac("33:33:00:00:00:01"), rs, 0x86dd,
                          advert("2001:db8:fe::20", "ff02::1", "2001:db8:fe::20", 0x20, rs));
  // Off the subnet: not learned (a neighbour is on a link of ours).
  const Bytes stranger =
      eth(kPort0, rs, 0x86dd, advert("2001:db8:99::1", kD6, "2001:db8:99::1", 0x60, rs));
  run_steps(p, {{"to us", 0, to_us, {}, {}},
                {"heard, unknown", 0, heard, {}, {}},
                {"heard, known, moved", 0, moved, {}, {}},
                {"off our subnets", 0, stranger, {}, {}}});
  EXPECT_EQ(nd.learned(), (std::vector<std::pair<std::string, std::string>>{
                              {"2001:db8:fe::18", "aa:00:00:00:06:18"},
                              {"2001:db8:fe::20", "aa:00:00:00:06:18"}}));
  EXPECT_EQ(nd.k.take(), (std::vector<Bytes>{to_us, heard, moved, stranger}));
}

TEST(Ipv6Fixtures, EchoToOurAddressAnswered) {
  Pipeline p;
  Nd nd(p, "fx6_echo");
  nd.known(kC6, kClient);
  const Bytes body{0, 7, 0, 1, 'p', 'i', 'n', 'g'};
  const Bytes req = c2d6(ipv6(kC6, kD6, 58, icmp6(kC6, kD6, 128, 0, body), 61));
  const Bytes rep = eth(kClient, kPort0, 0x86dd, ipv6(kD6, kC6, 58, icmp6(kD6, kC6, 129, 0, body)));
  // Behind a destination options header: answered without it.
  const Bytes req_opts = c2d6(
      ipv6(kC6, kD6, 60, cat({ip6_ext(58, {1, 4, 0, 0, 0, 0}), icmp6(kC6, kD6, 128, 0, body)})));
  Bytes bad = req;
  bad.back() ^= 1;
  // Padded to a longer frame: the answer is the packet's length.
  Bytes padded = req;
  padded.resize(padded.size() + 10, 0);
  run_steps(p, {{"echo request", 0, req, {{0, rep}}, {}},
                {"behind destination options", 0, req_opts, {{0, rep}}, {}},
                {"with padding", 0, padded, {{0, rep}}, {}},
                {"bad checksum", 0, bad, {}, Drop::icmp_checksum}});
  p.w.echo_bucket = TokenBucket::tenth_deep(0);
  run_steps(p, {{"over the echo limit", 0, req, {}, Drop::echo_rate_limited}});
  EXPECT_TRUE(nd.k.take().empty());
}

// An answer to a neighbour not yet known is lost while it is solicited (as the kernel resolves,
// and as ARP does here), at most one solicitation a second; once known, answers go to its MAC.
// Off our subnets, no route: dropped.
TEST(Ipv6Fixtures, NextHopsSolicited) {
  Pipeline p;
  Nd nd(p, "fx6_nh");
  const Bytes req = c2d6(ipv6(kC6, kD6, 58, icmp6(kC6, kD6, 128, 0, {0, 9, 0, 1})));
  // RFC 4861 4.3: from our address on the subnet, to the target's solicited-node group.
  const std::string group = "ff02::1:ff00:10";
  const Bytes ns =
      eth(mac("33:33:ff:00:00:10"), kPort0, 0x86dd,
          ipv6(kD6, group, 58,
               icmp6(kD6, group, 135, 0,
                     cat({{0, 0, 0, 0}, ip6(kC6), {1, 1}, Bytes(kPort0.b, kPort0.b + 6)})),
               255));
  run_steps(p, {{"the client unknown: solicited, the answer waits", 0, req, {{0, ns}}, {}},
                {"again within the second: not solicited again", 0, req, {}, {}}});
  EXPECT_EQ(p.w.ctr.nd_solicits.get(), 1u);
  EXPECT_EQ(p.w.npending, 2u);
  nd.known(kC6, kClient);
  const std::string ll_group = "ff02::1:ff00:a";
  const Bytes ns_ll = eth(mac("33:33:ff:00:00:0a"), kPort0, 0x86dd,
                          ipv6(kD6, ll_group, 58,
                               icmp6(kD6, ll_group, 135, 0,
                                     cat({{0, 0, 0, 0},
                                          ip6("fe80::c200:ff:fe00:a"),
                                          {1, 1},
                                          Bytes(kPort0.b, kPort0.b + 6)})),
                               255));
  run_steps(
      p,
      {{"known: the two waiting answers go first, then this one's",
        0,
        req,
        {{0,
          eth(kClient, kPort0, 0x86dd, ipv6(kD6, kC6, 58, icmp6(kD6, kC6, 129, 0, {0, 9, 0, 1})))},
         {0,
          eth(kClient, kPort0, 0x86dd, ipv6(kD6, kC6, 58, icmp6(kD6, kC6, 129, 0, {0, 9, 0, 1})))},
         {0,
          eth(kClient, kPort0, 0x86dd, ipv6(kD6, kC6, 58, icmp6(kD6, kC6, 129, 0, {0, 9, 0, 1})))}},
        {}},
       {"from a link-local address: back on the link it came from, never routed",
        0,
        c2d6(ipv6("fe80::c200:ff:fe00:a", kD6, 58,
                  icmp6("fe80::c200:ff:fe00:a", kD6, 128, 0, {0, 9, 0, 3}))),
        {{0, ns_ll}},
        {}},
       {"from off our subnets: no route back",
        0,
        c2d6(ipv6("2001:db8:77::1", kD6, 58, icmp6("2001:db8:77::1", kD6, 128, 0, {0, 9, 0, 2}))),
        {},
        Drop::no_route}});
  EXPECT_EQ(p.w.npending, 1u);  // the link-local answer, waiting for its neighbour
}

// Once the link-local neighbour is known, its answer goes to it on the port the request came in
// on, even with a default route through a router.
TEST(Ipv6Fixtures, LinkLocalAnswersStayOnTheLink) {
  Pipeline p;
  Nd nd(p, "fx6_ll");
  const std::string ll = "fe80::c200:ff:fe00:a";
  nd.known(ll, kClient);
  nd.known("fe80::1", kGw);
  SnapRoute6 def;  // ::/0 via fe80::1 on dpdk0
  const Bytes gw = ip6("fe80::1");
  std::copy(gw.begin(), gw.end(), def.via);
  def.has_via = true;
  p.snap->routes6.push_back(def);
  run_steps(p, {{"echo from a link-local address",
                 0,
                 c2d6(ipv6(ll, kD6, 58, icmp6(ll, kD6, 128, 0, {0, 9, 0, 4}))),
                 {{0, eth(kClient, kPort0, 0x86dd,
                          ipv6(kD6, ll, 58, icmp6(kD6, ll, 129, 0, {0, 9, 0, 4})))}},
                 {}}});
}

}  // namespace
}  // namespace fastvs::testing
