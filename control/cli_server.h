// The Unix socket fastvsadm talks to. One request, one reply, on the control thread's epoll
// loop; it never blocks: a client that connects and sends nothing is closed after a timeout, a
// request larger than the bound gets a one-line error.
//
// The wire format is common/cli_proto.h (fastvsadm includes it too).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/cli_proto.h"
#include "common/result.h"

namespace fastvs {

class CliServer {
 public:
  static constexpr std::chrono::seconds kClientTimeout{10};
  static constexpr size_t kMaxClients = 128;

  ~CliServer();

  // Whether `path` is free for us: an error when another fastvsd answers on it or it is not a
  // socket. A socket nobody listens on (left by a crash) is free. listen() checks
  // again; fastvsd checks first, before it touches any port.
  static Status check_path(const std::string& path);
  // Creates the socket's directory, replaces a stale socket, binds with mode 0600.
  Status listen(const std::string& path, int epoll_fd);

  // The handler either answers now (returns true and fills the reply) or defers: it keeps the
  // client id and calls reply() later (a change is answered once every worker has adopted it).
  using Handler = std::function<bool(uint64_t client, const CliRequest&, CliReply*)>;
  void set_handler(Handler h) { handler_ = std::move(h); }

  // Dispatches an epoll event if it is one of ours; returns false if not.
  bool on_event(int fd, uint32_t events);
  // Closes clients that have been idle too long.
  void expire_idle();
  void reply(uint64_t client, const CliReply& r);
  size_t clients() const { return clients_.size(); }
  // listen() found a socket nobody listened on (a crashed fastvsd's) and replaced it.
  bool replaced_stale() const { return replaced_stale_; }

 private:
  struct Client {
    int fd = -1;
    std::string in;
    std::string out;
    size_t sent = 0;
    bool replying = false;
    std::chrono::steady_clock::time_point deadline;
  };
  void accept_all();
  void set_accepting(bool on);
  void read_client(uint64_t id, Client& c);
  void write_client(uint64_t id, Client& c);
  void close_client(uint64_t id);

  int listen_fd_ = -1;
  bool accepting_ = true;
  bool replaced_stale_ = false;
  int epoll_fd_ = -1;
  std::string path_;
  Handler handler_;
  uint64_t next_id_ = 1;
  std::map<uint64_t, Client> clients_;
  std::map<int, uint64_t> by_fd_;
};

}  // namespace fastvs
