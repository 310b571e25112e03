// ipvsadm's output formats against golden text. Each golden names the ipvsadm 1.31 code that
// produces it (ipvsadm.c unless said otherwise); trailing blanks are part of the format and are
// kept inside the quotes.
#include <sys/stat.h>

#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "common/grammar/command.h"
#include "control/config/loader.h"
#include "control/report/ipvsadm_print.h"
#include "common/net.h"

namespace fastvs {
namespace {

constexpr IpAddr ip(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return IpAddr::v4(uint32_t{a} << 24 | uint32_t{b} << 16 | uint32_t{c} << 8 | d);
}
constexpr uint32_t ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return ip(a, b, c, d).v4();
}

// The seeds' two-arm NAT lab (README's lab.conf) with a second service, UDP 53, as in
// tests/process/test_pcap_nat.py.
constexpr const char* kAddrs =
    "ip addr add 172.16.254.200/24 dev dpdk0\n"
    "ip addr add 192.168.0.8/24 dev dpdk1\n"
    "ip route add default via 172.16.254.1 dev dpdk0\n";

constexpr const char* kSeedServices =
    "-A -t 172.16.254.200:80 -s wrr\n"
    "-a -t 172.16.254.200:80 -r 192.168.0.18:80 -m -w 1\n"
    "-a -t 172.16.254.200:80 -r 192.168.0.28:80 -m -w 1\n"
    "-A -u 172.16.254.200:53 -s rr\n"
    "-a -u 172.16.254.200:53 -r 192.168.0.18:53 -m -w 1\n"
    "-a -u 172.16.254.200:53 -r 192.168.0.28:53 -m -w 1\n";

Config load(const std::string& services_text) {
  Result<Config> r = load_config_text(std::string(kAddrs) + services_text, "test.conf", 2);
  EXPECT_TRUE(r.ok()) << r.error();
  return r ? *r : Config{};
}

// What the control thread would hand the printer: the configuration, zero counters.
std::vector<ServiceStatus> status_of(const Config& cfg) {
  std::vector<ServiceStatus> out;
  for (const ServiceConfig& s : cfg.services) {
    ServiceStatus st;
    st.cfg = s;
    for (const DestConfig& d : s.dests) {
      DestStatus ds;
      ds.cfg = d;
      st.dests.push_back(ds);
    }
    out.push_back(st);
  }
  return out;
}

DestStatus dest(IpAddr rip, uint16_t rport, ForwardMethod m = ForwardMethod::Masq,
                int32_t weight = 1) {
  DestStatus d;
  d.cfg.rip = rip;
  d.cfg.rport = rport;
  d.cfg.method = m;
  d.cfg.weight = weight;
  return d;
}

ServiceStatus service(Proto proto, IpAddr vip, uint16_t vport, const std::string& sched,
                      std::vector<DestStatus> dests = {}) {
  ServiceStatus s;
  s.cfg.key = {proto, vip, vport};
  s.cfg.scheduler = sched;
  s.dests = std::move(dests);
  return s;
}

// print_title's default header (printf of a literal).
constexpr const char* kHeader =
    "Prot LocalAddress:Port Scheduler Flags\n"
    "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n";

// A printable picture of every field of a Config (list order included).
std::string dump(const Config& c) {
  std::ostringstream o;
  for (const auto& s : c.services) {
    o << "svc " << proto_name(s.key.proto) << " " << format_ip(s.key.vip) << ":" << s.key.vport
      << " " << s.scheduler << " " << s.sched_flags << "\n";
    for (const auto& d : s.dests) {
      o << "  dest " << format_ip(d.rip) << ":" << d.rport << " " << method_name(d.method) << " "
        << d.weight << " " << d.u_threshold << " " << d.l_threshold << "\n";
    }
  }
  return o.str();
}

// ---------------------------------------------------------------------------------------------
// -L -n

TEST(ListNumeric, SeedNatConfig) {
  std::vector<ServiceStatus> st = status_of(load(kSeedServices));
  st[0].dests[0].activeconns = 3;  // 192.168.0.28:80 (the kernel's list has it first)
  st[0].dests[1].inactconns = 12;  // 192.168.0.18:80
  ListOptions o;
  o.numeric = true;
  // list_all: "IP Virtual Server version %d.%d.%d (size=%d)\n"; print_title; then per service
  // print_service_entry: "%s %s" with svc_name "%-4s %s", and per destination
  // "  -> %-28s %-7s %-6d %-10u %-10u\n". TCP (6) sorts before UDP (17).
  EXPECT_EQ(format_list(st, o, 262144),
            "IP Virtual Server version 1.2.1 (size=262144)\n"
            "Prot LocalAddress:Port Scheduler Flags\n"
            "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
            "TCP  172.16.254.200:80 wrr\n"
            "  -> 192.168.0.18:80              Masq    1      0          12        \n"
            "  -> 192.168.0.28:80              Masq    1      3          0         \n"
            "UDP  172.16.254.200:53 rr\n"
            "  -> 192.168.0.18:53              Masq    1      0          0         \n"
            "  -> 192.168.0.28:53              Masq    1      0          0         \n");
}

TEST(ListNumeric, EmptyTable) {
  ListOptions o;
  o.numeric = true;
  EXPECT_EQ(format_list({}, o, 4096),
            std::string("IP Virtual Server version 1.2.1 (size=4096)\n") + kHeader);
}

TEST(ListNumeric, SortsServicesAndDestinations) {
  // Added out of order; the kernel's list puts each new destination first, so the model holds
  // .38, .18:8080, .18:80, .28 and the printer must sort them.
  const Config cfg = load(
      "-A -u 172.16.254.200:53 -s rr\n"
      "-A -t 172.16.254.200:443 -s wlc\n"
      "-A -t 172.16.254.201:80 -s lc\n"
      "-A -t 172.16.254.200:80 -s wrr\n"
      "-a -t 172.16.254.200:80 -r 192.168.0.28:80 -m -w 2\n"
      "-a -t 172.16.254.200:80 -r 192.168.0.18:80 -m -w 3\n"
      "-a -t 172.16.254.200:80 -r 192.168.0.18:8080 -m -w 4\n"
      "-a -t 172.16.254.200:80 -r 192.168.0.38:80 -m -w 0\n");
  ASSERT_EQ(cfg.services[3].dests.size(), 4u);
  EXPECT_EQ(cfg.services[3].dests[0].rip, ip(192, 168, 0, 38));  // kernel list order
  ListOptions o;
  o.numeric = true;
  // libipvs ipvs_cmp_services (protocol, address, port) and ipvs_cmp_dests (address, port).
  EXPECT_EQ(format_list(status_of(cfg), o, 4096),
            std::string("IP Virtual Server version 1.2.1 (size=4096)\n") + kHeader +
                "TCP  172.16.254.200:80 wrr\n"
                "  -> 192.168.0.18:80              Masq    3      0          0         \n"
                "  -> 192.168.0.18:8080            Masq    4      0          0         \n"
                "  -> 192.168.0.28:80              Masq    2      0          0         \n"
                "  -> 192.168.0.38:80              Masq    0      0          0         \n"
                "TCP  172.16.254.200:443 wlc\n"
                "TCP  172.16.254.201:80 lc\n"
                "UDP  172.16.254.200:53 rr\n");
}

TEST(ListNumeric, AddressOrderKeepsLibipvsWrap) {
  // ipvs_cmp_services/ipvs_cmp_dests compute `int r = ntohl(a) - ntohl(b)`: for addresses 2^31
  // or more apart the sign flips, so ipvsadm lists 172.16.254.200 before 10.0.0.1 and
  // 192.168.0.18 before 10.0.0.5.
  std::vector<ServiceStatus> st;
  st.push_back(service(Proto::Tcp, ip(10, 0, 0, 1), 80, "rr",
                       {dest(ip(10, 0, 0, 5), 80), dest(ip(192, 168, 0, 18), 80)}));
  st.push_back(service(Proto::Tcp, ip(172, 16, 254, 200), 80, "rr"));
  ListOptions o;
  o.numeric = true;
  EXPECT_EQ(format_list(st, o, 4096),
            std::string("IP Virtual Server version 1.2.1 (size=4096)\n") + kHeader +
                "TCP  172.16.254.200:80 rr\n"
                "TCP  10.0.0.1:80 rr\n"
                "  -> 192.168.0.18:80              Masq    1      0          0         \n"
                "  -> 10.0.0.5:80                  Masq    1      0          0         \n");
}

// glibc's qsort with libipvs's comparator, on plain addresses: the reference for the order when
// the comparator is not a strict weak order (addresses spread over more than 2^31).
int libipvs_cmp_addr(const void* a, const void* b) {
  const uint32_t x = *static_cast<const uint32_t*>(a);
  const uint32_t y = *static_cast<const uint32_t*>(b);
  return static_cast<int>(x - y);
}

TEST(ListNumeric, OrderMatchesGlibcQsortEvenWhenIntransitive) {
  const std::vector<std::vector<uint32_t>> cases = {
      {0x00000001, 0x60000001, 0xc0000001},
      {0xc0000001, 0x60000001, 0x00000001},
      {0x60000001, 0xc0000001, 0x00000001, 0x90000001, 0x30000001, 0xf0000001, 0x0a000001},
      {ip4(10, 0, 0, 1), ip4(192, 168, 0, 1), ip4(172, 16, 0, 1), ip4(127, 0, 0, 2),
       ip4(200, 1, 1, 1), ip4(1, 1, 1, 1), ip4(100, 64, 0, 1), ip4(224, 0, 0, 9)},
  };
  for (const auto& addrs : cases) {
    std::vector<uint32_t> want = addrs;
    std::qsort(want.data(), want.size(), sizeof(uint32_t), libipvs_cmp_addr);
    ServiceStatus s = service(Proto::Tcp, ip(172, 16, 254, 200), 80, "rr");
    for (uint32_t a : addrs) s.dests.push_back(dest(IpAddr::v4(a), 80));
    ListOptions o;
    o.numeric = true;
    std::string expected = kHeader + std::string("TCP  172.16.254.200:80 rr\n");
    for (uint32_t a : want) {
      const std::string name = format_ip4(a) + ":80";
      expected += "  -> " + name + std::string(28 - name.size(), ' ') +
                  " Masq    1      0          0         \n";
    }
    EXPECT_EQ(format_list_service(s, o), expected);
  }
}

TEST(ListNumeric, ForwardNamesAndSchedFlags) {
  DestStatus local = dest(ip(192, 168, 0, 8), 80, ForwardMethod::Masq, 5);
  local.local_node = true;
  ServiceStatus s = service(Proto::Tcp, ip(172, 16, 254, 200), 80, "sh",
                            {dest(ip(192, 168, 0, 28), 80, ForwardMethod::Tunnel, 65535),
                             dest(ip(192, 168, 0, 18), 80, ForwardMethod::Route, 0), local,
                             dest(ip(192, 168, 0, 38), 80, ForwardMethod::Masq, 100)});
  s.cfg.sched_flags = kSchedShFallback | kSchedShPort;
  s.dests[0].activeconns = 1234567;
  s.dests[0].inactconns = -1;  // a u32 in the kernel, printed with %u
  ListOptions o;
  o.numeric = true;
  // fwd_name: Masq/Local/Tunnel/Route; print_sched_flags inside " (" ")" for sh.
  EXPECT_EQ(format_list_service(s, o),
            std::string(kHeader) +
                "TCP  172.16.254.200:80 sh (sh-fallback,sh-port)\n"
                "  -> 192.168.0.8:80               Local   5      0          0         \n"
                "  -> 192.168.0.18:80              Route   0      0          0         \n"
                "  -> 192.168.0.28:80              Tunnel  65535  1234567    4294967295\n"
                "  -> 192.168.0.38:80              Masq    100    0          0         \n");

  s.cfg.sched_flags = kSchedShPort;
  s.dests.clear();
  EXPECT_EQ(format_list_service(s, o),
            std::string(kHeader) + "TCP  172.16.254.200:80 sh (sh-port)\n");
  // mh reads the same two bits under its own names.
  s.cfg.scheduler = "mh";
  s.cfg.sched_flags = kSchedMhFallback | kSchedMhPort;
  EXPECT_EQ(format_list_service(s, o),
            std::string(kHeader) + "TCP  172.16.254.200:80 mh (mh-fallback,mh-port)\n");
  s.cfg.sched_flags = kSchedMhFallback;
  EXPECT_EQ(format_list_service(s, o),
            std::string(kHeader) + "TCP  172.16.254.200:80 mh (mh-fallback)\n");
  // Other schedulers get the generic names (ipvsadm's parse_sched_flags accepts flag-N anywhere).
  s.cfg.scheduler = "wrr";
  s.cfg.sched_flags = kSchedShFallback | kSchedShPort;
  EXPECT_EQ(format_list_service(s, o),
            std::string(kHeader) + "TCP  172.16.254.200:80 wrr (flag-1,flag-2)\n");
  // IP_VS_SVC_F_SCHED3: flag-3 for the others; sh and mh have no name for it (none printed).
  s.cfg.sched_flags = kSchedFlag3;
  EXPECT_EQ(format_list_service(s, o),
            std::string(kHeader) + "TCP  172.16.254.200:80 wrr (flag-3)\n");
  s.cfg.scheduler = "sh";
  EXPECT_EQ(format_list_service(s, o), std::string(kHeader) + "TCP  172.16.254.200:80 sh\n");
}

TEST(ListNumeric, ListOneServiceHasNoVersionLine) {
  // list_service: print_title + print_service_entry, without list_all's first line.
  const std::vector<ServiceStatus> st = status_of(load(kSeedServices));
  ListOptions o;
  o.numeric = true;
  EXPECT_EQ(format_list_service(st[1], o),
            std::string(kHeader) +
                "UDP  172.16.254.200:53 rr\n"
                "  -> 192.168.0.18:53              Masq    1      0          0         \n"
                "  -> 192.168.0.28:53              Masq    1      0          0         \n");
}

// ---------------------------------------------------------------------------------------------
// --stats, --rate, --exact

// Counters that reach every branch of print_largenum.
void set_counters(ServiceStatus& s) {
  s.conns = 0;
  s.inpkts = 99999999;                 // < 100 million: "%9llu"
  s.outpkts = 100000000;               // < 1 billion: "%8lluK" of /1000
  s.inbytes = 99999999999;             // < 100 billion: "%8lluM" of /1000000
  s.outbytes = 123456789012;           // < 100 trillion: "%8lluG" of /1e9
  s.cps = 123456789;                   // K
  s.inpps = 7;                         // small: "%9llu"
  s.outpps = 1000000000;               // M
  s.inbps = 100000000000000;           // T
  s.outbps = 18446744073709551615ULL;  // T
}

std::vector<ServiceStatus> stats_table() {
  std::vector<ServiceStatus> st = status_of(load(kSeedServices));
  set_counters(st[0]);
  DestStatus& d28 = st[0].dests[0];  // 192.168.0.28:80
  d28.conns = 12;
  d28.inpkts = 345;
  d28.outpkts = 300;
  d28.inbytes = 123456789;
  d28.outbytes = 987654321098;
  d28.cps = 123456789;  // printed "%8llu" on a destination line: never scaled
  d28.inpps = 2;
  d28.outpps = 3;
  d28.inbps = 1500000000;
  d28.outbps = 45;
  return st;
}

TEST(ListStats, Scaled) {
  ListOptions o;
  o.numeric = true;
  o.stats = true;
  // print_title: "%-33s %8s %8s %8s %8s %8s\n  -> RemoteAddress:Port\n"; service line "%-33s"
  // then print_largenum x5; destination line "  -> %-28s" then print_largenum x5.
  EXPECT_EQ(format_list(stats_table(), o, 262144),
            "IP Virtual Server version 1.2.1 (size=262144)\n"
            "Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n"
            "  -> RemoteAddress:Port\n"
            "TCP  172.16.254.200:80                   0 99999999  100000K   99999M     123G\n"
            "  -> 192.168.0.18:80                     0        0        0        0        0\n"
            "  -> 192.168.0.28:80                    12      345      300  123456K     987G\n"
            "UDP  172.16.254.200:53                   0        0        0        0        0\n"
            "  -> 192.168.0.18:53                     0        0        0        0        0\n"
            "  -> 192.168.0.28:53                     0        0        0        0        0\n");
}

TEST(ListStats, Exact) {
  ListOptions o;
  o.numeric = true;
  o.stats = true;
  o.exact = true;
  // print_largenum with FMT_EXACT: printf("%*llu", len <= 8 ? 9 : len + 1, i).
  const std::string out = format_list(stats_table(), o, 262144);
  EXPECT_EQ(out,
            "IP Virtual Server version 1.2.1 (size=262144)\n"
            "Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n"
            "  -> RemoteAddress:Port\n"
            "TCP  172.16.254.200:80                   0 99999999 100000000 99999999999 "
            "123456789012\n"
            "  -> 192.168.0.18:80                     0        0        0        0        0\n"
            "  -> 192.168.0.28:80                    12      345      300 123456789 "
            "987654321098\n"
            "UDP  172.16.254.200:53                   0        0        0        0        0\n"
            "  -> 192.168.0.18:53                     0        0        0        0        0\n"
            "  -> 192.168.0.28:53                     0        0        0        0        0\n");
}

TEST(ListRate, Scaled) {
  ListOptions o;
  o.numeric = true;
  o.rate = true;
  // Title as --stats with CPS InPPS OutPPS InBPS OutBPS; service line print_largenum x5;
  // destination line "  -> %-28s %8llu %8llu %8llu" then print_largenum x2.
  EXPECT_EQ(format_list(stats_table(), o, 262144),
            "IP Virtual Server version 1.2.1 (size=262144)\n"
            "Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS\n"
            "  -> RemoteAddress:Port\n"
            "TCP  172.16.254.200:80             123456K        7    1000M     100T18446744T\n"
            "  -> 192.168.0.18:80                     0        0        0        0        0\n"
            "  -> 192.168.0.28:80              123456789        2        3    1500M       45\n"
            "UDP  172.16.254.200:53                   0        0        0        0        0\n"
            "  -> 192.168.0.18:53                     0        0        0        0        0\n"
            "  -> 192.168.0.28:53                     0        0        0        0        0\n");
}

TEST(ListRate, Exact) {
  ListOptions o;
  o.numeric = true;
  o.rate = true;
  o.exact = true;
  EXPECT_EQ(format_list(stats_table(), o, 262144),
            "IP Virtual Server version 1.2.1 (size=262144)\n"
            "Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS\n"
            "  -> RemoteAddress:Port\n"
            "TCP  172.16.254.200:80            123456789        7 1000000000 "
            "100000000000000 18446744073709551615\n"
            "  -> 192.168.0.18:80                     0        0        0        0        0\n"
            "  -> 192.168.0.28:80              123456789        2        3 1500000000       45\n"
            "UDP  172.16.254.200:53                   0        0        0        0        0\n"
            "  -> 192.168.0.18:53                     0        0        0        0        0\n"
            "  -> 192.168.0.28:53                     0        0        0        0        0\n");
}

TEST(ListStats, ExactAloneChangesNothing) {
  ListOptions plain;
  plain.numeric = true;
  ListOptions exact = plain;
  exact.exact = true;
  EXPECT_EQ(format_list(stats_table(), exact, 7), format_list(stats_table(), plain, 7));
}

TEST(ListStats, StatsWinsOverRateAndThresholds) {
  // print_title / print_service_entry test FMT_STATS first, then FMT_RATE, FMT_THRESHOLDS,
  // FMT_PERSISTENTCONN.
  ListOptions stats;
  stats.numeric = true;
  stats.stats = true;
  ListOptions all = stats;
  all.rate = all.thresholds = all.persistent_conn = true;
  EXPECT_EQ(format_list(stats_table(), all, 1), format_list(stats_table(), stats, 1));
  ListOptions rate;
  rate.numeric = rate.rate = true;
  ListOptions rate_thr = rate;
  rate_thr.thresholds = rate_thr.persistent_conn = true;
  EXPECT_EQ(format_list(stats_table(), rate_thr, 1), format_list(stats_table(), rate, 1));
}

// ---------------------------------------------------------------------------------------------
// --thresholds, --persistent-conn

TEST(ListThresholds, Golden) {
  const Config cfg = load(
      "-A -t 172.16.254.200:80 -s wrr\n"
      "-a -t 172.16.254.200:80 -r 192.168.0.18:80 -m -w 1 -x 100 -y 50\n"
      "-a -t 172.16.254.200:80 -r 192.168.0.28:80 -m -w 2\n");
  std::vector<ServiceStatus> st = status_of(cfg);
  st[0].dests[1].activeconns = 99;  // 192.168.0.18
  st[0].dests[1].inactconns = 7;
  ListOptions o;
  o.numeric = true;
  o.thresholds = true;
  // print_title: "%-33s %-10s %-10s %-10s %-10s\n  -> RemoteAddress:Port\n"; the service line
  // is the default "%s %s"; destinations "  -> %-28s %-10u %-10u %-10u %-10u\n".
  EXPECT_EQ(format_list(st, o, 4096),
            "IP Virtual Server version 1.2.1 (size=4096)\n"
            "Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn \n"
            "  -> RemoteAddress:Port\n"
            "TCP  172.16.254.200:80 wrr\n"
            "  -> 192.168.0.18:80              100        50         99         7         \n"
            "  -> 192.168.0.28:80              0          0          0          0         \n");
}

TEST(ListPersistentConn, Golden) {
  std::vector<ServiceStatus> st = status_of(load(kSeedServices));
  st[0].dests[0].persistconns = 4;  // 192.168.0.28:80
  st[0].dests[0].activeconns = 2;
  st[0].dests[0].inactconns = 1;
  st.pop_back();
  ListOptions o;
  o.numeric = true;
  o.persistent_conn = true;
  // print_title: "%-33s %-9s %-11s %-10s %-10s\n  -> RemoteAddress:Port\n"; destinations
  // "  -> %-28s %-9u %-11u %-10u %-10u\n" (weight, persistconns, activeconns, inactconns).
  EXPECT_EQ(format_list(st, o, 4096),
            "IP Virtual Server version 1.2.1 (size=4096)\n"
            "Prot LocalAddress:Port            Weight    PersistConn ActiveConn InActConn \n"
            "  -> RemoteAddress:Port\n"
            "TCP  172.16.254.200:80 wrr\n"
            "  -> 192.168.0.18:80              1         0           0          0         \n"
            "  -> 192.168.0.28:80              1         4           2          1         \n");
}

TEST(ListTunInfo, Golden) {
  const Config cfg = load(
      "-A -t 172.16.254.200:80 -s rr\n"
      "-a -t 172.16.254.200:80 -r 192.168.0.18:80 -i -w 3\n"
      "-a -t 172.16.254.200:80 -r 192.168.0.28:8080 -m\n"
      "-a -t 172.16.254.200:80 -r 192.168.0.38:80 -g\n");
  std::vector<ServiceStatus> st = status_of(cfg);
  ListOptions o;
  o.numeric = true;
  o.tun_info = true;
  // print_title with FMT_TUN_INFO; destinations "  -> %-28s %-7s %-13s %-6d %-10u %-10u\n"
  // with fwd_tun_info: "ipip" for IP_VS_CONN_F_TUNNEL_TYPE_IPIP, NA ("n/a") if not a tunnel.
  EXPECT_EQ(
      format_list(st, o, 4096),
      "IP Virtual Server version 1.2.1 (size=4096)\n"
      "Prot LocalAddress:Port Scheduler Flags\n"
      "  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn\n"
      "TCP  172.16.254.200:80 rr\n"
      "  -> 192.168.0.18:80              Tunnel  ipip          3      0          0         \n"
      "  -> 192.168.0.28:8080            Masq    n/a           1      0          0         \n"
      "  -> 192.168.0.38:80              Route   n/a           1      0          0         \n");
  // FMT_PERSISTENTCONN (and the others before it) win over FMT_TUN_INFO.
  ListOptions pc;
  pc.numeric = pc.persistent_conn = true;
  ListOptions both = pc;
  both.tun_info = true;
  EXPECT_EQ(format_list(st, both, 1), format_list(st, pc, 1));
}

// ---------------------------------------------------------------------------------------------
// Without -n: ports by name (getservbyport), addresses numeric.

// Port names come from /etc/services (netbase): without it the names cannot be checked, and
// that is a failure of the test machine, not a reason to skip.
#define REQUIRE_SERVICES_FILE()                                                                \
  do {                                                                                         \
    struct stat sb {};                                                                         \
    ASSERT_EQ(stat("/etc/services", &sb), 0)                                                   \
        << "/etc/services is missing: port names cannot be resolved (Debian: apt-get install " \
           "netbase)";                                                                         \
  } while (0)

TEST(ListNames, PortsResolvedAddressesNumeric) {
  REQUIRE_SERVICES_FILE();
  std::vector<ServiceStatus> st =
      status_of(load("-A -t 172.16.254.200:80 -s wrr\n"
                     "-a -t 172.16.254.200:80 -r 192.168.0.18:80 -m -w 1\n"
                     "-a -t 172.16.254.200:80 -r 192.168.0.28:8080 -m -w 1\n"
                     "-a -t 172.16.254.200:80 -r 192.168.0.38:9999 -m -w 1\n"
                     "-A -u 172.16.254.200:53 -s rr\n"
                     "-a -u 172.16.254.200:53 -r 192.168.0.18:53 -m -w 1\n"));
  ListOptions o;  // no -n
  // addrport_to_anyname without FMT_NUMERIC: port_to_anyname = getservbyport(port, "tcp"|"udp")
  // or the number; the address stays numeric (fastvs does no reverse DNS).
  EXPECT_EQ(format_list(st, o, 4096),
            std::string("IP Virtual Server version 1.2.1 (size=4096)\n") + kHeader +
                "TCP  172.16.254.200:http wrr\n"
                "  -> 192.168.0.18:http            Masq    1      0          0         \n"
                "  -> 192.168.0.28:http-alt        Masq    1      0          0         \n"
                "  -> 192.168.0.38:9999            Masq    1      0          0         \n"
                "UDP  172.16.254.200:domain rr\n"
                "  -> 192.168.0.18:domain          Masq    1      0          0         \n");
}

TEST(SaveNames, PortsResolved) {
  REQUIRE_SERVICES_FILE();
  // ipvsadm -S without -n writes names too; ipvsadm -R reads them with getservbyname.
  EXPECT_EQ(format_save(load(kSeedServices), false),
            "-A -t 172.16.254.200:http -s wrr\n"
            "-a -t 172.16.254.200:http -r 192.168.0.18:http -m -w 1\n"
            "-a -t 172.16.254.200:http -r 192.168.0.28:http -m -w 1\n"
            "-A -u 172.16.254.200:domain -s rr\n"
            "-a -u 172.16.254.200:domain -r 192.168.0.18:domain -m -w 1\n"
            "-a -u 172.16.254.200:domain -r 192.168.0.28:domain -m -w 1\n");
}

// ---------------------------------------------------------------------------------------------
// -S

TEST(Save, SeedNatConfig) {
  // print_service_entry with FMT_RULE: "-A %s -s %s" and "-a %s -r %s %s -w %d\n", svc_name
  // "%s %s" of "-t"/"-u" and the address; no version line, no title; ipvsadm's order.
  EXPECT_EQ(format_save(load(kSeedServices), true),
            "-A -t 172.16.254.200:80 -s wrr\n"
            "-a -t 172.16.254.200:80 -r 192.168.0.18:80 -m -w 1\n"
            "-a -t 172.16.254.200:80 -r 192.168.0.28:80 -m -w 1\n"
            "-A -u 172.16.254.200:53 -s rr\n"
            "-a -u 172.16.254.200:53 -r 192.168.0.18:53 -m -w 1\n"
            "-a -u 172.16.254.200:53 -r 192.168.0.28:53 -m -w 1\n");
}

TEST(Save, EmptyTable) {
  EXPECT_EQ(format_save(Config{}, true), "");
}

TEST(Save, SchedFlagsAndNoThresholds) {
  // " -b " + print_sched_flags; thresholds are never written by ipvsadm -S.
  const Config cfg = load(
      "-A -t 172.16.254.200:80 -s sh -b sh-port,sh-fallback\n"
      "-a -t 172.16.254.200:80 -r 192.168.0.18:80 -m -w 0 -x 10 -y 5\n");
  EXPECT_EQ(format_save(cfg, true),
            "-A -t 172.16.254.200:80 -s sh -b sh-fallback,sh-port\n"
            "-a -t 172.16.254.200:80 -r 192.168.0.18:80 -m -w 0\n");
  // mh: the same bits, print_sched_flags' mh names, and what -S writes loads back.
  const Config mh = load(
      "-A -t 172.16.254.200:80 -s mh -b mh-port,mh-fallback\n"
      "-A -u 172.16.254.200:53 -s mh -b mh-port\n");
  const std::string saved = format_save(mh, true);
  EXPECT_EQ(saved,
            "-A -t 172.16.254.200:80 -s mh -b mh-fallback,mh-port\n"
            "-A -u 172.16.254.200:53 -s mh -b mh-port\n");
  EXPECT_EQ(format_save(load(saved), true), saved);
}

TEST(Save, ForwardSwitches) {
  // fwd_switch: -m, -g, -i; print_tunnel_rule adds "--tun-type ipip" (ipvsadm 1.31).
  Config cfg;
  ServiceConfig s;
  s.key = {Proto::Tcp, ip(172, 16, 254, 200), 80};
  s.scheduler = "rr";
  s.dests = {{ip(192, 168, 0, 38), 80, ForwardMethod::Tunnel, 1, 0, 0},
             {ip(192, 168, 0, 28), 80, ForwardMethod::Route, 7, 0, 0},
             {ip(192, 168, 0, 18), 8080, ForwardMethod::Masq, 65535, 0, 0}};
  cfg.services.push_back(s);
  EXPECT_EQ(format_save(cfg, true),
            "-A -t 172.16.254.200:80 -s rr\n"
            "-a -t 172.16.254.200:80 -r 192.168.0.18:8080 -m -w 65535\n"
            "-a -t 172.16.254.200:80 -r 192.168.0.28:80 -g -w 7\n"
            "-a -t 172.16.254.200:80 -r 192.168.0.38:80 -i -w 1 --tun-type ipip\n");
  // ... and -R takes it back (found by fuzz_command: a tunnel destination's line was refused).
  EXPECT_EQ(format_save(load(format_save(cfg, true)), true), format_save(cfg, true));
}

TEST(Save, RoundTripInSaveOrderIsIdentical) {
  // A file written in -S order loads, saves to the same text, and loads to the same Config
  // (list order included: -R adds the destinations in the same order as the file did).
  const Config first = load(kSeedServices);
  const std::string saved = format_save(first, true);
  EXPECT_EQ(saved, kSeedServices);
  const Config second = load(saved);
  EXPECT_EQ(dump(second), dump(first));
}

TEST(Save, RoundTripAnyOrderKeepsTheTable) {
  // Services and destinations in no particular order, every field the model has. -S sorts, so
  // the reloaded Config holds the same services and destinations (the same table), in
  // ipvsadm's order; saving it again gives the same text.
  const Config first = load(
      "-A -u 172.16.254.200:53 -s rr\n"
      "-a -u 172.16.254.200:53 -r 192.168.0.28:53 -m -w 5\n"
      "-A -t 172.16.254.200:80 -s sh -b sh-fallback\n"
      "-a -t 172.16.254.200:80 -r 192.168.0.28:80 -m -w 0\n"
      "-a -t 172.16.254.200:80 -r 192.168.0.18:8080 -m -w 3\n"
      "-a -t 172.16.254.200:80 -r 192.168.0.18:80 -m\n"
      "-A -t 172.16.254.200:443 -s wlc\n");
  const std::string saved = format_save(first, true);
  EXPECT_EQ(saved,
            "-A -t 172.16.254.200:80 -s sh -b sh-fallback\n"
            "-a -t 172.16.254.200:80 -r 192.168.0.18:80 -m -w 1\n"
            "-a -t 172.16.254.200:80 -r 192.168.0.18:8080 -m -w 3\n"
            "-a -t 172.16.254.200:80 -r 192.168.0.28:80 -m -w 0\n"
            "-A -t 172.16.254.200:443 -s wlc\n"
            "-A -u 172.16.254.200:53 -s rr\n"
            "-a -u 172.16.254.200:53 -r 192.168.0.28:53 -m -w 5\n");
  const Config second = load(saved);
  EXPECT_EQ(format_save(second, true), saved);
  // Same table: every service of one is in the other with the same fields and destinations.
  ASSERT_EQ(second.services.size(), first.services.size());
  for (const ServiceConfig& a : first.services) {
    const ServiceConfig* b = nullptr;
    for (const ServiceConfig& s : second.services) {
      if (s.key == a.key) b = &s;
    }
    ASSERT_NE(b, nullptr) << proto_name(a.key.proto) << " " << format_ip(a.key.vip);
    EXPECT_EQ(b->scheduler, a.scheduler);
    EXPECT_EQ(b->sched_flags, a.sched_flags);
    ASSERT_EQ(b->dests.size(), a.dests.size());
    for (const DestConfig& da : a.dests) {
      bool found = false;
      for (const DestConfig& db : b->dests) {
        if (db.rip == da.rip && db.rport == da.rport) {
          found = true;
          EXPECT_EQ(db.method, da.method);
          EXPECT_EQ(db.weight, da.weight);
          EXPECT_EQ(db.u_threshold, da.u_threshold);
          EXPECT_EQ(db.l_threshold, da.l_threshold);
        }
      }
      EXPECT_TRUE(found) << format_ip(da.rip) << ":" << da.rport;
    }
  }
  // And the -L listings of both are identical.
  ListOptions o;
  o.numeric = true;
  EXPECT_EQ(format_list(status_of(second), o, 1), format_list(status_of(first), o, 1));
}

TEST(Save, EveryLineParses) {
  const std::string saved = format_save(
      load(std::string(kSeedServices) +
           "--start-daemon master --mcast-group 239.1.1.1 --sync-maxlen 9000 --mcast-ttl 9\n"
           "--start-daemon backup --mcast-interface dpdk1 --mcast-port 1\n"),
      true);
  std::istringstream in(saved);
  std::string line;
  while (std::getline(in, line)) {
    const Result<Command> r = parse_command(split_words(line));
    EXPECT_TRUE(r.ok()) << line << ": " << r.error();
  }
}

// ---------------------------------------------------------------------------------------------
// --timeout

TEST(Timeout, Golden) {
  // list_timeout: "Timeout (tcp tcpfin udp): %d %d %d\n"
  EXPECT_EQ(format_timeout(Timeouts{}), "Timeout (tcp tcpfin udp): 900 120 300\n");
  EXPECT_EQ(format_timeout(Timeouts{7200, 0, 1}), "Timeout (tcp tcpfin udp): 7200 0 1\n");
}

// ---------------------------------------------------------------------------------------------
// --daemon: list_daemon's "%s sync daemon (mcast=%s, syncid=%d", ", maxlen=%u", ", group=%s",
// ", port=%u", ", ttl=%u", ")\n", with every field, as a current kernel reports them.

uint32_t mtu_1500(std::string_view) {
  return 1500;
}

TEST(Daemon, NoneRunningPrintsNothing) {
  EXPECT_EQ(format_daemon(Config{}, mtu_1500), "");
  EXPECT_EQ(format_daemon(load(kSeedServices), mtu_1500), "");
}

TEST(Daemon, MasterWithTheDefaults) {
  EXPECT_EQ(format_daemon(load("--start-daemon master\n"), mtu_1500),
            "master sync daemon (mcast=dpdk0, syncid=0, maxlen=1472, group=224.0.0.81, "
            "port=8848, ttl=1)\n");
  EXPECT_EQ(format_daemon(load("--start-daemon backup\n"), mtu_1500),
            "backup sync daemon (mcast=dpdk0, syncid=0, maxlen=1472, group=224.0.0.81, "
            "port=8848, ttl=1)\n");
}

TEST(Daemon, BothRolesMasterFirst) {
  // ip_vs_genl_dump_daemons reports the master, then the backup, whatever order they started.
  const Config cfg = load(
      "--start-daemon backup --mcast-interface dpdk1 --syncid 200 --mcast-group 239.0.0.7 "
      "--mcast-port 9000 --mcast-ttl 3\n"
      "--start-daemon master --syncid 5 --sync-maxlen 1000\n");
  EXPECT_EQ(format_daemon(cfg, mtu_1500),
            "master sync daemon (mcast=dpdk0, syncid=5, maxlen=1000, group=224.0.0.81, "
            "port=8848, ttl=1)\n"
            "backup sync daemon (mcast=dpdk1, syncid=200, maxlen=1472, group=239.0.0.7, "
            "port=9000, ttl=3)\n");
}

TEST(Daemon, MaxlenAsTheKernelSettlesIt) {
  // start_sync_thread: none given, 1500 - 28 for a master whatever its MTU, and the MTU
  // clamped to 1500..65535, less 28, for a backup; a given one clamped to 1..65507 for a master
  // and to 1024..65507 for a backup. Each role's MTU is its own interface's.
  const auto mtus = [](std::string_view ifname) -> uint32_t {
    return ifname == "dpdk0" ? 9000 : 1400;
  };
  Config cfg = load("--start-daemon master\n--start-daemon backup\n");
  EXPECT_EQ(format_daemon(cfg, mtus),
            "master sync daemon (mcast=dpdk0, syncid=0, maxlen=1472, group=224.0.0.81, "
            "port=8848, ttl=1)\n"
            "backup sync daemon (mcast=dpdk0, syncid=0, maxlen=8972, group=224.0.0.81, "
            "port=8848, ttl=1)\n");
  cfg = load(
      "--start-daemon master --mcast-interface dpdk1 --sync-maxlen 100\n"
      "--start-daemon backup --mcast-interface dpdk1 --sync-maxlen 100\n");
  EXPECT_EQ(format_daemon(cfg, mtus),
            "master sync daemon (mcast=dpdk1, syncid=0, maxlen=100, group=224.0.0.81, "
            "port=8848, ttl=1)\n"
            "backup sync daemon (mcast=dpdk1, syncid=0, maxlen=1024, group=224.0.0.81, "
            "port=8848, ttl=1)\n");

  SyncDaemonConfig c;
  EXPECT_EQ(sync_daemon_maxlen(c, true, 1500), 1472);
  EXPECT_EQ(sync_daemon_maxlen(c, true, 9000), 1472);
  EXPECT_EQ(sync_daemon_maxlen(c, true, 576), 1472);
  EXPECT_EQ(sync_daemon_maxlen(c, false, 1500), 1472);
  EXPECT_EQ(sync_daemon_maxlen(c, false, 1400), 1472);
  EXPECT_EQ(sync_daemon_maxlen(c, false, 9000), 8972);
  EXPECT_EQ(sync_daemon_maxlen(c, false, 65535), 65507);
  EXPECT_EQ(sync_daemon_maxlen(c, false, 100000), 65507);
  c.maxlen = 1;
  EXPECT_EQ(sync_daemon_maxlen(c, true, 1500), 1);
  EXPECT_EQ(sync_daemon_maxlen(c, false, 1500), 1024);
  c.maxlen = 65507;
  EXPECT_EQ(sync_daemon_maxlen(c, true, 1500), 65507);
  EXPECT_EQ(sync_daemon_maxlen(c, false, 1500), 65507);
}

TEST(SaveDaemon, GoldenAndRoundTrip) {
  // After the services, a line per role, master first: --mcast-interface and --syncid always,
  // --sync-maxlen when given, the group, port and TTL when not the default.
  const Config first = load(std::string(kSeedServices) +
                            "--start-daemon backup --mcast-interface dpdk1 --syncid 200 "
                            "--mcast-group 239.0.0.7 --mcast-port 9000 --mcast-ttl 3\n"
                            "--start-daemon master --syncid 5 --sync-maxlen 1000\n");
  const std::string saved = format_save(first, true);
  EXPECT_EQ(saved, std::string(kSeedServices) +
                       "--start-daemon master --mcast-interface dpdk0 --syncid 5 --sync-maxlen "
                       "1000\n"
                       "--start-daemon backup --mcast-interface dpdk1 --syncid 200 --mcast-group "
                       "239.0.0.7 --mcast-port 9000 --mcast-ttl 3\n");
  // -R on a director that runs neither role gives the same configuration, daemons included.
  const Config second = load(saved);
  EXPECT_TRUE(second == first);
  EXPECT_EQ(format_save(second, true), saved);
  EXPECT_EQ(format_daemon(second, mtu_1500), format_daemon(first, mtu_1500));
  // The defaults give the shortest line; without -n it is the same (no names in it).
  const Config plain = load("--start-daemon backup\n");
  EXPECT_EQ(format_save(plain, true), "--start-daemon backup --mcast-interface dpdk0 --syncid 0\n");
  EXPECT_EQ(format_save(plain, false), format_save(plain, true));
  EXPECT_TRUE(load(format_save(plain, true)) == plain);
  // And -R over a director whose backup already runs refuses the whole input, as
  // --start-daemon does alone.
  const Result<Config> again = apply_config_text(first, format_save(plain, true), "-R input", 2);
  EXPECT_EQ(again.error(),
            "-R input:1: the backup sync daemon is already running (--stop-daemon backup first)");
}

// ---------------------------------------------------------------------------------------------
// Persistence: print_service_entry's " persistent %u" and " mask %s"; -S's " -p %u -M %s".
// One-packet scheduling (-o): " ops" after them, -S's " -o" before " -b".

constexpr const char* kPersistent =
    "-A -t 172.16.254.200:80 -s rr -p 600 -M 255.255.255.0\n"
    "-a -t 172.16.254.200:80 -r 192.168.0.18:80 -m -w 1\n"
    "-A -t 172.16.254.200:0 -s wlc -p\n"
    "-a -t 172.16.254.200:0 -r 192.168.0.28 -m -w 2\n"
    "-A -u 172.16.254.200:53 -s sh -b sh-port -p 30 -o\n"
    "-A -u 172.16.254.200:54 -s rr -o\n";

TEST(ListPersistent, Golden) {
  std::vector<ServiceStatus> st = status_of(load(kPersistent));
  ListOptions o;
  o.numeric = true;
  EXPECT_EQ(format_list(st, o, 4096),
            std::string("IP Virtual Server version 1.2.1 (size=4096)\n") + kHeader +
                "TCP  172.16.254.200:0 wlc persistent 300\n"
                "  -> 192.168.0.28:0               Masq    2      0          0         \n"
                "TCP  172.16.254.200:80 rr persistent 600 mask 255.255.255.0\n"
                "  -> 192.168.0.18:80              Masq    1      0          0         \n"
                "UDP  172.16.254.200:53 sh (sh-port) persistent 30 ops\n"
                "UDP  172.16.254.200:54 rr ops\n");
}

TEST(SavePersistent, GoldenAndRoundTrip) {
  const Config cfg = load(kPersistent);
  const std::string saved = format_save(cfg, true);
  EXPECT_EQ(saved,
            "-A -t 172.16.254.200:0 -s wlc -p 300\n"
            "-a -t 172.16.254.200:0 -r 192.168.0.28:0 -m -w 2\n"
            "-A -t 172.16.254.200:80 -s rr -p 600 -M 255.255.255.0\n"
            "-a -t 172.16.254.200:80 -r 192.168.0.18:80 -m -w 1\n"
            "-A -u 172.16.254.200:53 -s sh -p 30 -o -b sh-port\n"
            "-A -u 172.16.254.200:54 -s rr -o\n");
  const Config again = load(saved);
  EXPECT_EQ(format_save(again, true), saved);
}

TEST(ListNoSort, KeepsTheOrderGiven) {
  std::vector<ServiceStatus> st = status_of(load(kSeedServices));
  ListOptions o;
  o.numeric = true;
  o.nosort = true;
  // The kernel's list order: the destination added last first.
  EXPECT_EQ(format_list(st, o, 4096),
            std::string("IP Virtual Server version 1.2.1 (size=4096)\n") + kHeader +
                "TCP  172.16.254.200:80 wrr\n"
                "  -> 192.168.0.28:80              Masq    1      0          0         \n"
                "  -> 192.168.0.18:80              Masq    1      0          0         \n"
                "UDP  172.16.254.200:53 rr\n"
                "  -> 192.168.0.28:53              Masq    1      0          0         \n"
                "  -> 192.168.0.18:53              Masq    1      0          0         \n");
}

// ---------------------------------------------------------------------------------------------
// -L -c: list_conn and print_conn.

std::vector<ConnListEntry> some_conns() {
  ConnListEntry a;
  a.proto = Proto::Tcp;
  a.state = "ESTABLISHED";
  a.expires = 231;  // 03:51
  a.cip = ip(192, 168, 56, 1);
  a.cport = 56954;
  a.vip = ip(192, 168, 56, 200);
  a.vport = 80;
  a.rip = ip(192, 168, 56, 102);
  a.rport = 80;
  ConnListEntry t = a;  // a persistence template
  t.state = "NONE";
  t.expires = 927;  // 15:27
  t.cport = 0;
  ConnListEntry u;
  u.proto = Proto::Udp;
  u.state = "UDP";
  u.expires = 299;
  u.cip = ip(10, 0, 0, 5);
  u.cport = 40000;
  u.vip = ip(10, 0, 0, 100);
  u.vport = 53;
  u.rip = ip(10, 1, 0, 1);
  u.rport = 5353;
  return {a, t, u};
}

TEST(ListConns, Golden) {
  // list_conn's title, then print_conn: "%-3s %-6s %-11s %-18s %-18s %s\n".
  EXPECT_EQ(format_conns(some_conns(), true, false),
            "IPVS connection entries\n"
            "pro expire state       source             virtual            destination\n"
            "TCP 03:51  ESTABLISHED 192.168.56.1:56954 192.168.56.200:80  192.168.56.102:80\n"
            "TCP 15:27  NONE        192.168.56.1:0     192.168.56.200:80  192.168.56.102:80\n"
            "UDP 04:59  UDP         10.0.0.5:40000     10.0.0.100:53      10.1.0.1:5353\n");
  EXPECT_EQ(format_conns({}, true, false),
            "IPVS connection entries\n"
            "pro expire state       source             virtual            destination\n");
}

TEST(ListConns, PersistentConnTitle) {
  // With --persistent-conn the title names the engine's columns; lines without an engine keep
  // the plain format (print_conn prints them only when /proc gives 11 fields).
  EXPECT_EQ(format_conns({some_conns()[1]}, true, true),
            "IPVS connection entries\n"
            "pro expire state       source             virtual            destination        "
            "pe name          pe_data\n"
            "TCP 15:27  NONE        192.168.56.1:0     192.168.56.200:80  192.168.56.102:80\n");
}

TEST(ListConns, ExpiryOverAnHourKeepsCounting) {
  std::vector<ConnListEntry> c = {some_conns()[0]};
  c[0].expires = 7200;  // "%02d:%02d" of 120 minutes
  EXPECT_NE(format_conns(c, true, false).find("TCP 120:00 ESTABLISHED"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// IPv6, as ipvsadm 1.31 prints AF_INET6 services and destinations. The expected lines are
// printf'd here with ipvsadm's own format strings and the addresses as addrport_to_anyname
// writes them ("%s%s%s:%u" with "[" and "]" around inet_ntop's text for AF_INET6).

std::string cfmt(const char* f, ...) __attribute__((format(printf, 1, 2)));
std::string cfmt(const char* f, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, f);
  std::vsnprintf(buf, sizeof buf, f, ap);
  va_end(ap);
  return buf;
}

IpAddr v6(const char* s) {
  const auto a = parse_ip(s);
  EXPECT_TRUE(a && a->is_v6()) << s;
  return a.value_or(IpAddr{});
}

// An IPv4 service, two IPv6 services (TCP and UDP) and a long IPv6 address.
std::vector<ServiceStatus> v6_table() {
  std::vector<ServiceStatus> st;
  st.push_back(
      service(Proto::Udp, v6("2001:db8::1"), 53, "rr", {dest(v6("2001:db8:1::10"), 5353)}));
  st.push_back(
      service(Proto::Tcp, v6("2001:db8::1"), 80, "wlc",
              {dest(v6("2001:db8:1::20"), 8080, ForwardMethod::Masq, 3),
               dest(v6("2001:db8:1::10"), 8080, ForwardMethod::Masq, 1),
               dest(v6("2001:db8:1234:5678:9abc:def0:1234:5678"), 65535, ForwardMethod::Masq, 2)}));
  st.push_back(
      service(Proto::Tcp, ip(172, 16, 254, 200), 80, "rr", {dest(ip(192, 168, 0, 18), 80)}));
  st[1].dests[0].activeconns = 7;
  st[1].dests[1].inactconns = 12;
  return st;
}

TEST(ListIpv6, Golden) {
  ListOptions o;
  o.numeric = true;
  // ipvs_cmp_services: AF_INET before AF_INET6, then the protocol, then the address (by
  // 32-bit words), then the port; destinations by address, then port. svc_name "%-4s %s" is
  // not cut at 33 and dname not at 28 for AF_INET6.
  const char* kDest = "  -> %-28s %-7s %-6d %-10u %-10u\n";
  const std::string want =
      std::string("IP Virtual Server version 1.2.1 (size=4096)\n") + kHeader +
      cfmt("%s %s\n", "TCP  172.16.254.200:80", "rr") +
      cfmt(kDest, "192.168.0.18:80", "Masq", 1, 0u, 0u) +
      cfmt("%s %s\n", cfmt("%-4s %s", "TCP", "[2001:db8::1]:80").c_str(), "wlc") +
      cfmt(kDest, "[2001:db8:1::10]:8080", "Masq", 1, 0u, 12u) +
      cfmt(kDest, "[2001:db8:1::20]:8080", "Masq", 3, 7u, 0u) +
      cfmt(kDest, "[2001:db8:1234:5678:9abc:def0:1234:5678]:65535", "Masq", 2, 0u, 0u) +
      cfmt("%s %s\n", cfmt("%-4s %s", "UDP", "[2001:db8::1]:53").c_str(), "rr") +
      cfmt(kDest, "[2001:db8:1::10]:5353", "Masq", 1, 0u, 0u);
  EXPECT_EQ(format_list(v6_table(), o, 4096), want);
  // The same lines, literally.
  EXPECT_NE(want.find("TCP  [2001:db8::1]:80 wlc\n"
                      "  -> [2001:db8:1::10]:8080        Masq    1      0          12        \n"),
            std::string::npos);
  EXPECT_NE(want.find("  -> [2001:db8:1234:5678:9abc:def0:1234:5678]:65535 Masq    2      0    "),
            std::string::npos);
}

TEST(ListIpv6, LongServiceNameIsNotCut) {
  ListOptions o;
  o.numeric = true;
  const ServiceStatus s =
      service(Proto::Tcp, v6("2001:db8:1234:5678:9abc:def0:1234:5678"), 443, "rr");
  EXPECT_EQ(format_list_service(s, o),
            std::string(kHeader) + "TCP  [2001:db8:1234:5678:9abc:def0:1234:5678]:443 rr\n");
}

TEST(ListIpv6, Stats) {
  std::vector<ServiceStatus> st = {
      service(Proto::Tcp, v6("2001:db8::1"), 80, "wlc", {dest(v6("2001:db8:1::10"), 8080)})};
  st[0].conns = 5;
  st[0].inpkts = 120000000;  // print_largenum: "%8lluK" from 100 million on
  st[0].dests[0].conns = 5;
  st[0].dests[0].outbytes = 99;
  ListOptions o;
  o.numeric = true;
  o.stats = true;
  // "%-33s" and print_largenum ("%9llu", "%8lluK") for the service; "  -> %-28s" for the
  // destination.
  EXPECT_EQ(
      format_list(st, o, 4096),
      std::string("IP Virtual Server version 1.2.1 (size=4096)\n") +
          cfmt("%-33s %8s %8s %8s %8s %8s\n  -> RemoteAddress:Port\n", "Prot LocalAddress:Port",
               "Conns", "InPkts", "OutPkts", "InBytes", "OutBytes") +
          cfmt("%-33s", "TCP  [2001:db8::1]:80") + cfmt("%9llu", 5ull) + cfmt("%8lluK", 120000ull) +
          cfmt("%9llu%9llu%9llu\n", 0ull, 0ull, 0ull) +
          cfmt("  -> %-28s", "[2001:db8:1::10]:8080") +
          cfmt("%9llu%9llu%9llu%9llu%9llu\n", 5ull, 0ull, 0ull, 0ull, 99ull));
}

TEST(ListIpv6, Rate) {
  std::vector<ServiceStatus> st = {
      service(Proto::Udp, v6("2001:db8::1"), 53, "rr", {dest(v6("2001:db8:1::10"), 53)})};
  st[0].cps = 3;
  st[0].dests[0].cps = 3;
  st[0].dests[0].inbps = 4000;
  ListOptions o;
  o.numeric = true;
  o.rate = true;
  EXPECT_EQ(format_list(st, o, 4096),
            std::string("IP Virtual Server version 1.2.1 (size=4096)\n") +
                cfmt("%-33s %8s %8s %8s %8s %8s\n  -> RemoteAddress:Port\n",
                     "Prot LocalAddress:Port", "CPS", "InPPS", "OutPPS", "InBPS", "OutBPS") +
                cfmt("%-33s", "UDP  [2001:db8::1]:53") +
                cfmt("%9llu%9llu%9llu%9llu%9llu\n", 3ull, 0ull, 0ull, 0ull, 0ull) +
                cfmt("  -> %-28s %8llu %8llu %8llu", "[2001:db8:1::10]:53", 3ull, 0ull, 0ull) +
                cfmt("%9llu%9llu\n", 4000ull, 0ull));
}

TEST(ListIpv6, PersistenceMaskIsAPrefixLength) {
  ServiceStatus s = service(Proto::Tcp, v6("2001:db8::1"), 443, "wlc");
  s.cfg.persistent = true;
  s.cfg.timeout = 300;
  ListOptions o;
  o.numeric = true;
  // " persistent %u", then for AF_INET6 " mask %i" only when the netmask is not 128.
  EXPECT_EQ(format_list_service(s, o),
            std::string(kHeader) + "TCP  [2001:db8::1]:443 wlc persistent 300\n");
  s.cfg.netmask6 = 64;
  s.cfg.netmask = 0xffffff00u;  // an IPv4 mask means nothing to an IPv6 service
  EXPECT_EQ(format_list_service(s, o),
            std::string(kHeader) + "TCP  [2001:db8::1]:443 wlc persistent 300 mask 64\n");
}

// The table of v6_table() as a Config, with persistence and the three methods.
Config v6_config() {
  Config cfg;
  for (const ServiceStatus& s : v6_table()) {
    cfg.services.push_back(s.cfg);
    for (const DestStatus& d : s.dests) cfg.services.back().dests.push_back(d.cfg);
  }
  cfg.services[0].persistent = true;
  cfg.services[0].timeout = 60;
  cfg.services[0].netmask6 = 48;
  cfg.services[1].dests[1].method = ForwardMethod::Route;
  cfg.services[1].dests[1].rport = 80;
  cfg.services[1].dests[2].method = ForwardMethod::Tunnel;
  cfg.services[1].dests[2].rport = 80;
  return cfg;
}

TEST(SaveIpv6, Golden) {
  // print_service_entry with FMT_RULE: "-A %s -s %s", " -p %u", for AF_INET6 " -M %i"; per
  // destination "-a %s -r %s %s -w %d", a tunnel's print_tunnel_rule adding --tun-type.
  EXPECT_EQ(format_save(v6_config(), true),
            "-A -t 172.16.254.200:80 -s rr\n"
            "-a -t 172.16.254.200:80 -r 192.168.0.18:80 -m -w 1\n"
            "-A -t [2001:db8::1]:80 -s wlc\n"
            "-a -t [2001:db8::1]:80 -r [2001:db8:1::10]:80 -g -w 1\n"
            "-a -t [2001:db8::1]:80 -r [2001:db8:1::20]:8080 -m -w 3\n"
            "-a -t [2001:db8::1]:80 -r [2001:db8:1234:5678:9abc:def0:1234:5678]:80 -i -w 2 "
            "--tun-type ipip\n"
            "-A -u [2001:db8::1]:53 -s rr -p 60 -M 48\n"
            "-a -u [2001:db8::1]:53 -r [2001:db8:1::10]:5353 -m -w 1\n");
}

// -R's side of a round trip: each line of -S parsed by the grammar and put into a model by
// hand (apply refuses IPv6 until the data plane forwards it: refuse_ipv6).
Config restore_by_hand(const std::string& text) {
  Config cfg;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const Result<Command> r = parse_command(split_words(line));
    EXPECT_TRUE(r.ok()) << line << ": " << r.error();
    if (!r) continue;
    const Command& c = *r;
    if (c.op == Op::AddService) {
      ServiceConfig s;
      s.key = c.service;
      s.scheduler = c.scheduler;
      s.sched_flags = c.sched_flags;
      s.persistent = c.has_persistent;
      s.timeout = c.timeout;
      s.netmask = c.netmask;
      s.netmask6 = c.netmask6;
      cfg.services.push_back(s);
    } else if (c.op == Op::AddDest) {
      EXPECT_EQ(cfg.services.back().key, c.service) << line;
      DestConfig d;
      d.rip = c.rip;
      d.rport = c.rport;
      d.method = c.method_or_default();
      d.weight = c.weight;
      cfg.services.back().dests.push_back(d);
    } else {
      ADD_FAILURE() << "unexpected line " << line;
    }
  }
  return cfg;
}

TEST(SaveIpv6, RestoreReadsBackWhatSaveWrites) {
  const Config first = v6_config();
  const std::string saved = format_save(first, true);
  const Config again = restore_by_hand(saved);
  EXPECT_EQ(format_save(again, true), saved);
  ASSERT_EQ(again.services.size(), 3u);
  const ServiceConfig& udp = again.services[2];
  EXPECT_EQ(udp.key, (ServiceKey{Proto::Udp, v6("2001:db8::1"), 53}));
  EXPECT_TRUE(udp.persistent);
  EXPECT_EQ(udp.netmask6, 48);
  ListOptions o;
  o.numeric = true;
  EXPECT_EQ(format_list(status_of(again), o, 1), format_list(status_of(first), o, 1));
}

TEST(ListConnsIpv6, Golden) {
  ConnListEntry a;
  a.proto = Proto::Tcp;
  a.state = "ESTABLISHED";
  a.expires = 231;
  a.cip = v6("2001:db8:ffff::1");
  a.cport = 56954;
  a.vip = v6("2001:db8::1");
  a.vport = 80;
  a.rip = v6("2001:db8:1::10");
  a.rport = 8080;
  // print_conn: "%-3s %-6s %-11s %-18s %-18s %s\n", each address "[%s]:%u".
  EXPECT_EQ(format_conns({a}, true, false),
            "IPVS connection entries\n"
            "pro expire state       source             virtual            destination\n" +
                cfmt("%-3s %-6s %-11s %-18s %-18s %s\n", "TCP", "03:51", "ESTABLISHED",
                     "[2001:db8:ffff::1]:56954", "[2001:db8::1]:80", "[2001:db8:1::10]:8080"));
}

}  // namespace
}  // namespace fastvs
