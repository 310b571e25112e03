// The Prometheus text (control/report/metrics.h) against golden text, whole and streamed, label
// escaping, and the service names telemetry takes as parameters; the stats file's JSON and how
// it is replaced (control/report/stats_file.h).
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <fmt/core.h>

#include <gtest/gtest.h>

#include "control/report/metrics.h"
#include "control/report/stats_file.h"

namespace fastvs {
namespace {

constexpr IpAddr ip(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return IpAddr::v4(uint32_t{a} << 24 | uint32_t{b} << 16 | uint32_t{c} << 8 | d);
}

DestStatus dest(IpAddr rip, uint16_t rport, ForwardMethod m, int32_t weight) {
  DestStatus d;
  d.cfg.rip = rip;
  d.cfg.rport = rport;
  d.cfg.method = m;
  d.cfg.weight = weight;
  return d;
}

// A TCP service with a Masq and a Route destination, a UDP service with none, two workers.
MetricsSnapshot small_set() {
  MetricsSnapshot m;
  ServiceStatus web;
  web.cfg.key = {Proto::Tcp, ip(172, 16, 254, 200), 80};
  web.cfg.scheduler = "wrr";
  DestStatus a = dest(ip(192, 168, 0, 18), 8080, ForwardMethod::Masq, 3);
  a.conns = 5;
  a.inpkts = 40;
  a.outpkts = 38;
  a.inbytes = 2400;
  a.outbytes = 91000;
  a.activeconns = 2;
  a.inactconns = 1;
  DestStatus b = dest(ip(192, 168, 0, 28), 80, ForwardMethod::Route, 0);
  b.conns = 1;
  b.inpkts = 7;
  b.inbytes = 420;
  b.persistconns = 4;
  web.dests = {a, b};
  web.conns = 6;
  web.inpkts = 47;
  web.outpkts = 38;
  web.inbytes = 2820;
  web.outbytes = 91000;
  ServiceStatus dns;
  dns.cfg.key = {Proto::Udp, ip(10, 0, 0, 1), 53};
  dns.cfg.scheduler = "rr";
  m.services = {web, dns};
  WorkerStatus w0;
  w0.id = 0;
  w0.lcore = 1;
  w0[Ctr::rx] = 100;
  w0[Ctr::tx] = 90;
  w0[Ctr::handoff_out] = 3;
  w0[Ctr::nat_in] = 40;
  w0[Ctr::frags_evicted] = 7;
  w0[Ctr::conns_created] = 6;
  w0[Ctr::conns_expired] = 2;
  w0.conns = 4;
  w0.conn_capacity = 4096;
  w0.drops = {{"no_service", 9}, {"no_conn", 1}};
  WorkerStatus w1;
  w1.id = 1;
  w1.lcore = 2;
  w1[Ctr::handoff_in] = 3;
  w1.conn_capacity = 4096;
  w1.drops = {{"no_service", 0}, {"no_conn", 0}};
  m.workers = {w0, w1};
  return m;
}

constexpr const char* kGolden =
    R"(# HELP fastvs_service_info A virtual service and its scheduler; always 1
# TYPE fastvs_service_info gauge
fastvs_service_info{proto="TCP",vip="172.16.254.200",vport="80",scheduler="wrr"} 1
fastvs_service_info{proto="UDP",vip="10.0.0.1",vport="53",scheduler="rr"} 1
# HELP fastvs_service_connections_total Connections scheduled to the service's destinations
# TYPE fastvs_service_connections_total counter
fastvs_service_connections_total{proto="TCP",vip="172.16.254.200",vport="80"} 6
fastvs_service_connections_total{proto="UDP",vip="10.0.0.1",vport="53"} 0
# HELP fastvs_service_in_packets_total Packets from clients forwarded by the service
# TYPE fastvs_service_in_packets_total counter
fastvs_service_in_packets_total{proto="TCP",vip="172.16.254.200",vport="80"} 47
fastvs_service_in_packets_total{proto="UDP",vip="10.0.0.1",vport="53"} 0
# HELP fastvs_service_out_packets_total Replies forwarded back to clients by the service (NAT only)
# TYPE fastvs_service_out_packets_total counter
fastvs_service_out_packets_total{proto="TCP",vip="172.16.254.200",vport="80"} 38
fastvs_service_out_packets_total{proto="UDP",vip="10.0.0.1",vport="53"} 0
# HELP fastvs_service_in_bytes_total IP bytes from clients forwarded by the service
# TYPE fastvs_service_in_bytes_total counter
fastvs_service_in_bytes_total{proto="TCP",vip="172.16.254.200",vport="80"} 2820
fastvs_service_in_bytes_total{proto="UDP",vip="10.0.0.1",vport="53"} 0
# HELP fastvs_service_out_bytes_total IP bytes of replies forwarded back to clients by the service (NAT only)
# TYPE fastvs_service_out_bytes_total counter
fastvs_service_out_bytes_total{proto="TCP",vip="172.16.254.200",vport="80"} 91000
fastvs_service_out_bytes_total{proto="UDP",vip="10.0.0.1",vport="53"} 0
# HELP fastvs_destination_info A destination (real server) of a service and its forwarding method; always 1
# TYPE fastvs_destination_info gauge
fastvs_destination_info{proto="TCP",vip="172.16.254.200",vport="80",rip="192.168.0.18",rport="8080",forward="Masq"} 1
fastvs_destination_info{proto="TCP",vip="172.16.254.200",vport="80",rip="192.168.0.28",rport="80",forward="Route"} 1
# HELP fastvs_destination_connections_total Connections scheduled to the destination
# TYPE fastvs_destination_connections_total counter
fastvs_destination_connections_total{proto="TCP",vip="172.16.254.200",vport="80",rip="192.168.0.18",rport="8080"} 5
fastvs_destination_connections_total{proto="TCP",vip="172.16.254.200",vport="80",rip="192.168.0.28",rport="80"} 1
# HELP fastvs_destination_in_packets_total Packets from clients forwarded to the destination
# TYPE fastvs_destination_in_packets_total counter
fastvs_destination_in_packets_total{proto="TCP",vip="172.16.254.200",vport="80",rip="192.168.0.18",rport="8080"} 40
fastvs_destination_in_packets_total{proto="TCP",vip="172.16.254.200",vport="80",rip="192.168.0.28",rport="80"} 7
# HELP fastvs_destination_out_packets_total Replies from the destination forwarded back to clients (NAT only)
# TYPE fastvs_destination_out_packets_total counter
fastvs_destination_out_packets_total{proto="TCP",vip="172.16.254.200",vport="80",rip="192.168.0.18",rport="8080"} 38
fastvs_destination_out_packets_total{proto="TCP",vip="172.16.254.200",vport="80",rip="192.168.0.28",rport="80"} 0
# HELP fastvs_destination_in_bytes_total IP bytes from clients forwarded to the destination
# TYPE fastvs_destination_in_bytes_total counter
fastvs_destination_in_bytes_total{proto="TCP",vip="172.16.254.200",vport="80",rip="192.168.0.18",rport="8080"} 2400
fastvs_destination_in_bytes_total{proto="TCP",vip="172.16.254.200",vport="80",rip="192.168.0.28",rport="80"} 420
# HELP fastvs_destination_out_bytes_total IP bytes of replies from the destination forwarded back to clients (NAT only)
# TYPE fastvs_destination_out_bytes_total counter
fastvs_destination_out_bytes_total{proto="TCP",vip="172.16.254.200",vport="80",rip="192.168.0.18",rport="8080"} 91000
fastvs_destination_out_bytes_total{proto="TCP",vip="172.16.254.200",vport="80",rip="192.168.0.28",rport="80"} 0
# HELP fastvs_destination_active_connections Connections in an active TCP state (ipvsadm ActiveConn)
# TYPE fastvs_destination_active_connections gauge
fastvs_destination_active_connections{proto="TCP",vip="172.16.254.200",vport="80",rip="192.168.0.18",rport="8080"} 2
fastvs_destination_active_connections{proto="TCP",vip="172.16.254.200",vport="80",rip="192.168.0.28",rport="80"} 0
# HELP fastvs_destination_inactive_connections Connections in any other state, UDP included (ipvsadm InActConn)
# TYPE fastvs_destination_inactive_connections gauge
fastvs_destination_inactive_connections{proto="TCP",vip="172.16.254.200",vport="80",rip="192.168.0.18",rport="8080"} 1
fastvs_destination_inactive_connections{proto="TCP",vip="172.16.254.200",vport="80",rip="192.168.0.28",rport="80"} 0
# HELP fastvs_destination_persistent_connections Persistence templates pointing to the destination (ipvsadm PersistConn)
# TYPE fastvs_destination_persistent_connections gauge
fastvs_destination_persistent_connections{proto="TCP",vip="172.16.254.200",vport="80",rip="192.168.0.18",rport="8080"} 0
fastvs_destination_persistent_connections{proto="TCP",vip="172.16.254.200",vport="80",rip="192.168.0.28",rport="80"} 4
# HELP fastvs_destination_weight Scheduling weight (0: quiesced, no new connections)
# TYPE fastvs_destination_weight gauge
fastvs_destination_weight{proto="TCP",vip="172.16.254.200",vport="80",rip="192.168.0.18",rport="8080"} 3
fastvs_destination_weight{proto="TCP",vip="172.16.254.200",vport="80",rip="192.168.0.28",rport="80"} 0
# HELP fastvs_worker_rx_packets_total Packets taken from the ports' RX queues
# TYPE fastvs_worker_rx_packets_total counter
fastvs_worker_rx_packets_total{worker="0"} 100
fastvs_worker_rx_packets_total{worker="1"} 0
# HELP fastvs_worker_tx_packets_total Packets handed to the ports' TX queues
# TYPE fastvs_worker_tx_packets_total counter
fastvs_worker_tx_packets_total{worker="0"} 90
fastvs_worker_tx_packets_total{worker="1"} 0
# HELP fastvs_worker_handoff_out_packets_total Packets handed to the worker that owns their flow
# TYPE fastvs_worker_handoff_out_packets_total counter
fastvs_worker_handoff_out_packets_total{worker="0"} 3
fastvs_worker_handoff_out_packets_total{worker="1"} 0
# HELP fastvs_worker_handoff_in_packets_total Packets received from other workers (flows this worker owns)
# TYPE fastvs_worker_handoff_in_packets_total counter
fastvs_worker_handoff_in_packets_total{worker="0"} 0
fastvs_worker_handoff_in_packets_total{worker="1"} 3
# HELP fastvs_worker_nat_in_packets_total Requests rewritten to a real server (NAT)
# TYPE fastvs_worker_nat_in_packets_total counter
fastvs_worker_nat_in_packets_total{worker="0"} 40
fastvs_worker_nat_in_packets_total{worker="1"} 0
# HELP fastvs_worker_nat_out_packets_total Replies rewritten to the VIP (NAT)
# TYPE fastvs_worker_nat_out_packets_total counter
fastvs_worker_nat_out_packets_total{worker="0"} 0
fastvs_worker_nat_out_packets_total{worker="1"} 0
# HELP fastvs_worker_icmp_nat_packets_total ICMP errors translated (NAT)
# TYPE fastvs_worker_icmp_nat_packets_total counter
fastvs_worker_icmp_nat_packets_total{worker="0"} 0
fastvs_worker_icmp_nat_packets_total{worker="1"} 0
# HELP fastvs_worker_dr_out_packets_total Requests sent on by direct routing
# TYPE fastvs_worker_dr_out_packets_total counter
fastvs_worker_dr_out_packets_total{worker="0"} 0
fastvs_worker_dr_out_packets_total{worker="1"} 0
# HELP fastvs_worker_tun_out_packets_total Requests sent on in an IPIP tunnel
# TYPE fastvs_worker_tun_out_packets_total counter
fastvs_worker_tun_out_packets_total{worker="0"} 0
fastvs_worker_tun_out_packets_total{worker="1"} 0
# HELP fastvs_worker_arp_replies_sent_total ARP requests for the director's addresses answered
# TYPE fastvs_worker_arp_replies_sent_total counter
fastvs_worker_arp_replies_sent_total{worker="0"} 0
fastvs_worker_arp_replies_sent_total{worker="1"} 0
# HELP fastvs_worker_arp_replies_received_total ARP replies learned from and consumed
# TYPE fastvs_worker_arp_replies_received_total counter
fastvs_worker_arp_replies_received_total{worker="0"} 0
fastvs_worker_arp_replies_received_total{worker="1"} 0
# HELP fastvs_worker_arp_requests_sent_total ARP requests sent for next hops
# TYPE fastvs_worker_arp_requests_sent_total counter
fastvs_worker_arp_requests_sent_total{worker="0"} 0
fastvs_worker_arp_requests_sent_total{worker="1"} 0
# HELP fastvs_worker_nd_adverts_sent_total Neighbour solicitations for the director's IPv6 addresses answered
# TYPE fastvs_worker_nd_adverts_sent_total counter
fastvs_worker_nd_adverts_sent_total{worker="0"} 0
fastvs_worker_nd_adverts_sent_total{worker="1"} 0
# HELP fastvs_worker_nd_solicits_sent_total Neighbour solicitations sent for IPv6 next hops
# TYPE fastvs_worker_nd_solicits_sent_total counter
fastvs_worker_nd_solicits_sent_total{worker="0"} 0
fastvs_worker_nd_solicits_sent_total{worker="1"} 0
# HELP fastvs_worker_echo_replies_sent_total ICMP echo requests answered
# TYPE fastvs_worker_echo_replies_sent_total counter
fastvs_worker_echo_replies_sent_total{worker="0"} 0
fastvs_worker_echo_replies_sent_total{worker="1"} 0
# HELP fastvs_worker_icmp_errors_sent_total ICMP errors sent (time exceeded, fragmentation needed)
# TYPE fastvs_worker_icmp_errors_sent_total counter
fastvs_worker_icmp_errors_sent_total{worker="0"} 0
fastvs_worker_icmp_errors_sent_total{worker="1"} 0
# HELP fastvs_worker_connections_created_total Connections created
# TYPE fastvs_worker_connections_created_total counter
fastvs_worker_connections_created_total{worker="0"} 6
fastvs_worker_connections_created_total{worker="1"} 0
# HELP fastvs_worker_connections_expired_total Connections expired
# TYPE fastvs_worker_connections_expired_total counter
fastvs_worker_connections_expired_total{worker="0"} 2
fastvs_worker_connections_expired_total{worker="1"} 0
# HELP fastvs_worker_to_kernel_packets_total Packets handed to the host's stack (the kernel path)
# TYPE fastvs_worker_to_kernel_packets_total counter
fastvs_worker_to_kernel_packets_total{worker="0"} 0
fastvs_worker_to_kernel_packets_total{worker="1"} 0
# HELP fastvs_worker_to_kernel_control_packets_total Of those, VRRP and ARP, handed on a budget of their own
# TYPE fastvs_worker_to_kernel_control_packets_total counter
fastvs_worker_to_kernel_control_packets_total{worker="0"} 0
fastvs_worker_to_kernel_control_packets_total{worker="1"} 0
# HELP fastvs_worker_from_kernel_packets_total The host's packets sent out of a port
# TYPE fastvs_worker_from_kernel_packets_total counter
fastvs_worker_from_kernel_packets_total{worker="0"} 0
fastvs_worker_from_kernel_packets_total{worker="1"} 0
# HELP fastvs_worker_fragments_tracked_total First fragments whose datagram was remembered
# TYPE fastvs_worker_fragments_tracked_total counter
fastvs_worker_fragments_tracked_total{worker="0"} 0
fastvs_worker_fragments_tracked_total{worker="1"} 0
# HELP fastvs_worker_fragments_followed_total Non-first fragments forwarded after their first
# TYPE fastvs_worker_fragments_followed_total counter
fastvs_worker_fragments_followed_total{worker="0"} 0
fastvs_worker_fragments_followed_total{worker="1"} 0
# HELP fastvs_worker_fragments_evicted_total Remembered datagrams overwritten while live (the fragment table was full)
# TYPE fastvs_worker_fragments_evicted_total counter
fastvs_worker_fragments_evicted_total{worker="0"} 7
fastvs_worker_fragments_evicted_total{worker="1"} 0
# HELP fastvs_worker_sync_queued_total Connections queued for the master sync daemon
# TYPE fastvs_worker_sync_queued_total counter
fastvs_worker_sync_queued_total{worker="0"} 0
fastvs_worker_sync_queued_total{worker="1"} 0
# HELP fastvs_worker_sync_dropped_total Connections the master sync daemon lost: the worker's sync ring was full
# TYPE fastvs_worker_sync_dropped_total counter
fastvs_worker_sync_dropped_total{worker="0"} 0
fastvs_worker_sync_dropped_total{worker="1"} 0
# HELP fastvs_worker_sync_applied_total Synced connections installed or updated (backup)
# TYPE fastvs_worker_sync_applied_total counter
fastvs_worker_sync_applied_total{worker="0"} 0
fastvs_worker_sync_applied_total{worker="1"} 0
# HELP fastvs_worker_sync_skipped_total Synced connections skipped: their service or real server is not configured here
# TYPE fastvs_worker_sync_skipped_total counter
fastvs_worker_sync_skipped_total{worker="0"} 0
fastvs_worker_sync_skipped_total{worker="1"} 0
# HELP fastvs_worker_conn_table_entries Connections in the worker's table
# TYPE fastvs_worker_conn_table_entries gauge
fastvs_worker_conn_table_entries{worker="0"} 4
fastvs_worker_conn_table_entries{worker="1"} 0
# HELP fastvs_worker_conn_table_capacity Connections the worker's table holds (--conn-capacity); when full new flows are dropped
# TYPE fastvs_worker_conn_table_capacity gauge
fastvs_worker_conn_table_capacity{worker="0"} 4096
fastvs_worker_conn_table_capacity{worker="1"} 4096
# HELP fastvs_worker_drops_total Packets dropped, by reason (see dataplane/counters.h)
# TYPE fastvs_worker_drops_total counter
fastvs_worker_drops_total{worker="0",reason="no_service"} 9
fastvs_worker_drops_total{worker="0",reason="no_conn"} 1
fastvs_worker_drops_total{worker="1",reason="no_service"} 0
fastvs_worker_drops_total{worker="1",reason="no_conn"} 0
)";

TEST(Prometheus, SmallSetGolden) {
  EXPECT_EQ(format_prometheus(small_set()), kGolden);
}

TEST(Prometheus, StreamedInPiecesOfAnySizeIsTheSameText) {
  // A scrape is written piece by piece as the client reads (control/report/metrics_http.h):
  // whatever the piece size, the pieces make the golden text, and no piece runs past its size by
  // more than one sample line.
  MetricsSnapshot m = small_set();
  RealServerHealth h;
  h.service = m.services[0].cfg.key;
  h.server = m.services[0].dests[0].cfg;
  m.health = {h};
  const std::string whole = format_prometheus(m);
  for (const size_t want : {size_t{1}, size_t{7}, size_t{64}, size_t{333}, size_t{4096}}) {
    PrometheusWriter w(m);
    std::string all;
    size_t calls = 0;
    while (!w.done()) {
      std::string piece;
      w.next(piece, want);
      ASSERT_FALSE(piece.empty()) << "a call that is not done writes something";
      EXPECT_LE(piece.size(), want + 200) << "want " << want;
      all += piece;
      ASSERT_LT(++calls, whole.size() + 10) << "no progress";
    }
    EXPECT_EQ(all, whole) << "want " << want;
  }
}

TEST(Prometheus, EmptyDirectorStillDeclaresEveryFamily) {
  const std::string t = format_prometheus(MetricsSnapshot{});
  size_t types = 0, samples = 0;
  for (size_t pos = 0; pos < t.size();) {
    const size_t eol = t.find('\n', pos);
    ASSERT_NE(eol, std::string::npos) << "every line ends with a newline";
    const std::string line = t.substr(pos, eol - pos);
    if (line.rfind("# TYPE ", 0) == 0) ++types;
    if (line[0] != '#') ++samples;
    pos = eol + 1;
  }
  EXPECT_EQ(samples, 0u);
  EXPECT_EQ(types, 47u);  // 16 of services, destinations and health; 28 counters, 2 gauges, drops
}

TEST(Prometheus, LabelValuesAreEscaped) {
  EXPECT_EQ(prometheus_escape_label("plain 1.2.3.4:80"), "plain 1.2.3.4:80");
  EXPECT_EQ(prometheus_escape_label("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  MetricsSnapshot m = small_set();
  m.services[1].cfg.scheduler = "we\"ird\\\n";
  m.workers[0].drops = {{"quote\"d", 1}};
  const std::string t = format_prometheus(m);
  EXPECT_NE(t.find("vport=\"53\",scheduler=\"we\\\"ird\\\\\\n\"} 1\n"), std::string::npos) << t;
  EXPECT_NE(t.find("{worker=\"0\",reason=\"quote\\\"d\"} 1\n"), std::string::npos) << t;
}

TEST(Prometheus, CheckedRealServersUpOrDown) {
  MetricsSnapshot m;
  RealServerHealth up, down;
  up.service = down.service = ServiceKey{Proto::Tcp, IpAddr::v4(0x0a000001), 80};
  up.server.rip = IpAddr::v4(0xc0a80012);
  up.server.rport = 80;
  down.server.rip = IpAddr::v4(0xc0a8001c);
  down.server.rport = 80;
  down.up = false;
  m.health = {up, down};
  const std::string t = format_prometheus(m);
  EXPECT_NE(t.find("# TYPE fastvs_real_server_up gauge\n"), std::string::npos) << t;
  EXPECT_NE(t.find("fastvs_real_server_up{proto=\"TCP\",vip=\"10.0.0.1\",vport=\"80\","
                   "rip=\"192.168.0.18\",rport=\"80\"} 1\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("rip=\"192.168.0.28\",rport=\"80\"} 0\n"), std::string::npos) << t;
  // Without checks the family is not declared at all.
  EXPECT_EQ(format_prometheus(MetricsSnapshot{}).find("fastvs_real_server_up"), std::string::npos);
}

TEST(Prometheus, CountersAreWrittenWhole) {
  MetricsSnapshot m = small_set();
  m.services[0].dests[0].inbytes = UINT64_MAX;
  EXPECT_NE(format_prometheus(m).find("rport=\"8080\"} 18446744073709551615\n"), std::string::npos);
}

TEST(StatsFile, JsonHasEveryWorkerCounterAndEveryDestination) {
  const std::string j = format_stats_json(small_set());
  EXPECT_EQ(j.substr(j.find("\"destinations\"")),
            "\"destinations\": ["
            "{\"service\": \"tcp:172.16.254.200:80\", \"rip\": \"192.168.0.18:8080\", "
            "\"weight\": 3, \"activeconns\": 2, \"inactconns\": 1, \"conns\": 5, "
            "\"inpkts\": 40, \"outpkts\": 38}, "
            "{\"service\": \"tcp:172.16.254.200:80\", \"rip\": \"192.168.0.28:80\", "
            "\"weight\": 0, \"activeconns\": 0, \"inactconns\": 0, \"conns\": 1, "
            "\"inpkts\": 7, \"outpkts\": 0}]}\n");
  const std::string w0 = j.substr(0, j.find("}}, {"));
  for (unsigned c = 0; c < kCounterCount; ++c) {
    const uint64_t v = small_set().workers[0].counters[c];
    EXPECT_NE(w0.find(fmt::format("\"{}\": {},", kCounters[c].name, v)), std::string::npos)
        << kCounters[c].name;
  }
  EXPECT_NE(w0.find("\"conns\": 4, \"drops\": {\"no_service\": 9, \"no_conn\": 1"),
            std::string::npos)
      << w0;
}

TEST(MetricsIpv6, LabelsAndStatsFileNameIpv6Addresses) {
  // Prometheus labels hold the address alone (inet_ntop's text); the stats file's names are
  // "proto:ADDR:PORT" with ipvsadm's brackets around an IPv6 address.
  MetricsSnapshot m;
  ServiceStatus s;
  s.cfg.key = {Proto::Tcp, *parse_ip("2001:db8::1"), 80};
  s.cfg.scheduler = "rr";
  s.dests = {dest(*parse_ip("2001:db8:1::10"), 8080, ForwardMethod::Masq, 1)};
  m.services = {s};
  const std::string text = format_prometheus(m);
  EXPECT_NE(text.find("proto=\"TCP\",vip=\"2001:db8::1\",vport=\"80\",rip=\"2001:db8:1::10\","
                      "rport=\"8080\""),
            std::string::npos)
      << text;
  const std::string j = format_stats_json(m);
  EXPECT_NE(j.find("{\"service\": \"tcp:[2001:db8::1]:80\", \"rip\": \"[2001:db8:1::10]:8080\","),
            std::string::npos)
      << j;
}

class ReplaceFile : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/fvs-replace-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  static std::string slurp(const std::string& p) {
    std::ifstream f(p);
    return std::string(std::istreambuf_iterator<char>(f), {});
  }
  size_t entries() const {
    return static_cast<size_t>(std::distance(std::filesystem::directory_iterator(dir_), {}));
  }
  std::string dir_;
};

TEST_F(ReplaceFile, WritesAndReplacesLeavingNothingElse) {
  const std::string p = dir_ + "/stats.json";
  ASSERT_TRUE(replace_file(p, "one\n").ok());
  ASSERT_TRUE(replace_file(p, "two\n").ok());
  EXPECT_EQ(slurp(p), "two\n");
  EXPECT_EQ(entries(), 1u) << "no temporary file left";
  struct stat st {};
  ASSERT_EQ(stat(p.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);
}

TEST_F(ReplaceFile, ALinkPlantedAtTheNameIsReplacedNotFollowed) {
  const std::string victim = dir_ + "/victim", p = dir_ + "/stats.json";
  { std::ofstream(victim) << "root's file\n"; }
  ASSERT_EQ(symlink(victim.c_str(), p.c_str()), 0);
  // And at every temporary name it could pick: mkostemp's are random, so plant the obvious one.
  ASSERT_EQ(symlink(victim.c_str(), (p + ".tmp").c_str()), 0);
  ASSERT_TRUE(replace_file(p, "stats\n").ok());
  EXPECT_EQ(slurp(victim), "root's file\n");
  struct stat st {};
  ASSERT_EQ(lstat(p.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(slurp(p), "stats\n");
}

TEST_F(ReplaceFile, AFailureSaysWhereAndKeepsThePreviousFile) {
  const Status st = replace_file(dir_ + "/no/such/dir/stats.json", "x");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error(), "creating a file beside it: No such file or directory");
  // A directory where the file should be: rename refuses, the directory stays, nothing is left.
  const std::string p = dir_ + "/stats.json";
  ASSERT_EQ(mkdir(p.c_str(), 0755), 0);
  const Status st2 = replace_file(p, "x");
  ASSERT_FALSE(st2.ok());
  EXPECT_EQ(st2.error(), "renaming it into place: Is a directory (the previous file is kept)");
  EXPECT_EQ(entries(), 1u);
}

TEST(ServiceName, RoundTripsAndReadsTheUsualSpellings) {
  const ServiceKey web{Proto::Tcp, ip(10, 0, 0, 1), 80};
  EXPECT_EQ(service_name(web), "TCP 10.0.0.1:80");
  for (const char* s : {"TCP 10.0.0.1:80", "tcp 10.0.0.1:80", "  TCP   10.0.0.1:80 ",
                        "tcp:10.0.0.1:80", "tcp/10.0.0.1:80", "-t 10.0.0.1:80"}) {
    const auto k = parse_service_name(s);
    ASSERT_TRUE(k) << s;
    EXPECT_EQ(*k, web) << s;
  }
  const auto dns = parse_service_name("UDP 172.16.254.200:53");
  ASSERT_TRUE(dns);
  EXPECT_EQ(*dns, (ServiceKey{Proto::Udp, ip(172, 16, 254, 200), 53}));
  EXPECT_TRUE(parse_service_name("-u 1.2.3.4:0"));
  for (const char* s :
       {"", "TCP", "TCP 10.0.0.1", "TCP10.0.0.1:80", "SCTP 10.0.0.1:80", "TCP 10.0.0.1:65536",
        "TCP 10.0.0:80", "TCP 10.0.0.1:8x", "-x 1.2.3.4:80", "TCP :: 10.0.0.1:80"})
    EXPECT_FALSE(parse_service_name(s)) << s;
}

}  // namespace
}  // namespace fastvs
