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

// A whole file as text, or "PATH: cannot open: reason" / "PATH: read error".
Result<std::string> read_text_file(const std::string& path);

}  // namespace fastvs
