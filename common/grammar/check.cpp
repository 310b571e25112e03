// `fastvsadm --check ...`: keepalived's checkers (TCP_CHECK, HTTP_GET, UDP_CHECK, PING_CHECK,
// SMTP_CHECK, MISC_CHECK, FILE_CHECK) and its pool rules (quorum, hysteresis, sorry_server) on one
// line each, for services configured with fastvsadm rather than keepalived.conf. The keys are a
// table: the parser accepts what it holds, and fastvsadm --help prints it.
#include <algorithm>
#include <cctype>
#include <iterator>

#include "common/grammar/grammars.h"
#include "common/grammar/words.h"
#include "common/text.h"

namespace fastvs::grammar {

namespace {

// Where a key may stand: a check of a kind, or --check pool.
enum : unsigned {
  kTcp = 1,
  kHttp = 2,
  kMisc = 4,
  kPool = 8,
  kUdp = 16,
  kPing = 32,
  kSmtp = 64,
  kSsl = 128,
  kDns = 256,
  kFile = 512,  // FILE_CHECK: none of the timing keys (it never runs)
  kAnyKind = kTcp | kHttp | kMisc | kUdp | kPing | kSmtp | kSsl | kDns,
  kPorts = kTcp | kHttp | kMisc | kUdp | kSmtp | kSsl | kDns,  // every kind but ping
  kWeb = kHttp | kSsl                                          // HTTP_GET and SSL_GET
};

unsigned kind_bit(CheckKind k) {
  switch (k) {
    case CheckKind::Tcp:
      return kTcp;
    case CheckKind::Http:
      return kHttp;
    case CheckKind::Udp:
      return kUdp;
    case CheckKind::Ping:
      return kPing;
    case CheckKind::Smtp:
      return kSmtp;
    case CheckKind::Ssl:
      return kSsl;
    case CheckKind::Dns:
      return kDns;
    case CheckKind::File:
      return kFile;
    case CheckKind::Misc:
      break;
  }
  return kMisc;
}

struct CheckKey {
  const char* name;
  unsigned where;
  bool value;  // KEY=VALUE, or a bare KEY
  const char* value_name;
  const char* help;
};
constexpr CheckKey kCheckKeys[] = {
    {"interval", kAnyKind, true, "SECS", "between runs (keepalived's delay_loop; default 60)"},
    {"timeout", kAnyKind, true, "SECS", "connect_timeout (default 5)"},
    {"retry", kAnyKind, true, "N", "failures retried before the check fails (misc: 0, else 1)"},
    {"delay_before_retry", kAnyKind, true, "SECS", "between retries (http: 3, else 1)"},
    {"warmup", kAnyKind, true, "SECS", "the first run within this (default interval)"},
    {"port", kPorts, true, "PORT", "connect_port (default the real server's; not ping)"},
    {"ip", kAnyKind, true, "IP", "connect_ip (default the real server's)"},
    {"alpha", kAnyKind, false, "", "start down, up after the first success"},
    {"inhibit", kAnyKind | kFile, false, "", "down: weight 0 instead of out (inhibit_on_failure)"},
    {"path", kWeb, true, "/PATH", "a url to GET, repeatable; the next keys are its"},
    {"status", kWeb, true, "CODES", "accepted status codes, e.g. 200,301-302 (default 2xx)"},
    {"digest", kWeb, true, "MD5", "the body's MD5 as keepalived's genhash prints it"},
    {"host", kWeb, true, "HOST", "the Host header (virtualhost)"},
    {"sni", kSsl, false, "", "the Host as the TLS server name (enable_sni)"},
    {"ca", kSsl, true, "FILE", "CAs the server's certificate must verify against"},
    {"program", kMisc, true, "PATH", "the program, run without a shell (misc_path)"},
    {"arg", kMisc, true, "ARG", "one argument, repeatable"},
    {"misc_timeout", kMisc, true, "SECS", "killed after this (default interval)"},
    {"user", kMisc, true, "NAME[:GROUP]",
     "run as (default keepalived_script if it exists, else root)"},
    {"dynamic", kMisc, false, "", "exit 2..255 sets the weight to status - 2 (misc_dynamic)"},
    {"helo", kSmtp, true, "NAME", "HELO's name (helo_name; smtpchecker.keepalived.org)"},
    {"type", kDns, true, "TYPE", "the query's type: A NS CNAME SOA MX TXT AAAA (SOA)"},
    {"name", kDns, true, "NAME", "the name queried (.)"},
    {"payload", kUdp, true, "HEX", "the datagram sent (default 32 bytes of fastvsd's own)"},
    {"require_reply", kUdp, false, "", "fails without a reply (else silence passes)"},
    {"require_reply", kUdp, true, "HEX", "a reply that matches HEX (X: any nibble)"},
    {"min_reply_length", kUdp, true, "N", "with require_reply=HEX: the shortest reply (0)"},
    {"max_reply_length", kUdp, true, "N", "with require_reply=HEX: the longest reply (255)"},
    {"file", kFile, true, "PATH", "the file whose number (x weight) joins the server's weight"},
    {"weight", kFile, true, "N", "-65535..65535 (default 1; 0: a non-zero number means down)"},
    {"reverse", kFile, false, "", "the number counts negated (weight 0: zero means down)"},
    {"quorum", kPool, true, "N", "the total weight of servers up that keeps the service up"},
    {"hysteresis", kPool, true, "N", "around the quorum"},
    {"sorry", kPool, true, "IP[:PORT]", "the sorry server while the quorum is lost"},
    {"masq", kPool, false, "", "the sorry server's forwarding (masq, route or tunnel)"},
    {"route", kPool, false, "", ""},
    {"tunnel", kPool, false, "", ""},
    {"sorry_inhibit", kPool, false, "", "keep the sorry server at weight 0 when unused"},
};

// Every form, for fastvsadm --help; each example must parse (a unit test runs them).
struct CheckForm {
  const char* usage;
  const char* help;
  const char* example;
};
constexpr CheckForm kCheckForms[] = {
    {"--check add -t|-u VIP:PORT|-f MARK -r RIP[:PORT] KIND [KEY[=VALUE] ...]",
     "a checker of one real server (all of a server's must pass), KIND one of\n      "
     "tcp, http, ssl, udp, dns, ping, smtp, misc, file",
     "--check add -t 172.16.254.200:80 -r 192.168.0.18:80 http path=/health status=200 "
     "interval=2"},
    {"--check add -t|-u VIP:PORT -r RIP[:PORT] file file=PATH [weight=N] [reverse] [inhibit]",
     "a file whose number moves the server's weight, or takes it down (FILE_CHECK)",
     "--check add -t 172.16.254.200:80 -r 192.168.0.18:80 file file=/run/rs18.state weight=0"},
    {"--check del -t|-u VIP:PORT|-f MARK [-r RIP[:PORT]]", "a server's checkers, or the service's",
     "--check del -t 172.16.254.200:80 -r 192.168.0.18:80"},
    {"--check pool -t|-u VIP:PORT|-f MARK [KEY[=VALUE] ...]",
     "the service's quorum and sorry server",
     "--check pool -t 172.16.254.200:80 quorum=2 sorry=192.168.0.99"},
    {"--check list", "every checker and its state", "--check list"},
};

// "200", "200-299", "200,301-302".
bool parse_status_codes(std::string_view s, std::vector<StatusRange>* out) {
  size_t start = 0;
  while (start <= s.size()) {
    const size_t comma = s.find(',', start);
    const std::string_view part = s.substr(start, comma == s.npos ? s.npos : comma - start);
    const size_t dash = part.find('-');
    const auto lo = parse_uint(part.substr(0, dash), 999);
    const auto hi = dash == part.npos ? lo : parse_uint(part.substr(dash + 1), 999);
    if (!lo || !hi || *lo < 100 || *hi < *lo) return false;
    out->push_back(StatusRange{static_cast<uint16_t>(*lo), static_cast<uint16_t>(*hi)});
    if (comma == s.npos) break;
    start = comma + 1;
  }
  return true;
}

}  // namespace

Result<Command> parse_check(const std::vector<std::string>& words) {
  static constexpr const char* kUsage = "usage: --check add|del|pool|list (see fastvsadm --help)";
  if (words.size() < 2) return Error{kUsage};
  Command cmd;
  const std::string& verb = words[1];
  if (verb == "list") {
    if (words.size() > 2) return Error{"--check list takes no arguments"};
    cmd.op = Op::CheckList;
    return cmd;
  }
  if (verb == "add") {
    cmd.op = Op::CheckAdd;
  } else if (verb == "del") {
    cmd.op = Op::CheckDel;
  } else if (verb == "pool") {
    cmd.op = Op::CheckPool;
  } else {
    return Error{"unknown --check command " + quoted(verb) + " (add, del, pool, list)"};
  }
  size_t i = 2;
  // -t|-u SERVICE or -f MARK [-6], then -r RIP[:PORT] for add and del.
  if (i + 1 >= words.size() || (words[i] != "-t" && words[i] != "-u" && words[i] != "-f"))
    return Error{"--check " + verb + " needs a service: -t|-u ADDR:PORT or -f MARK"};
  if (words[i] == "-f") {
    const auto mark = parse_uint(words[i + 1], 0xffffffffu);
    if (!mark || *mark == 0)
      return Error{"invalid fwmark value " + quoted(words[i + 1]) + " specified (1..4294967295)"};
    i += 2;
    const bool v6 = i < words.size() && words[i] == "-6";
    if (v6) ++i;
    cmd.has_service = true;
    cmd.service = ServiceKey::of_fwmark(*mark, v6);
  } else {
    std::optional<uint16_t> port;
    if (Status st = parse_host_port("service address", words[i + 1], cmd.service.vip, port); !st)
      return Error{st.error()};
    cmd.has_service = true;
    cmd.service.proto = words[i] == "-t" ? Proto::Tcp : Proto::Udp;
    cmd.service.vport = port.value_or(0);
    i += 2;
  }
  if (cmd.op != Op::CheckPool && i + 1 < words.size() && words[i] == "-r") {
    std::optional<uint16_t> port;
    if (Status st = parse_host_port("real server", words[i + 1], cmd.rip, port); !st)
      return Error{st.error()};
    cmd.has_dest = true;
    cmd.rport = port.value_or(cmd.service.vport);
    i += 2;
  }
  if (cmd.op == Op::CheckAdd && !cmd.has_dest)
    return Error{"--check add needs a real server: -r HOST[:PORT]"};
  CheckSpec& spec = cmd.check.spec;
  bool retry_given = false, dbr_given = false, misc_timeout_given = false, warmup_given = false;
  if (cmd.op == Op::CheckAdd) {
    if (i >= words.size())
      return Error{"--check add needs a kind: tcp, http, ssl, udp, dns, ping, smtp, misc or file"};
    std::string kind = words[i++];
    for (char& c : kind) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (kind == "tcp" || kind == "tcp_check") {
      spec.kind = CheckKind::Tcp;
    } else if (kind == "http" || kind == "http_get") {
      spec.kind = CheckKind::Http;
    } else if (kind == "ssl" || kind == "ssl_get") {
      spec.kind = CheckKind::Ssl;
    } else if (kind == "dns" || kind == "dns_check") {
      spec.kind = CheckKind::Dns;
    } else if (kind == "udp" || kind == "udp_check") {
      spec.kind = CheckKind::Udp;
    } else if (kind == "ping" || kind == "ping_check") {
      spec.kind = CheckKind::Ping;
    } else if (kind == "smtp" || kind == "smtp_check") {
      spec.kind = CheckKind::Smtp;
    } else if (kind == "misc" || kind == "misc_check") {
      spec.kind = CheckKind::Misc;
    } else if (kind == "file" || kind == "file_check") {
      spec.kind = CheckKind::File;
    } else {
      return Error{"unknown check kind " + quoted(kind) +
                   " (tcp, http, ssl, udp, dns, ping, smtp, misc, file)"};
    }
  }
  std::vector<std::string> seen;  // keys given, but for those a line may repeat
  for (; i < words.size(); ++i) {
    const std::string& w = words[i];
    const size_t eq = w.find('=');
    const std::string key = w.substr(0, eq);
    // path= and arg= repeat; status=, digest= and host= belong to the path= before them.
    if (key != "path" && key != "arg" && key != "status" && key != "digest" && key != "host") {
      if (std::find(seen.begin(), seen.end(), key) != seen.end())
        return Error{quoted(key) + " is given twice"};
      seen.push_back(key);
    }
    const std::string_view val =
        eq == w.npos ? std::string_view() : std::string_view(w).substr(eq + 1);
    auto bad = [&](const char* what) {
      return Error{"bad " + std::string(what) + " " + quoted(w)};
    };
    // The key must be one of the table's, for this verb and kind, with or without a value as
    // the table says; what it does is below.
    const unsigned where = cmd.op == Op::CheckPool ? kPool : kind_bit(spec.kind);
    const bool known =
        std::any_of(std::begin(kCheckKeys), std::end(kCheckKeys), [&](const CheckKey& k) {
          return key == k.name && (k.where & where) && k.value == (eq != w.npos);
        });
    if (cmd.op == Op::CheckPool) {
      if (!known) {
        return Error{"unknown --check pool option " + quoted(w) +
                     " (quorum=N hysteresis=N sorry=IP[:PORT] masq|route|tunnel sorry_inhibit)"};
      } else if (key == "quorum") {
        const auto v = parse_uint(val, 1u << 30);
        if (!v) return bad("quorum");
        cmd.pool.quorum = *v;
      } else if (key == "hysteresis") {
        const auto v = parse_uint(val, 1u << 30);
        if (!v) return bad("hysteresis");
        cmd.pool.hysteresis = *v;
      } else if (key == "sorry") {
        std::optional<uint16_t> port;
        if (Status st = parse_host_port("sorry server", val, cmd.pool.sorry_ip, port); !st)
          return Error{st.error()};
        cmd.pool.has_sorry = true;
        cmd.pool.sorry_port = port.value_or(cmd.service.vport);
      } else if (key == "masq" || key == "route" || key == "tunnel") {
        cmd.pool.sorry_method = key == "masq"    ? ForwardMethod::Masq
                                : key == "route" ? ForwardMethod::Route
                                                 : ForwardMethod::Tunnel;
      } else {  // sorry_inhibit
        cmd.pool.sorry_inhibit = true;
      }
      continue;
    }
    if (cmd.op == Op::CheckDel) return Error{"unexpected argument " + quoted(w)};
    if (!known) {
      return Error{"unknown option " + quoted(w) + " for a " + check_kind_name(spec.kind) +
                   " check"};
    } else if (key == "interval") {
      const auto v = parse_seconds(val);
      if (!v || *v <= 0) return bad("interval");
      spec.delay_loop = *v;
    } else if (key == "timeout") {
      const auto v = parse_seconds(val);
      if (!v || *v <= 0) return bad("timeout");
      spec.connect_timeout = *v;
    } else if (key == "retry") {
      const auto v = parse_uint(val, 1000);
      if (!v) return bad("retry");
      spec.retry = *v;
      retry_given = true;
    } else if (key == "delay_before_retry") {
      const auto v = parse_seconds(val);
      if (!v) return bad("delay_before_retry");
      spec.delay_before_retry = *v;
      dbr_given = true;
    } else if (key == "warmup") {
      const auto v = parse_seconds(val);
      if (!v) return bad("warmup");
      spec.warmup = *v;
      warmup_given = true;
    } else if (key == "port") {
      const auto v = parse_uint(val, 65535);
      if (!v || *v == 0) return bad("port");
      spec.connect_port = static_cast<uint16_t>(*v);
    } else if (key == "ip") {
      const auto a = fastvs::parse_ip(val);
      if (!a) return bad("ip");
      spec.connect_ip = *a;
    } else if (key == "path") {
      if (val.empty() || val[0] != '/') return bad("path (it starts with /)");
      spec.urls.push_back(HttpUrl{});
      spec.urls.back().path = std::string(val);
    } else if (key == "status" || key == "digest" || key == "host") {
      if (spec.urls.empty()) return Error{quoted(w) + " comes after the path= it is for"};
      HttpUrl& u = spec.urls.back();
      if (key == "status") {
        if (!parse_status_codes(val, &u.status_codes)) return bad("status (e.g. 200,301-302)");
      } else if (key == "digest") {
        if (val.size() != 32 || val.find_first_not_of("0123456789abcdef") != val.npos)
          return bad("digest (32 lowercase hex digits)");
        u.digest = std::string(val);
      } else {
        u.virtualhost = std::string(val);
      }
    } else if (key == "program") {
      spec.misc_argv = {std::string(val)};
    } else if (key == "arg") {
      if (spec.misc_argv.empty()) return Error{quoted(w) + " comes after program="};
      spec.misc_argv.emplace_back(val);
    } else if (key == "misc_timeout") {
      const auto v = parse_seconds(val);
      if (!v || *v <= 0) return bad("misc_timeout");
      spec.misc_timeout = *v;
      misc_timeout_given = true;
    } else if (key == "user") {
      // user=NAME[:GROUP], keepalived's `user NAME [GROUP]`; resolved when applied.
      const size_t colon = val.find(':');
      spec.user = std::string(val.substr(0, colon));
      spec.group = colon == val.npos ? "" : std::string(val.substr(colon + 1));
      if (spec.user.empty() || (colon != val.npos && spec.group.empty()))
        return bad("user (user=NAME or user=NAME:GROUP)");
    } else if (key == "dynamic") {
      spec.misc_dynamic = true;
    } else if (key == "sni") {
      spec.enable_sni = true;
    } else if (key == "ca") {
      if (val.empty() || val[0] != '/') return bad("ca (an absolute path)");
      spec.ssl_ca = std::string(val);
    } else if (key == "type") {
      const auto t = dns_type_code(val);
      if (!t) return bad("type (A, NS, CNAME, SOA, MX, TXT or AAAA)");
      spec.dns_type = *t;
    } else if (key == "name") {
      if (val.empty() || val.size() > 253) return bad("name");
      spec.dns_name = std::string(val);
    } else if (key == "helo") {
      if (val.empty() || val.find_first_of(" \t\r\n") != val.npos) return bad("helo (a name)");
      spec.helo_name = std::string(val);
    } else if (key == "payload") {
      if (!parse_hex_str(val, spec.udp_payload, nullptr)) return bad("payload (hex digits)");
    } else if (key == "require_reply") {
      spec.require_reply = true;
      if (eq != w.npos && !parse_hex_str(val, spec.reply_data, &spec.reply_mask))
        return bad("require_reply (hex digits, X for any)");
    } else if (key == "min_reply_length" || key == "max_reply_length") {
      const auto v = parse_uint(val, 65535);
      if (!v) return bad(key == "min_reply_length" ? "min_reply_length" : "max_reply_length");
      (key == "min_reply_length" ? spec.min_reply_len : spec.max_reply_len) =
          static_cast<uint16_t>(*v);
    } else if (key == "file") {
      if (val.empty() || val[0] != '/' || val.back() == '/')
        return bad("file (an absolute path to a file)");
      spec.file_path = std::string(val);
    } else if (key == "weight") {
      const std::optional<int32_t> v = parse_int(val, -65535, 65535);
      if (!v) return bad("weight (-65535..65535)");
      spec.file_weight = *v;
    } else if (key == "reverse") {
      spec.file_reverse = true;
    } else if (key == "alpha") {
      spec.alpha = true;
    } else {  // inhibit
      cmd.check_inhibit = true;
    }
  }
  if (cmd.op == Op::CheckAdd) {
    // keepalived's defaults by kind (see common/check_spec.h).
    if (spec.kind == CheckKind::Http || spec.kind == CheckKind::Ssl) {
      if (spec.urls.empty())
        return Error{std::string("an ") + (spec.kind == CheckKind::Ssl ? "ssl" : "http") +
                     " check needs path=/..."};
      if (!dbr_given) spec.delay_before_retry = 3;
    }
    if (spec.kind == CheckKind::Dns && !retry_given) spec.retry = 3;  // DNS_DEFAULT_RETRY
    if (spec.kind == CheckKind::Udp && spec.min_reply_len > spec.max_reply_len)
      return Error{"min_reply_length is above max_reply_length: the check would always fail"};
    if (spec.kind == CheckKind::Misc) {
      if (spec.misc_argv.empty()) return Error{"a misc check needs program=PATH"};
      if (!retry_given) spec.retry = 0;
      if (!misc_timeout_given) spec.misc_timeout = spec.delay_loop;
      spec.misc_path = spec.misc_argv[0];
      for (size_t k = 1; k < spec.misc_argv.size(); ++k) spec.misc_path += " " + spec.misc_argv[k];
    }
    if (spec.kind == CheckKind::File && spec.file_path.empty())
      return Error{"a file check needs file=PATH"};
    if (!warmup_given) spec.warmup = spec.delay_loop;
    cmd.check.service = cmd.service;
    cmd.check.rip = cmd.rip;
    cmd.check.rport = cmd.rport;
  }
  cmd.pool.service = cmd.service;
  return cmd;
}

std::string check_help() {
  std::string out = "Health checks, keepalived's checkers on one line each (keepalived.conf(5)):\n";
  for (const CheckForm& f : kCheckForms)
    out += "  " + std::string(f.usage) + "\n      " + f.help + "\n";
  out += "  keys (for which kinds):\n";
  for (const CheckKey& k : kCheckKeys) {
    if (!*k.help) continue;  // route, tunnel: with masq
    std::string name = k.name;
    if (k.value) name += std::string("=") + k.value_name;
    if (std::string(k.name) == "masq") name = "masq|route|tunnel";
    const std::string where = k.where == kPool                ? "pool"
                              : k.where == kAnyKind           ? "any"
                              : k.where == kPorts             ? "!ping"
                              : k.where == kHttp              ? "http"
                              : k.where == kWeb               ? "http,ssl"
                              : k.where == kSsl               ? "ssl"
                              : k.where == kUdp               ? "udp"
                              : k.where == kSmtp              ? "smtp"
                              : k.where == kDns               ? "dns"
                              : k.where == kFile              ? "file"
                              : k.where == (kAnyKind | kFile) ? "any"
                                                              : "misc";
    out += "    " + name + std::string(name.size() < 26 ? 26 - name.size() : 1, ' ') + where +
           std::string(where.size() < 9 ? 9 - where.size() : 1, ' ') + k.help + "\n";
  }
  return out;
}

std::vector<std::string> check_examples() {
  std::vector<std::string> out;
  for (const CheckForm& f : kCheckForms) out.emplace_back(f.example);
  return out;
}

}  // namespace fastvs::grammar
