#include "control/signals.h"

#include <sys/signalfd.h>

#include <cstring>
#include <thread>

namespace fastvs {

sigset_t daemon_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGTERM, SIGSTKFLT, SIGXCPU,
                  SIGXFSZ, SIGVTALRM, SIGPROF, SIGIO, SIGPWR})
    sigaddset(&set, sig);
  // The real-time signals end a process by default too (glibc keeps the first few below
  // SIGRTMIN for itself).
  for (int sig = SIGRTMIN; sig <= SIGRTMAX; ++sig) sigaddset(&set, sig);
  return set;
}

int block_daemon_signals() {
  signal(SIGPIPE, SIG_IGN);
  const sigset_t set = daemon_signals();
  if (pthread_sigmask(SIG_BLOCK, &set, nullptr) != 0) return -1;
  return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

void child_signal_defaults() {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  signal(SIGPIPE, SIG_DFL);
}

std::vector<std::string> release_driver_signals(int signal_fd) {
  sigset_t all = daemon_signals(), driver;
  sigemptyset(&driver);
  std::vector<std::string> names;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sigismember(&all, sig) != 1) continue;
    struct sigaction sa {};
    if (sigaction(sig, nullptr, &sa) != 0) continue;
    const bool handled = (sa.sa_flags & SA_SIGINFO)
                             ? sa.sa_sigaction != nullptr
                             : sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN;
    if (!handled) continue;
    sigaddset(&driver, sig);
    sigdelset(&all, sig);
    names.push_back(signal_name(sig));
  }
  if (names.empty()) return names;
  signalfd(signal_fd, &all, SFD_NONBLOCK | SFD_CLOEXEC);  // the fd's set, without those
  std::thread([driver] {
    pthread_sigmask(SIG_UNBLOCK, &driver, nullptr);
    while (true) pause();  // the handlers run here; the process's end ends the thread
  }).detach();
  return names;
}

std::string signal_name(int sig) {
  if (sig >= SIGRTMIN && sig <= SIGRTMAX)
    return sig == SIGRTMIN ? "SIGRTMIN" : "SIGRTMIN+" + std::to_string(sig - SIGRTMIN);
  if (const char* abbrev = sigabbrev_np(sig)) return std::string("SIG") + abbrev;
  return "signal " + std::to_string(sig);
}

}  // namespace fastvs
