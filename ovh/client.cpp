#include "ovh/client.hpp"

#include <cmath>

#include "ovh/signer.hpp"

namespace pgdr::ovh {

namespace {

// Fields whose values are secrets wherever they appear in an API body.
bool is_secret_field(const std::string& key) {
    static const char* const k_fields[] = {
        "consumerKey",    "applicationSecret", "password",     "adminPassword",
        "rescuePassword", "clientSecret",      "access_token", "secret"};
    for (const char* f : k_fields) {
        if (key == f) {
            return true;
        }
    }
    return false;
}

void mask_secrets(nlohmann::json& j) {
    if (j.is_object()) {
        for (auto& [key, value] : j.items()) {
            if (is_secret_field(key) && value.is_string()) {
                value = "[redacted]";
            } else {
                mask_secrets(value);
            }
        }
    } else if (j.is_array()) {
        for (auto& v : j) {
            mask_secrets(v);
        }
    }
}

long long to_seconds(std::chrono::system_clock::time_point tp) {
    return std::chrono::duration_cast<std::chrono::seconds>(tp.time_since_epoch()).count();
}

}  // namespace

Client::Client(HttpClient& http, Clock& clock, Logger& log, Credentials creds,
               ClientOptions options)
    : m_http(http),
      m_clock(clock),
      m_log(log),
      m_creds(std::move(creds)),
      m_options(std::move(options)),
      m_rng(m_options.jitter_seed != 0 ? m_options.jitter_seed : std::random_device{}()) {
    m_log.add_secret(m_creds.application_key);
    m_log.add_secret(m_creds.application_secret);
    m_log.add_secret(m_creds.consumer_key);
}

double Client::next_jitter() {
    std::lock_guard lock(m_rng_mutex);
    return std::uniform_real_distribution<double>(0.0, 1.0)(m_rng);
}

std::string Client::log_body(const std::string& body) const {
    if (body.empty()) {
        return "(empty)";
    }
    auto j = nlohmann::json::parse(body, nullptr, false);
    if (j.is_discarded()) {
        return body.size() > 300 ? body.substr(0, 300) + "..." : body;
    }
    mask_secrets(j);
    std::string text = j.dump();
    return text.size() > 2000 ? text.substr(0, 2000) + "..." : text;
}

long long Client::time_delta() {
    std::lock_guard lock(m_delta_mutex);
    if (!m_delta) {
        auto answer = exchange("GET", "/auth/time", std::nullopt, false);
        if (!answer.body.is_number_integer()) {
            ApiFailure f;
            f.method = "GET";
            f.path = "/auth/time";
            f.status = answer.status;
            f.message =
                "expected the server time as an integer, got: " + log_body(answer.body.dump());
            throw ApiError(f);
        }
        const long long server = answer.body.get<long long>();
        m_delta = server - to_seconds(m_clock.wall_now());
        m_log.debug("OVH API clock offset: " + std::to_string(*m_delta) + " s");
    }
    return *m_delta;
}

nlohmann::json Client::call(const std::string& method, const std::string& path,
                            const std::optional<nlohmann::json>& body) {
    return exchange(method, path, body, true).body;
}

nlohmann::json Client::call_unsigned(const std::string& method, const std::string& path,
                                     const std::optional<nlohmann::json>& body) {
    return exchange(method, path, body, false).body;
}

std::optional<nlohmann::json> Client::get_if_exists(const std::string& path) {
    try {
        return exchange("GET", path, std::nullopt, true).body;
    } catch (const ApiError& e) {
        if (e.is_not_found()) {
            return std::nullopt;
        }
        throw;
    }
}

nlohmann::json Client::list(const std::string& path) {
    nlohmann::json all = nlohmann::json::array();
    std::string cursor;
    for (int page = 0; page < 10000; ++page) {
        auto answer = exchange("GET", path, std::nullopt, true, cursor);
        if (answer.body.is_array()) {
            for (auto& item : answer.body) {
                all.push_back(std::move(item));
            }
        }
        if (answer.next_cursor.empty() || answer.next_cursor == cursor) {
            break;
        }
        cursor = answer.next_cursor;
    }
    return all;
}

HttpRequest Client::request_for(const std::string& method, const std::string& url,
                                const std::string& body_text, const std::string& cursor, bool sign,
                                long long delta) {
    HttpRequest req;
    req.method = method;
    req.url = url;
    req.body = body_text;
    req.timeout = m_options.timeout;
    req.connect_timeout = m_options.connect_timeout;
    req.headers["Accept"] = "application/json";
    req.headers["User-Agent"] = m_options.user_agent;
    if (!body_text.empty()) {
        req.headers["Content-Type"] = "application/json";
    }
    if (!m_creds.application_key.empty()) {
        req.headers["X-Ovh-Application"] = m_creds.application_key;
    }
    if (!cursor.empty()) {
        req.headers["X-Pagination-Cursor"] = cursor;
    }
    if (sign) {
        const long long ts = to_seconds(m_clock.wall_now()) + delta;
        req.headers["X-Ovh-Consumer"] = m_creds.consumer_key;
        req.headers["X-Ovh-Timestamp"] = std::to_string(ts);
        req.headers["X-Ovh-Signature"] = sign_request(
            m_creds.application_secret, m_creds.consumer_key, method, url, body_text, ts);
    }
    return req;
}

void Client::trace_request(const HttpRequest& req) const {
    if (!m_log.enabled(LogLevel::trace)) {
        return;
    }
    std::string line = "> " + req.method + " " + req.url;
    for (const auto& [name, value] : req.headers) {
        // Never print the signature; the keys are redacted by the Logger too.
        bool hide =
            name == "X-Ovh-Signature" || name == "X-Ovh-Consumer" || name == "X-Ovh-Application";
        line += "\n    " + name + ": " + (hide ? std::string("[redacted]") : value);
    }
    if (!req.body.empty()) {
        line += "\n    body: " + log_body(req.body);
    }
    m_log.trace(line);
}

Client::Answer Client::exchange(const std::string& method, const std::string& path,
                                const std::optional<nlohmann::json>& body, bool sign,
                                const std::string& cursor) {
    // Compact JSON, built once: these bytes are signed and sent, on every attempt.
    const std::string body_text = body ? body->dump() : std::string();
    const std::string url = target_url(m_creds.base_url, path);
    const long long delta = sign ? time_delta() : 0;

    ApiFailure failure;
    failure.method = method;
    failure.path = path.substr(0, path.find('?'));
    const int max_attempts = std::max(1, m_options.retry.max_attempts);

    for (int attempt = 1;; ++attempt) {
        failure.attempts = attempt;
        const HttpRequest req = request_for(method, url, body_text, cursor, sign, delta);
        trace_request(req);

        const auto started = m_clock.steady_now();
        RetryDecision decision = RetryDecision::give_up;
        std::optional<std::chrono::milliseconds> retry_after;
        try {
            HttpResponse resp = m_http.send(req);
            const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                m_clock.steady_now() - started)
                                .count();
            m_log.debug("OVH API " + method + " " + failure.path + " -> " +
                        std::to_string(resp.status) + " (" + std::to_string(ms) + " ms)");
            if (m_log.enabled(LogLevel::trace)) {
                m_log.trace("< " + std::to_string(resp.status) + " X-Ovh-Queryid: " +
                            resp.header("x-ovh-queryid") + "\n    body: " + log_body(resp.body));
            }
            failure.query_id = resp.header("x-ovh-queryid");
            if (resp.status >= 200 && resp.status < 300) {
                Answer answer;
                answer.status = resp.status;
                answer.next_cursor = resp.header("x-pagination-cursor-next");
                if (resp.body.empty()) {
                    return answer;
                }
                answer.body = nlohmann::json::parse(resp.body, nullptr, false);
                if (!answer.body.is_discarded()) {
                    return answer;
                }
                // A truncated 2xx answer: as unsure as a timeout.
                failure.status = resp.status;
                failure.message = "the answer is not valid JSON (truncated?)";
                decision = decide_on_failure(method, HttpFailure::protocol);
            } else {
                failure.status = resp.status;
                failure.ovh_class.clear();
                failure.message.clear();
                parse_error_body(resp.body, failure);
                decision = decide_on_status(method, resp.status);
                retry_after = parse_retry_after(resp.header("retry-after"));
            }
        } catch (const HttpTransportError& e) {
            m_log.debug("OVH API " + method + " " + failure.path + ": " + e.what());
            failure.status = 0;
            failure.transport = e.kind();
            failure.query_id.clear();
            failure.ovh_class.clear();
            failure.message = e.what();
            decision = decide_on_failure(method, e.kind());
        }

        if (decision == RetryDecision::outcome_unknown) {
            failure.outcome_unknown = true;
            throw ApiError(failure);
        }
        if (decision == RetryDecision::give_up || attempt >= max_attempts) {
            throw ApiError(failure);
        }
        const auto wait = backoff_delay(m_options.retry, attempt, next_jitter(), retry_after);
        m_log.info(
            "OVH API " + method + " " + failure.path + ": " +
            (failure.status ? "HTTP " + std::to_string(failure.status) : std::string("no answer")) +
            ", retry " + std::to_string(attempt) + "/" + std::to_string(max_attempts - 1) + " in " +
            std::to_string(wait.count()) + " ms");
        m_clock.sleep_for(wait);
    }
}

}  // namespace pgdr::ovh
