// What fastvsd checks before it forwards anything, so that a machine that cannot run it gets one
// line naming the problem and what to do about it, not a crash or a half-started director:
// hugepages (why rte_eal_init failed), the DPDK memory the connection tables need, and the
// devices the EAL was asked for that did not become ports.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fastvs {

// After rte_eal_init failed with `err` (rte_errno): one line, without "fastvsd: ", saying why
// and what to do. `eal_args` are the arguments given to the EAL (hugepage options are read from
// them, the machine's hugepage pools and hugetlbfs mounts from sysfs and /proc/mounts).
std::string eal_failure_reason(int err, const std::vector<std::string>& eal_args);

// The EAL's arguments, for what follows: --in-memory (hugepages without a hugetlbfs file, so
// without a mount's size limit) and --huge-dir.
void note_eal_args(const std::vector<std::string>& eal_args);

// Bytes the DPDK heap of NUMA `socket` can still hand out: what is free in it, plus, with
// hugepages (dynamic memory), the free hugepages of the page sizes it maps that its address
// space and the hugetlbfs mount's size limit still have room for. An upper bound: --legacy-mem
// or --socket-limit may give less.
uint64_t dpdk_memory_available(int socket);

// The devices named by the EAL's --vdev, -a and --allow arguments that are not among the
// ethdevs (a driver refused its arguments, a PCI address that is not there or not bound); the
// EAL carries on without them, and fastvsd would number its ports differently.
std::vector<std::string> missing_devices(const std::vector<std::string>& eal_args);

// 1536 -> "1.5 KiB"; 3 << 30 -> "3.0 GiB".
std::string format_bytes(uint64_t n);

}  // namespace fastvs
