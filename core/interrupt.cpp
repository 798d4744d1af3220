#include "core/interrupt.hpp"

namespace pgdr {

namespace {
std::atomic<bool> g_interrupted{false};
extern "C" void on_interrupt(int) {
    g_interrupted.store(true);
}
}  // namespace

InterruptGuard::InterruptGuard() {
    g_interrupted = false;
    struct sigaction sa {};
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, &m_old_int);
    ::sigaction(SIGTERM, &sa, &m_old_term);
    // A closed terminal or a dropped bastion session: stop and restore as on Ctrl-C, rather
    // than die with a fault in place.
    ::sigaction(SIGHUP, &sa, &m_old_hup);
}

InterruptGuard::~InterruptGuard() {
    ::sigaction(SIGINT, &m_old_int, nullptr);
    ::sigaction(SIGTERM, &m_old_term, nullptr);
    ::sigaction(SIGHUP, &m_old_hup, nullptr);
}

const std::atomic<bool>& InterruptGuard::flag() {
    return g_interrupted;
}

}  // namespace pgdr
