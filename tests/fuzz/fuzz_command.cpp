// libFuzzer: the fastvsadm grammar and the config loader on any text. A rejected line names its
// problem and changes nothing; an accepted file loads whole, to the table its lines give one by
// one (the loader's indexed path, ConfigApplier, against apply_command); a file with a bad line
// is refused at that line.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <tuple>
#include <vector>

#include "common/grammar/command.h"
#include "control/config/apply.h"
#include "control/config/loader.h"
#include "control/report/ipvsadm_print.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  fastvs::Config cfg;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const auto words = fastvs::split_words(std::string_view(text).substr(pos, end - pos));
    pos = end + 1;
    const fastvs::Result<fastvs::Command> p = fastvs::parse_command(words);
    if (!p) {
      if (p.error().empty()) std::abort();
      continue;
    }
    const fastvs::Config before = cfg;
    const fastvs::Status st = fastvs::apply_command(cfg, *p, 2);
    if (!st && (st.error().empty() || !(cfg == before)))
      std::abort();  // an error changed something
  }
  // What -S prints, -C then -R reads back to the same table. -C leaves the sync daemons running
  // (as ipvsadm's does), and -R refuses to start a role that runs: they are stopped too.
  const std::string saved = fastvs::format_save(cfg, true);
  fastvs::Config cleared = cfg;
  cleared.services.clear();
  cleared.checks.clear();
  cleared.pools.clear();
  cleared.sync_master.reset();
  cleared.sync_backup.reset();
  const fastvs::Result<fastvs::Config> again =
      fastvs::apply_config_text(cleared, saved, "saved", 2);
  // Like ipvsadm's, -S lists services and destinations sorted (so a restore may change the
  // kernel's list order), keeps no thresholds, and a restored destination's last weight is the
  // one it is restored with: the same table, as -L shows it.
  auto by_key = [](std::vector<fastvs::ServiceConfig> v) {
    for (fastvs::ServiceConfig& s : v) {
      for (fastvs::DestConfig& d : s.dests) {
        d.u_threshold = d.l_threshold = 0;
        d.last_weight = 0;
        d.inhibit = false;
      }
      std::sort(s.dests.begin(), s.dests.end(), [](const auto& a, const auto& b) {
        return std::tuple(a.rip, a.rport) < std::tuple(b.rip, b.rport);
      });
    }
    std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
    return v;
  };
  if (!again || !(by_key(again->services) == by_key(cfg.services))) std::abort();
  if (again->sync_master != cfg.sync_master || again->sync_backup != cfg.sync_backup) std::abort();
  const fastvs::Result<fastvs::Config> lr = fastvs::load_config_text(text, "fuzz", 2);
  if (!lr && lr.error().empty()) std::abort();
  // The same file line by line, as a config file is read: blank lines skipped, a pasted
  // "ipvsadm"/"fastvsadm" dropped, the first bad line ends it.
  fastvs::Config seq;
  size_t line_no = 0, bad_line = 0;
  pos = 0;
  while (pos <= text.size() && !bad_line) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    auto words = fastvs::split_words(std::string_view(text).substr(pos, end - pos));
    pos = end + 1;
    ++line_no;
    if (words.empty()) continue;
    if (words[0] == "fastvsadm" || words[0] == "ipvsadm") words.erase(words.begin());
    const fastvs::Result<fastvs::Command> p = fastvs::parse_command(words);
    if (!p || !fastvs::apply_command(seq, *p, 2)) bad_line = line_no;
  }
  if (lr.ok() != !bad_line) std::abort();
  if (lr && !(*lr == seq)) std::abort();
  if (!lr && lr.error().rfind("fuzz:" + std::to_string(bad_line) + ": ", 0) != 0) std::abort();
  return 0;
}
