#include "tests/eal/eal_env.h"

#include <gtest/gtest.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf.h>

namespace fastvs::testing {

namespace {
rte_mempool* g_pool = nullptr;

class EalEnv : public ::testing::Environment {
 public:
  void SetUp() override {
    const char* args[] = {"test",        "-l",           "0",
                          "--no-huge",   "-m",           "256",
                          "--no-pci",    "--no-shconf",  "--no-telemetry",
                          "--log-level", "lib.eal:error"};
    int argc = sizeof(args) / sizeof(args[0]);
    if (rte_eal_init(argc, const_cast<char**>(args)) < 0)
      FAIL() << "rte_eal_init failed: " << rte_strerror(rte_errno);
    g_pool = rte_pktmbuf_pool_create("test_pool", 8191, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
    if (!g_pool) FAIL() << "mbuf pool: " << rte_strerror(rte_errno);
  }
  void TearDown() override { rte_eal_cleanup(); }
};

const auto* g_env = ::testing::AddGlobalTestEnvironment(new EalEnv);
}  // namespace

rte_mempool* test_pool() {
  return g_pool;
}

}  // namespace fastvs::testing
