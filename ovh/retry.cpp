#include "ovh/retry.hpp"

#include <algorithm>
#include <cctype>

namespace pgdr::ovh {

bool is_idempotent(const std::string& method) {
    return method == "GET" || method == "HEAD" || method == "DELETE";
}

RetryDecision decide_on_status(const std::string& method, int status) {
    if (status == 429) {
        return RetryDecision::retry;
    }
    if (status >= 500 && status <= 599) {
        return is_idempotent(method) ? RetryDecision::retry : RetryDecision::outcome_unknown;
    }
    return RetryDecision::give_up;
}

RetryDecision decide_on_failure(const std::string& method, HttpFailure kind) {
    switch (kind) {
        case HttpFailure::connect:
            return RetryDecision::retry;  // nothing was sent
        case HttpFailure::tls:
            return RetryDecision::give_up;  // a certificate does not fix itself
        case HttpFailure::timeout:
        case HttpFailure::protocol:
            return is_idempotent(method) ? RetryDecision::retry : RetryDecision::outcome_unknown;
    }
    return RetryDecision::give_up;
}

std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, int retry, double jitter,
                                        std::optional<std::chrono::milliseconds> retry_after) {
    using std::chrono::milliseconds;
    long long ceiling = policy.base_delay.count();
    for (int i = 1; i < retry && ceiling < policy.max_delay.count(); ++i) {
        ceiling *= 2;
    }
    ceiling = std::min<long long>(ceiling, policy.max_delay.count());
    jitter = std::clamp(jitter, 0.0, 1.0);
    // Equal jitter: never less than half the ceiling, so retries cannot bunch at zero.
    auto delay = ceiling / 2 + static_cast<long long>(static_cast<double>(ceiling / 2) * jitter);
    if (retry_after) {
        delay = std::max<long long>(
            delay, std::min<long long>(retry_after->count(), policy.max_retry_after.count()));
    }
    return milliseconds(delay);
}

std::optional<std::chrono::milliseconds> parse_retry_after(const std::string& value) {
    auto b = value.find_first_not_of(" \t");
    auto e = value.find_last_not_of(" \t");
    if (b == std::string::npos) {
        return std::nullopt;
    }
    std::string v = value.substr(b, e - b + 1);
    if (v.size() > 9 ||
        !std::all_of(v.begin(), v.end(), [](unsigned char c) { return std::isdigit(c); })) {
        return std::nullopt;
    }
    return std::chrono::milliseconds(std::stoll(v) * 1000);
}

}  // namespace pgdr::ovh
