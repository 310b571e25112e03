// Signals as a daemon's users expect: nothing but SIGKILL ends fastvsd without its clean stop.
// Every signal whose default action would end the process is blocked in every thread (set
// before the EAL starts its threads, which inherit the mask) and read by the control loop from
// a signalfd in its epoll set, so no handler runs at an arbitrary point of any thread:
//   SIGTERM, SIGINT, SIGQUIT   clean stop: workers stopped, rings and TX buffers drained, exit 0
//   SIGHUP                     reload: --config and --keepalived-conf read again, all or nothing
//   SIGUSR1                    the counters and the table's size to the log
//   SIGUSR2                    the stats file written now (--stats-file)
//   the others                 logged and ignored
// SIGPIPE is ignored outright: a write to a closed pipe or socket (a log reader that went away)
// fails with EPIPE instead. Faults (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGSYS, SIGTRAP)
// keep their default action: they mean a bug, and a core is the right outcome.
//
// Programs fastvsd starts get the default mask and dispositions back (child_signal_defaults).
#pragma once

#include <signal.h>

#include <string>
#include <vector>

namespace fastvs {

// The set described above.
sigset_t daemon_signals();

// Blocks daemon_signals() in the calling thread (and so in every thread created after it),
// ignores SIGPIPE, and returns a non-blocking signalfd that reads them; -1 on failure.
int block_daemon_signals();

// In a child after fork, before exec (async-signal-safe): the signal mask emptied and SIGPIPE's
// disposition back to the default, so a program fastvsd starts behaves as from a shell.
void child_signal_defaults();

// Once the drivers are set up (the kernel path's TAP ports included): the signals among
// daemon_signals() that a driver has installed a handler for are taken out of `signal_fd` and
// left to that handler, on a thread of their own that does nothing else, so no other thread's
// system call is interrupted. DPDK's net_tap takes a free real-time signal for its RX trigger
// (the kernel sends it for every frame the host writes to the TAP): blocked, the signal was
// read and logged for each frame. Returns the signals handed over, by name.
std::vector<std::string> release_driver_signals(int signal_fd);

// "SIGHUP", "SIGRTMIN+3", "signal 99".
std::string signal_name(int sig);

}  // namespace fastvs
