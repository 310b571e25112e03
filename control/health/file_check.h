// FILE_CHECK (keepalived's check_file.c and track_file.c): a checker that never runs. Its file
// holds a number, read again whenever the file is written and closed, moved in, moved away or
// deleted (0), as keepalived's inotify watch on the file's directory sees it; what the number
// does to the real server is the state machine's (Checker::file_value in state.h). The health
// thread (runner.cpp) owns one FileWatch, on the probes' epoll set.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/check_spec.h"

namespace fastvs {

// What the file holds, as process_track_file reads it: its first 127 bytes by strtol(..., 0);
// 0 when it is missing, unreadable or empty; nullopt for a number outside int's range, which
// keepalived logs and ignores.
std::optional<int64_t> read_track_file(const std::string& path);

// track_file's init_file (track_file_end_handler): the value written when the file does not
// exist; with overwrite also when it does, at start but not on a reload. Why it could not be
// written, if it could not.
std::optional<std::string> init_track_file(const CheckSpec& spec, bool reload);

class FileWatch {
 public:
  FileWatch() = default;
  ~FileWatch();
  FileWatch(const FileWatch&) = delete;
  FileWatch& operator=(const FileWatch&) = delete;

  // Watches the directories of `paths` (absolute), replacing what was watched; the inotify
  // instance joins `epoll_fd` (level-triggered: read() drains it). One line per failure, with
  // the index of the path it is about (every path's, when inotify itself failed).
  struct Failure {
    size_t path = 0;
    std::string text;
  };
  std::vector<Failure> watch(const std::vector<std::string>& paths, int epoll_fd);

  struct Event {
    std::string path;       // the file in a watched directory
    bool gone = false;      // deleted or moved away: it counts as 0
    bool overflow = false;  // events were lost: read every file again (path empty)
  };
  // What happened since the last call.
  std::vector<Event> read();

 private:
  int fd_ = -1;
  std::map<int, std::string> dirs_;  // watch descriptor -> directory, with its '/'
};

}  // namespace fastvs
