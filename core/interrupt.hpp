// Ctrl-C (SIGINT), SIGTERM and SIGHUP (the terminal went away) as a flag: while an
// InterruptGuard lives, these signals set flag() instead of killing pgdr, so a drill restores
// the cluster, and a runbook or a switchover stops at its next check and records where it
// stopped. The previous handlers come back with the guard's destruction. One guard at a time.
#pragma once

#include <atomic>
#include <csignal>

namespace pgdr {

class InterruptGuard {
  public:
    InterruptGuard();  // clears the flag
    ~InterruptGuard();
    InterruptGuard(const InterruptGuard&) = delete;
    InterruptGuard& operator=(const InterruptGuard&) = delete;

    static const std::atomic<bool>& flag();

  private:
    struct sigaction m_old_int {};
    struct sigaction m_old_term {};
    struct sigaction m_old_hup {};
};

}  // namespace pgdr
