// Who a health-check program runs as: keepalived's `user NAME [GROUP]` (MISC_CHECK) and
// `script_user NAME [GROUP]` (global_defs), resolved in the system's user database as
// keepalived's set_script_uid_gid does: the user's uid, and GROUP's gid or else the user's
// primary group.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/result.h"

namespace fastvs {

struct ScriptIds {
  uint32_t uid = 0;
  uint32_t gid = 0;
};

// The ids of USER [GROUP] ("" = the user's primary group), or "unknown user 'x'", "unknown
// group 'y'" when either does not exist.
Result<ScriptIds> resolve_script_user(const std::string& user, const std::string& group);

// keepalived's check_script_secure for a program that runs as root: fine if the program (found
// in PATH when it names no directory) and every directory above it are owned by root and
// writable by no one else (a sticky directory may be); else what is not, e.g. "'/opt/chk' is
// writable by its group".
Status check_script_secure(const std::string& program);

// A program's path as execvp would find it: itself when it names a directory, else the first
// executable regular file of that name in PATH; nullopt when there is none.
std::optional<std::string> find_program(const std::string& name);

// keepalived's default script user when none is configured (set_default_script_user): this
// one if it exists, else root with a warning.
inline constexpr const char* kDefaultScriptUser = "keepalived_script";

}  // namespace fastvs
