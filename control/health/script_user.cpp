#include "control/health/script_user.h"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cerrno>
#include <cstring>
#include <vector>

namespace fastvs {

namespace {

std::string quoted(const std::string& s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '\'';
  out += s;
  out += '\'';
  return out;
}

}  // namespace

std::optional<ScriptIds> resolve_script_user(const std::string& user, const std::string& group,
                                             std::string* err) {
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* pw_p = nullptr;
  int rc = getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &pw_p);
  if (rc != 0 || !pw_p) {
    *err = rc != 0 ? "cannot look up user " + quoted(user) + ": " + std::strerror(rc)
                   : "unknown user " + quoted(user);
    return std::nullopt;
  }
  ScriptIds ids{pw.pw_uid, pw.pw_gid};
  if (!group.empty()) {
    struct group gr{};
    struct group* gr_p = nullptr;
    rc = getgrnam_r(group.c_str(), &gr, buf.data(), buf.size(), &gr_p);
    if (rc != 0 || !gr_p) {
      *err = rc != 0 ? "cannot look up group " + quoted(group) + ": " + std::strerror(rc)
                     : "unknown group " + quoted(group);
      return std::nullopt;
    }
    ids.gid = gr.gr_gid;
  }
  return ids;
}

std::string script_insecurity(const std::string& program) {
  std::string path = program;
  if (path.find('/') == std::string::npos) {
    // execvp's search: the first executable regular file of that name in PATH.
    const char* env = std::getenv("PATH");
    const std::string dirs = env ? env : "/usr/local/bin:/usr/bin:/bin";
    path.clear();
    for (size_t start = 0; start <= dirs.size();) {
      size_t end = dirs.find(':', start);
      if (end == std::string::npos) end = dirs.size();
      const std::string dir = end > start ? dirs.substr(start, end - start) : ".";
      const std::string candidate = dir + "/" + program;
      struct stat st {};
      if (stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(candidate.c_str(), X_OK) == 0) {
        path = candidate;
        break;
      }
      start = end + 1;
    }
    if (path.empty()) return quoted(program) + " is not found in PATH";
  }
  // The file, then each directory above it up to '/'.
  for (std::string p = path; !p.empty();) {
    struct stat st {};
    if (stat(p.c_str(), &st) != 0) return quoted(p) + " cannot be checked: " + std::strerror(errno);
    const bool file = S_ISREG(st.st_mode);
    if (st.st_uid != 0) return quoted(p) + " is not owned by root";
    if ((file || !(st.st_mode & S_ISVTX)) && st.st_gid != 0 && (st.st_mode & S_IWGRP))
      return quoted(p) + " is writable by its group";
    if ((file || !(st.st_mode & S_ISVTX)) && (st.st_mode & S_IWOTH))
      return quoted(p) + " is writable by others";
    if (p == "/") break;
    const size_t slash = p.find_last_of('/');
    p = slash == 0 ? "/" : slash == std::string::npos ? "" : p.substr(0, slash);
  }
  return "";
}

}  // namespace fastvs
