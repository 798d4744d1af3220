// Retry rules of the OVH client (DESIGN.md §9, ovh-api.md §6.2, §10.4). Pure functions, so the
// rules are tested without a network.
//
// - A request that was never sent (connect failure) may be retried, whatever its method.
// - 429 means the API refused the call without running it: any method may be retried.
// - Timeouts, broken answers and 5xx leave the outcome unknown: GET/HEAD/DELETE (idempotent)
//   are retried; POST/PUT are not: the caller checks by listing by name (resources.hpp).
// - Delays grow exponentially with "equal jitter" (half fixed, half random) up to max_delay; a
//   Retry-After from the server is honoured as a minimum, bounded by max_retry_after.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "core/http.hpp"

namespace pgdr::ovh {

struct RetryPolicy {
    int max_attempts = 6;  // first try included
    std::chrono::milliseconds base_delay{500};
    std::chrono::milliseconds max_delay{std::chrono::seconds(20)};
    std::chrono::milliseconds max_retry_after{std::chrono::seconds(120)};
};

enum class RetryDecision {
    give_up,          // a definite failure: report it
    retry,            // safe to send again
    outcome_unknown,  // may have been applied; the caller must look before trying again
};

bool is_idempotent(const std::string& method);

// For an HTTP answer with this status (2xx never reach here).
RetryDecision decide_on_status(const std::string& method, int status);
// For a transport failure of this kind.
RetryDecision decide_on_failure(const std::string& method, HttpFailure kind);

// The wait before retry number `retry` (1 = the first retry). jitter in [0, 1).
std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, int retry, double jitter,
                                        std::optional<std::chrono::milliseconds> retry_after);

// "Retry-After: 3" -> 3000 ms. HTTP-date forms and garbage give std::nullopt.
std::optional<std::chrono::milliseconds> parse_retry_after(const std::string& value);

}  // namespace pgdr::ovh
