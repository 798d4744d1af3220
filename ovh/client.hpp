// The OVH API client: signed calls through the HttpClient seam (never curl directly).
//
// - Timestamps: GET /auth/time is called once per Client (one per process in pgdr) before the
//   first signed call; every signature then uses wall_now() + that delta, so a skewed local
//   clock does not matter. /auth/time is retried like any GET.
// - Signing: the URL and body strings that are signed are the very strings handed to the
//   HttpClient (ovh-api.md §1.3). Bodies are compact JSON.
// - Retries: see retry.hpp. A POST/PUT whose outcome is unknown (timeout, 5xx) is NOT retried;
//   it raises ApiError with outcome_unknown() so the caller can look before trying again.
// - Errors: ApiError (exit 4) with status, OVH class/message, X-Ovh-Queryid and a hint.
// - Logging: -vv logs each call with status and time; -vvv (trace) adds headers and bodies.
//   The application key, secret and consumer key are registered as secrets with the Logger,
//   the signature is never printed, and JSON fields that hold secrets (consumerKey, password,
//   ...) are masked in logged bodies.
// Thread-safe: calls may be made from several threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>

#include "core/clock.hpp"
#include "core/http.hpp"
#include "core/log.hpp"
#include "ovh/api_error.hpp"
#include "ovh/credentials.hpp"
#include "ovh/retry.hpp"

namespace pgdr::ovh {

struct ClientOptions {
    std::chrono::milliseconds timeout{std::chrono::seconds(30)};
    std::chrono::milliseconds connect_timeout{std::chrono::seconds(10)};
    RetryPolicy retry;
    std::uint64_t jitter_seed = 0;  // 0: seeded from std::random_device
    std::string user_agent = "pgdr";
};

class Client {
  public:
    Client(HttpClient& http, Clock& clock, Logger& log, Credentials creds,
           ClientOptions options = {});

    // Signed call; body (when given) is sent as compact JSON. Returns the decoded JSON answer
    // (null for an empty body). Throws ApiError.
    nlohmann::json call(const std::string& method, const std::string& path,
                        const std::optional<nlohmann::json>& body = std::nullopt);
    nlohmann::json get(const std::string& path) { return call("GET", path); }
    nlohmann::json post(const std::string& path, const nlohmann::json& body) {
        return call("POST", path, body);
    }
    nlohmann::json put(const std::string& path, const nlohmann::json& body) {
        return call("PUT", path, body);
    }
    nlohmann::json del(const std::string& path) { return call("DELETE", path); }

    // GET that returns std::nullopt on 404 (a resource that is gone).
    std::optional<nlohmann::json> get_if_exists(const std::string& path);

    // GET of a v2 collection, following X-Pagination-Cursor-Next; the concatenated array.
    nlohmann::json list(const std::string& path);

    // Unauthenticated call (X-Ovh-Application only), e.g. POST /auth/credential.
    nlohmann::json call_unsigned(const std::string& method, const std::string& path,
                                 const std::optional<nlohmann::json>& body = std::nullopt);

    // Server time minus local time, in seconds (fetched on first use, then cached).
    long long time_delta();

    const Credentials& credentials() const { return m_creds; }

  private:
    struct Answer {
        int status = 0;
        nlohmann::json body;
        std::string next_cursor;
    };
    Answer exchange(const std::string& method, const std::string& path,
                    const std::optional<nlohmann::json>& body, bool sign,
                    const std::string& cursor = {});
    std::string log_body(const std::string& body) const;
    // The request as sent: headers, and the signature with the timestamp corrected by delta.
    HttpRequest request_for(const std::string& method, const std::string& url,
                            const std::string& body_text, const std::string& cursor, bool sign,
                            long long delta);
    void trace_request(const HttpRequest& req) const;
    double next_jitter();

    HttpClient& m_http;
    Clock& m_clock;
    Logger& m_log;
    Credentials m_creds;
    ClientOptions m_options;

    std::mutex m_delta_mutex;
    std::optional<long long> m_delta;
    std::mutex m_rng_mutex;
    std::mt19937_64 m_rng;
};

}  // namespace pgdr::ovh
