// Config files (fastvsd --config) and fastvsadm -R's input: one fastvsadm command per line,
// blank lines and '#' comments ignored, "ipvsadm " or "fastvsadm " before a command allowed
// (pasted scripts). Either every line applies, or nothing does and the error says
// "NAME:LINE: reason".
#pragma once

#include <string>
#include <string_view>

#include "common/model.h"
#include "common/result.h"

namespace fastvs {

Result<Config> load_config_text(std::string_view text, std::string_view name, unsigned num_ports);
// The same on top of an existing configuration (fastvsadm -R).
Result<Config> apply_config_text(Config base, std::string_view text, std::string_view name,
                                 unsigned num_ports);
Result<Config> load_config_file(const std::string& path, unsigned num_ports);

// The most a configuration file (--config, keepalived.conf, a reload) may hold: a generous
// bound (about 1.3 million lines of -S's), so that /dev/zero or a runaway file is refused
// rather than eating the director's memory.
inline constexpr size_t kMaxConfigBytes = 64u << 20;

// A whole regular file as text, or why not: "PATH: cannot open: reason", "PATH: a FIFO, not a
// regular file" (FIFOs, devices, directories and sockets are refused without reading them),
// "PATH: larger than N bytes ...", "PATH: read error: reason".
Result<std::string> read_text_file(const std::string& path, size_t limit = kMaxConfigBytes);

}  // namespace fastvs
