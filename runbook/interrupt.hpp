// Ctrl-C (SIGINT), SIGTERM and SIGHUP (a closed terminal) as a flag: while an InterruptGuard lives,
// the signals set interrupted() instead of killing pgdr, so a runbook or a switchover stops at its
// next check and records where it stopped. The previous handlers come back with the guard's
// destruction.
#pragma once

#include <atomic>
#include <csignal>

namespace pgdr::runbook {

class InterruptGuard {
  public:
    InterruptGuard();
    ~InterruptGuard();
    InterruptGuard(const InterruptGuard&) = delete;
    InterruptGuard& operator=(const InterruptGuard&) = delete;

    static const std::atomic<bool>& flag();

  private:
    struct sigaction m_old_int {};
    struct sigaction m_old_term {};
    struct sigaction m_old_hup {};
};

}  // namespace pgdr::runbook
