// Accepting a client when descriptors may run out. accept4 failing with EMFILE leaves the
// connection in the backlog, and the listening socket readable: a level-triggered epoll loop
// would spin on it, and every client behind it would wait. A spare descriptor, held for this,
// is given up to accept the connection and hand it to `refuse` (which answers and closes it),
// then taken again: the accept-and-refuse that libuv and nginx do.
#pragma once

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace fastvs {

inline int open_spare_fd() {
  return open("/dev/null", O_RDONLY | O_CLOEXEC);
}

// The next client (non-blocking, close-on-exec); kRefused when one was accepted and refused for
// want of descriptors (try the next); -1 when there is none to take now.
constexpr int kRefused = -2;
template <typename Refuse>
int accept_client(int listen_fd, int& spare_fd, Refuse&& refuse) {
  const int fd = accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd >= 0) return fd;
  if ((errno != EMFILE && errno != ENFILE) || spare_fd < 0) return -1;
  close(spare_fd);
  const int late = accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (late >= 0) refuse(late);
  spare_fd = open_spare_fd();
  return late >= 0 ? kRefused : -1;
}

}  // namespace fastvs
