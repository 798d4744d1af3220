// Polling until something holds, a deadline passes or the operator interrupts: the one loop
// behind every "wait until" in pgdr (switchover phases, drill waits, runbook waits, apply's
// WaitFor). Time comes from the Clock seam, so tests run it on a manual clock.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>

#include "core/clock.hpp"

namespace pgdr {

enum class PollOutcome { holds, timed_out, interrupted };

// Calls `holds` at once, then every `interval` (slept on `clock`) until it returns true, or
// `timeout` has passed since the start (checked after each call, so it is called at least
// once), or `*interrupted` (may be null) is set (checked before each call). Exceptions from
// `holds` propagate.
PollOutcome poll_until(Clock& clock, std::chrono::milliseconds timeout,
                       std::chrono::milliseconds interval, const std::atomic<bool>* interrupted,
                       const std::function<bool()>& holds);

}  // namespace pgdr
