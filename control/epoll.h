// One call to add, change or remove a descriptor in an epoll set, keyed by the descriptor itself
// (every epoll loop in fastvsd dispatches on data.fd).
#pragma once

#include <sys/epoll.h>

#include <cstdint>

namespace fastvs {

inline int epoll_set(int epoll_fd, int op, int fd, uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  return epoll_ctl(epoll_fd, op, fd, &ev);
}

}  // namespace fastvs
