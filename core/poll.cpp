#include "core/poll.hpp"

namespace pgdr {

PollOutcome poll_until(Clock& clock, std::chrono::milliseconds timeout,
                       std::chrono::milliseconds interval, const std::atomic<bool>* interrupted,
                       const std::function<bool()>& holds) {
    const auto deadline = clock.steady_now() + timeout;
    for (;;) {
        if (interrupted != nullptr && interrupted->load()) {
            return PollOutcome::interrupted;
        }
        if (holds()) {
            return PollOutcome::holds;
        }
        if (clock.steady_now() >= deadline) {
            return PollOutcome::timed_out;
        }
        clock.sleep_for(interval);
    }
}

}  // namespace pgdr
