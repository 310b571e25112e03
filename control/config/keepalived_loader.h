// The keepalived.conf reader's insides, shared by its files (internal to control/config):
// keepalived_tree.cpp (the syntax: lexer and block tree, keepalived's parser.c),
// keepalived_parser.cpp (the keywords, keepalived's check_parser.c), keepalived_resolve.cpp
// (defaults, inheritance and keepalived's corrections, its check_data.c), keepalived_vsg.cpp
// (virtual_server_group). What a load does to
// fastvs's configuration is keepalived_load.cpp (keepalived's ipwrapper.c).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "common/text.h"
#include "control/config/keepalived.h"

namespace fastvs::ka {

// The config id fastvsd reads keepalived.conf as (keepalived's --config-id): its "@fastvsd"
// lines are fastvsd's alone.
inline constexpr std::string_view kKeepalivedConfigId = "fastvsd";

// One statement: `key args...`, with its block if a '{' followed it.
struct Node {
  std::string key;
  std::vector<std::string> args;
  unsigned line = 0;
  bool block = false;
  std::vector<Node> children;
};

// One line's words and braces; "" or why the line cannot be read (an unclosed quote).
struct Token {
  enum class Kind : uint8_t { Word, Open, Close };
  Kind kind = Kind::Word;
  std::string text;
};
std::string lex_line(std::string_view line, std::vector<Token>& out);

// A MISC_CHECK program and its arguments from misc_path's values (see keepalived_tree.cpp).
std::vector<std::string> script_argv(const std::vector<std::string>& values);

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
  std::optional<IpAddr> connect_ip;
  std::optional<uint16_t> connect_port;
  IpAddr bindto;
  uint16_t bind_port = 0;
  std::vector<RawUrl> urls;
  std::string misc_path;
  std::vector<std::string> misc_argv;
  std::optional<double> misc_timeout;
  bool misc_dynamic = false;
  std::string user;
  std::string group;
  unsigned user_line = 0;
  // SMTP_CHECK
  std::string helo_name = "smtpchecker.keepalived.org";
  // SSL_GET
  bool enable_sni = false;
  // DNS_CHECK
  std::string dns_name = ".";
  uint16_t dns_type = 6;
  // FILE_CHECK: its track_file (already found) and its own weight (0: the track_file's)
  std::string track_name;
  int32_t file_weight = 0;
  bool file_reverse = false;
  // UDP_CHECK
  std::vector<uint8_t> udp_payload;
  bool require_reply = false;
  std::vector<uint8_t> reply_data, reply_mask;
  uint16_t min_reply_len = 0, max_reply_len = 255;
};

// A script's line and values: `SCRIPT [USER [GROUP]]`.
struct RawScript {
  unsigned line = 0;
  std::vector<std::string> args;
};

struct RawServer {
  unsigned line = 0;
  IpAddr ip;
  std::optional<uint16_t> port;
  int32_t weight = 1;
  std::optional<ForwardMethod> method;
  bool inhibit = false;  // sorry_server_inhibit
  uint32_t u_threshold = 0;
  uint32_t l_threshold = 0;
  Inherit inh;
  std::optional<RawScript> notify_up;
  std::optional<RawScript> notify_down;
  std::vector<RawCheck> checks;
};

struct RawVs {
  unsigned line = 0;
  IpAddr vip;
  uint16_t vport = 0;
  // `virtual_server fwmark N` (or a group's fwmark entry): its family is ip_family's, or
  // persistence_granularity's form, or else its servers' (vs_end_handler); vip then holds the
  // family's zero address.
  uint32_t fwmark = 0;
  std::optional<bool> fwm_v6;
  bool group_has_addrs = false;  // a group's fwmark entry beside addresses: protocol is theirs
  std::optional<Proto> proto;
  std::optional<std::string> scheduler;
  unsigned sched_line = 0;  // lb_algo's (0: none)
  uint32_t sched_flags = 0;
  std::optional<ForwardMethod> method;
  uint32_t persistence_timeout = 0;
  std::optional<uint32_t> granularity;
  std::optional<uint8_t> granularity6;  // an IPv6 virtual server's: a prefix length
  uint32_t quorum = 1;
  uint32_t hysteresis = 0;
  bool omega = false;
  bool ops = false;  // `ops` (lbflags_handler's IP_VS_SVC_F_ONEPACKET)
  std::optional<RawScript> quorum_up;
  std::optional<RawScript> quorum_down;
  Inherit inh;
  std::optional<RawServer> sorry;
  std::vector<RawServer> real_servers;
};

class Loader {
 public:
  explicit Loader(std::string_view name) { cfg_.name = std::string(name); }
  // The whole file: the configuration, or its first error ("NAME:LINE: reason"); the
  // warnings into `warnings`, each "NAME:LINE: text", on success and on error.
  Result<KaConfig> run(std::string_view text, std::vector<std::string>* warnings);

 private:
  // Messages: the first error wins; warnings and what fastvs cannot run, with their lines.
  bool fail(unsigned line, std::string msg) {
    if (error_.empty()) {
      error_ = std::move(msg);
      error_line_ = line;
    }
    return false;
  }

  void warn(unsigned line, std::string msg) { warnings_.emplace_back(line, std::move(msg)); }
  // Not a warning, logged with them: a block that another process runs (keepalived --vrrp).
  void note(unsigned line, std::string msg) { warn(line, std::move(msg)); }

  // What fastvsd cannot do as the file asks: the file is refused (ka_unsupported), naming it;
  // never also a warning that says it was ignored.
  void not_handled(unsigned line, const std::string& what) {
    cfg_.not_handled.push_back({line, what + " is not handled by fastvsd"});
  }
  // What fastvsd leaves out, the file otherwise running as keepalived would run it: a warning
  // that says so and why, never also a refusal.
  void ignored(unsigned line, const std::string& what, const std::string& why) {
    warn(line, what + ": not handled by fastvsd (ignored: " + why + ")");
  }

  void unknown(const Node& n, std::string_view where) {
    warn(n.line, "unknown keyword " + quoted(n.key) + " in " + std::string(where) + " (ignored)");
  }

  void no_effect(const Node& n) { warn(n.line, n.key + " has no effect in fastvsd (ignored)"); }

  // The syntax (keepalived_tree.cpp): the file as a tree of statements and blocks.
  bool build_tree(std::string_view text, Node& root);
  // One file's lines into the tree (`path`: the blocks open), and `include` in them.
  bool build_lines(std::string_view text, uint32_t file, std::vector<Node*>& path, unsigned depth);
  bool include(unsigned line_id, const std::string& pattern, uint32_t from,
               std::vector<Node*>& path, unsigned depth);
  // keepalived's $NAME=value parameters and their $NAME / ${NAME} references in one line.
  bool parameters(unsigned line_no, std::string& line);
  std::map<std::string, std::string> params_;

  // Values and keywords (keepalived_parser.cpp).

  bool arity(const Node& n, size_t min, size_t max);

  bool leaf(const Node& n, size_t min, size_t max) {
    if (n.block) return fail(n.line, quoted(n.key) + " takes no { } block");
    return arity(n, min, max);
  }

  bool want_block(const Node& n) {
    if (!n.block) return fail(n.line, quoted(n.key) + " needs a { } block");
    return true;
  }

  bool uint_value(const Node& n, size_t i, uint64_t min, uint64_t max, uint64_t& out);

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
  bool timer_leaf(const Node& n, bool allow_zero, std::optional<double>& out);

  // keepalived's <BOOL>: on|off|true|false|yes|no; no value means on.
  bool bool_leaf(const Node& n, std::optional<bool>& out);

  bool ip_value(const Node& n, size_t i, std::string_view what, IpAddr& out);

  bool port_value(const Node& n, size_t i, std::string_view what, uint16_t& out);

  // NAT | DR | TUN [type ipip|gue port N|gre [nocsum|csum|remcsum]]
  bool method_leaf(const Node& n, std::optional<ForwardMethod>& out);

  // notify_up "/bin/x arg" [user [group]].
  static RawScript script(const Node& n) { return RawScript{n.line, n.args}; }
  // A script's program and user, as MISC_CHECK's.
  KaScript resolve_script(const RawScript& raw);

  bool top(const Node& n);

  bool global_defs(const Node& n);
  // global_defs' lvs_sync_daemon; the instance it names is checked once the whole file is read
  // (resolve_sync_daemon: global_defs usually comes first).
  bool lvs_sync_daemon(const Node& n);
  bool resolve_sync_daemon();
  // keepalived's VRRP addresses of a vrrp_instance or static_ipaddress block, and the instance's
  // name and virtual_router_id.
  void vrrp_addrs(const Node& n);

  bool virtual_server(const Node& n);

  // virtual_server_group NAME { ADDR[-END|/LEN] [PORT] ... fwmark N [inet|inet6] }
  // (keepalived_vsg.cpp, as check_data.c's alloc_vsg_entry reads it), read before the virtual
  // servers that name it. `virtual_server group NAME` is one service per address of its
  // entries, each with the block's settings, as keepalived adds them to IPVS one by one.
  struct Vsg {
    unsigned line = 0;
    std::vector<std::pair<IpAddr, uint16_t>> addrs;
    std::set<std::pair<IpAddr, uint16_t>> seen;          // addrs, to find one given twice
    struct Mark {
      unsigned line = 0;
      uint32_t mark = 0;
      std::optional<bool> v6;  // `fwmark N inet|inet6`; none: the virtual server's family
    };
    std::vector<Mark> fwmarks;
  };
  std::map<std::string, Vsg> vsgs_;
  bool vsg_block(const Node& n);
  bool vsg_entry(Vsg& g, const std::string& name, const Node& e);
  bool group_virtual_server(const Node& n);

  bool vs_key(RawVs& vs, const Node& n);

  // connect_timeout, retry, delay_before_retry, warmup, delay_loop, alpha, virtualhost: keys a
  // virtual server, a real server and a checker share (the checker also takes nb_get_retry,
  // see keepalived.h). Returns whether n was one of them; a bad value has set the error.
  bool common_key(Inherit& inh, const Node& n, bool in_checker);

  bool real_server(RawVs& vs, const Node& n);

  bool checker(RawServer& rs, const Node& n, bool& dynamic_seen);
  // The file's `SSL { }`: the TLS files and password every SSL_GET uses.
  struct SslFiles {
    std::string password, ca, certificate, key;
  };
  SslFiles ssl_;
  bool ssl_block(const Node& n);
  // The file's `track_file NAME { file PATH; weight W [reverse]; init_file [V] [overwrite] }`
  // blocks (keepalived's track_file.c), read first: a FILE_CHECK names one. keepalived's VRRP
  // process reads them too (a vrrp_instance's track_file).
  struct TrackFile {
    unsigned line = 0;
    unsigned file_line = 0;  // its `file`
    std::string path;
    int32_t weight = 1;
    bool reverse = false;
    std::optional<int32_t> init;
    bool overwrite = false;
  };
  std::map<std::string, TrackFile> track_files_;
  bool track_file_block(const Node& n);
  bool file_check(RawServer& rs, const Node& n);
  // SMTP_CHECK's `host { }` (deprecated in keepalived): where its checker connects.
  struct SmtpHost {
    unsigned line = 0;
    std::optional<IpAddr> connect_ip;
    std::optional<uint16_t> connect_port;
    IpAddr bindto;
    uint16_t bind_port = 0;
    std::optional<double> connect_timeout;
  };
  bool smtp_host(RawCheck& ch, const Node& n, SmtpHost& h);

  bool url(RawCheck& ch, const Node& n);

  // status_code 200 | 200-299 [...]
  bool status_codes(const Node& n, std::vector<StatusRange>& out);

  // keepalived's defaults, inheritance and corrections (keepalived_resolve.cpp): a virtual
  // server read whole, then its checkers' values, then the scripts' users.
  bool finish_vs(RawVs raw);

  // A checker's values: its own, else its real server's, else its virtual server's, else the
  // default for its kind (validate_check_config; queue_checker and the checkers' handlers set
  // the per-kind defaults: HTTP_GET delay_before_retry 3 s, MISC_CHECK retry 0).
  KaCheck resolve(const RawCheck& c, const RawServer& r, const PoolServer& server, const RawVs& vs);

  // Who runs each MISC_CHECK program, once the whole file is read (global_defs may come last):
  // its `user`, else global_defs' script_user, else keepalived_script if that user exists, else
  // root with keepalived's warning (set_default_script_user). A user or group that does not
  // exist refuses the file at its line; so does, with enable_script_security, a program that
  // would run as root from a path others can write (keepalived's check_script_secure).
  bool resolve_script_users();

  KaConfig cfg_;
  std::vector<std::pair<unsigned, std::string>> warnings_;
  std::string error_;
  unsigned error_line_ = 0;
};

}  // namespace fastvs::ka
