// The EAL for in-process tests: one lcore, no hugepages, no PCI, no shared config, so it runs
// as any user on any machine. If it cannot start, every test fails and says why.
#pragma once

struct rte_mempool;

namespace fastvs::testing {
rte_mempool* test_pool();
}
