// A service's destination list for the scheduler tests, in the kernel's list order. Destinations
// are named A, B, C, ... in that order: ip_vs_ctl.c links a new destination at the head
// (list_add_rcu(&dest->n_list, &svc->destinations)), so A is the destination added last.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/sched/sched.h"

namespace fastvs {

class Dests {
 public:
  explicit Dests(SchedKind kind, std::vector<int32_t> weights) {
    for (size_t i = 0; i < weights.size(); ++i) {
      auto d = std::make_unique<Destination>();
      d->rip = 0x0a000101 + static_cast<uint32_t>(i);  // 10.0.1.1, 10.0.1.2, ...
      d->rport = 80;
      d->weight.store(weights[i]);
      d->last_weight = weights[i];  // __ip_vs_update_dest on add
      ptrs_.push_back(d.get());
      owned_.push_back(std::move(d));
    }
    svc.kind = kind;
    svc.dests = ptrs_.data();
    svc.ndests = static_cast<uint32_t>(ptrs_.size());
  }

  Destination& operator[](size_t i) { return *ptrs_[i]; }
  size_t size() const { return ptrs_.size(); }

  // ipvsadm -e -w: __ip_vs_update_dest keeps last_weight at the latest non-zero weight.
  void set_weight(size_t i, int32_t w) {
    ptrs_[i]->weight.store(w);
    if (w != 0) ptrs_[i]->last_weight = w;
  }
  void set_overload(size_t i, bool on) {
    ptrs_[i]->flags.store(on ? (kDestAvailable | kDestOverload) : kDestAvailable);
  }
  // One worker: slot 0 holds all the counts (Destination::nslots = 1).
  void set_conns(size_t i, int32_t active, int32_t inact) {
    ptrs_[i]->slot[0].activeconns.store(active);
    ptrs_[i]->slot[0].inactconns.store(inact);
  }
  // ipvsadm -d: the destination leaves the list (the object lives on, as in the trash).
  void remove(size_t i) {
    ptrs_.erase(ptrs_.begin() + static_cast<std::ptrdiff_t>(i));
    svc.dests = ptrs_.data();
    svc.ndests = static_cast<uint32_t>(ptrs_.size());
  }

  char name(const Destination* d) const {
    for (size_t i = 0; i < owned_.size(); ++i)
      if (owned_[i].get() == d) return static_cast<char>('A' + i);
    return '-';
  }
  // The index in the original list, -1 for none.
  int index(const Destination* d) const {
    for (size_t i = 0; i < owned_.size(); ++i)
      if (owned_[i].get() == d) return static_cast<int>(i);
    return -1;
  }

  // The next n picks through the worker's entry point.
  std::string picks(SchedState& st, int n, SchedFlow flow = {}) const {
    std::string s;
    for (int i = 0; i < n; ++i) s += name(sched_pick(svc, st, flow));
    return s;
  }

  SchedService svc;

 private:
  std::vector<std::unique_ptr<Destination>> owned_;
  std::vector<Destination*> ptrs_;
};

constexpr uint32_t ip4(uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
  return a << 24 | b << 16 | c << 8 | d;
}

}  // namespace fastvs
