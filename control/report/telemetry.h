// fastvs's commands on DPDK's telemetry socket (/var/run/dpdk/<file-prefix>/dpdk_telemetry.v2,
// read with dpdk-telemetry.py), next to the EAL's /ethdev/stats:
//
//   /fastvs/services                 every service: columns service, scheduler, destinations,
//                                    conns, inpkts, outpkts, inbytes, outbytes
//   /fastvs/services,TCP 10.0.0.1:80 one service, as a flat dictionary
//   /fastvs/destinations,SERVICE     the service's destinations: columns rip, rport, forward,
//                                    weight, activeconns, inactconns, persistconns, conns,
//                                    inpkts, outpkts, inbytes, outbytes
//   /fastvs/workers                  every worker: columns worker, lcore, rx, tx, handoff_out,
//                                    handoff_in, conns, conn_capacity, conns_created,
//                                    conns_expired, drops (all reasons summed)
//   /fastvs/workers,N                worker N, with drop_<reason> for every reason
//
// Columns, not one dictionary per row: DPDK 22.11's telemetry nests only arrays of numbers or
// strings. Counters are the raw sums (as in /metrics), not since -Z. A reply holds at most 16 KiB
// (the library's MAX_OUTPUT_LEN), so the column lists stop at kTelemetryRows rows; "total" says
// how many there are. The Prometheus endpoint has them all.
//
// The callbacks run on DPDK's telemetry threads, not on the control thread: they never touch the
// Director. Control publishes an immutable MetricsSnapshot (at start, after each change and every
// --stats-interval-ms) and the callbacks read the latest one under a mutex.
#pragma once

#include <memory>

#include "control/report/metrics.h"

namespace fastvs {

constexpr unsigned kTelemetryRows = 64;

// Registers the /fastvs/ commands (once per process; calls after the first do nothing).
void telemetry_register();
// What the commands answer from from now on; nullptr: they answer null (no director running).
void telemetry_publish(std::shared_ptr<const MetricsSnapshot> m);

}  // namespace fastvs
