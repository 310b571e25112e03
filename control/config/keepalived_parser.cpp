// keepalived.conf's keywords (keepalived's check_parser.c): what each block and statement of
// the LVS half may hold, with its values checked; unknown keywords and what fastvs does not run
// are warnings, wrong values errors, each with its line (see keepalived.h).
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cerrno>
#include <cstring>
#include <optional>
#include <string>

#include "common/grammar/words.h"
#include "common/net.h"
#include "control/config/keepalived_loader.h"

namespace fastvs::ka {

namespace {

// Who moves a vrrp_instance's addresses (KaVrrpAddr::owner).
std::string instance_owner(std::string_view name) {
  return "vrrp_instance" + (name.empty() ? std::string() : " " + std::string(name));
}

}  // namespace

Result<KaConfig> Loader::run(std::string_view text, std::vector<std::string>* warnings) {
  Node root;
  if (build_tree(text, root)) {
    bool ok = true;
    // `SSL { }` first: every SSL_GET uses it, wherever it stands in the file.
    for (const Node& n : root.children) {
      if (n.key == "SSL" && !(ok = ssl_block(n))) break;
    }
    for (const Node& n : root.children) {
      if (ok && n.key == "track_file" && !(ok = track_file_block(n))) break;
    }
    // Groups too: a virtual_server names one that may come after it.
    for (const Node& n : root.children) {
      if (ok && n.key == "virtual_server_group" && !(ok = vsg_block(n))) break;
    }
    for (const Node& n : root.children) {
      if (!ok || !(ok = top(n))) break;
    }
    if (ok) ok = resolve_sync_daemon();
    if (ok) resolve_script_users();
    for (KaVrrpAddr& v : cfg_.vrrp_addrs) v.where = cfg_.where(v.line);
  }
  for (const auto& [line, text_] : warnings_) warnings->push_back(cfg_.where(line) + ": " + text_);
  if (!error_.empty()) return Error{cfg_.where(error_line_) + ": " + error_};
  return std::move(cfg_);
}

bool Loader::arity(const Node& n, size_t min, size_t max) {
  if (n.args.size() < min) {
    return fail(n.line, quoted(n.key) + (min == 1 ? " needs a value"
                                                  : " needs " + std::to_string(min) + " values"));
  }
  if (n.args.size() > max) {
    const std::string takes = max == 0 ? "none" : std::to_string(max);
    return fail(n.line, "too many values for " + quoted(n.key) + " (it takes " + takes +
                            "): " + excerpt(join(n.args)));
  }
  return true;
}

bool Loader::uint_value(const Node& n, size_t i, uint64_t min, uint64_t max, uint64_t& out) {
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

// keepalived's <TIMER>: seconds, with an optional fraction ("3", "2.5"); microsecond grain.
bool Loader::timer_leaf(const Node& n, bool allow_zero, std::optional<double>& out) {
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
bool Loader::bool_leaf(const Node& n, std::optional<bool>& out) {
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

bool Loader::ip_value(const Node& n, size_t i, std::string_view what, IpAddr& out) {
  const std::string& s = n.args[i];
  if (const auto ip = parse_ip(s)) {
    out = *ip;
    return true;
  }
  return fail(n.line, "bad " + std::string(what) + " " + quoted(s) +
                          " (a numeric IPv4 or IPv6 address like 192.168.0.1 or 2001:db8::1)");
}

bool Loader::port_value(const Node& n, size_t i, std::string_view what, uint16_t& out) {
  const std::string& s = n.args[i];
  const auto port = parse_port(s);
  if (!port) return fail(n.line, "bad " + std::string(what) + " " + quoted(s) + " (0..65535)");
  out = *port;
  return true;
}

// NAT | DR | TUN [type ipip|gue port N|gre [nocsum|csum|remcsum]]
bool Loader::method_leaf(const Node& n, std::optional<ForwardMethod>& out) {
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
      return fail(n.line, "too many values for " + quoted(n.key) + ": " + excerpt(join(n.args)));
    }
    if (n.args[2] != "ipip" || n.args.size() > 3) {
      not_handled(n.line, n.key + " " + excerpt(join(n.args)));
    }
  }
  return true;
}

bool Loader::top(const Node& n) {
  // keepalived's VRRP process (keepalived --vrrp on the same file) runs these; fastvsd follows
  // the addresses it adds to and removes from the kernel-path interfaces.
  static const char* const kVrrp[] = {"vrrp_instance",
                                      "vrrp_sync_group",
                                      "vrrp_script",
                                      "vrrp_track_process",
                                      "vrrp_track_file",
                                      "static_ipaddress",
                                      "static_routes",
                                      "static_rules",
                                      "garp_group",
                                      "linkbeat_interfaces",
                                      "interface_up_down_delays",
                                      "static_track_group"};
  static const char* const kIgnored[] = {
      "bfd_instance", "net_namespace", "net_namespace_ipvs",   "namespace_with_ipsets",
      "instance",     "use_pid_dir",   "linkbeat_use_polling", "child_wait_time"};
  if (n.key == "virtual_server") return virtual_server(n);
  if (n.key == "global_defs") return global_defs(n);
  if (n.key == "SSL" || n.key == "track_file") return true;  // read first (run)
  if (n.key.rfind("include", 0) == 0 && n.key.size() <= 8) {
    return fail(n.line, "unknown keyword " + quoted(n.key) + " (include FILE reads FILE here)");
  }
  for (const char* k : kVrrp) {
    if (n.key == k) {
      note(n.line, n.key + " is keepalived's (keepalived --vrrp runs it)");
      vrrp_addrs(n);
      return true;
    }
  }
  for (const char* k : kIgnored) {
    if (n.key == k) {
      warn(n.line, n.key + " is not handled by fastvsd (ignored)");
      return true;
    }
  }
  if (n.key == "virtual_server_group") return true;  // read first (run)
  warn(n.line, "unknown keyword " + quoted(n.key) + " (ignored)");
  return true;
}

// keepalived's `SSL { }` (check_parser.c ssl_handler): what every SSL_GET uses.
bool Loader::ssl_block(const Node& n) {
  if (!want_block(n) || !arity(n, 0, 0)) return false;
  for (const Node& c : n.children) {
    const std::string& k = c.key;
    std::string* field = k == "password"      ? &ssl_.password
                         : k == "ca"          ? &ssl_.ca
                         : k == "certificate" ? &ssl_.certificate
                         : k == "key"         ? &ssl_.key
                                              : nullptr;
    if (!field) {
      unknown(c, "SSL");
      continue;
    }
    if (!leaf(c, 1, 1)) return false;
    *field = c.args[0];
    // keepalived cannot build its SSL context without them and stops (init_ssl_ctx): refused
    // here, at the line.
    if (k != "password" && access(field->c_str(), R_OK) != 0)
      return fail(c.line, "SSL " + k + " " + quoted(*field) + ": " + strerror(errno));
  }
  return true;
}

// track_file.c's track_file_handler and its keywords. Where keepalived reports a bad value and
// goes on without it (a default weight, no file), the file is refused at that line: what the
// checker would do is not what the file says.
bool Loader::track_file_block(const Node& n) {
  if (!want_block(n) || !arity(n, 1, 1)) return false;
  const std::string& name = n.args[0];
  if (track_files_.count(name)) {
    return fail(n.line, "track_file " + quoted(name) + " is defined twice (" +
                            cfg_.where(track_files_[name].line) + ")");
  }
  TrackFile t;
  t.line = n.line;
  bool weight_seen = false;
  for (const Node& c : n.children) {
    const std::string& k = c.key;
    if (k == "file") {
      if (!leaf(c, 1, 1)) return false;
      if (!t.path.empty()) return fail(c.line, "a second file for track_file " + quoted(name));
      t.path = c.args[0];
      t.file_line = c.line;  // the path is checked when a FILE_CHECK names it (file_check)
    } else if (k == "weight") {
      if (!leaf(c, 1, 2)) return false;
      if (weight_seen) return fail(c.line, "a second weight for track_file " + quoted(name));
      weight_seen = true;
      const std::optional<int32_t> v = parse_int(c.args[0], -254, 254);
      if (!v) {
        return fail(c.line, "bad track_file weight " + quoted(c.args[0]) +
                                " (-254..254, keepalived's range for a track_file)");
      }
      t.weight = *v;
      if (c.args.size() == 2) {
        if (c.args[1] != "reverse")
          return fail(c.line,
                      "unknown track_file weight option " + quoted(c.args[1]) + " (reverse)");
        t.reverse = true;
      }
    } else if (k == "init_file") {
      if (!leaf(c, 0, 2)) return false;
      t.init = 0;
      for (const std::string& w : c.args) {
        if (w == "overwrite") {
          t.overwrite = true;
          continue;
        }
        t.init = parse_int(w, INT32_MIN, INT32_MAX);
        if (!t.init)
          return fail(c.line, "bad init_file value " + quoted(w) + " (a number, overwrite)");
      }
    } else {
      unknown(c, "track_file");
    }
  }
  if (t.path.empty()) return fail(n.line, "track_file " + quoted(name) + " has no file");
  track_files_[name] = std::move(t);
  return true;
}

// check_file.c's FILE_CHECK { track_file NAME; weight W [reverse] }.
bool Loader::file_check(RawServer& rs, const Node& n) {
  if (!want_block(n) || !arity(n, 0, 0)) return false;
  RawCheck ch;
  ch.line = n.line;
  ch.kind = CheckKind::File;
  for (const Node& c : n.children) {
    const std::string& k = c.key;
    if (k == "track_file") {
      if (!leaf(c, 1, 1)) return false;
      if (!track_files_.count(c.args[0]))
        return fail(c.line, "track_file " + quoted(c.args[0]) + " not found");
      ch.track_name = c.args[0];
    } else if (k == "weight") {
      if (!leaf(c, 1, 2)) return false;
      const std::optional<int32_t> v = parse_int(c.args[0], -65535, 65535);
      if (!v) {
        return fail(c.line, "bad FILE_CHECK weight " + quoted(c.args[0]) +
                                " (-65535..65535, IPVS_WEIGHT_MAX)");
      }
      ch.file_weight = *v;
      ch.file_reverse = false;
      if (c.args.size() == 2) {
        if (c.args[1] != "reverse" && c.args[1] != "noreverse")
          return fail(c.line, "unknown track file weight option " + quoted(c.args[1]) +
                                  " (reverse, noreverse)");
        ch.file_reverse = c.args[1] == "reverse";
      }
    } else {
      unknown(c, "FILE_CHECK");
    }
  }
  // file_end_handler: "FILE_CHECK has no track_file specified".
  if (ch.track_name.empty()) return fail(n.line, "FILE_CHECK has no track_file");
  // Only a track_file a FILE_CHECK names is fastvsd's to watch (init_track_files forgets the
  // others; a vrrp_instance's are keepalived --vrrp's): its path is checked here, at its line.
  const TrackFile& t = track_files_.at(ch.track_name);
  // keepalived resolves a relative name from its working directory, /; fastvsd's is not always
  // /, so it asks for the path the file means.
  if (t.path.empty() || t.path[0] != '/' || t.path.back() == '/') {
    return fail(t.file_line, "track_file " + quoted(ch.track_name) + ": file " + quoted(t.path) +
                                 " is not an absolute path to a file");
  }
  // init_track_files: "Track file directory for NAME does not exist" (removed).
  const std::string dir = t.path.substr(0, t.path.rfind('/') + 1);
  if (access(dir.c_str(), X_OK) != 0) {
    return fail(t.file_line, "track_file " + quoted(ch.track_name) + ": directory " + quoted(dir) +
                                 ": " + strerror(errno));
  }
  rs.checks.push_back(std::move(ch));
  return true;
}

void Loader::vrrp_addrs(const Node& n) {
  // The addresses keepalived will move, IPv4 and IPv6: read, never refused here (keepalived
  // checks its own blocks); a word that is no address is not fastvs's concern.
  const auto take = [&](const Node& list, const std::string& owner) {
    for (const Node& a : list.children) {
      const std::string& word = a.key;
      const size_t slash = word.find('/');
      const std::optional<IpAddr> ip = parse_ip(std::string_view(word).substr(0, slash));
      if (!ip) continue;
      KaVrrpAddr v{*ip, static_cast<uint8_t>(ip->max_prefix()), owner, a.line};
      if (slash != std::string::npos) {
        const std::string len = word.substr(slash + 1);
        if (len.empty() || len.size() > 3 || len.find_first_not_of("0123456789") != len.npos ||
            std::stoul(len) > ip->max_prefix())
          continue;
        v.prefix_len = static_cast<uint8_t>(std::stoi(len));
      }
      cfg_.vrrp_addrs.push_back(v);
    }
  };
  if (n.key == "static_ipaddress") return take(n, "static_ipaddress");
  if (n.key != "vrrp_instance") return;
  const std::string owner = instance_owner(n.args.empty() ? "" : n.args[0]);
  KaVrrpInstance inst{n.args.empty() ? "" : n.args[0], n.line, 0};
  for (const Node& c : n.children) {
    if (c.block && (c.key == "virtual_ipaddress" || c.key == "virtual_ipaddress_excluded"))
      take(c, owner);
    // keepalived's 1..255; anything else it refuses, and so has no syncid to give (0).
    if (!c.block && c.key == "virtual_router_id" && c.args.size() == 1) {
      const std::optional<uint32_t> vrid = parse_uint(c.args[0], 255);
      if (vrid) inst.vrid = static_cast<uint8_t>(*vrid);
    }
  }
  if (!inst.name.empty()) cfg_.vrrp_instances.push_back(std::move(inst));
}

// lvs_sync_daemon INTERFACE [inst] VRRP_INSTANCE [id N] [maxlen N] [port N] [ttl N] [group ADDR]
// (global_parser.c lvs_syncd_handler): keywords in any order after the interface; a bare word
// first is the instance, and a bare number after it the syncid (the forms from before `inst` and
// `id`, which keepalived still takes). Where keepalived logs a bad value and starts the daemon
// without it, fastvs refuses the file: the daemon would not be the one the file asks for.
bool Loader::lvs_sync_daemon(const Node& n) {
  if (n.block) return fail(n.line, quoted(n.key) + " takes no { } block");
  if (cfg_.sync_daemon) {
    return fail(n.line, "a second lvs_sync_daemon (keepalived takes the first one only, " +
                            cfg_.where(cfg_.sync_daemon->line) + ")");
  }
  if (n.args.empty()) return fail(n.line, "lvs_sync_daemon needs an interface and a VRRP instance");
  KaSyncDaemon d;
  d.line = n.line;
  if (Status st =
          set_sync_field(d.cfg, SyncField::Interface, "lvs_sync_daemon interface", n.args[0]);
      !st)
    return fail(n.line, st.error());
  struct Key {
    const char* word;
    SyncField field;
  };
  static constexpr Key kKeys[] = {{"id", SyncField::SyncId},
                                  {"maxlen", SyncField::Maxlen},
                                  {"port", SyncField::Port},
                                  {"ttl", SyncField::Ttl},
                                  {"group", SyncField::Group}};
  std::vector<std::string> given;
  for (size_t i = 1; i < n.args.size(); ++i) {
    const std::string& w = n.args[i];
    const Key* key = nullptr;
    for (const Key& k : kKeys)
      if (w == k.word) key = &k;
    if (key || w == "inst") {
      if (i + 1 == n.args.size()) return fail(n.line, "lvs_sync_daemon " + w + " needs a value");
      if (std::find(given.begin(), given.end(), w) != given.end())
        return fail(n.line, "lvs_sync_daemon " + w + " given twice");
      given.push_back(w);
      const std::string& value = n.args[++i];
      if (!key) {
        if (!d.instance.empty())
          return fail(n.line, "lvs_sync_daemon names two VRRP instances: " + quoted(d.instance) +
                                  " and " + quoted(value));
        d.instance = value;
        continue;
      }
      if (Status st = set_sync_field(d.cfg, key->field, "lvs_sync_daemon " + w, value); !st)
        return fail(n.line, st.error());
      d.syncid_given |= key->field == SyncField::SyncId;
      continue;
    }
    if (i == 1) {
      d.instance = w;
      continue;
    }
    if (i == 2 && !d.syncid_given) {
      if (Status st = set_sync_field(d.cfg, SyncField::SyncId, "lvs_sync_daemon syncid", w); !st)
        return fail(n.line, st.error());
      warn(n.line,
           "lvs_sync_daemon: a syncid without the keyword id (taken, as keepalived "
           "takes it; write id " +
               w + ")");
      d.syncid_given = true;
      given.push_back("id");
      continue;
    }
    return fail(n.line, "unknown lvs_sync_daemon option " + quoted(w) +
                            " (inst, id, maxlen, port, ttl, group)");
  }
  if (d.instance.empty()) {
    return fail(n.line,
                "lvs_sync_daemon needs a VRRP instance (lvs_sync_daemon INTERFACE VRRP_INSTANCE "
                "...): fastvsd runs the sync daemon as that instance's state says");
  }
  cfg_.sync_daemon = std::move(d);
  return true;
}

// The instance lvs_sync_daemon names, once every vrrp_instance is read; keepalived drops the
// daemon of an instance it cannot find ("Unable to find vrrp instance"), fastvs refuses the file.
bool Loader::resolve_sync_daemon() {
  if (!cfg_.sync_daemon) return true;
  KaSyncDaemon& d = *cfg_.sync_daemon;
  const auto it = std::find_if(cfg_.vrrp_instances.begin(), cfg_.vrrp_instances.end(),
                               [&](const KaVrrpInstance& v) { return v.name == d.instance; });
  if (it == cfg_.vrrp_instances.end()) {
    return fail(d.line,
                "lvs_sync_daemon: no vrrp_instance " + quoted(d.instance) + " in this file");
  }
  if (!d.syncid_given) {
    // keepalived: "If no syncid configured, use vrid".
    if (it->vrid == 0) {
      return fail(d.line, "lvs_sync_daemon: vrrp_instance " + quoted(d.instance) +
                              " has no virtual_router_id to be the syncid (give id N)");
    }
    d.cfg.syncid = it->vrid;
  }
  return true;
}

bool Loader::global_defs(const Node& n) {
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
    } else if (c.key == "lvs_sync_daemon") {
      if (!lvs_sync_daemon(c)) return false;
    } else {
      ignored += (ignored.empty() ? "" : ", ") + c.key;
    }
  }
  if (!ignored.empty())
    warn(n.line, "global_defs: " + ignored + ": not handled by fastvsd (ignored)");
  return true;
}

bool Loader::virtual_server(const Node& n) {
  if (!want_block(n) || !arity(n, 1, 2)) return false;
  RawVs vs;
  vs.line = n.line;
  if (n.args[0] == "fwmark" || n.args[0] == "group") {
    if (n.args.size() != 2) return fail(n.line, "virtual_server " + n.args[0] + " needs a value");
    if (n.args[0] == "group") return group_virtual_server(n);
    uint64_t mark = 0;
    if (!uint_value(n, 1, 1, UINT32_MAX, mark)) return false;
    vs.fwmark = static_cast<uint32_t>(mark);
    for (const Node& c : n.children) {
      if (!vs_key(vs, c)) return false;
    }
    return finish_vs(std::move(vs));
  }
  if (!ip_value(n, 0, "virtual server address", vs.vip)) return false;
  if (n.args.size() == 2 && !port_value(n, 1, "virtual server port", vs.vport)) return false;
  for (const Node& c : n.children) {
    if (!vs_key(vs, c)) return false;
  }
  return finish_vs(std::move(vs));
}

bool Loader::vs_key(RawVs& vs, const Node& n) {
  const std::string& k = n.key;
  if (k == "real_server") return real_server(vs, n);
  if (k == "delay_loop") return timer_leaf(n, false, vs.inh.delay_loop);
  if (k == "lb_algo" || k == "lvs_sched") {
    if (!leaf(n, 1, 1)) return false;
    vs.scheduler = n.args[0];
    vs.sched_line = n.line;
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
    if (!leaf(n, 1, 1)) return false;
    // pgr_handler: an IPv6 virtual server's is a prefix length 1..128; a fwmark one of no
    // family yet takes it from the form (a '.': IPv4).
    if (vs.fwmark && !vs.fwm_v6) vs.fwm_v6 = n.args[0].find('.') == std::string::npos;
    if (vs.fwmark ? *vs.fwm_v6 : vs.vip.is_v6()) {
      uint64_t len = 0;
      if (!uint_value(n, 0, 1, 128, len)) return false;
      vs.granularity6 = static_cast<uint8_t>(len);
      return true;
    }
    if (n.args[0].find('.') == std::string::npos) {
      return fail(n.line, "persistence_granularity " + quoted(n.args[0]) +
                              ": expected an IPv4 netmask like 255.255.255.0");
    }
    const auto parsed = parse_ip4(n.args[0]);
    if (!parsed) {
      return fail(n.line, "bad persistence_granularity " + quoted(n.args[0]) +
                              " (an IPv4 netmask like 255.255.255.0)");
    }
    const uint32_t mask = *parsed;
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
  // The scheduler flags: sh's and mh's names of the same two bits, or keepalived's flag-1 and
  // flag-2 for them (IP_VS_SVC_F_SCHED1 and SCHED2).
  if (k == "sh-port" || k == "sh-fallback" || k == "mh-port" || k == "mh-fallback" ||
      k == "flag-1" || k == "flag-2") {
    if (!leaf(n, 0, 0)) return false;
    const bool port = k == "sh-port" || k == "mh-port" || k == "flag-2";
    vs.sched_flags |= port ? kSchedShPort : kSchedShFallback;
    return true;
  }
  if (k == "ip_family") {
    // ip_family_handler: it decides a fwmark virtual server's family, and must match an
    // address virtual server's (or one decided before it).
    if (!leaf(n, 1, 1)) return false;
    if (n.args[0] != "inet" && n.args[0] != "inet6")
      return fail(n.line, "bad ip_family " + quoted(n.args[0]) + " (inet or inet6)");
    const bool v6 = n.args[0] == "inet6";
    if (vs.fwmark) {
      if (vs.fwm_v6 && *vs.fwm_v6 != v6)
        return fail(n.line, "ip_family " + n.args[0] + " conflicts with the family given before");
      vs.fwm_v6 = v6;
      return true;
    }
    if (v6 != vs.vip.is_v6())
      return fail(n.line, "ip_family " + n.args[0] + " is not the family of " + format_ip(vs.vip));
    return true;
  }
  if (k == "persistence_engine") {
    not_handled(n.line, k);
    return true;
  }
  if (k == "ops") {
    if (!leaf(n, 0, 0)) return false;
    vs.ops = true;
    return true;
  }
  if (k == "ha_suspend") {
    // keepalived stops a backup's checks; here they run on both (they take nothing out that
    // the master would not).
    if (!leaf(n, 0, 0)) return false;
    ignored(n.line, k, "the checks run on the backup too");
    return true;
  }
  if (k == "flag-3") {  // IP_VS_SVC_F_SCHED3, which no scheduler reads: kept and listed
    if (!leaf(n, 0, 0)) return false;
    vs.sched_flags |= kSchedFlag3;
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
bool Loader::common_key(Inherit& inh, const Node& n, bool in_checker) {
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

bool Loader::real_server(RawVs& vs, const Node& n) {
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
      if (ok) (k == "notify_up" ? rs.notify_up : rs.notify_down) = script(c);
    } else if (k == "TCP_CHECK" || k == "HTTP_GET" || k == "MISC_CHECK" || k == "UDP_CHECK" ||
               k == "PING_CHECK" || k == "SMTP_CHECK" || k == "SSL_GET" || k == "DNS_CHECK") {
      ok = checker(rs, c, dynamic_seen);
    } else if (k == "FILE_CHECK") {
      ok = file_check(rs, c);
    } else if (k == "BFD_CHECK") {
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

bool Loader::checker(RawServer& rs, const Node& n, bool& dynamic_seen) {
  if (!want_block(n) || !arity(n, 0, 0)) return false;
  RawCheck ch;
  ch.line = n.line;
  ch.kind = n.key == "TCP_CHECK"    ? CheckKind::Tcp
            : n.key == "HTTP_GET"   ? CheckKind::Http
            : n.key == "SSL_GET"    ? CheckKind::Ssl
            : n.key == "UDP_CHECK"  ? CheckKind::Udp
            : n.key == "PING_CHECK" ? CheckKind::Ping
            : n.key == "SMTP_CHECK" ? CheckKind::Smtp
            : n.key == "DNS_CHECK"  ? CheckKind::Dns
                                    : CheckKind::Misc;
  const bool connects = ch.kind != CheckKind::Misc;
  const std::string where = n.key;
  std::vector<SmtpHost> hosts;
  const bool web = ch.kind == CheckKind::Http || ch.kind == CheckKind::Ssl;
  for (const Node& c : n.children) {
    const std::string& k = c.key;
    bool ok = true;
    if (connects && k == "connect_ip") {
      IpAddr ip;
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
      ignored(c.line, where + " " + k, "the check goes out as the host routes it");
    } else if (!connects && k == "connect_timeout") {
      unknown(c, where);
    } else if (k == "log_all_failures") {
      no_effect(c);
    } else if (web && k == "url") {
      ok = url(ch, c);
    } else if (ch.kind == CheckKind::Ssl && k == "enable_sni") {
      ok = leaf(c, 0, 0);
      ch.enable_sni = true;
    } else if (web && (k == "http_protocol" || k == "fast_recovery")) {
      // One run fetches every url at once: keepalived's fast_recovery, always.
      no_effect(c);
    } else if (ch.kind == CheckKind::Dns && k == "type") {
      // dns_type_handler: an unknown type is logged and SOA kept.
      ok = leaf(c, 1, 1);
      if (ok) {
        if (const auto t = dns_type_code(c.args[0]))
          ch.dns_type = *t;
        else
          warn(c.line, "Unknown DNS check type " + c.args[0] + " - defaulting to SOA");
      }
    } else if (ch.kind == CheckKind::Dns && k == "name") {
      ok = leaf(c, 1, 1);
      if (ok) ch.dns_name = c.args[0];
    } else if (ch.kind == CheckKind::Smtp && k == "helo_name") {
      ok = leaf(c, 1, 1);
      if (ok) ch.helo_name = c.args[0];
    } else if (ch.kind == CheckKind::Smtp && k == "host") {
      // smtp_host_handler: deprecated, each host its own checker (all must pass).
      warn(c.line, "The SMTP_CHECK host block is deprecated. Please define additional checkers.");
      hosts.emplace_back();
      ok = smtp_host(ch, c, hosts.back());
    } else if (ch.kind == CheckKind::Udp && k == "payload") {
      // payload_handler: the words joined, read as hex.
      ok = leaf(c, 1, 64);
      if (ok && !parse_hex_str(join(c.args), ch.udp_payload, nullptr))
        return fail(c.line, "invalid hex string for UDP_CHECK payload " + quoted(join(c.args)));
    } else if (ch.kind == CheckKind::Udp && k == "require_reply") {
      // require_reply_handler: a reply is needed; with a hex string (X a wildcard nibble) it
      // must match it.
      ok = leaf(c, 0, 64);
      ch.require_reply = true;
      if (ok && !c.args.empty() && !parse_hex_str(join(c.args), ch.reply_data, &ch.reply_mask))
        return fail(c.line, "invalid hex string for UDP_CHECK reply " + quoted(join(c.args)));
    } else if (ch.kind == CheckKind::Udp && (k == "min_reply_length" || k == "max_reply_length")) {
      uint32_t v = 0;
      ok = uint_leaf(c, 0, 65535, v);
      (k == "min_reply_length" ? ch.min_reply_len : ch.max_reply_len) = static_cast<uint16_t>(v);
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
    } else if (k == "virtualhost" && !web) {
      unknown(c, where);
    } else if (common_key(ch.inh, c, true)) {
      ok = error_.empty();
    } else {
      unknown(c, where);
    }
    if (!ok || !error_.empty()) return false;
  }
  if (web && ch.urls.empty()) return fail(n.line, n.key + " without a url { path ... }");
  if (ch.kind == CheckKind::Misc && ch.misc_path.empty()) {
    return fail(n.line, "MISC_CHECK without misc_path");
  }
  // A checker a host: the SMTP_CHECK's settings, where the host says to connect.
  if (!hosts.empty()) {
    for (const SmtpHost& h : hosts) {
      RawCheck one = ch;
      one.line = h.line;
      if (h.connect_ip) one.connect_ip = h.connect_ip;
      if (h.connect_port) one.connect_port = h.connect_port;
      if (!h.bindto.is_zero()) one.bindto = h.bindto;
      if (h.bind_port) one.bind_port = h.bind_port;
      if (h.connect_timeout) one.inh.connect_timeout = h.connect_timeout;
      rs.checks.push_back(std::move(one));
    }
    return true;
  }
  // udp_check_end_handler reports it and keeps the checker.
  if (ch.kind == CheckKind::Udp && ch.min_reply_len > ch.max_reply_len) {
    warn(n.line, "UDP_CHECK min_reply_length " + std::to_string(ch.min_reply_len) +
                     " > max_reply_length " + std::to_string(ch.max_reply_len) +
                     " - will always fail");
  }
  rs.checks.push_back(std::move(ch));
  return true;
}

bool Loader::smtp_host(RawCheck& ch, const Node& n, SmtpHost& h) {
  if (!want_block(n) || !arity(n, 0, 0)) return false;
  h.line = n.line;
  for (const Node& c : n.children) {
    const std::string& k = c.key;
    bool ok = true;
    if (k == "connect_ip") {
      IpAddr ip;
      ok = leaf(c, 1, 1) && ip_value(c, 0, "connect_ip", ip);
      h.connect_ip = ip;
    } else if (k == "connect_port") {
      uint16_t port = 0;
      ok = leaf(c, 1, 1) && port_value(c, 0, "connect_port", port);
      h.connect_port = port;
    } else if (k == "bindto") {
      ok = leaf(c, 1, 1) && ip_value(c, 0, "bindto", h.bindto);
    } else if (k == "bind_port") {
      ok = leaf(c, 1, 1) && port_value(c, 0, "bind_port", h.bind_port);
    } else if (k == "connect_timeout") {
      ok = timer_leaf(c, false, h.connect_timeout);
    } else if (k == "bind_if" || k == "fwmark") {
      ignored(c.line, "SMTP_CHECK host " + k, "the check goes out as the host routes it");
    } else if (common_key(ch.inh, c, true)) {
      // The checker's own settings (retry, delay_before_retry, ...), as keepalived's common
      // keywords in a host block set them.
      ok = error_.empty();
    } else {
      unknown(c, "host");
    }
    if (!ok || !error_.empty()) return false;
  }
  return true;
}

bool Loader::url(RawCheck& ch, const Node& n) {
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
      not_handled(c.line, "url " + k);
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
bool Loader::status_codes(const Node& n, std::vector<StatusRange>& out) {
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

}  // namespace fastvs::ka

namespace fastvs {

std::vector<KaVrrpAddr> ka_instance_addrs(const KaConfig& cfg, std::string_view instance) {
  std::vector<KaVrrpAddr> out;
  if (instance.empty()) return out;
  const std::string owner = ka::instance_owner(instance);
  for (const KaVrrpAddr& a : cfg.vrrp_addrs)
    if (a.owner == owner) out.push_back(a);
  return out;
}

}  // namespace fastvs
