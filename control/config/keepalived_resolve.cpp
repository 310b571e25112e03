// keepalived's defaults, inheritance and corrections once a virtual server is read (its
// check_data.c: alloc_vs, alloc_rs, validate_check_config), and who runs MISC_CHECK programs.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "control/config/keepalived_loader.h"
#include "control/health/script_user.h"

namespace fastvs::ka {

// Who runs each MISC_CHECK program, once the whole file is read (global_defs may come last):
// its `user`, else global_defs' script_user, else keepalived_script if that user exists, else
// root with keepalived's warning (set_default_script_user). A user or group that does not
// exist refuses the file at its line; so does, with enable_script_security, a program that
// would run as root from a path others can write (keepalived's check_script_secure).
// Who runs each MISC_CHECK program and notify/quorum script: its own user, else global_defs'
// script_user, else keepalived_script, else root with keepalived's warning (once); with
// enable_script_security, one that would run as root from a path others can write refuses the
// file.
bool Loader::resolve_script_users() {
  std::optional<ScriptIds> fallback;
  bool warned_root = false;
  const auto resolve = [&](const std::string& what, unsigned line, unsigned user_line,
                           const std::string& user, const std::string& group,
                           const std::vector<std::string>& argv, uint32_t& uid, uint32_t& gid) {
    ScriptIds ids;
    if (!user.empty()) {
      const Result<ScriptIds> r = resolve_script_user(user, group);
      if (!r) return fail(user_line, what + " user: " + r.error());
      ids = *r;
    } else if (fallback) {
      ids = *fallback;
    } else if (!cfg_.scripts.user.empty()) {
      const Result<ScriptIds> r = resolve_script_user(cfg_.scripts.user, cfg_.scripts.group);
      if (!r) return fail(cfg_.scripts.line, "script_user: " + r.error());
      fallback = ids = *r;
    } else {
      const Result<ScriptIds> r = resolve_script_user(kDefaultScriptUser, "");
      if (r) {
        ids = *r;
      } else if (!warned_root) {  // root, with keepalived's warning
        warn(line, std::string("MISC_CHECK programs and notify scripts that name no user run as "
                               "root: default user '") +
                       kDefaultScriptUser +
                       "' for script execution does not exist - please create "
                       "(or give global_defs script_user)");
        warned_root = true;
      }
      fallback = ids;
    }
    uid = ids.uid;
    gid = ids.gid;
    if (cfg_.scripts.security && (uid == 0 || gid == 0) && !argv.empty()) {
      if (const Status st = check_script_secure(argv[0]); !st)
        return fail(line, what + " " + quoted(argv[0]) + " would run as root but " + st.error() +
                              " (enable_script_security)");
    }
    return true;
  };
  // check_notify_script_secure: a script that cannot be found or run is disabled, with a
  // warning; an empty one has no program at all.
  const auto script = [&](const std::string& what, std::optional<KaScript>& s) {
    if (!s) return true;
    const std::vector<std::string>& argv = s->spec.argv;
    if (argv.empty() || argv[0].empty()) return fail(s->line, what + " needs a program");
    const std::optional<std::string> path = find_program(argv[0]);
    struct stat st {};
    if (!path || stat(path->c_str(), &st) != 0 || !S_ISREG(st.st_mode) ||
        access(path->c_str(), X_OK) != 0) {
      warn(s->line, what + " " + quoted(argv[0]) +
                        " cannot be run (not found, or not an executable file): disabled "
                        "(ignored), as keepalived disables it");
      s.reset();
      return true;
    }
    return resolve(what, s->line, s->line, s->spec.user, s->spec.group, argv, s->spec.uid,
                   s->spec.gid);
  };
  // keepalived's order (check_security): every MISC_CHECK, then each virtual server's quorum
  // scripts and its real servers' notify scripts.
  for (KaVirtualServer& vs : cfg_.virtual_servers) {
    for (KaRealServer& rs : vs.real_servers) {
      for (KaCheck& c : rs.checks) {
        CheckSpec& s = c.spec;
        if (s.kind != CheckKind::Misc) continue;
        if (!resolve("MISC_CHECK", c.line, c.user_line, s.user, s.group, s.misc_argv, s.uid, s.gid))
          return false;
      }
    }
  }
  for (KaVirtualServer& vs : cfg_.virtual_servers) {
    if (!script("quorum_up", vs.quorum_up) || !script("quorum_down", vs.quorum_down)) return false;
    for (KaRealServer& rs : vs.real_servers) {
      if (!script("notify_up", rs.notify_up) || !script("notify_down", rs.notify_down))
        return false;
    }
  }
  return true;
}

KaScript Loader::resolve_script(const RawScript& raw) {
  KaScript s;
  s.line = raw.line;
  s.spec.text = raw.args.at(0);
  s.spec.argv = script_argv({raw.args[0]});
  if (raw.args.size() > 1) s.spec.user = raw.args[1];
  if (raw.args.size() > 2) s.spec.group = raw.args[2];
  return s;
}

bool Loader::finish_vs(RawVs raw) {
  KaVirtualServer vs;
  vs.line = raw.line;
  const std::string name_for_log =
      raw.fwmark ? "fwmark " + std::to_string(raw.fwmark) : addr_port(raw.vip, raw.vport);
  if (raw.real_servers.empty()) {
    warn(raw.line, "virtual server " + name_for_log + " has no real servers (ignored)");
    return true;
  }
  if (raw.fwmark) {
    // vs_end_handler: a fwmark virtual server of no family takes its servers' (the first that
    // is not tunnelled; else the tunnelled ones' when they agree), else IPv4.
    if (!raw.fwm_v6) {
      const ForwardMethod def = raw.method.value_or(ForwardMethod::Masq);
      std::optional<bool> tunnelled;
      bool mixed = false;
      for (const RawServer& r : raw.real_servers) {
        if (r.method.value_or(def) != ForwardMethod::Tunnel) {
          raw.fwm_v6 = r.ip.is_v6();
          break;
        }
        if (tunnelled && *tunnelled != r.ip.is_v6()) mixed = true;
        tunnelled = r.ip.is_v6();
      }
      if (!raw.fwm_v6 && raw.sorry && raw.sorry->method.value_or(def) != ForwardMethod::Tunnel)
        raw.fwm_v6 = raw.sorry->ip.is_v6();
      if (!raw.fwm_v6) raw.fwm_v6 = tunnelled && !mixed && *tunnelled;
    }
    raw.vip = IpAddr::any(*raw.fwm_v6 ? IpAddr::Family::V6 : IpAddr::Family::V4);
    // "protocol specified for fwmark - protocol will be ignored" (not in a group with
    // addresses, whose services it is for).
    if (raw.proto && !raw.group_has_addrs)
      warn(raw.line, "virtual server " + name_for_log +
                         ": protocol specified for fwmark (ignored: a mark takes TCP and UDP)");
    vs.key = ServiceKey::of_fwmark(raw.fwmark, *raw.fwm_v6);
  } else {
    if (!raw.proto) {
      // "If the protocol is 0, the kernel defaults to UDP, so set it explicitly".
      warn(raw.line, "virtual server " + name_for_log + ": no protocol set, defaulting to UDP");
    }
    vs.key = {raw.proto.value_or(Proto::Udp), raw.vip, raw.vport};
  }
  const std::string vs_name = service_name(vs.key);
  if (!raw.scheduler) {
    warn(raw.line, "virtual server " + vs_name + ": no lb_algo set, defaulting to wlc");
  }
  vs.scheduler = raw.scheduler.value_or("wlc");  // ipvswrapper.h IPVS_DEF_SCHED
  vs.sched_line = raw.sched_line;
  // keepalived hands the flags to the kernel whatever the scheduler: kept, and listed with
  // ipvsadm's generic names (only sh and mh read them). flag-3 has no name for sh and mh.
  vs.sched_flags = raw.sched_flags;
  if ((vs.scheduler == "sh" || vs.scheduler == "mh") && (vs.sched_flags & kSchedFlag3)) {
    warn(raw.sched_line ? raw.sched_line : raw.line,
         "virtual server " + vs_name + ": flag-3 has no meaning for the " + vs.scheduler +
             " scheduler (ignored: ipvsadm could not list or save it)");
    vs.sched_flags &= ~uint32_t{kSchedFlag3};
  }
  vs.persistence_timeout = raw.persistence_timeout;
  if (raw.granularity || raw.granularity6) {
    vs.persistence_granularity = raw.granularity.value_or(0xffffffffu);
    vs.persistence_granularity6 = raw.granularity6.value_or(128);
    if (vs.persistence_timeout == 0) vs.persistence_timeout = 360;  // pgr_handler
  }
  if (vs.persistence_timeout == 0 && raw.vport == 0 && !raw.fwmark) {
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
  // check_data.c's "one packet scheduling requires UDP - resetting" ("or with a firewall mark").
  vs.ops = raw.ops && (vs.key.proto == Proto::Udp || raw.fwmark);
  if (raw.ops && !vs.ops) {
    warn(raw.line,
         "virtual server " + vs_name + ": one packet scheduling requires UDP (ops " + "ignored)");
  }
  if (raw.quorum_up) vs.quorum_up = resolve_script(*raw.quorum_up);
  if (raw.quorum_down) vs.quorum_down = resolve_script(*raw.quorum_down);
  vs.delay_loop = raw.inh.delay_loop.value_or(60);

  // A real (or sorry) server's port: NAT may map it, DR and TUN cannot (keepalived resets it).
  auto server_port = [&](const RawServer& r, ForwardMethod m, std::string_view what) {
    // A fwmark virtual server's: NAT keeps the port it is given (none: each connection's own);
    // DR and TUN cannot map one ("has port specified - clearing").
    if (raw.fwmark) {
      if (m == ForwardMethod::Masq || !r.port || *r.port == 0) return r.port.value_or(0);
      warn(r.line, "virtual server " + vs_name + ": " + std::string(what) + " " +
                       addr_port(r.ip, *r.port) +
                       " has a port specified (cleared: only NAT maps "
                       "ports)");
      return uint16_t{0};
    }
    if (!r.port) return raw.vport;
    if (m != ForwardMethod::Masq && *r.port != raw.vport) {
      warn(r.line, "virtual server " + vs_name + " and " + std::string(what) + " " +
                       addr_port(r.ip, *r.port) + " ports don't match, resetting to " +
                       std::to_string(raw.vport) + " (only NAT maps ports)");
      return raw.vport;
    }
    return *r.port;
  };

  // IPVS takes a server of the other address family than its service only for a tunnel
  // (ip_vs_genl_set_cmd; ipvsadm: "Different address family is allowed only for tunneling
  // servers"), and so does fastvsadm's -a.
  auto other_family = [&](const RawServer& r, ForwardMethod m, std::string_view what) {
    if (r.ip.family() == raw.vip.family() || m == ForwardMethod::Tunnel) return false;
    fail(r.line, std::string(what) + " " + format_ip(r.ip) + " of virtual server " + vs_name +
                     ": a different address family is allowed only for tunneling servers "
                     "(lb_kind TUN)");
    return true;
  };

  uint64_t weight_sum = 0;
  for (RawServer& r : raw.real_servers) {
    KaRealServer rs;
    rs.line = r.line;
    rs.server.ip = r.ip;
    rs.server.method = r.method.value_or(vs.method);
    if (other_family(r, rs.server.method, "real server")) return false;
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
    if (r.notify_up) rs.notify_up = resolve_script(*r.notify_up);
    if (r.notify_down) rs.notify_down = resolve_script(*r.notify_down);
    for (const RawCheck& c : r.checks) rs.checks.push_back(resolve(c, r, rs.server, raw));
    weight_sum += static_cast<uint64_t>(rs.server.weight);
    vs.real_servers.push_back(std::move(rs));
  }
  if (raw.sorry) {
    KaSorryServer s;
    s.line = raw.sorry->line;
    s.server.ip = raw.sorry->ip;
    s.server.method = raw.sorry->method.value_or(vs.method);
    if (other_family(*raw.sorry, s.server.method, "sorry server")) return false;
    s.server.port = server_port(*raw.sorry, s.server.method, "sorry server");
    s.server.weight = 1;  // alloc_ssvr
    s.server.inhibit = raw.sorry->inhibit;
    const bool dup =
        std::any_of(vs.real_servers.begin(), vs.real_servers.end(), [&](const KaRealServer& o) {
          return o.server.ip == s.server.ip && o.server.port == s.server.port;
        });
    if (dup) {
      ignored(s.line, "a sorry_server that is also a real_server",
              "it is checked and scheduled as the real server it is");
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
KaCheck Loader::resolve(const RawCheck& c, const RawServer& r, const PoolServer& server,
                        const RawVs& vs) {
  KaCheck out;
  out.line = c.line;
  CheckSpec& s = out.spec;
  s.kind = c.kind;
  s.alpha = first_of(c.inh.alpha, r.inh.alpha, vs.inh.alpha, false);
  // MISC_CHECK retries 0 times by default, DNS_CHECK 3 (DNS_DEFAULT_RETRY), the others once.
  s.retry = first_of(c.inh.retry, r.inh.retry, vs.inh.retry,
                     c.kind == CheckKind::Misc  ? 0u
                     : c.kind == CheckKind::Dns ? 3u
                                                : 1u);
  s.connect_timeout =
      first_of(c.inh.connect_timeout, r.inh.connect_timeout, vs.inh.connect_timeout, 5.0);
  s.delay_loop = first_of(c.inh.delay_loop, r.inh.delay_loop, vs.inh.delay_loop, 60.0);
  s.warmup = first_of(c.inh.warmup, r.inh.warmup, vs.inh.warmup, s.delay_loop);
  s.delay_before_retry =
      first_of(c.inh.delay_before_retry, r.inh.delay_before_retry, vs.inh.delay_before_retry,
               c.kind == CheckKind::Http || c.kind == CheckKind::Ssl ? 3.0 : 1.0);
  if (c.kind == CheckKind::File) {
    // file_end_handler: no weight of its own (or 0) takes the track_file's, with its reverse.
    const TrackFile& t = track_files_.at(c.track_name);
    s.track_name = c.track_name;
    s.file_path = t.path;
    s.file_weight = c.file_weight != 0 ? c.file_weight : t.weight;
    s.file_reverse = c.file_weight != 0 ? c.file_reverse : t.reverse;
    s.file_init = t.init;
    s.file_init_overwrite = t.overwrite;
    s.alpha = false;  // a FILE_CHECK starts where its file says
    return out;
  }
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
  if (c.kind == CheckKind::Smtp) s.helo_name = c.helo_name;
  if (c.kind == CheckKind::Dns) {
    s.dns_name = c.dns_name;
    s.dns_type = c.dns_type;
  }
  if (c.kind == CheckKind::Ssl) {
    s.enable_sni = c.enable_sni;
    s.ssl_ca = ssl_.ca;
    s.ssl_cert = ssl_.certificate;
    s.ssl_key = ssl_.key;
    s.ssl_password = ssl_.password;
  }
  if (c.kind == CheckKind::Udp) {
    s.udp_payload = c.udp_payload;
    s.require_reply = c.require_reply;
    s.reply_data = c.reply_data;
    s.reply_mask = c.reply_mask;
    s.min_reply_len = c.min_reply_len;
    s.max_reply_len = c.max_reply_len;
  }
  return out;
}

}  // namespace fastvs::ka
