// The state file's EAL side (the format is control/state_file.h): at a clean stop, after the
// workers have stopped, every worker's connections and the persistence templates are written
// out; at the next start, before the workers are launched, what has not expired goes back onto
// the workers that own it (owner_of: the number of workers may have changed) and into the
// template table, bound to the destinations of the configuration fastvsd started with.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "control/state_file.h"
#include "dataplane/persist.h"
#include "dataplane/snapshot.h"
#include "dataplane/worker.h"

namespace fastvs {

// The file's bytes for what the stopped workers hold: connections and templates with time left
// at tick `now` (the workers' clock), bound to services of `snap` (the one they ran).
std::string collect_state(const std::vector<Worker*>& workers, const PersistTable& persist,
                          const Snapshot& snap, uint32_t now, int64_t now_ms,
                          uint64_t* nconns = nullptr, uint64_t* ntmpls = nullptr);

// Puts `f`'s entries (aged already: age_state) back: templates into `persist` (their
// PersistConn and reference counted in control's slot, `control_slot`, which gives them back
// when they expire), connections into their owner's table as conn_restore does. Each worker's
// own clock (Worker::now) times its connections; `now` times the templates. With `lcores` (the
// workers' lcores, in worker order, not yet launched), each worker fills its own table on its
// own lcore, all at once; without, this thread fills them one after the other. Counts what was
// kept and what was dropped, and why, into *counts.
void restore_state(const StateFile& f, const std::vector<Worker*>& workers, PersistTable& persist,
                   const Snapshot& snap, uint32_t now, unsigned control_slot, StateCounts* counts,
                   const std::vector<unsigned>* lcores = nullptr);

}  // namespace fastvs
