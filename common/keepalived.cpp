// keepalived.conf's LVS half: lexer, block tree, keyword handlers with keepalived's defaults and
// corrections, and the conversion to fastvs's model (see keepalived.h for what is handled).
#include "common/keepalived.h"

#include <algorithm>
#include <utility>

#include "common/command.h"
#include "common/script_user.h"

namespace fastvs {

namespace {

// ---------------------------------------------------------------------------------------------
// Lexer and block tree.

// One statement: `key args...`, with its block if a '{' followed it.
struct Node {
  std::string key;
  std::vector<std::string> args;
  unsigned line = 0;
  bool block = false;
  std::vector<Node> children;
};

bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

struct Token {
  enum class Kind : uint8_t { Word, Open, Close };
  Kind kind = Kind::Word;
  std::string text;
};

// keepalived's line lexer: blanks separate words, '{' and '}' are words of their own even when
// glued to others, '#' and '!' start a comment anywhere outside quotes, and quoted parts ("..."
// or '...') join the word around them, blanks included. In quotes a backslash takes the next
// character as it is (keepalived also reads \n, \t, \xXX...: not here, so that no value, and
// no message quoting one, spans two lines).
std::string lex_line(std::string_view line, std::vector<Token>& out) {
  std::string word;
  bool in_word = false;
  auto flush = [&] {
    if (in_word) out.push_back({Token::Kind::Word, std::move(word)});
    word.clear();
    in_word = false;
  };
  size_t i = 0;
  while (i < line.size()) {
    const char c = line[i];
    if (c == '#' || c == '!') break;
    if (is_blank(c)) {
      flush();
      ++i;
    } else if (c == '{' || c == '}') {
      flush();
      out.push_back({c == '{' ? Token::Kind::Open : Token::Kind::Close, std::string(1, c)});
      ++i;
    } else if (c == '"' || c == '\'') {
      in_word = true;
      ++i;
      bool closed = false;
      while (i < line.size()) {
        const char d = line[i];
        if (d == c) {
          closed = true;
          ++i;
          break;
        }
        if (d == '\\' && i + 1 < line.size()) {
          word += line[i + 1];
          i += 2;
          continue;
        }
        word += d;
        ++i;
      }
      if (!closed) return std::string("unterminated quoted string (missing ") + c + ")";
    } else {
      in_word = true;
      word += c;
      ++i;
    }
  }
  flush();
  return "";
}

// A MISC_CHECK program and its arguments. keepalived.conf(5): "unquoted spaces will separate the
// parameters. If it is required for a parameter to contain a space, it should be enclosed in
// single quotes": one value ("/bin/check arg1 'two words'") is split on blanks, single quotes
// grouping; several values (/bin/check arg1 'two words') are an argument each.
std::vector<std::string> script_argv(const std::vector<std::string>& values) {
  if (values.size() != 1) return values;
  std::vector<std::string> out;
  std::string cur;
  bool in_word = false;
  bool quoted = false;
  for (const char c : values[0]) {
    if (c == '\'') {
      quoted = !quoted;
      in_word = true;
    } else if (!quoted && is_blank(c)) {
      if (in_word) out.push_back(std::move(cur));
      cur.clear();
      in_word = false;
    } else {
      cur += c;
      in_word = true;
    }
  }
  if (in_word) out.push_back(std::move(cur));
  return out;
}

std::string quoted(std::string_view s) {
  // Appended piece by piece: g++ 12 at -O3 reports a -Wrestrict false positive for
  // "'" + std::string(s) + "'" (GCC bug 105651).
  std::string out;
  out.reserve(s.size() + 2);
  out += '\'';
  out += s;
  out += '\'';
  return out;
}

std::string addr_port(uint32_t ip, uint16_t port) {
  return format_ip4(ip) + ":" + std::to_string(port);
}

std::string service_name(const ServiceKey& k) {
  return std::string(proto_name(k.proto)) + " " + addr_port(k.vip, k.vport);
}

std::string join(const std::vector<std::string>& v, std::string_view sep = " ") {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += sep;
    out += v[i];
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Values passed down: virtual server -> real server -> checker (validate_check_config).

struct Inherit {
  std::optional<bool> alpha;
  std::optional<bool> inhibit;
  std::optional<double> connect_timeout;
  std::optional<unsigned> retry;
  std::optional<double> delay_before_retry;
  std::optional<double> warmup;
  std::optional<double> delay_loop;
  std::optional<std::string> virtualhost;
};

template <typename T>
T first_of(const std::optional<T>& a, const std::optional<T>& b, const std::optional<T>& c,
           T fallback) {
  return a ? *a : b ? *b : c ? *c : fallback;
}

struct RawUrl {
  HttpUrl url;
  std::optional<std::string> virtualhost;
};

struct RawCheck {
  unsigned line = 0;
  CheckKind kind = CheckKind::Tcp;
  Inherit inh;
  std::optional<uint32_t> connect_ip;
  std::optional<uint16_t> connect_port;
  uint32_t bindto = 0;
  uint16_t bind_port = 0;
  std::vector<RawUrl> urls;
  std::string misc_path;
  std::vector<std::string> misc_argv;
  std::optional<double> misc_timeout;
  bool misc_dynamic = false;
  std::string user;
  std::string group;
  unsigned user_line = 0;
};

struct RawServer {
  unsigned line = 0;
  uint32_t ip = 0;
  std::optional<uint16_t> port;
  int32_t weight = 1;
  std::optional<ForwardMethod> method;
  bool inhibit = false;  // sorry_server_inhibit
  uint32_t u_threshold = 0;
  uint32_t l_threshold = 0;
  Inherit inh;
  std::string notify_up;
  std::string notify_down;
  std::vector<RawCheck> checks;
};

struct RawVs {
  unsigned line = 0;
  uint32_t vip = 0;
  uint16_t vport = 0;
  std::optional<Proto> proto;
  std::optional<std::string> scheduler;
  uint32_t sched_flags = 0;
  std::optional<ForwardMethod> method;
  uint32_t persistence_timeout = 0;
  std::optional<uint32_t> granularity;
  uint32_t quorum = 1;
  uint32_t hysteresis = 0;
  bool omega = false;
  std::string quorum_up;
  std::string quorum_down;
  Inherit inh;
  std::optional<RawServer> sorry;
  std::vector<RawServer> real_servers;
};

// ---------------------------------------------------------------------------------------------
// The loader.

class Loader {
 public:
  explicit Loader(std::string_view name) { cfg_.name = std::string(name); }

  KaLoadResult run(std::string_view text) {
    KaLoadResult r;
    Node root;
    if (build_tree(text, root)) {
      bool ok = true;
      for (const Node& n : root.children) {
        if (!(ok = top(n))) break;
      }
      if (ok) resolve_script_users();
    }
    for (const auto& [line, text_] : warnings_) {
      r.warnings.push_back(cfg_.name + ":" + std::to_string(line) + ": " + text_);
    }
    if (!error_.empty()) {
      r.error = cfg_.name + ":" + std::to_string(error_line_) + ": " + error_;
      return r;
    }
    r.ok = true;
    r.cfg = std::move(cfg_);
    return r;
  }

 private:
  // -------------------------------------------------------------------------------------------
  // Messages.

  bool fail(unsigned line, std::string msg) {
    if (error_.empty()) {
      error_ = std::move(msg);
      error_line_ = line;
    }
    return false;
  }
  void warn(unsigned line, std::string msg) { warnings_.emplace_back(line, std::move(msg)); }
  void not_handled(unsigned line, const std::string& what, const std::string& note = "skipped") {
    warn(line, what + " is not handled by fastvsd (" + note + ")");
    cfg_.not_handled.push_back({line, what + " is not handled by fastvsd"});
  }
  void unknown(const Node& n, std::string_view where) {
    warn(n.line, "unknown keyword " + quoted(n.key) + " in " + std::string(where) + " (ignored)");
  }
  void no_effect(const Node& n) { warn(n.line, n.key + " has no effect in fastvsd (ignored)"); }

  // -------------------------------------------------------------------------------------------
  // The block tree.

  bool build_tree(std::string_view text, Node& root) {
    std::vector<Node*> path{&root};
    unsigned line_no = 0;
    size_t pos = 0;
    while (pos <= text.size()) {
      size_t end = text.find('\n', pos);
      if (end == std::string_view::npos) end = text.size();
      const std::string_view line = text.substr(pos, end - pos);
      pos = end + 1;
      ++line_no;
      std::vector<Token> toks;
      std::string err = lex_line(line, toks);
      if (!err.empty()) return fail(line_no, err);
      if (!toks.empty() && toks[0].kind == Token::Kind::Word) {
        const std::string& w = toks[0].text;
        if (w[0] == '@') {
          return fail(line_no, "conditional configuration (" + w + ") is not supported");
        }
        if (w[0] == '$') {
          return fail(line_no, "parameters (" + w + ") are not supported");
        }
        if (w.rfind("~SEQ", 0) == 0 || w.rfind("~LST", 0) == 0) {
          return fail(line_no, "sequence and list blocks (~SEQ, ~LST) are not supported");
        }
      }
      bool statement_open = false;  // a statement started on this line takes the next words
      for (Token& t : toks) {
        Node& top = *path.back();
        switch (t.kind) {
          case Token::Kind::Word:
            if (statement_open) {
              top.children.back().args.push_back(std::move(t.text));
            } else {
              Node n;
              n.key = std::move(t.text);
              n.line = line_no;
              top.children.push_back(std::move(n));
              statement_open = true;
            }
            break;
          case Token::Kind::Open: {
            // '{' opens the block of the statement before it, on this line or the one before.
            if (top.children.empty() || top.children.back().block) {
              return fail(line_no, "'{' without a keyword before it");
            }
            Node& owner = top.children.back();
            owner.block = true;
            path.push_back(&owner);
            statement_open = false;
            break;
          }
          case Token::Kind::Close:
            if (path.size() == 1) return fail(line_no, "unexpected '}' (no block is open)");
            path.pop_back();
            statement_open = false;
            break;
        }
      }
    }
    if (path.size() > 1) {
      const Node& open = *path.back();
      return fail(open.line, "the '{' of " + quoted(open.key) + " is never closed");
    }
    return true;
  }

  // -------------------------------------------------------------------------------------------
  // Values.

  bool arity(const Node& n, size_t min, size_t max) {
    if (n.args.size() < min) {
      return fail(n.line, quoted(n.key) + (min == 1 ? " needs a value"
                                                    : " needs " + std::to_string(min) + " values"));
    }
    if (n.args.size() > max) {
      const std::string takes = max == 0 ? "none" : std::to_string(max);
      return fail(n.line, "too many values for " + quoted(n.key) + " (it takes " + takes +
                              "): " + join(n.args));
    }
    return true;
  }

  bool leaf(const Node& n, size_t min, size_t max) {
    if (n.block) return fail(n.line, quoted(n.key) + " takes no { } block");
    return arity(n, min, max);
  }

  bool want_block(const Node& n) {
    if (!n.block) return fail(n.line, quoted(n.key) + " needs a { } block");
    return true;
  }

  bool uint_value(const Node& n, size_t i, uint64_t min, uint64_t max, uint64_t& out) {
    const std::string& s = n.args[i];
    uint64_t v = 0;
    bool ok = !s.empty() && s.size() <= 19;
    for (char c : s) {
      if (c < '0' || c > '9') ok = false;
      if (ok) v = v * 10 + static_cast<uint64_t>(c - '0');
    }
    if (!ok || v < min || v > max) {
      return fail(n.line, "bad " + n.key + " " + quoted(s) + " (a whole number " +
                              std::to_string(min) + ".." + std::to_string(max) + ")");
    }
    out = v;
    return true;
  }

  template <typename T>
  bool uint_leaf(const Node& n, uint64_t min, uint64_t max, T& out) {
    uint64_t v = 0;
    if (!leaf(n, 1, 1) || !uint_value(n, 0, min, max, v)) return false;
    out = static_cast<T>(v);
    return true;
  }

  template <typename T>
  bool uint_leaf(const Node& n, uint64_t min, uint64_t max, std::optional<T>& out) {
    T v{};
    if (!uint_leaf(n, min, max, v)) return false;
    out = v;
    return true;
  }

  // keepalived's <TIMER>: seconds, with an optional fraction ("3", "2.5"); microsecond grain.
  bool timer_leaf(const Node& n, bool allow_zero, std::optional<double>& out) {
    if (!leaf(n, 1, 1)) return false;
    const std::string& s = n.args[0];
    const size_t dot = s.find('.');
    const std::string_view whole = std::string_view(s).substr(0, dot);
    const std::string_view frac =
        dot == std::string::npos ? std::string_view() : std::string_view(s).substr(dot + 1);
    auto digits = [](std::string_view d) {
      return std::all_of(d.begin(), d.end(), [](char c) { return c >= '0' && c <= '9'; });
    };
    bool ok = !whole.empty() && whole.size() <= 9 && digits(whole) && digits(frac) &&
              (dot == std::string::npos || !frac.empty()) && frac.size() <= 6;
    double v = 0;
    if (ok) {
      for (char c : whole) v = v * 10 + (c - '0');
      double scale = 0.1;
      for (char c : frac) {
        v += (c - '0') * scale;
        scale /= 10;
      }
      ok = allow_zero ? v >= 0 : v > 0;
    }
    if (!ok) {
      return fail(n.line, "bad " + n.key + " " + quoted(s) + " (seconds, e.g. 3 or 2.5" +
                              (allow_zero ? "" : "; more than 0") + ")");
    }
    out = v;
    return true;
  }

  // keepalived's <BOOL>: on|off|true|false|yes|no; no value means on.
  bool bool_leaf(const Node& n, std::optional<bool>& out) {
    if (!leaf(n, 0, 1)) return false;
    if (n.args.empty()) {
      out = true;
      return true;
    }
    const std::string& s = n.args[0];
    if (s == "on" || s == "true" || s == "yes") {
      out = true;
    } else if (s == "off" || s == "false" || s == "no") {
      out = false;
    } else {
      return fail(n.line, "bad " + n.key + " " + quoted(s) + " (on, off, true, false, yes or no)");
    }
    return true;
  }

  bool ip_value(const Node& n, size_t i, std::string_view what, uint32_t& out) {
    const std::string& s = n.args[i];
    if (const auto ip = parse_ip4(s)) {
      out = *ip;
      return true;
    }
    if (s.find(':') != std::string::npos) {
      return fail(n.line, std::string(what) + " " + quoted(s) + ": IPv6 is not supported");
    }
    return fail(n.line, "bad " + std::string(what) + " " + quoted(s) +
                            " (a numeric IPv4 address like 192.168.0.1)");
  }

  bool port_value(const Node& n, size_t i, std::string_view what, uint16_t& out) {
    const std::string& s = n.args[i];
    const auto port = parse_port(s);
    if (!port) return fail(n.line, "bad " + std::string(what) + " " + quoted(s) + " (0..65535)");
    out = *port;
    return true;
  }

  // NAT | DR | TUN [type ipip|gue port N|gre [nocsum|csum|remcsum]]
  bool method_leaf(const Node& n, std::optional<ForwardMethod>& out) {
    if (!leaf(n, 1, 6)) return false;
    std::string m = n.args[0];
    std::transform(m.begin(), m.end(), m.begin(), [](char c) {
      return static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
    });
    if (m == "NAT") {
      out = ForwardMethod::Masq;
    } else if (m == "DR") {
      out = ForwardMethod::Route;
    } else if (m == "TUN") {
      out = ForwardMethod::Tunnel;
    } else {
      return fail(n.line, "bad " + n.key + " " + quoted(n.args[0]) + " (NAT, DR or TUN)");
    }
    if (n.args.size() > 1) {
      if (m != "TUN" || n.args[1] != "type" || n.args.size() < 3) {
        return fail(n.line, "too many values for " + quoted(n.key) + ": " + join(n.args));
      }
      if (n.args[2] != "ipip" || n.args.size() > 3) {
        not_handled(n.line, n.key + " " + join(n.args), "IPIP is used");
      }
    }
    return true;
  }

  // The rest of the line, for scripts: notify_up "/bin/x arg" [user [group]].
  std::string script(const Node& n) { return join(n.args); }

  // -------------------------------------------------------------------------------------------
  // Top level.

  bool top(const Node& n) {
    static const char* const kVrrp[] = {"vrrp_instance", "vrrp_sync_group", "vrrp_script",
                                        "vrrp_track_process", "vrrp_track_file"};
    static const char* const kIgnored[] = {"static_ipaddress",
                                           "static_routes",
                                           "static_rules",
                                           "linkbeat_interfaces",
                                           "interface_up_down_delays",
                                           "static_track_group",
                                           "garp_group",
                                           "bfd_instance",
                                           "track_file",
                                           "SSL",
                                           "net_namespace",
                                           "net_namespace_ipvs",
                                           "namespace_with_ipsets",
                                           "instance",
                                           "use_pid_dir",
                                           "linkbeat_use_polling",
                                           "child_wait_time"};
    if (n.key == "virtual_server") return virtual_server(n);
    if (n.key == "global_defs") return global_defs(n);
    if (n.key.rfind("include", 0) == 0 && n.key.size() <= 8) {
      return fail(n.line, n.key + " is not supported: put the included file's content here");
    }
    for (const char* k : kVrrp) {
      if (n.key == k) {
        warn(n.line, n.key + " is not handled by fastvsd (HA comes later)");
        return true;
      }
    }
    for (const char* k : kIgnored) {
      if (n.key == k) {
        warn(n.line, n.key + " is not handled by fastvsd (ignored)");
        return true;
      }
    }
    if (n.key == "virtual_server_group") {
      not_handled(n.line, "virtual_server_group");
      return true;
    }
    warn(n.line, "unknown keyword " + quoted(n.key) + " (ignored)");
    return true;
  }

  // -------------------------------------------------------------------------------------------
  // global_defs { ... }: the script user and script security; the rest is keepalived's own
  // (router id, mail, VRRP defaults) and does not change what fastvsd does.

  bool global_defs(const Node& n) {
    if (!want_block(n)) return false;
    std::string ignored;
    for (const Node& c : n.children) {
      if (c.key == "script_user") {
        if (!leaf(c, 1, 2)) return false;
        cfg_.scripts.user = c.args[0];
        cfg_.scripts.group = c.args.size() > 1 ? c.args[1] : "";
        cfg_.scripts.line = c.line;
      } else if (c.key == "enable_script_security") {
        if (!leaf(c, 0, 0)) return false;
        cfg_.scripts.security = true;
        cfg_.scripts.security_line = c.line;
      } else {
        ignored += (ignored.empty() ? "" : ", ") + c.key;
      }
    }
    if (!ignored.empty()) warn(n.line, "global_defs: " + ignored + ": not handled by fastvsd (ignored)");
    return true;
  }

  // Who runs each MISC_CHECK program, once the whole file is read (global_defs may come last):
  // its `user`, else global_defs' script_user, else keepalived_script if that user exists, else
  // root with keepalived's warning (set_default_script_user). A user or group that does not
  // exist refuses the file at its line; so does, with enable_script_security, a program that
  // would run as root from a path others can write (keepalived's check_script_secure).
  bool resolve_script_users() {
    std::optional<ScriptIds> fallback;
    bool warned_root = false;
    for (KaVirtualServer& vs : cfg_.virtual_servers) {
      for (KaRealServer& rs : vs.real_servers) {
        for (KaCheck& c : rs.checks) {
          CheckSpec& s = c.spec;
          if (s.kind != CheckKind::Misc) continue;
          std::string err;
          std::optional<ScriptIds> ids;
          if (!s.user.empty()) {
            ids = resolve_script_user(s.user, s.group, &err);
            if (!ids) return fail(c.user_line, "MISC_CHECK user: " + err);
          } else if (fallback) {
            ids = fallback;
          } else if (!cfg_.scripts.user.empty()) {
            ids = resolve_script_user(cfg_.scripts.user, cfg_.scripts.group, &err);
            if (!ids) return fail(cfg_.scripts.line, "script_user: " + err);
            fallback = ids;
          } else {
            ids = resolve_script_user(kDefaultScriptUser, "", &err);
            if (!ids) {
              ids = ScriptIds{0, 0};
              if (!warned_root) {
                warn(c.line, std::string("MISC_CHECK programs that name no user run as root: "
                                         "default user '") +
                                 kDefaultScriptUser +
                                 "' for script execution does not exist - please create "
                                 "(or give global_defs script_user)");
                warned_root = true;
              }
            }
            fallback = ids;
          }
          s.uid = ids->uid;
          s.gid = ids->gid;
          if (cfg_.scripts.security && (s.uid == 0 || s.gid == 0) && !s.misc_argv.empty()) {
            if (std::string why = script_insecurity(s.misc_argv[0]); !why.empty())
              return fail(c.line, "MISC_CHECK " + quoted(s.misc_argv[0]) +
                                      " would run as root but " + why +
                                      " (enable_script_security)");
          }
        }
      }
    }
    return true;
  }

  // -------------------------------------------------------------------------------------------
  // virtual_server IP [PORT] { ... }

  bool virtual_server(const Node& n) {
    if (!want_block(n) || !arity(n, 1, 2)) return false;
    if (n.args[0] == "fwmark" || n.args[0] == "group") {
      if (n.args.size() != 2) return fail(n.line, "virtual_server " + n.args[0] + " needs a value");
      not_handled(n.line, "virtual_server " + n.args[0] + " " + n.args[1]);
      return true;
    }
    RawVs vs;
    vs.line = n.line;
    if (!ip_value(n, 0, "virtual server address", vs.vip)) return false;
    if (n.args.size() == 2 && !port_value(n, 1, "virtual server port", vs.vport)) return false;
    for (const Node& c : n.children) {
      if (!vs_key(vs, c)) return false;
    }
    return finish_vs(std::move(vs));
  }

  bool vs_key(RawVs& vs, const Node& n) {
    const std::string& k = n.key;
    if (k == "real_server") return real_server(vs, n);
    if (k == "delay_loop") return timer_leaf(n, false, vs.inh.delay_loop);
    if (k == "lb_algo" || k == "lvs_sched") {
      if (!leaf(n, 1, 1)) return false;
      vs.scheduler = n.args[0];
      return true;
    }
    if (k == "lb_kind" || k == "lvs_method") return method_leaf(n, vs.method);
    if (k == "persistence_timeout") {
      // pto_handler: no value means IPVS_SVC_PERSISTENT_TIMEOUT (6 minutes); 0: not persistent.
      if (!leaf(n, 0, 1)) return false;
      if (n.args.empty()) {
        vs.persistence_timeout = 360;
        return true;
      }
      uint64_t v = 0;
      if (!uint_value(n, 0, 0, UINT32_MAX, v)) return false;
      vs.persistence_timeout = static_cast<uint32_t>(v);
      return true;
    }
    if (k == "persistence_granularity") {
      uint32_t mask = 0;
      if (!leaf(n, 1, 1)) return false;
      if (n.args[0].find('.') == std::string::npos) {
        return fail(n.line, "persistence_granularity " + quoted(n.args[0]) +
                                ": expected an IPv4 netmask like 255.255.255.0");
      }
      if (!ip_value(n, 0, "persistence_granularity", mask)) return false;
      // pgr_handler: the netmask must be solid.
      if (mask != 0 && (~mask & (~mask + 1)) != 0) {
        return fail(n.line, "persistence_granularity " + quoted(n.args[0]) +
                                " is not a netmask (its bits must be contiguous)");
      }
      vs.granularity = mask;
      return true;
    }
    if (k == "protocol") {
      if (!leaf(n, 1, 1)) return false;
      std::string p = n.args[0];
      std::transform(p.begin(), p.end(), p.begin(), [](char c) {
        return static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
      });
      if (p == "TCP") {
        vs.proto = Proto::Tcp;
      } else if (p == "UDP") {
        vs.proto = Proto::Udp;
      } else if (p == "SCTP") {
        return fail(n.line, "protocol SCTP is not supported by fastvs (TCP or UDP)");
      } else {
        return fail(n.line, "bad protocol " + quoted(n.args[0]) + " (TCP or UDP)");
      }
      return true;
    }
    if (k == "quorum") return uint_leaf(n, 1, UINT32_MAX, vs.quorum);
    if (k == "hysteresis") return uint_leaf(n, 0, UINT32_MAX, vs.hysteresis);
    if (k == "alpha") return bool_leaf(n, vs.inh.alpha);
    if (k == "omega") {
      std::optional<bool> b;
      if (!bool_leaf(n, b)) return false;
      vs.omega = *b;
      return true;
    }
    if (k == "inhibit_on_failure") return bool_leaf(n, vs.inh.inhibit);
    if (k == "quorum_up" || k == "quorum_down") {
      if (!leaf(n, 1, 3)) return false;
      (k == "quorum_up" ? vs.quorum_up : vs.quorum_down) = script(n);
      return true;
    }
    if (k == "sorry_server") {
      if (!leaf(n, 1, 2)) return false;
      if (vs.sorry) return fail(n.line, "a second sorry_server (a virtual server has one)");
      RawServer s;
      s.line = n.line;
      if (!ip_value(n, 0, "sorry server address", s.ip)) return false;
      if (n.args.size() == 2) {
        uint16_t port = 0;
        if (!port_value(n, 1, "sorry server port", port)) return false;
        s.port = port;
      }
      vs.sorry = std::move(s);
      return true;
    }
    if (k == "sorry_server_inhibit") {
      if (!leaf(n, 0, 1)) return false;
      if (!vs.sorry) return fail(n.line, "sorry_server_inhibit before or without sorry_server");
      std::optional<bool> b;
      if (!bool_leaf(n, b)) return false;
      vs.sorry->inhibit = *b;
      return true;
    }
    if (k == "sorry_server_lvs_method") {
      if (!vs.sorry) return fail(n.line, "sorry_server_lvs_method before or without sorry_server");
      return method_leaf(n, vs.sorry->method);
    }
    if (k == "sh-port" || k == "sh-fallback") {
      if (!leaf(n, 0, 0)) return false;
      vs.sched_flags |= k == "sh-port" ? kSchedShPort : kSchedShFallback;
      return true;
    }
    if (k == "ip_family") {
      if (!leaf(n, 1, 1)) return false;
      if (n.args[0] == "inet") return true;
      if (n.args[0] == "inet6") {
        not_handled(n.line, "ip_family inet6");
        return true;
      }
      return fail(n.line, "bad ip_family " + quoted(n.args[0]) + " (inet or inet6)");
    }
    if (k == "persistence_engine" || k == "ha_suspend" || k == "ops" || k == "flag-1" ||
        k == "flag-2" || k == "flag-3" || k == "mh-port" || k == "mh-fallback") {
      not_handled(n.line, k, "ignored");
      return true;
    }
    if (k == "smtp_alert" || k == "snmp_name") {
      no_effect(n);
      return true;
    }
    if (common_key(vs.inh, n, false)) return error_.empty();
    unknown(n, "virtual_server");
    return true;
  }

  // connect_timeout, retry, delay_before_retry, warmup, delay_loop, alpha, virtualhost: keys a
  // virtual server, a real server and a checker share (the checker also takes nb_get_retry,
  // see keepalived.h). Returns whether n was one of them; a bad value has set the error.
  bool common_key(Inherit& inh, const Node& n, bool in_checker) {
    const std::string& k = n.key;
    if (k == "connect_timeout") {
      timer_leaf(n, false, inh.connect_timeout);
    } else if (k == "retry" || (in_checker && k == "nb_get_retry")) {
      uint_leaf(n, 0, UINT32_MAX, inh.retry);
    } else if (k == "delay_before_retry") {
      timer_leaf(n, true, inh.delay_before_retry);
    } else if (k == "warmup") {
      timer_leaf(n, true, inh.warmup);
    } else if (k == "delay_loop") {
      timer_leaf(n, false, inh.delay_loop);
    } else if (k == "alpha") {
      bool_leaf(n, inh.alpha);
    } else if (k == "virtualhost") {
      if (leaf(n, 1, 1)) inh.virtualhost = n.args[0];
    } else {
      return false;
    }
    return true;
  }

  // -------------------------------------------------------------------------------------------
  // real_server IP [PORT] { ... }

  bool real_server(RawVs& vs, const Node& n) {
    if (!arity(n, 1, 2)) return false;
    RawServer rs;
    rs.line = n.line;
    if (!ip_value(n, 0, "real server address", rs.ip)) return false;
    if (n.args.size() == 2) {
      uint16_t port = 0;
      if (!port_value(n, 1, "real server port", port)) return false;
      rs.port = port;
    }
    bool dynamic_seen = false;
    for (const Node& c : n.children) {
      const std::string& k = c.key;
      bool ok = true;
      if (k == "weight") {
        ok = uint_leaf(c, 0, 65535, rs.weight);
      } else if (k == "lvs_method" || k == "lb_kind") {
        ok = method_leaf(c, rs.method);
      } else if (k == "inhibit_on_failure") {
        ok = bool_leaf(c, rs.inh.inhibit);
      } else if (k == "uthreshold") {
        ok = uint_leaf(c, 0, INT32_MAX, rs.u_threshold);
      } else if (k == "lthreshold") {
        ok = uint_leaf(c, 0, INT32_MAX, rs.l_threshold);
      } else if (k == "notify_up" || k == "notify_down") {
        ok = leaf(c, 1, 3);
        (k == "notify_up" ? rs.notify_up : rs.notify_down) = script(c);
      } else if (k == "TCP_CHECK" || k == "HTTP_GET" || k == "MISC_CHECK") {
        ok = checker(rs, c, dynamic_seen);
      } else if (k == "SSL_GET" || k == "SMTP_CHECK" || k == "DNS_CHECK" || k == "UDP_CHECK" ||
                 k == "PING_CHECK" || k == "FILE_CHECK" || k == "BFD_CHECK") {
        not_handled(c.line, k);
      } else if (k == "smtp_alert" || k == "snmp_name") {
        no_effect(c);
      } else if (common_key(rs.inh, c, false)) {
        ok = error_.empty();
      } else {
        unknown(c, "real_server");
      }
      if (!ok || !error_.empty()) return false;
    }
    vs.real_servers.push_back(std::move(rs));
    return true;
  }

  // -------------------------------------------------------------------------------------------
  // TCP_CHECK | HTTP_GET | MISC_CHECK { ... }

  bool checker(RawServer& rs, const Node& n, bool& dynamic_seen) {
    if (!want_block(n) || !arity(n, 0, 0)) return false;
    RawCheck ch;
    ch.line = n.line;
    ch.kind = n.key == "TCP_CHECK"  ? CheckKind::Tcp
              : n.key == "HTTP_GET" ? CheckKind::Http
                                    : CheckKind::Misc;
    const bool connects = ch.kind != CheckKind::Misc;
    const std::string where = n.key;
    for (const Node& c : n.children) {
      const std::string& k = c.key;
      bool ok = true;
      if (connects && k == "connect_ip") {
        uint32_t ip = 0;
        ok = leaf(c, 1, 1) && ip_value(c, 0, "connect_ip", ip);
        ch.connect_ip = ip;
      } else if (connects && k == "connect_port") {
        uint16_t port = 0;
        ok = leaf(c, 1, 1) && port_value(c, 0, "connect_port", port);
        ch.connect_port = port;
      } else if (connects && k == "bindto") {
        ok = leaf(c, 1, 1) && ip_value(c, 0, "bindto", ch.bindto);
      } else if (connects && k == "bind_port") {
        ok = leaf(c, 1, 1) && port_value(c, 0, "bind_port", ch.bind_port);
      } else if (connects && (k == "bind_if" || k == "fwmark")) {
        not_handled(c.line, where + " " + k, "ignored");
      } else if (!connects && k == "connect_timeout") {
        unknown(c, where);
      } else if (k == "log_all_failures") {
        no_effect(c);
      } else if (ch.kind == CheckKind::Http && k == "url") {
        ok = url(ch, c);
      } else if (ch.kind == CheckKind::Http && (k == "http_protocol" || k == "fast_recovery")) {
        // One run fetches every url at once: keepalived's fast_recovery, always.
        no_effect(c);
      } else if (ch.kind == CheckKind::Misc && k == "misc_path") {
        ok = leaf(c, 1, 8);
        ch.misc_path = join(c.args);
        ch.misc_argv = script_argv(c.args);
      } else if (ch.kind == CheckKind::Misc && k == "misc_timeout") {
        ok = timer_leaf(c, false, ch.misc_timeout);
      } else if (ch.kind == CheckKind::Misc && k == "misc_dynamic") {
        ok = leaf(c, 0, 0);
        ch.misc_dynamic = true;
        // misc_dynamic_handler's warning.
        if (dynamic_seen) {
          warn(c.line, "more than one misc_dynamic MISC_CHECK on a real server: their weights add");
        }
        dynamic_seen = true;
      } else if (ch.kind == CheckKind::Misc && k == "user") {
        ok = leaf(c, 1, 2);
        if (ok) {
          ch.user = c.args[0];
          ch.group = c.args.size() > 1 ? c.args[1] : "";
          ch.user_line = c.line;
        }
      } else if (k == "virtualhost" && ch.kind != CheckKind::Http) {
        unknown(c, where);
      } else if (common_key(ch.inh, c, true)) {
        ok = error_.empty();
      } else {
        unknown(c, where);
      }
      if (!ok || !error_.empty()) return false;
    }
    if (ch.kind == CheckKind::Http && ch.urls.empty()) {
      return fail(n.line, "HTTP_GET without a url { path ... }");
    }
    if (ch.kind == CheckKind::Misc && ch.misc_path.empty()) {
      return fail(n.line, "MISC_CHECK without misc_path");
    }
    rs.checks.push_back(std::move(ch));
    return true;
  }

  bool url(RawCheck& ch, const Node& n) {
    if (!want_block(n) || !arity(n, 0, 0)) return false;
    RawUrl u;
    bool have_path = false;
    for (const Node& c : n.children) {
      const std::string& k = c.key;
      bool ok = true;
      if (k == "path") {
        ok = leaf(c, 1, 1);
        if (ok) u.url.path = c.args[0];
        have_path = true;
      } else if (k == "digest") {
        ok = leaf(c, 1, 1);
        if (ok) {
          std::string d = c.args[0];
          std::transform(d.begin(), d.end(), d.begin(), [](char x) {
            return static_cast<char>(x >= 'A' && x <= 'F' ? x - 'A' + 'a' : x);
          });
          const bool hex = d.size() == 32 && std::all_of(d.begin(), d.end(), [](char x) {
                             return (x >= '0' && x <= '9') || (x >= 'a' && x <= 'f');
                           });
          if (!hex) {
            return fail(c.line, "bad digest " + quoted(c.args[0]) +
                                    " (an MD5 sum: 32 hex digits, as genhash prints it)");
          }
          u.url.digest = d;
        }
      } else if (k == "status_code") {
        ok = leaf(c, 1, 64) && status_codes(c, u.url.status_codes);
      } else if (k == "virtualhost") {
        ok = leaf(c, 1, 1);
        if (ok) u.virtualhost = c.args[0];
      } else if (k.rfind("regex", 0) == 0) {
        not_handled(c.line, "url " + k, "ignored");
      } else if (k == "tls_compliant") {
        no_effect(c);
      } else {
        unknown(c, "url");
      }
      if (!ok || !error_.empty()) return false;
    }
    if (!have_path) return fail(n.line, "url without a path");
    ch.urls.push_back(std::move(u));
    return true;
  }

  // status_code 200 | 200-299 [...]
  bool status_codes(const Node& n, std::vector<StatusRange>& out) {
    for (const std::string& a : n.args) {
      const size_t dash = a.find('-');
      const auto lo = parse_port(a.substr(0, dash));
      const auto hi = dash == std::string::npos ? lo : parse_port(a.substr(dash + 1));
      if (!lo || !hi || *lo < 100 || *hi > 999 || *lo > *hi) {
        return fail(n.line, "bad status_code " + quoted(a) + " (a code like 200 or a range like " +
                                "200-299, 100..999)");
      }
      out.push_back({*lo, *hi});
    }
    return true;
  }

  // -------------------------------------------------------------------------------------------
  // The end of a virtual server: keepalived's defaults and corrections
  // (validate_check_config), then the resolved model.

  bool finish_vs(RawVs raw) {
    KaVirtualServer vs;
    vs.line = raw.line;
    const std::string name_for_log = addr_port(raw.vip, raw.vport);
    if (raw.real_servers.empty()) {
      warn(raw.line, "virtual server " + name_for_log + " has no real servers (ignored)");
      return true;
    }
    if (!raw.proto) {
      // "If the protocol is 0, the kernel defaults to UDP, so set it explicitly".
      warn(raw.line, "virtual server " + name_for_log + ": no protocol set, defaulting to UDP");
    }
    vs.key = {raw.proto.value_or(Proto::Udp), raw.vip, raw.vport};
    const std::string vs_name = service_name(vs.key);
    if (!raw.scheduler) {
      warn(raw.line, "virtual server " + vs_name + ": no lb_algo set, defaulting to wlc");
    }
    vs.scheduler = raw.scheduler.value_or("wlc");  // ipvswrapper.h IPVS_DEF_SCHED
    vs.sched_flags = raw.sched_flags;
    vs.persistence_timeout = raw.persistence_timeout;
    if (raw.granularity) {
      vs.persistence_granularity = *raw.granularity;
      if (vs.persistence_timeout == 0) vs.persistence_timeout = 360;  // pgr_handler
    }
    if (vs.persistence_timeout == 0 && raw.vport == 0) {
      warn(raw.line, "virtual server " + vs_name +
                         ": port 0 is only valid for persistent services, setting "
                         "persistence_timeout 360");
      vs.persistence_timeout = 360;
    }
    if (!raw.method) {
      const bool all_set = std::all_of(raw.real_servers.begin(), raw.real_servers.end(),
                                       [](const RawServer& r) { return r.method.has_value(); }) &&
                           (!raw.sorry || raw.sorry->method);
      if (!all_set) {
        warn(raw.line, "virtual server " + vs_name + ": no lb_kind set, defaulting to NAT");
      }
    }
    vs.method = raw.method.value_or(ForwardMethod::Masq);
    vs.quorum = raw.quorum;
    vs.hysteresis = raw.hysteresis;
    vs.alpha = raw.inh.alpha.value_or(false);
    vs.omega = raw.omega;
    vs.quorum_up = raw.quorum_up;
    vs.quorum_down = raw.quorum_down;
    vs.delay_loop = raw.inh.delay_loop.value_or(60);

    // A real (or sorry) server's port: NAT may map it, DR and TUN cannot (keepalived resets it).
    auto server_port = [&](const RawServer& r, ForwardMethod m, std::string_view what) {
      if (!r.port) return raw.vport;
      if (m != ForwardMethod::Masq && *r.port != raw.vport) {
        warn(r.line, "virtual server " + vs_name + " and " + std::string(what) + " " +
                         addr_port(r.ip, *r.port) + " ports don't match, resetting to " +
                         std::to_string(raw.vport) + " (only NAT maps ports)");
        return raw.vport;
      }
      return *r.port;
    };

    uint64_t weight_sum = 0;
    for (RawServer& r : raw.real_servers) {
      KaRealServer rs;
      rs.line = r.line;
      rs.server.ip = r.ip;
      rs.server.method = r.method.value_or(vs.method);
      rs.server.port = server_port(r, rs.server.method, "real server");
      const bool dup =
          std::any_of(vs.real_servers.begin(), vs.real_servers.end(), [&](const KaRealServer& o) {
            return o.server.ip == rs.server.ip && o.server.port == rs.server.port;
          });
      if (dup) {
        warn(r.line, "virtual server " + vs_name + ": real server " +
                         addr_port(rs.server.ip, rs.server.port) +
                         " is duplicated, removing the second one");
        continue;
      }
      rs.server.weight = r.weight;
      rs.server.inhibit = first_of(r.inh.inhibit, raw.inh.inhibit, {}, false);
      rs.server.u_threshold = r.u_threshold;
      rs.server.l_threshold = r.l_threshold;
      rs.notify_up = r.notify_up;
      rs.notify_down = r.notify_down;
      for (const RawCheck& c : r.checks) rs.checks.push_back(resolve(c, r, rs.server, raw));
      weight_sum += static_cast<uint64_t>(rs.server.weight);
      vs.real_servers.push_back(std::move(rs));
    }
    if (raw.sorry) {
      KaSorryServer s;
      s.line = raw.sorry->line;
      s.server.ip = raw.sorry->ip;
      s.server.method = raw.sorry->method.value_or(vs.method);
      s.server.port = server_port(*raw.sorry, s.server.method, "sorry server");
      s.server.weight = 1;  // alloc_ssvr
      s.server.inhibit = raw.sorry->inhibit;
      const bool dup =
          std::any_of(vs.real_servers.begin(), vs.real_servers.end(), [&](const KaRealServer& o) {
            return o.server.ip == s.server.ip && o.server.port == s.server.port;
          });
      if (dup) {
        not_handled(s.line, "a sorry_server that is also a real_server", "ignored");
      } else {
        vs.sorry_server = s;
      }
    }
    // "Check that the quorum isn't higher than the total weight of the real servers, otherwise
    // we will never be able to come up."
    if (vs.quorum > weight_sum) {
      warn(raw.line, "quorum " + std::to_string(vs.quorum) + " for " + vs_name +
                         " exceeds the total weight of its real servers " +
                         std::to_string(weight_sum) + ", reducing quorum to " +
                         std::to_string(weight_sum));
      vs.quorum = static_cast<uint32_t>(weight_sum);
    }
    if (vs.quorum > 0 && vs.hysteresis >= vs.quorum) {
      warn(raw.line, "virtual server " + vs_name + ": hysteresis " + std::to_string(vs.hysteresis) +
                         " >= quorum " + std::to_string(vs.quorum) + ", setting hysteresis to " +
                         std::to_string(vs.quorum - 1));
      vs.hysteresis = vs.quorum - 1;
    } else if (vs.quorum == 0) {
      vs.hysteresis = 0;
    }
    const bool again = std::any_of(cfg_.virtual_servers.begin(), cfg_.virtual_servers.end(),
                                   [&](const KaVirtualServer& o) { return o.key == vs.key; });
    if (again) return fail(raw.line, "virtual server " + vs_name + " is defined twice");
    cfg_.virtual_servers.push_back(std::move(vs));
    return true;
  }

  // A checker's values: its own, else its real server's, else its virtual server's, else the
  // default for its kind (validate_check_config; queue_checker and the checkers' handlers set
  // the per-kind defaults: HTTP_GET delay_before_retry 3 s, MISC_CHECK retry 0).
  KaCheck resolve(const RawCheck& c, const RawServer& r, const PoolServer& server,
                  const RawVs& vs) {
    KaCheck out;
    out.line = c.line;
    CheckSpec& s = out.spec;
    s.kind = c.kind;
    s.alpha = first_of(c.inh.alpha, r.inh.alpha, vs.inh.alpha, false);
    s.retry = first_of(c.inh.retry, r.inh.retry, vs.inh.retry, c.kind == CheckKind::Misc ? 0u : 1u);
    s.connect_timeout =
        first_of(c.inh.connect_timeout, r.inh.connect_timeout, vs.inh.connect_timeout, 5.0);
    s.delay_loop = first_of(c.inh.delay_loop, r.inh.delay_loop, vs.inh.delay_loop, 60.0);
    s.warmup = first_of(c.inh.warmup, r.inh.warmup, vs.inh.warmup, s.delay_loop);
    s.delay_before_retry =
        first_of(c.inh.delay_before_retry, r.inh.delay_before_retry, vs.inh.delay_before_retry,
                 c.kind == CheckKind::Http ? 3.0 : 1.0);
    if (c.kind != CheckKind::Misc) {
      s.connect_ip = c.connect_ip.value_or(server.ip);
      s.connect_port = c.connect_port.value_or(server.port);
      s.bindto = c.bindto;
      s.bind_port = c.bind_port;
    }
    const std::string vhost =
        first_of(c.inh.virtualhost, r.inh.virtualhost, vs.inh.virtualhost, std::string());
    for (const RawUrl& u : c.urls) {
      HttpUrl url = u.url;
      url.virtualhost = u.virtualhost.value_or(vhost);
      s.urls.push_back(std::move(url));
    }
    if (c.kind == CheckKind::Misc) {
      s.misc_path = c.misc_path;
      s.misc_argv = c.misc_argv;
      // misc_check_thread: no misc_timeout means the virtual server's delay_loop.
      s.misc_timeout = c.misc_timeout.value_or(vs.inh.delay_loop.value_or(60.0));
      s.misc_dynamic = c.misc_dynamic;
      s.user = c.user;
      s.group = c.group;
      out.user_line = c.user_line;
    }
    return out;
  }

  KaConfig cfg_;
  std::vector<std::pair<unsigned, std::string>> warnings_;
  std::string error_;
  unsigned error_line_ = 0;
};

// The changes from an empty service to keepalived's start state.
std::vector<DestChange> start_changes(const KaVirtualServer& vs) {
  ServiceHealth h = ka_service_health(vs, 0);
  return h.initial().changes;
}

std::vector<std::string> service_command(const KaVirtualServer& vs, const std::string& sched) {
  std::vector<std::string> w = {"-A", vs.key.proto == Proto::Tcp ? "-t" : "-u",
                                addr_port(vs.key.vip, vs.key.vport), "-s", sched};
  if (vs.sched_flags != 0) {
    std::string flags;
    if (vs.sched_flags & kSchedShFallback) flags = "sh-fallback";
    if (vs.sched_flags & kSchedShPort) flags += std::string(flags.empty() ? "" : ",") + "sh-port";
    w.insert(w.end(), {"-b", flags});
  }
  if (vs.persistence_timeout > 0) {
    w.insert(w.end(), {"-p", std::to_string(vs.persistence_timeout)});
    if (vs.persistence_granularity != 0xffffffffu) {
      w.insert(w.end(), {"-M", format_ip4(vs.persistence_granularity)});
    }
  }
  return w;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Public functions.

PoolSpec KaVirtualServer::pool() const {
  PoolSpec p;
  p.service = key;
  for (const KaRealServer& rs : real_servers) p.real_servers.push_back(rs.server);
  if (sorry_server) p.sorry_server = sorry_server->server;
  p.quorum = quorum;
  p.hysteresis = hysteresis;
  return p;
}

std::vector<std::vector<CheckSpec>> KaVirtualServer::checks() const {
  std::vector<std::vector<CheckSpec>> out;
  for (const KaRealServer& rs : real_servers) {
    out.emplace_back();
    for (const KaCheck& c : rs.checks) out.back().push_back(c.spec);
  }
  return out;
}

KaLoadResult parse_keepalived(std::string_view text, std::string_view name) {
  return Loader(name).run(text);
}

ServiceHealth ka_service_health(const KaVirtualServer& vs, double now,
                                const std::function<double()>& jitter) {
  return ServiceHealth(vs.pool(), vs.checks(), now, jitter);
}

std::vector<ServiceConfig> ka_services(const KaConfig& cfg) {
  std::vector<ServiceConfig> out;
  for (const KaVirtualServer& vs : cfg.virtual_servers) {
    ServiceConfig s;
    s.key = vs.key;
    s.scheduler = vs.scheduler;
    s.sched_flags = vs.sched_flags;
    s.persistent = vs.persistence_timeout > 0;
    if (s.persistent) {
      s.timeout = vs.persistence_timeout;
      s.netmask = vs.persistence_granularity;
    }
    // fastvsadm -a (the kernel's list_add_rcu) puts each new destination at the head.
    for (const DestChange& c : start_changes(vs)) s.dests.insert(s.dests.begin(), c.dest);
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<std::vector<std::string>> ka_commands(const KaConfig& cfg) {
  std::vector<std::vector<std::string>> out;
  for (const KaVirtualServer& vs : cfg.virtual_servers) {
    out.push_back(service_command(vs, vs.scheduler));
    for (const DestChange& c : start_changes(vs)) out.push_back(dest_command(vs.key, c));
  }
  return out;
}

std::vector<std::string> ka_unsupported(const KaConfig& cfg, const SchedulerCheck& check) {
  std::vector<std::string> out;
  auto at = [&](unsigned line, const std::string& what) {
    out.push_back(cfg.name + ":" + std::to_string(line) + ": " + what);
  };
  for (const KaNotHandled& n : cfg.not_handled) at(n.line, n.what);
  for (const KaVirtualServer& vs : cfg.virtual_servers) {
    const std::string name = "virtual_server " + addr_port(vs.key.vip, vs.key.vport);
    std::string sched = vs.scheduler;
    if (check) {
      const std::string err = check(vs.scheduler);
      if (!err.empty()) at(vs.line, name + ": lb_algo " + quoted(vs.scheduler) + ": " + err);
      sched = "wlc";  // the rest of -A is checked with a scheduler fastvs knows
    }
    ParseResult p = parse_command(service_command(vs, sched));
    Config scratch;
    std::string err = p.ok ? apply_command(scratch, p.cmd, 0) : p.error;
    if (!err.empty()) at(vs.line, name + ": " + err);
    for (const KaRealServer& rs : vs.real_servers) {
      const PoolServer& s = rs.server;
      // fastvsadm's -a checks the rest against the director's networks (apply_command).
      if (s.l_threshold > s.u_threshold) {
        at(rs.line, "real_server " + addr_port(s.ip, s.port) + ": lthreshold " +
                        std::to_string(s.l_threshold) + " is higher than uthreshold " +
                        std::to_string(s.u_threshold));
      }
    }
  }
  return out;
}

LoadResult ka_apply(Config base, const KaConfig& ka, const std::vector<ServiceKey>& replace,
                    unsigned num_ports, std::vector<ServiceKey>* keys) {
  LoadResult r;
  const std::vector<std::string> unsupported = ka_unsupported(ka);
  if (!unsupported.empty()) {
    r.error = unsupported.front();
    return r;
  }
  Config cfg = std::move(base);
  for (const ServiceKey& k : replace) {
    Command del;
    del.op = Op::DelService;
    del.has_service = true;
    del.service = k;
    apply_command(cfg, del, num_ports);  // gone already (fastvsadm -D): nothing to do
  }
  keys->clear();
  for (const KaVirtualServer& vs : ka.virtual_servers) {
    auto at = [&](unsigned line, const std::string& err) {
      r.error = ka.name + ":" + std::to_string(line) + ": " + err;
      return r;
    };
    Command add;
    add.op = Op::AddService;
    add.has_service = true;
    add.service = vs.key;
    add.has_scheduler = true;
    add.scheduler = vs.scheduler;
    add.has_sched_flags = vs.sched_flags != 0;
    add.sched_flags = vs.sched_flags;
    add.sched_flags_of = vs.scheduler;
    if (vs.persistence_timeout > 0) {
      add.has_persistent = true;
      add.timeout = vs.persistence_timeout;
      add.has_netmask = vs.persistence_granularity != 0xffffffffu;
      add.netmask = vs.persistence_granularity;
    }
    if (std::string err = apply_command(cfg, add, num_ports); !err.empty()) {
      if (err.find("already exists") != std::string::npos)
        err += " (defined by the configuration file too)";
      return at(vs.line, err);
    }
    for (const KaRealServer& rs : vs.real_servers) {
      Command a;
      a.op = Op::AddDest;
      a.has_service = true;
      a.service = vs.key;
      a.has_dest = true;
      a.rip = rs.server.ip;
      a.rport = rs.server.port;
      a.has_method = true;
      a.method = rs.server.method;
      a.has_weight = true;
      a.weight = rs.server.weight;
      a.u_threshold = rs.server.u_threshold;
      a.l_threshold = rs.server.l_threshold;
      if (std::string err = apply_command(cfg, a, num_ports); !err.empty()) return at(rs.line, err);
      ServiceConfig& svc = cfg.services.back();
      svc.dests.front().inhibit = rs.server.inhibit;
      for (const KaCheck& c : rs.checks) {
        CheckConfig cc;
        cc.service = vs.key;
        cc.rip = svc.dests.front().rip;
        cc.rport = svc.dests.front().rport;
        cc.spec = c.spec;
        cfg.checks.push_back(std::move(cc));
      }
    }
    PoolConfig pool;
    pool.service = vs.key;
    pool.quorum = vs.quorum;
    pool.hysteresis = vs.hysteresis;
    if (vs.sorry_server) {
      pool.has_sorry = true;
      pool.sorry_ip = vs.sorry_server->server.ip;
      pool.sorry_port = vs.sorry_server->server.port;
      pool.sorry_method = vs.sorry_server->server.method;
      pool.sorry_inhibit = vs.sorry_server->server.inhibit;
    }
    cfg.pools.push_back(pool);
    keys->push_back(vs.key);
  }
  r.ok = true;
  r.cfg = std::move(cfg);
  return r;
}

}  // namespace fastvs
