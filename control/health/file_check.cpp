// FILE_CHECK's file: keepalived's track_file.c (process_track_file, init_track_files,
// process_inotify, track_file_end_handler), without its VRRP half.
#include "control/health/file_check.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include <fmt/core.h>

#include "control/epoll.h"

namespace fastvs {

std::optional<int64_t> read_track_file(const std::string& path) {
  char buf[128];
  const int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return 0;
  const ssize_t len = ::read(fd, buf, sizeof buf - 1);
  close(fd);
  if (len <= 0) return 0;
  buf[len] = '\0';
  errno = 0;
  const long v = strtol(buf, nullptr, 0);
  if (errno != 0 || v < INT_MIN || v > INT_MAX) return std::nullopt;
  return v;
}

std::optional<std::string> init_track_file(const CheckSpec& spec, bool reload) {
  if (!spec.file_init) return std::nullopt;
  struct stat st;
  if (stat(spec.file_path.c_str(), &st) == 0) {
    // "Don't overwrite a file on reload"; without overwrite an existing file is kept.
    if (!spec.file_init_overwrite || reload) return std::nullopt;
    if (!S_ISREG(st.st_mode))
      return fmt::format("cannot initialise {}: it is not a regular file", spec.file_path);
  }
  const int fd = open(spec.file_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  const std::string text = fmt::format("{}\n", *spec.file_init);
  bool ok = fd >= 0 && write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  const int err = errno;
  if (fd >= 0) ok = close(fd) == 0 && ok;
  if (!ok) return fmt::format("cannot initialise {}: {}", spec.file_path, strerror(err));
  return std::nullopt;
}

FileWatch::~FileWatch() {
  if (fd_ >= 0) close(fd_);
}

std::vector<FileWatch::Failure> FileWatch::watch(const std::vector<std::string>& paths,
                                                 int epoll_fd) {
  std::vector<Failure> errors;
  if (fd_ >= 0) close(fd_);  // leaves the epoll set with it
  fd_ = -1;
  dirs_.clear();
  if (paths.empty()) return errors;
  fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd_ < 0 || epoll_set(epoll_fd, EPOLL_CTL_ADD, fd_, EPOLLIN) != 0) {
    const std::string text = fmt::format("FILE_CHECK: inotify: {}", strerror(errno));
    for (size_t i = 0; i < paths.size(); ++i) errors.push_back({i, text});
    return errors;
  }
  for (size_t i = 0; i < paths.size(); ++i) {
    const std::string& path = paths[i];
    const std::string dir = path.substr(0, path.rfind('/') + 1);
    // The same directory twice is the same watch descriptor.
    const int wd = inotify_add_watch(fd_, dir.c_str(), IN_CLOSE_WRITE | IN_DELETE | IN_MOVE);
    if (wd < 0) {
      errors.push_back(
          {i, fmt::format("FILE_CHECK {}: cannot watch {}: {}", path, dir, strerror(errno))});
      continue;
    }
    dirs_[wd] = dir;
  }
  return errors;
}

std::vector<FileWatch::Event> FileWatch::read() {
  std::vector<Event> out;
  if (fd_ < 0) return out;
  alignas(inotify_event) char buf[sizeof(inotify_event) + NAME_MAX + 1];
  for (;;) {
    const ssize_t len = ::read(fd_, buf, sizeof buf);
    if (len <= 0) return out;  // EAGAIN: drained
    for (ssize_t off = 0; off + static_cast<ssize_t>(sizeof(inotify_event)) <= len;) {
      const auto* ev = reinterpret_cast<const inotify_event*>(buf + off);
      off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
      if (ev->mask & IN_Q_OVERFLOW) {
        out.push_back(Event{"", false, true});
        continue;
      }
      const auto dir = dirs_.find(ev->wd);
      if (dir == dirs_.end() || ev->len == 0 || (ev->mask & IN_ISDIR)) continue;
      // process_inotify: "The file has disappeared. Treat as though the value is 0".
      out.push_back(
          Event{dir->second + ev->name, (ev->mask & (IN_DELETE | IN_MOVED_FROM)) != 0, false});
    }
  }
}

}  // namespace fastvs
