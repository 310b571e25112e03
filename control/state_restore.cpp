#include "control/state_restore.h"

#include <time.h>

#include <unordered_map>

#include <rte_launch.h>

#include "dataplane/steer.h"

namespace fastvs {

namespace {

// Ticks left before `expires`, at most `timeout` (a connection's deadline is never further than
// its state's timeout; the file refuses a record that says otherwise).
uint32_t ticks_left(uint32_t expires, uint32_t now, uint32_t timeout) {
  const int32_t left = static_cast<int32_t>(expires - now);
  if (left <= 0) return 0;
  return std::min(static_cast<uint32_t>(left), timeout);
}

// A destination by <proto, VIP, vport, RIP, rport>, all network order: the configuration's
// destinations are found by address, since ids and pointers do not survive a restart.
struct DestAddr {
  uint64_t svc;
  uint64_t rs;
  bool operator==(const DestAddr&) const = default;
};
struct DestAddrHash {
  size_t operator()(const DestAddr& k) const {
    return std::hash<uint64_t>()(k.svc * 0x9e3779b97f4a7c15ull ^ k.rs);
  }
};
struct Bound {
  const SnapService* svc;
  Destination* dest;
};

class Resolver {
 public:
  explicit Resolver(const Snapshot& snap) : snap_(snap) {
    for (const SnapService& s : snap.services)
      for (Destination* d : s.dests)
        dests_.emplace(DestAddr{key_of(s), uint64_t{d->rport_be} << 32 | d->rip_be}, Bound{&s, d});
  }
  // The service, or null; then its destination, or null. Protocol 0: a firewall-mark
  // service's, `vip` its mark (network order).
  Bound find(uint8_t proto, uint32_t vip, uint16_t vport, uint32_t rip, uint16_t rport) const {
    const uint64_t key = Snapshot::svc_key(proto, vip, vport);
    const SnapService* svc =
        proto == 0 ? snap_.find_by_mark(rte_be_to_cpu_32(vip), false) : nullptr;
    if (proto != 0) {
      const uint32_t* i = snap_.service_by_key.find(key);
      svc = i ? &snap_.services[*i] : nullptr;
    }
    if (!svc || svc->v6) return {nullptr, nullptr};
    const auto it = dests_.find(DestAddr{key, uint64_t{rport} << 32 | rip});
    if (it == dests_.end() || !it->second.dest->available()) return {svc, nullptr};
    return it->second;
  }
  // A service's key here: a firewall-mark one's is <0, its mark, 0> (no address service has
  // protocol 0).
  static uint64_t key_of(const SnapService& s) {
    return s.fwmark ? Snapshot::svc_key(0, rte_cpu_to_be_32(s.fwmark), 0)
                    : Snapshot::svc_key(s.proto, s.vip, s.vport);
  }

 private:
  const Snapshot& snap_;
  std::unordered_map<DestAddr, Bound, DestAddrHash> dests_;
};

}  // namespace

std::string collect_state(const std::vector<Worker*>& workers, const PersistTable& persist,
                          const Snapshot& snap, uint32_t now, int64_t now_ms, uint64_t* nconns,
                          uint64_t* ntmpls) {
  size_t total = 0;
  for (const Worker* w : workers) total += w->conns.size();
  StateWriter out(now_ms, total, persist.size());
  uint64_t nc = 0, nt = 0;
  for (const Worker* w : workers) {
    w->conns.for_each(0, w->conns.capacity(), [&](const Conn& c) {
      const SnapService* svc = snap.find_by_id(c.svc_id);
      const uint32_t left = ticks_left(c.expires, now, c.timeout);
      // A connection of a service that is gone could not be bound again; one with no time left
      // is one the wheel had not reached yet.
      // IPv6 connections are not kept across a restart yet: the file's records hold IPv4
      // addresses (docs/state-file.md). A one-packet connection (-o) held for a datagram's
      // fragments is not one to keep.
      if (!svc || !c.dest || left == 0 || (c.flags & (kConnV6 | kConnOps))) return;
      StateConn s;
      s.proto = c.proto;
      s.method = static_cast<uint8_t>(c.method);
      s.state = c.proto == kIpProtoTcp ? static_cast<uint8_t>(c.state) : 0;
      s.flags = static_cast<uint8_t>((c.flags & kConnInactive ? kStateConnInactive : 0) |
                                     (c.flags & kConnNoOutput ? kStateConnNoOutput : 0) |
                                     (c.tmpl ? kStateConnTemplate : 0));
      s.svc_vip = svc->vip;
      s.svc_vport = svc->vport;
      if (svc->fwmark) {
        s.flags |= kStateConnFwmark;
        s.svc_vip = rte_cpu_to_be_32(svc->fwmark);
      }
      s.dest_rport = c.dest->rport_be;
      s.cip = c.cip;
      s.vip = c.vip;
      s.rip = c.rip;
      s.cport = c.cport;
      s.vport = c.vport;
      s.rport = c.rport;
      s.timeout = c.timeout;
      s.remaining = left;
      out.add(s);
      ++nc;
    });
  }
  persist.for_each([&](uint64_t key, const Destination* d, uint32_t expires) {
    const SnapService* svc = snap.find_by_id(static_cast<uint32_t>(key >> 32) - 1);
    const auto cip = static_cast<uint32_t>(key);
    // A template made under another netmask (-M changed since) is one no client finds any more.
    if (!svc || !svc->persistent || svc->v6 || (cip & svc->persist_mask) != cip) return;
    StateTmpl t;
    t.proto = svc->fwmark ? 0 : svc->proto;
    t.svc_vip = svc->fwmark ? rte_cpu_to_be_32(svc->fwmark) : svc->vip;
    t.svc_vport = svc->vport;
    t.cip = cip;
    t.mask = svc->persist_mask;
    t.rip = d->rip_be;
    t.dest_rport = d->rport_be;
    t.timeout = svc->persist_ticks;
    // Expired but not swept yet: saved with no time left, kept at load if it still controls a
    // connection (age_state).
    t.remaining = ticks_left(expires, now, t.timeout);
    out.add(t);
    ++nt;
  });
  if (nconns) *nconns = nc;
  if (ntmpls) *ntmpls = nt;
  return out.finish();
}

void restore_state(const StateFile& f, const std::vector<Worker*>& workers, PersistTable& persist,
                   const Snapshot& snap, uint32_t now, unsigned control_slot, StateCounts* counts,
                   const std::vector<unsigned>* lcores) {
  const Resolver resolve(snap);
  struct Held {
    uint32_t slot;
    Destination* dest;
    uint32_t expires;
  };
  std::unordered_map<uint64_t, Held> tmpls;  // PersistTable key -> the template put back
  for (const StateTmpl& t : f.tmpls) {
    const Bound b = resolve.find(t.proto, t.svc_vip, t.svc_vport, t.rip, t.dest_rport);
    if (!b.svc || !b.svc->persistent) {
      ++counts->no_service;
      continue;
    }
    if (!b.dest) {
      ++counts->no_dest;
      continue;
    }
    const uint64_t key = PersistTable::key_of(b.svc->id, t.cip & b.svc->persist_mask);
    const uint32_t expires = now + t.remaining;
    Destination* d = b.dest;
    bool created = false;
    const uint32_t slot = persist.insert(key, &d, expires, b.svc->persist_ticks, &created);
    if (slot == PersistTable::kNone) {
      ++counts->full;
      continue;
    }
    if (!created) continue;  // two saved under netmasks that now coincide: the first stays
    // tmpl_bind's accounting, in control's slot: control's sweep gives it back.
    DestWorkerSlot& s = d->slot[control_slot];
    slot_add(s.persistconns, 1);
    slot_add(s.refs, 1);
    tmpls.emplace(key, Held{slot, d, expires});
    ++counts->tmpls;
  }
  // Each worker's connections go into its table on its own lcore when there are lcores to run
  // them (fastvsd: the workers' lcores, idle until they are launched), all at once: a table has
  // one writer, its own worker's core, and the index's inserts are most of a load's time. What
  // they share they only read (the resolver, the templates put back) or change atomically
  // (a template's n_control); each counts in its own destination slot.
  const auto nworkers = static_cast<unsigned>(workers.size());
  std::vector<std::vector<uint32_t>> mine(nworkers);
  for (size_t i = 0; i < f.conns.size(); ++i)
    mine[owner_of(f.conns[i].cip, nworkers)].push_back(static_cast<uint32_t>(i));
  struct Job {
    const StateFile* f;
    const Resolver* resolve;
    const std::unordered_map<uint64_t, Held>* tmpls;
    PersistTable* persist;
    Worker* w;
    const std::vector<uint32_t>* conns;
    StateCounts counts;
  };
  std::vector<Job> jobs(nworkers);
  for (unsigned i = 0; i < nworkers; ++i)
    jobs[i] = Job{&f, &resolve, &tmpls, &persist, workers[i], &mine[i], {}};
  const auto run = [](void* arg) -> int {
    Job& j = *static_cast<Job*>(arg);
    for (const uint32_t i : *j.conns) {
      const StateConn& sc = j.f->conns[i];
      const Bound b = j.resolve->find(sc.flags & kStateConnFwmark ? 0 : sc.proto, sc.svc_vip,
                                      sc.svc_vport, sc.rip, sc.dest_rport);
      if (!b.svc) {
        ++j.counts.no_service;
        continue;
      }
      if (!b.dest) {
        ++j.counts.no_dest;
        continue;
      }
      Conn saved{};
      saved.cip = sc.cip;
      saved.vip = sc.vip;
      saved.rip = sc.rip;
      saved.cport = sc.cport;
      saved.vport = sc.vport;
      saved.rport = sc.rport;
      saved.proto = sc.proto;
      saved.state = static_cast<TcpState>(sc.state);
      saved.flags = static_cast<uint8_t>((sc.flags & kStateConnInactive ? kConnInactive : 0) |
                                         (sc.flags & kStateConnNoOutput ? kConnNoOutput : 0));
      saved.method = static_cast<ForwardMethod>(sc.method);
      saved.svc_id = b.svc->id;
      saved.dest = b.dest;
      saved.timeout = sc.timeout;
      // Its template, if it had one and it was put back: it controls the connection again
      // (n_control), as when ip_vs_sched_persist made it.
      if ((sc.flags & kStateConnTemplate) && b.svc->persistent) {
        const uint64_t key = PersistTable::key_of(b.svc->id, sc.cip & b.svc->persist_mask);
        const auto it = j.tmpls->find(key);
        if (it != j.tmpls->end() &&
            j.persist->hold(it->second.slot, key, it->second.dest, it->second.expires))
          saved.tmpl = it->second.slot + 1;
      }
      bool collision = false;
      if (!conn_restore(*j.w, saved, sc.remaining, &collision)) {
        if (saved.tmpl) j.persist->release(saved.tmpl - 1);
        ++(collision ? j.counts.collisions : j.counts.full);
        continue;
      }
      ++j.counts.conns;
    }
    return 0;
  };
  if (lcores && lcores->size() == nworkers) {
    for (unsigned i = 0; i < nworkers; ++i) {
      // An lcore that cannot take it (busy: never, before the workers are launched) leaves the
      // job to this thread.
      if (rte_eal_remote_launch(run, &jobs[i], (*lcores)[i]) != 0) run(&jobs[i]);
    }
    // rte_eal_wait_lcore spins: this thread may share a CPU with a worker's lcore (the tests'
    // --lcores do), so it naps until they are done and only then collects them.
    for (unsigned i = 0; i < nworkers; ++i) {
      while (rte_eal_get_lcore_state((*lcores)[i]) == RUNNING) {
        timespec ts{0, 1000 * 1000};
        nanosleep(&ts, nullptr);
      }
      rte_eal_wait_lcore((*lcores)[i]);
    }
  } else {
    for (Job& j : jobs) run(&j);
  }
  for (const Job& j : jobs) {
    counts->conns += j.counts.conns;
    counts->no_service += j.counts.no_service;
    counts->no_dest += j.counts.no_dest;
    counts->full += j.counts.full;
    counts->collisions += j.counts.collisions;
  }
}

}  // namespace fastvs
