// What one health checker does (a TCP_CHECK, HTTP_GET, UDP_CHECK, PING_CHECK, MISC_CHECK ... block
// of keepalived's, or a `fastvsadm --check add`): its parameters, already resolved. Plain data, so
// that the configuration model (common/model.h) can hold checks; the state machines are in
// control/health/state.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/net.h"

namespace fastvs {

// ---------------------------------------------------------------------------------------------
// What one checker does (one TCP_CHECK, HTTP_GET or MISC_CHECK block of one real server).

enum class CheckKind : uint8_t { Tcp, Http, Misc, Udp, Ping, Smtp, Ssl, Dns, File };

// keepalived's block names: "TCP_CHECK", "HTTP_GET", "MISC_CHECK", "UDP_CHECK", "PING_CHECK",
// "SMTP_CHECK", "SSL_GET", "DNS_CHECK", "FILE_CHECK".
const char* check_kind_name(CheckKind k);

// An inclusive range of HTTP status codes ("status_code 200-299 404").
struct StatusRange {
  uint16_t lo = 200;
  uint16_t hi = 299;
  friend bool operator==(const StatusRange&, const StatusRange&) = default;
};

// One `url { }` of an HTTP_GET. The check passes when the status is in status_codes and, if a
// digest is given, the MD5 of the body equals it (keepalived's genhash prints that digest).
struct HttpUrl {
  std::string path = "/";
  std::string digest;                     // 32 lowercase hex digits; "" = body not checked
  std::vector<StatusRange> status_codes;  // empty = keepalived's default, 200-299
  std::string virtualhost;  // Host header (already inherited); "" = the connect address
  bool status_ok(unsigned code) const;
  friend bool operator==(const HttpUrl&, const HttpUrl&) = default;
};

// A checker's parameters, already resolved the way keepalived resolves them: the checker's own
// value, else its real server's, else its virtual server's, else the default for its kind.
struct CheckSpec {
  CheckKind kind = CheckKind::Tcp;
  // Scheduling. Times are seconds (keepalived's <TIMER>: fractions allowed).
  double delay_loop = 60;         // between runs (KEEPALIVED_DEFAULT_DELAY)
  double delay_before_retry = 1;  // after a failure that is retried: 3 for HTTP_GET, 1 otherwise
  unsigned retry = 1;             // failures retried before an up checker goes down: 0 for MISC
  double warmup = 60;             // the first run is spread over [0, warmup] (default delay_loop)
  bool alpha = false;             // start down and wait for a first success
  // TCP_CHECK, HTTP_GET, UDP_CHECK and PING_CHECK (no port): where to connect (defaults: the real
  // server's address and port).
  IpAddr connect_ip;  // zero: the real server's address
  uint16_t connect_port = 0;
  IpAddr bindto;           // source address; zero: the kernel chooses
  uint16_t bind_port = 0;  // source port; 0: any
  double connect_timeout = 5;
  // HTTP_GET and SSL_GET: one run fetches every url in order, and passes when all of them pass.
  std::vector<HttpUrl> urls;
  // SSL_GET: HTTP_GET over TLS. keepalived's `SSL { }` block: a CA file (the server's
  // certificate must verify against it; without one it is not checked, as keepalived does not),
  // the client's certificate and key, and the key's password. enable_sni: the url's
  // virtualhost (else nothing) as the server name.
  std::string ssl_ca, ssl_cert, ssl_key, ssl_password;
  bool enable_sni = false;
  // UDP_CHECK (keepalived's check_udp.c): a datagram sent, `payload` or (empty) 32 bytes of
  // fastvsd's own; it fails on an ICMP destination unreachable (port, host, net) within
  // connect_timeout, and passes on silence unless require_reply. A reply matched against
  // reply_data (when given) must be min..max_reply_len bytes long and equal it over their
  // common length, but for the nibbles reply_mask sets (keepalived's X digits).
  std::vector<uint8_t> udp_payload;
  bool require_reply = false;
  std::vector<uint8_t> reply_data;
  std::vector<uint8_t> reply_mask;  // empty: no wildcard
  uint16_t min_reply_len = 0;
  uint16_t max_reply_len = 255;
  // DNS_CHECK: the query's name and type (keepalived's defaults: ".", SOA).
  std::string dns_name = ".";
  uint16_t dns_type = 6;
  // SMTP_CHECK: the name HELO gives (keepalived's SMTP_DEFAULT_HELO).
  std::string helo_name = "smtpchecker.keepalived.org";
  // MISC_CHECK: a program run without a shell. Exit 0 passes, anything else fails; with
  // misc_dynamic, exit 2..255 passes too and sets the real server's weight to the status - 2.
  std::string misc_path;  // the command line as written, for logs
  // Program and arguments: misc_path's single value split on blanks (single quotes group), or
  // its several values one argument each (keepalived.conf(5), "Quoted strings").
  std::vector<std::string> misc_argv;
  double misc_timeout = 60;  // killed after this (default: the virtual server's delay_loop)
  bool misc_dynamic = false;
  // Who runs the program: keepalived's `user NAME [GROUP]` as written ("": the default script
  // user, global_defs' script_user, else keepalived_script if it exists, else root), and the
  // ids that resolved to when the configuration was loaded.
  std::string user;
  std::string group;
  uint32_t uid = 0;
  uint32_t gid = 0;

  // FILE_CHECK (keepalived's check_file.c and track_file.c): no runs; the file holds a number,
  // read whenever it is written (closed after writing), moved or deleted (then 0). With weight 0
  // a non-zero number takes the checker down (reverse: a zero one); otherwise number x weight
  // (reverse: negated), at most 65534, is added to the real server's weight, and -65535 or less
  // takes the checker down (IPVS_WEIGHT_FAULT).
  std::string track_name;   // keepalived's track_file NAME ("" from fastvsadm --check)
  std::string file_path;    // absolute
  int32_t file_weight = 1;  // -65535..65535 (track_file's, else FILE_CHECK's own)
  bool file_reverse = false;
  // track_file's init_file [VALUE] [overwrite]: written at start when the file does not exist
  // (overwrite: also when it does, but not on a reload).
  std::optional<int32_t> file_init;
  bool file_init_overwrite = false;

  // For logs: "TCP_CHECK 192.168.0.18:80", "HTTP_GET 192.168.0.18:80", "MISC_CHECK /bin/chk".
  std::string describe() const;
  friend bool operator==(const CheckSpec&, const CheckSpec&) = default;
};

// A notify or quorum script of keepalived's (notify_up, notify_down, quorum_up, quorum_down):
// a program run without a shell, as its user, on a real server's or a virtual server's
// transition; nobody waits for its result (keepalived's notify_exec).
struct ScriptSpec {
  std::string text;               // as written, for logs
  std::vector<std::string> argv;  // program and arguments (MISC_CHECK's splitting)
  std::string user;               // `SCRIPT [USER [GROUP]]` as written ("": the default user)
  std::string group;
  uint32_t uid = 0;  // what they resolved to when the configuration was loaded
  uint32_t gid = 0;
  friend bool operator==(const ScriptSpec&, const ScriptSpec&) = default;
};

// keepalived's read_hex_str (lib/parser.c): pairs of hex digits, blanks between groups ending
// one ("Ab12f 3" is AB 12 0F 03); with `mask`, X or x is a wildcard nibble (its mask bits set).
// False on any other character or an empty string.
bool parse_hex_str(std::string_view s, std::vector<uint8_t>& data, std::vector<uint8_t>* mask);

// DNS_CHECK's query types by keepalived's names (A, NS, CNAME, SOA, MX, TXT, AAAA; any case).
std::optional<uint16_t> dns_type_code(std::string_view name);
// The query DNS_CHECK sends: id, RD, one question for `name` of `type`, class IN.
std::vector<uint8_t> dns_query(uint16_t id, const std::string& name, uint16_t type);

// Whether a UDP_CHECK's reply passes (check_udp_reply): only checked when reply_data is given.
bool udp_reply_ok(const CheckSpec& spec, const uint8_t* reply, size_t len);

}  // namespace fastvs
