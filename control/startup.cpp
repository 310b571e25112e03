#include "control/startup.h"

#include <dirent.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <utility>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>
#include <rte_memory.h>

#include <fmt/core.h>

namespace fastvs {

namespace {

// The value of an EAL option given as "-m 512", "--huge-dir DIR" or "--huge-dir=DIR".
std::string option_value(const std::vector<std::string>& args, const std::string& opt) {
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == opt && i + 1 < args.size()) return args[i + 1];
    if (args[i].rfind(opt + "=", 0) == 0) return args[i].substr(opt.size() + 1);
  }
  return "";
}

bool has_option(const std::vector<std::string>& args, const std::string& opt) {
  return std::find(args.begin(), args.end(), opt) != args.end();
}

uint64_t read_number(const std::string& path, bool* found = nullptr) {
  std::ifstream f(path);
  uint64_t v = 0;
  const bool ok = static_cast<bool>(f >> v);
  if (found) *found = ok;
  return ok ? v : 0;
}

// The kernel's hugepage pools (/sys/kernel/mm/hugepages/hugepages-<size>kB).
struct HugePool {
  uint64_t page_bytes = 0;
  uint64_t total = 0;
  uint64_t free = 0;  // free and not promised to a mapping (free_hugepages - resv_hugepages)
};

std::vector<HugePool> huge_pools() {
  std::vector<HugePool> pools;
  const std::string base = "/sys/kernel/mm/hugepages";
  DIR* d = opendir(base.c_str());
  if (!d) return pools;
  while (const dirent* e = readdir(d)) {
    unsigned long kb = 0;
    if (std::sscanf(e->d_name, "hugepages-%lukB", &kb) != 1) continue;
    const std::string dir = base + "/" + e->d_name;
    HugePool p;
    p.page_bytes = uint64_t{kb} << 10;
    p.total = read_number(dir + "/nr_hugepages");
    const uint64_t free = read_number(dir + "/free_hugepages");
    const uint64_t resv = read_number(dir + "/resv_hugepages");
    p.free = free > resv ? free - resv : 0;
    pools.push_back(p);
  }
  closedir(d);
  return pools;
}

std::vector<std::string> g_eal_args;

// Mount points of hugetlbfs (/proc/mounts escapes blanks as \040).
std::vector<std::string> hugetlbfs_mounts() {
  std::vector<std::string> out;
  std::ifstream f("/proc/mounts");
  std::string dev, dir, type, rest;
  while (f >> dev >> dir >> type && std::getline(f, rest)) {
    if (type != "hugetlbfs") continue;
    std::string path;
    for (size_t i = 0; i < dir.size(); ++i) {
      if (dir[i] == '\\' && i + 3 < dir.size()) {
        path += static_cast<char>(std::stoi(dir.substr(i + 1, 3), nullptr, 8));
        i += 3;
      } else {
        path += dir[i];
      }
    }
    out.push_back(path);
  }
  return out;
}

bool is_under(const std::string& path, const std::string& mount) {
  if (path == mount || mount == "/") return true;
  return path.rfind(mount + "/", 0) == 0;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

constexpr const char* kReserve =
    "reserve some (scripts/hugepages N, or echo N > "
    "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages) or run without them (--no-huge -m "
    "MB)";

// Why the EAL found no hugepages it could use (eal_hugepage_info_init failed).
std::string hugepage_problem(const std::vector<std::string>& args) {
  const std::vector<HugePool> pools = huge_pools();
  const std::vector<std::string> mounts = hugetlbfs_mounts();
  uint64_t total = 0, free = 0;
  for (const HugePool& p : pools) {
    total += p.total;
    free += p.free;
  }
  std::string huge_dir = option_value(args, "--huge-dir");
  if (!huge_dir.empty()) {
    // The EAL compares mount points as given, without a trailing slash.
    while (huge_dir.size() > 1 && huge_dir.back() == '/') huge_dir.pop_back();
    if (std::none_of(mounts.begin(), mounts.end(),
                     [&](const std::string& m) { return is_under(huge_dir, m); })) {
      return fmt::format(
          "no hugepages: --huge-dir {} is not on a hugetlbfs mount ({}): mount one there "
          "(mount -t hugetlbfs nodev {}) or leave --huge-dir out",
          huge_dir, mounts.empty() ? "none is mounted" : "mounted: " + join(mounts), huge_dir);
    }
  }
  if (mounts.empty()) {
    return fmt::format(
        "no hugepages: no hugetlbfs is mounted ({} hugepages reserved): mount -t hugetlbfs nodev "
        "/dev/hugepages (scripts/hugepages N reserves and mounts), or run without them "
        "(--no-huge -m MB)",
        total);
  }
  if (total == 0) return fmt::format("no hugepages: none are reserved: {}", kReserve);
  if (free == 0) {
    return fmt::format(
        "no free hugepages: all {} reserved are in use (by other DPDK processes, or files a "
        "killed one left in {}): free some, reserve more (scripts/hugepages N), or run without "
        "them (--no-huge -m MB)",
        total, join(mounts));
  }
  return fmt::format(
      "EAL init failed: cannot get hugepage information ({} of {} hugepages free, hugetlbfs on "
      "{}): see the EAL's messages above",
      free, total, join(mounts));
}

// The hugetlbfs mount the EAL uses for `page`-byte pages: its size= limit and what that still
// allows (UINT64_MAX: no limit). The EAL puts its files in --huge-dir, or the first mount of that
// page size (statfs's f_bsize); --in-memory uses no file, so no mount's limit.
struct MountRoom {
  std::string mount;
  uint64_t size = UINT64_MAX;
  uint64_t room = UINT64_MAX;
};
MountRoom hugetlbfs_mount_room(const std::vector<std::string>& args, uint64_t page) {
  if (has_option(args, "--in-memory")) return {};
  const std::vector<std::string> mounts = hugetlbfs_mounts();
  const std::string huge_dir = option_value(args, "--huge-dir");
  for (const std::string& m : mounts) {
    if (!huge_dir.empty() && !is_under(huge_dir, m)) continue;
    struct statfs st {};
    if (statfs(m.c_str(), &st) != 0 || static_cast<uint64_t>(st.f_bsize) != page) continue;
    if (st.f_blocks == 0) return {m};  // no size limit
    return {m, static_cast<uint64_t>(st.f_blocks) * page,
            static_cast<uint64_t>(st.f_bavail) * page};
  }
  return {};
}

}  // namespace

std::string format_bytes(uint64_t n) {
  if (n < 1024) return fmt::format("{} B", n);
  const char* units[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(n) / 1024;
  unsigned u = 0;
  while (v >= 1024 && u + 1 < std::size(units)) {
    v /= 1024;
    ++u;
  }
  return fmt::format("{:.1f} {}", v, units[u]);
}

std::string eal_failure_reason(int err, const std::vector<std::string>& args) {
  const bool no_huge = has_option(args, "--no-huge");
  if (err == EACCES && !no_huge) return hugepage_problem(args);
  if (err == ENOMEM) {
    std::string asked = option_value(args, "-m");
    if (!asked.empty()) asked = fmt::format(" (-m {} MB)", asked);
    if (const std::string s = option_value(args, "--socket-mem"); !s.empty())
      asked = fmt::format(" (--socket-mem {} MB)", s);
    if (no_huge) {
      return fmt::format("EAL init failed: out of memory for the EAL{} without hugepages", asked);
    }
    uint64_t free = 0;
    MountRoom limited;  // a mount whose size= is below the free pages: the EAL's limit
    for (const HugePool& p : huge_pools()) {
      free += p.free * p.page_bytes;
      if (MountRoom m = hugetlbfs_mount_room(args, p.page_bytes); m.size < p.free * p.page_bytes)
        limited = m;
    }
    if (!limited.mount.empty()) {
      return fmt::format(
          "not enough hugepage memory for the EAL{}: the hugetlbfs mount {} holds at most {} "
          "(its size= limit; {} of hugepages are free): mount it larger (mount -o "
          "remount,size=N {}), use another --huge-dir, or ask for less",
          asked, limited.mount, format_bytes(limited.size), format_bytes(free), limited.mount);
    }
    return fmt::format(
        "not enough hugepage memory for the EAL{}: {} of hugepages free: reserve more "
        "(scripts/hugepages N) or ask for less",
        asked, format_bytes(free));
  }
  // The EAL does not set rte_errno on every failure: "Success" would say nothing.
  if (err == 0) return "EAL init failed (see the EAL's messages above)";
  return fmt::format("EAL init failed: {} (see the EAL's messages above)", rte_strerror(err));
}

namespace {

struct HeapRoom {
  int socket;
  std::map<uint64_t, uint64_t> by_page_size;  // bytes the memseg lists can still map
};

int add_room(const rte_memseg_list* msl, void* arg) {
  auto* r = static_cast<HeapRoom*>(arg);
  if (msl->external || msl->socket_id != r->socket) return 0;
  const uint64_t unused = msl->memseg_arr.len - msl->memseg_arr.count;
  r->by_page_size[msl->page_sz] += unused * msl->page_sz;
  return 0;
}

}  // namespace

void note_eal_args(const std::vector<std::string>& eal_args) {
  g_eal_args = eal_args;
}

namespace {}  // namespace

uint64_t dpdk_memory_available(int socket) {
  rte_malloc_socket_stats st{};
  if (rte_malloc_get_socket_stats(socket, &st) != 0) return 0;
  uint64_t avail = st.heap_freesz_bytes;
  // Without hugepages the EAL's memory is what -m gave it, already in the heap.
  if (!rte_eal_has_hugepages()) return avail;
  HeapRoom room{socket, {}};
  rte_memseg_list_walk(add_room, &room);
  for (const auto& [page, bytes] : room.by_page_size) {
    const uint64_t kb = page >> 10;
    // The node's own pool where the kernel reports one, else the machine's.
    bool found = false;
    uint64_t pages = read_number(
        fmt::format("/sys/devices/system/node/node{}/hugepages/hugepages-{}kB/free_hugepages",
                    socket, kb),
        &found);
    if (!found) {
      for (const HugePool& p : huge_pools())
        if (p.page_bytes == page) pages = p.free;
    }
    avail += std::min({bytes, pages * page, hugetlbfs_mount_room(g_eal_args, page).room});
  }
  return avail;
}

std::vector<std::string> missing_devices(const std::vector<std::string>& args) {
  std::set<std::string> have;
  uint16_t pid;
  RTE_ETH_FOREACH_DEV(pid) {
    char name[RTE_ETH_NAME_MAX_LEN];
    if (rte_eth_dev_get_name_by_port(pid, name) == 0) have.insert(name);
    rte_eth_dev_info info{};
    if (rte_eth_dev_info_get(pid, &info) == 0 && info.device)
      have.insert(rte_dev_name(info.device));
  }
  std::vector<std::string> missing;
  auto check = [&](const std::string& devarg, bool pci) {
    std::string name = devarg.substr(0, devarg.find(','));
    if (pci) {
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      // "03:00.0" is domain 0000's (the EAL's short form).
      if (std::count(name.begin(), name.end(), ':') == 1) name = "0000:" + name;
    }
    if (!have.count(name)) missing.push_back(devarg);
  };
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    const bool vdev = a == "--vdev", allow = a == "-a" || a == "--allow";
    if ((vdev || allow) && i + 1 < args.size()) {
      check(args[++i], allow);
    } else if (a.rfind("--vdev=", 0) == 0) {
      check(a.substr(7), false);
    } else if (a.rfind("--allow=", 0) == 0) {
      check(a.substr(8), true);
    } else if (a.size() > 2 && a.rfind("-a", 0) == 0 && a[2] != '-') {
      check(a.substr(2), true);
    }
  }
  return missing;
}

}  // namespace fastvs
