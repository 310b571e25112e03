#include "control/health/script_user.h"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cerrno>
#include <cstring>
#include <vector>

#include "common/text.h"

namespace fastvs {

Result<ScriptIds> resolve_script_user(const std::string& user, const std::string& group) {
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* pw_p = nullptr;
  int rc = getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &pw_p);
  if (rc != 0 || !pw_p) {
    return Error{rc != 0 ? "cannot look up user " + quoted(user) + ": " + std::strerror(rc)
                         : "unknown user " + quoted(user)};
  }
  ScriptIds ids{pw.pw_uid, pw.pw_gid};
  if (!group.empty()) {
    struct group gr {};
    struct group* gr_p = nullptr;
    rc = getgrnam_r(group.c_str(), &gr, buf.data(), buf.size(), &gr_p);
    if (rc != 0 || !gr_p) {
      return Error{rc != 0 ? "cannot look up group " + quoted(group) + ": " + std::strerror(rc)
                           : "unknown group " + quoted(group)};
    }
    ids.gid = gr.gr_gid;
  }
  return ids;
}

std::optional<std::string> find_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* env = std::getenv("PATH");
  const std::string dirs = env ? env : "/usr/local/bin:/usr/bin:/bin";
  for (size_t start = 0; start <= dirs.size();) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    const std::string candidate =
        (end > start ? dirs.substr(start, end - start) : std::string(".")) + "/" + name;
    struct stat st {};
    if (stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        access(candidate.c_str(), X_OK) == 0)
      return candidate;
    start = end + 1;
  }
  return std::nullopt;
}

Status check_script_secure(const std::string& program) {
  const std::optional<std::string> found = find_program(program);
  if (!found) return Error{quoted(program) + " is not found in PATH"};
  const std::string& path = *found;
  // The file, then each directory above it up to '/'.
  for (std::string p = path; !p.empty();) {
    struct stat st {};
    if (stat(p.c_str(), &st) != 0)
      return Error{quoted(p) + " cannot be checked: " + std::strerror(errno)};
    const bool file = S_ISREG(st.st_mode);
    if (st.st_uid != 0) return Error{quoted(p) + " is not owned by root"};
    if ((file || !(st.st_mode & S_ISVTX)) && st.st_gid != 0 && (st.st_mode & S_IWGRP))
      return Error{quoted(p) + " is writable by its group"};
    if ((file || !(st.st_mode & S_ISVTX)) && (st.st_mode & S_IWOTH))
      return Error{quoted(p) + " is writable by others"};
    if (p == "/") break;
    const size_t slash = p.find_last_of('/');
    p = slash == 0 ? "/" : slash == std::string::npos ? "" : p.substr(0, slash);
  }
  return {};
}

}  // namespace fastvs
