// The Unix socket fastvsadm talks to. One request, one reply, on the control thread's epoll
// loop; it never blocks, and no client can hold it:
// - a request must arrive whole within kRequestTimeout of the connection (an absolute deadline:
//   a client that trickles bytes is closed as one that sends none), and may be at most
//   kCliMaxRequest bytes; all clients together may have at most kMaxBuffered bytes of requests
//   in memory (beyond: refused with one line);
// - at most kMaxClients at once (fastvsd raises its descriptor limit to hold them): beyond, or
//   when descriptors run out, a connection is answered with one error line and closed, not left
//   in the backlog;
// - a reply is written as the client reads it; a client that reads nothing for kClientTimeout
//   is closed.
//
// Its path is claimed with a lock file before anything else (claim(): PATH.lock, flock held for
// fastvsd's life), so two fastvsd cannot share a path whatever their timing; the socket is
// bound under a temporary name with mode 0600 (umask: a Unix socket's path takes its mode from
// the bind, not from fchmod on the descriptor) and renamed into place, so it never exists with
// another mode and a stale one is replaced atomically; its directory must be root's (or
// fastvsd's user's) and writable by no one else; at exit fastvsd removes the socket only if it
// is still the one it bound (device and inode).
//
// The wire format is common/cli_proto.h (fastvsadm includes it too).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/cli_proto.h"
#include "common/result.h"
#include "control/accept.h"

namespace fastvs {

class CliServer {
 public:
  static constexpr std::chrono::seconds kRequestTimeout{10};
  static constexpr std::chrono::seconds kClientTimeout{10};
  static constexpr size_t kMaxClients = 4096;
  static constexpr size_t kMaxBuffered = 64u << 20;

  ~CliServer();

  // Takes `path` for this process: its directory checked (created 0700 when missing), its lock
  // held, and what is at the path judged: nothing, or a socket nobody listens on (a crashed
  // fastvsd's) is fine; a file that is no socket, or a socket something listens on, is refused.
  // Returns the lock's descriptor (held until the process ends). fastvsd calls it first, before
  // the EAL takes hugepages and ports.
  static Result<int> claim(const std::string& path);
  // Binds and listens on `path` (claimed by `lock_fd`), and registers in epoll.
  Status listen(const std::string& path, int lock_fd, int epoll_fd);

  // The handler either answers now (returns true and fills the reply) or defers: it keeps the
  // client id and calls reply() later (a change is answered once every worker has adopted it).
  using Handler = std::function<bool(uint64_t client, const CliRequest&, CliReply*)>;
  void set_handler(Handler h) { handler_ = std::move(h); }

  // Dispatches an epoll event if it is one of ours; returns false if not.
  bool on_event(int fd, uint32_t events);
  // Closes clients past their deadline.
  void expire_idle();
  void reply(uint64_t client, const CliReply& r);
  size_t clients() const { return clients_.size(); }
  // listen() found a socket nobody listened on (a crashed fastvsd's) and replaced it.
  bool replaced_stale() const { return replaced_stale_; }

 private:
  struct Client {
    int fd = -1;
    CliRequestReader in;
    std::string out;
    size_t sent = 0;
    bool replying = false;
    std::chrono::steady_clock::time_point deadline;
  };
  void accept_all();
  void refuse(int fd, const std::string& why);
  void read_client(uint64_t id, Client& c);
  void write_client(uint64_t id, Client& c);
  void close_client(uint64_t id);

  int listen_fd_ = -1;
  int spare_fd_ = open_spare_fd();  // for refusing a client when descriptors run out
  bool replaced_stale_ = false;
  int epoll_fd_ = -1;
  std::string path_;
  dev_t dev_ = 0;  // the socket we bound, to remove only that one
  ino_t ino_ = 0;
  Handler handler_;
  uint64_t next_id_ = 1;
  size_t buffered_ = 0;  // request bytes held by all clients
  std::map<uint64_t, Client> clients_;
  std::map<int, uint64_t> by_fd_;
};

}  // namespace fastvs
