// The retry rules as pure functions.
#include "ovh/retry.hpp"

#include <catch2/catch.hpp>

using namespace std::chrono_literals;
using pgdr::HttpFailure;
using pgdr::ovh::RetryDecision;

TEST_CASE("retry: which outcomes may be retried, per method", "[ovh][retry]") {
    using pgdr::ovh::decide_on_failure;
    using pgdr::ovh::decide_on_status;
    for (const char* m : {"GET", "DELETE"}) {
        CHECK(decide_on_status(m, 429) == RetryDecision::retry);
        CHECK(decide_on_status(m, 500) == RetryDecision::retry);
        CHECK(decide_on_status(m, 503) == RetryDecision::retry);
        CHECK(decide_on_status(m, 404) == RetryDecision::give_up);
        CHECK(decide_on_status(m, 403) == RetryDecision::give_up);
        CHECK(decide_on_failure(m, HttpFailure::timeout) == RetryDecision::retry);
        CHECK(decide_on_failure(m, HttpFailure::protocol) == RetryDecision::retry);
    }
    for (const char* m : {"POST", "PUT"}) {
        CHECK(decide_on_status(m, 429) == RetryDecision::retry);  // refused, not run
        CHECK(decide_on_status(m, 500) == RetryDecision::outcome_unknown);
        CHECK(decide_on_status(m, 503) == RetryDecision::outcome_unknown);
        CHECK(decide_on_status(m, 400) == RetryDecision::give_up);
        CHECK(decide_on_failure(m, HttpFailure::timeout) == RetryDecision::outcome_unknown);
        CHECK(decide_on_failure(m, HttpFailure::protocol) == RetryDecision::outcome_unknown);
        CHECK(decide_on_failure(m, HttpFailure::connect) == RetryDecision::retry);  // not sent
    }
    CHECK(decide_on_failure("GET", HttpFailure::tls) == RetryDecision::give_up);
}

TEST_CASE("retry: exponential backoff with equal jitter, capped", "[ovh][retry]") {
    pgdr::ovh::RetryPolicy p;
    p.base_delay = 400ms;
    p.max_delay = 3000ms;
    using pgdr::ovh::backoff_delay;
    CHECK(backoff_delay(p, 1, 0.0, std::nullopt) == 200ms);
    CHECK(backoff_delay(p, 1, 1.0, std::nullopt) == 400ms);
    CHECK(backoff_delay(p, 2, 0.0, std::nullopt) == 400ms);
    CHECK(backoff_delay(p, 3, 0.5, std::nullopt) == 1200ms);
    CHECK(backoff_delay(p, 4, 1.0, std::nullopt) == 3000ms);  // 3200 capped
    CHECK(backoff_delay(p, 30, 1.0, std::nullopt) == 3000ms);
    for (int retry = 1; retry < 8; ++retry) {
        auto lo = backoff_delay(p, retry, 0.0, std::nullopt);
        auto hi = backoff_delay(p, retry, 0.999, std::nullopt);
        CHECK(lo <= hi);
        CHECK(hi <= 2 * lo + 1ms);
    }
}

TEST_CASE("retry: Retry-After is a floor, bounded", "[ovh][retry]") {
    pgdr::ovh::RetryPolicy p;
    p.base_delay = 400ms;
    p.max_retry_after = 10s;
    using pgdr::ovh::backoff_delay;
    CHECK(backoff_delay(p, 1, 0.0, 3000ms) == 3000ms);
    CHECK(backoff_delay(p, 1, 0.0, 100ms) == 200ms);
    CHECK(backoff_delay(p, 1, 0.0, 3600s) == 10s);
    using pgdr::ovh::parse_retry_after;
    CHECK(parse_retry_after("3") == 3000ms);
    CHECK(parse_retry_after(" 12 ") == 12000ms);
    CHECK_FALSE(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"));
    CHECK_FALSE(parse_retry_after(""));
    CHECK_FALSE(parse_retry_after("-1"));
}
