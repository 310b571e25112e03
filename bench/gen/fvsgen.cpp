// fvsgen: the benchmark harness's traffic generator for what testpmd cannot send: floods from
// millions of distinct sources (TCP SYN, new UDP flows, ARP requests, ICMP echo, traffic to no
// service) mixed with established flows, each paced at its own rate, on one DPDK port. What
// comes back is classified (forwarded established packets, forwarded flood packets, ARP and
// echo answers) and everything is printed as one JSON object at the end.
//
// The port behaves like a wire, not a queue: a burst the peer's RX ring cannot take is dropped
// and counted (ring_full), as a NIC's RX ring overflow would drop it. So an overloaded director
// loses packets here exactly as it would on a real link, established ones included.
//
// Phases: setup (one SYN or first datagram per established flow, so each has a connection),
// then `--seconds` of established traffic plus the flood, then `--drain` seconds receiving only.
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/checksum.h"

namespace {

enum class Flood { None, Syn, Udp, Arp, Echo, NoService };

struct Options {
  uint8_t src_mac[6]{0x02, 0, 0, 0, 0, 0x02};
  uint8_t dst_mac[6]{0x02, 0, 0, 0, 0, 0x01};
  uint32_t vip = 0;  // host order
  uint16_t vport = 80;
  bool udp = false;  // the established flows' protocol
  Flood flood = Flood::None;
  double flood_rate = 0;  // packets/s; 0 = none, < 0 = as fast as the port takes them
  uint32_t flood_sources = 10'000'000;
  uint32_t flood_base = 0x0b000000;  // 11.0.0.0
  uint32_t est_flows = 0;
  double est_rate = 0;
  uint32_t est_base = 0x0a000001;  // 10.0.0.1
  double seconds = 5;
  double drain = 0.5;
  // After the drain: wait, then offer new flows from another range (recovery of a full table).
  double after_wait = 0;
  uint32_t after_flows = 0;
  double after_rate = 10000;
};

struct Counts {
  uint64_t est_tx = 0, est_ring_full = 0, est_rx = 0;
  uint64_t flood_tx = 0, flood_ring_full = 0, flood_rx = 0;
  uint64_t arp_answers = 0, echo_answers = 0, other_rx = 0;
  uint64_t setup_tx = 0, setup_rx = 0;
};

volatile sig_atomic_t g_stop = 0;

bool parse_ip(const char* s, uint32_t* out) {
  unsigned a, b, c, d;
  char tail;
  if (std::sscanf(s, "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) != 4 || a > 255 || b > 255 ||
      c > 255 || d > 255)
    return false;
  *out = a << 24 | b << 16 | c << 8 | d;
  return true;
}

bool parse_mac(const char* s, uint8_t* out) {
  unsigned m[6];
  char tail;
  if (std::sscanf(s, "%x:%x:%x:%x:%x:%x%c", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5], &tail) != 6)
    return false;
  for (int i = 0; i < 6; ++i) out[i] = static_cast<uint8_t>(m[i]);
  return true;
}

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "fvsgen: %s\nusage: fvsgen EAL... -- --vip A [--vport P] [--udp] "
               "[--src-mac M] [--dst-mac M] [--flood syn|udp|arp|echo|noservice] "
               "[--flood-rate PPS|max] [--flood-sources N] [--est-flows N] [--est-rate PPS|max] "
               "[--seconds S] [--drain S] [--after-wait S --after-flows N [--after-rate PPS]]\n",
               why);
  std::exit(2);
}

Options parse_args(int argc, char** argv) {
  Options o;
  for (int i = 0; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto val = [&]() -> const char* {
      if (i + 1 >= argc) usage("missing value");
      return argv[++i];
    };
    if (a == "--vip") {
      if (!parse_ip(val(), &o.vip)) usage("bad --vip");
    } else if (a == "--vport") {
      o.vport = static_cast<uint16_t>(std::atoi(val()));
    } else if (a == "--udp") {
      o.udp = true;
    } else if (a == "--src-mac") {
      if (!parse_mac(val(), o.src_mac)) usage("bad --src-mac");
    } else if (a == "--dst-mac") {
      if (!parse_mac(val(), o.dst_mac)) usage("bad --dst-mac");
    } else if (a == "--flood") {
      const std::string_view f = val();
      o.flood = f == "syn"         ? Flood::Syn
                : f == "udp"       ? Flood::Udp
                : f == "arp"       ? Flood::Arp
                : f == "echo"      ? Flood::Echo
                : f == "noservice" ? Flood::NoService
                : f == "none"      ? Flood::None
                                   : (usage("bad --flood"), Flood::None);
    } else if (a == "--flood-rate") {
      const std::string_view v = val();
      o.flood_rate = v == "max" ? -1 : std::atof(v.data());
    } else if (a == "--flood-sources") {
      o.flood_sources = static_cast<uint32_t>(std::strtoul(val(), nullptr, 10));
    } else if (a == "--est-flows") {
      o.est_flows = static_cast<uint32_t>(std::strtoul(val(), nullptr, 10));
    } else if (a == "--est-rate") {
      const std::string_view v = val();
      o.est_rate = v == "max" ? -1 : std::atof(v.data());
    } else if (a == "--seconds") {
      o.seconds = std::atof(val());
    } else if (a == "--drain") {
      o.drain = std::atof(val());
    } else if (a == "--after-wait") {
      o.after_wait = std::atof(val());
    } else if (a == "--after-flows") {
      o.after_flows = static_cast<uint32_t>(std::strtoul(val(), nullptr, 10));
    } else if (a == "--after-rate") {
      o.after_rate = std::atof(val());
    } else {
      usage("unknown option");
    }
  }
  if (!o.vip) usage("--vip is required");
  if (o.flood_sources == 0) usage("--flood-sources must be > 0");
  return o;
}

void put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
void put32(uint8_t* p, uint32_t v) {
  put16(p, static_cast<uint16_t>(v >> 16));
  put16(p + 2, static_cast<uint16_t>(v));
}
uint32_t get32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}

// An IPv4 packet (20-byte header, no options) of proto with l4len bytes of L4, checksums done.
void ipv4(uint8_t* ip, uint8_t proto, uint32_t src, uint32_t dst, uint16_t l4len) {
  std::memset(ip, 0, 20);
  ip[0] = 0x45;
  put16(ip + 2, static_cast<uint16_t>(20 + l4len));
  ip[8] = 64;
  ip[9] = proto;
  put32(ip + 12, src);
  put32(ip + 16, dst);
  std::memcpy(ip + 10, "\0\0", 2);
  const uint16_t c = fastvs::csum_buffer(ip, 20);
  std::memcpy(ip + 10, &c, 2);
  uint8_t* l4 = ip + 20;
  if (proto == 6 || proto == 17) {
    // Pseudo header: addresses, protocol, L4 length.
    uint8_t ph[4] = {0, proto, static_cast<uint8_t>(l4len >> 8), static_cast<uint8_t>(l4len)};
    uint64_t s = fastvs::csum_partial(ip + 12, 8);
    s = fastvs::csum_partial(ph, 4, s);
    s = fastvs::csum_partial(l4, l4len, s);
    uint16_t c4 = fastvs::csum_finish(s);
    if (proto == 17 && c4 == 0) c4 = 0xffff;
    std::memcpy(l4 + (proto == 6 ? 16 : 6), &c4, 2);
  } else if (proto == 1) {
    const uint16_t c1 = fastvs::csum_buffer(l4, l4len);
    std::memcpy(l4 + 2, &c1, 2);
  }
}

// Builds one frame into m: 64 bytes on the wire (60 without the FCS).
void build(rte_mbuf* m, const Options& o, Flood kind, uint32_t src, uint16_t sport, bool est_syn,
           bool est) {
  uint8_t* p = rte_pktmbuf_mtod(m, uint8_t*);
  std::memset(p, 0, 60);
  std::memcpy(p, o.dst_mac, 6);
  std::memcpy(p + 6, o.src_mac, 6);
  uint8_t* ip = p + 14;
  if (!est && kind == Flood::Arp) {
    put16(p + 12, 0x0806);
    std::memset(p, 0xff, 6);
    uint8_t* a = p + 14;
    put16(a, 1);
    put16(a + 2, 0x0800);
    a[4] = 6;
    a[5] = 4;
    put16(a + 6, 1);
    std::memcpy(a + 8, o.src_mac, 6);
    put32(a + 14, src);
    put32(a + 24, o.vip);
  } else {
    put16(p + 12, 0x0800);
    uint8_t* l4 = ip + 20;
    const bool tcp = est ? !o.udp : kind == Flood::Syn;
    if (!est && kind == Flood::Echo) {
      l4[0] = 8;
      put16(l4 + 4, static_cast<uint16_t>(src));
      put16(l4 + 6, 1);
      ipv4(ip, 1, src, o.vip, 26);
    } else if (tcp) {
      put16(l4, sport);
      put16(l4 + 2, o.vport);
      put32(l4 + 4, 1000);
      if (!est_syn && est) put32(l4 + 8, 1);
      l4[12] = 5 << 4;
      l4[13] = est && !est_syn ? 0x10 : 0x02;  // ACK : SYN
      put16(l4 + 14, 65535);
      ipv4(ip, 6, src, o.vip, 20);
    } else {
      const uint16_t dport = !est && kind == Flood::NoService ? 9 : o.vport;
      put16(l4, sport);
      put16(l4 + 2, dport);
      put16(l4 + 4, 18);
      ipv4(ip, 17, src, o.vip, 18);
    }
  }
  m->data_len = m->pkt_len = 60;
}

struct Gen {
  Options o;
  uint16_t port = 0;
  rte_mempool* pool = nullptr;
  Counts c;
  uint32_t next_flood = 0, next_est = 0;
  std::vector<uint8_t> seen;  // setup: the flows whose first packet came back
  bool in_setup = true;
  uint64_t setup_missing = 0;

  uint32_t est_src(uint32_t i) const { return o.est_base + i; }
  uint16_t est_sport(uint32_t i) const { return static_cast<uint16_t>(1024 + i % 60000); }

  // Everything waiting, not one burst: a generator slower to read than the director is to
  // answer would make the director count TX drops that are the generator's.
  void receive() {
    while (receive_burst() == 64) {
    }
  }

  uint16_t receive_burst() {
    rte_mbuf* rx[64];
    const uint16_t n = rte_eth_rx_burst(port, 0, rx, 64);
    for (uint16_t i = 0; i < n; ++i) {
      const uint8_t* p = rte_pktmbuf_mtod(rx[i], const uint8_t*);
      const uint16_t et = static_cast<uint16_t>(p[12] << 8 | p[13]);
      if (et == 0x0806 && rx[i]->data_len >= 42 && p[21] == 2) {
        ++c.arp_answers;
      } else if (et == 0x0800 && rx[i]->data_len >= 34 + 8) {
        const uint8_t* ip = p + 14;
        const uint32_t src = get32(ip + 12);
        if (ip[9] == 1 && p[34] == 0) {
          ++c.echo_answers;
        } else if (o.est_flows && src - o.est_base < o.est_flows) {
          ++c.est_rx;
          if (in_setup && !seen[src - o.est_base]) {
            seen[src - o.est_base] = 1;
            ++c.setup_rx;
          }
        } else if (src - o.flood_base < o.flood_sources) {
          ++c.flood_rx;
        } else {
          ++c.other_rx;
        }
      } else {
        ++c.other_rx;
      }
    }
    rte_pktmbuf_free_bulk(rx, n);
    return n;
  }

  // Sends n packets of the class (est or flood); returns how many the port took.
  void send(unsigned n, bool est, bool syn_phase) {
    rte_mbuf* tx[64];
    if (n > 64) n = 64;
    if (rte_pktmbuf_alloc_bulk(pool, tx, n) != 0) return;
    for (unsigned i = 0; i < n; ++i) {
      if (est) {
        const uint32_t f = next_est;
        next_est = next_est + 1 == o.est_flows ? 0 : next_est + 1;
        build(tx[i], o, o.flood, est_src(f), est_sport(f), syn_phase, true);
      } else {
        const uint32_t s = next_flood;
        next_flood = next_flood + 1 == o.flood_sources ? 0 : next_flood + 1;
        build(tx[i], o, o.flood, o.flood_base + s, static_cast<uint16_t>(40000 + (s & 0x3ff)),
              false, false);
      }
    }
    const uint16_t sent = rte_eth_tx_burst(port, 0, tx, static_cast<uint16_t>(n));
    if (sent < n) rte_pktmbuf_free_bulk(tx + sent, n - sent);
    // The sources the port refused come next again: the flood's distinct sources reach the
    // director in order, so N accepted SYNs are N connections until the sources run out.
    if (!est && !syn_phase && sent < n)
      next_flood = (next_flood + o.flood_sources - (n - sent) % o.flood_sources) % o.flood_sources;
    if (syn_phase) {
      c.setup_tx += sent;
    } else if (est) {
      c.est_tx += sent;
      c.est_ring_full += n - sent;
    } else {
      c.flood_tx += sent;
      c.flood_ring_full += n - sent;
    }
  }

  // Every established flow's first packet, until each has come back forwarded (the director
  // may still be loading its configuration when the link comes up): rounds of one packet per
  // flow not seen yet, each round waiting up to a second.
  void setup() {
    const uint64_t hz = rte_get_tsc_hz();
    seen.assign(o.est_flows, 0);
    uint32_t missing = o.est_flows;
    for (int round = 0; round < 30 && missing && !g_stop; ++round) {
      for (uint32_t f = 0; f < o.est_flows && !g_stop;) {
        if (seen[f]) {
          ++f;
          continue;
        }
        rte_mbuf* m = rte_pktmbuf_alloc(pool);
        if (m) {
          build(m, o, o.flood, est_src(f), est_sport(f), true, true);
          if (rte_eth_tx_burst(port, 0, &m, 1) == 1) {
            ++f;
            ++c.setup_tx;
          } else {
            rte_pktmbuf_free(m);
          }
        }
        receive();
      }
      const uint64_t end = rte_get_tsc_cycles() + hz;
      while (rte_get_tsc_cycles() < end && c.setup_rx < o.est_flows) receive();
      missing = o.est_flows - static_cast<uint32_t>(c.setup_rx);
    }
    setup_missing = missing;
    in_setup = false;
    c.est_rx = 0;
    next_est = 0;
  }

  void run() {
    const uint64_t hz = rte_get_tsc_hz();
    const uint64_t start = rte_get_tsc_cycles();
    const uint64_t end = start + static_cast<uint64_t>(o.seconds * static_cast<double>(hz));
    uint64_t flood_due_sent = 0, est_due_sent = 0;
    while (!g_stop) {
      const uint64_t now = rte_get_tsc_cycles();
      if (now >= end) break;
      const double t = static_cast<double>(now - start) / static_cast<double>(hz);
      // Established traffic first: it is what is measured.
      if (o.est_flows && o.est_rate < 0) {
        send(32, true, false);
      } else if (o.est_flows && o.est_rate > 0) {
        const uint64_t due = static_cast<uint64_t>(t * o.est_rate);
        if (due > est_due_sent) {
          const unsigned n = static_cast<unsigned>(std::min<uint64_t>(due - est_due_sent, 32));
          send(n, true, false);
          est_due_sent += n;  // attempted: a refused one is lost, as on a wire
        }
      }
      if (o.flood != Flood::None && o.flood_rate != 0) {
        if (o.flood_rate < 0) {
          send(32, false, false);
        } else {
          const uint64_t due = static_cast<uint64_t>(t * o.flood_rate);
          if (due > flood_due_sent) {
            const unsigned n = static_cast<unsigned>(std::min<uint64_t>(due - flood_due_sent, 32));
            send(n, false, false);
            flood_due_sent += n;
          }
        }
      }
      receive();
    }
    const double secs = static_cast<double>(rte_get_tsc_cycles() - start) / static_cast<double>(hz);
    const uint64_t drain_end =
        rte_get_tsc_cycles() + static_cast<uint64_t>(o.drain * static_cast<double>(hz));
    while (rte_get_tsc_cycles() < drain_end && !g_stop) receive();
    uint64_t after_tx = 0, after_rx = 0;
    if (o.after_flows) {
      const uint64_t wait_end =
          rte_get_tsc_cycles() + static_cast<uint64_t>(o.after_wait * static_cast<double>(hz));
      while (rte_get_tsc_cycles() < wait_end && !g_stop) receive();
      // New clients from another range, paced; each comes back forwarded if it got a connection.
      const uint64_t flood_rx_before = c.flood_rx;
      o.flood_base += o.flood_sources;
      o.flood_sources = o.after_flows;
      next_flood = 0;
      const uint64_t t0 = rte_get_tsc_cycles();
      while (after_tx < o.after_flows && !g_stop) {
        const auto due = static_cast<uint64_t>(static_cast<double>(rte_get_tsc_cycles() - t0) /
                                               static_cast<double>(hz) * o.after_rate);
        if (due > after_tx) {
          const uint64_t before = c.flood_tx;
          send(static_cast<unsigned>(std::min<uint64_t>(due - after_tx, 32)), false, false);
          after_tx += c.flood_tx - before;
        }
        receive();
      }
      const uint64_t end2 = rte_get_tsc_cycles() + hz / 2;
      while (rte_get_tsc_cycles() < end2 && !g_stop) receive();
      after_rx = c.flood_rx - flood_rx_before;
    }
    std::printf(
        "{\"seconds\": %.3f, \"setup_tx\": %lu, \"setup_rx\": %lu, \"setup_missing\": %lu, "
        "\"est_tx\": %lu, "
        "\"est_ring_full\": %lu, \"est_rx\": %lu, \"flood_tx\": %lu, \"flood_ring_full\": %lu, "
        "\"flood_rx\": %lu, \"arp_answers\": %lu, \"echo_answers\": %lu, \"other_rx\": %lu, "
        "\"after_tx\": %lu, \"after_rx\": %lu}\n",
        secs, c.setup_tx, c.setup_rx, setup_missing, c.est_tx, c.est_ring_full, c.est_rx,
        c.flood_tx, c.flood_ring_full, c.flood_rx, c.arp_answers, c.echo_answers, c.other_rx,
        after_tx, after_rx);
    std::fflush(stdout);
  }
};

}  // namespace

int main(int argc, char** argv) {
  const int used = rte_eal_init(argc, argv);
  if (used < 0) {
    std::fprintf(stderr, "fvsgen: EAL initialisation failed\n");
    return 1;
  }
  std::signal(SIGINT, [](int) { g_stop = 1; });
  std::signal(SIGTERM, [](int) { g_stop = 1; });
  Gen g;
  g.o = parse_args(argc - used - 1, argv + used + 1);
  if (rte_eth_dev_count_avail() < 1) {
    std::fprintf(stderr, "fvsgen: no port (give one with --vdev)\n");
    return 1;
  }
  g.pool = rte_pktmbuf_pool_create("fvsgen", 16383, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                   static_cast<int>(rte_socket_id()));
  rte_eth_conf conf{};
  if (!g.pool || rte_eth_dev_configure(g.port, 1, 1, &conf) != 0 ||
      rte_eth_rx_queue_setup(g.port, 0, 1024, rte_eth_dev_socket_id(g.port), nullptr, g.pool) !=
          0 ||
      rte_eth_tx_queue_setup(g.port, 0, 1024, rte_eth_dev_socket_id(g.port), nullptr) != 0 ||
      rte_eth_dev_start(g.port) != 0) {
    std::fprintf(stderr, "fvsgen: port setup failed\n");
    return 1;
  }
  std::fprintf(stderr, "fvsgen: port started\n");
  // memif: wait for the peer before sending (the link comes up when it connects).
  rte_eth_link link{};
  for (int i = 0; i < 300 && !g_stop; ++i) {
    rte_eth_link_get_nowait(g.port, &link);
    if (link.link_status) break;
    rte_delay_ms(100);
  }
  if (!link.link_status) {
    std::fprintf(stderr, "fvsgen: link down after 30 s\n");
    return 1;
  }
  std::fprintf(stderr, "fvsgen: link up\n");
  g.setup();
  g.run();
  rte_eth_dev_stop(g.port);
  rte_eth_dev_close(g.port);
  rte_eal_cleanup();
  return 0;
}
