// What the OVH API said when a call failed, and what the operator should do about it.
//
// ApiError is a pgdr::Error with exit code 4 (cloud API). Its message carries the call
// (method and path, never a query string or body), the HTTP status, OVH's error class and
// message and the X-Ovh-Queryid to quote to OVH support; its hint says what to do (e.g. a 403
// "not granted" names the access rule the consumer key lacks).
#pragma once

#include <optional>
#include <string>

#include "core/error.hpp"
#include "core/http.hpp"

namespace pgdr::ovh {

struct ApiFailure {
    std::string method;
    std::string path;  // API path as called, e.g. /v2/publicCloud/project/<p>/network
    int status = 0;    // 0 when no HTTP answer was received
    std::optional<HttpFailure> transport;  // set when status == 0
    std::string ovh_class;                 // e.g. Client::Forbidden
    std::string message;                   // OVH's message, or the start of a non-JSON body
    std::string query_id;                  // X-Ovh-Queryid
    bool outcome_unknown = false;          // a POST/PUT that may have been applied
    int attempts = 1;
};

class ApiError : public Error {
  public:
    explicit ApiError(ApiFailure failure);
    const ApiFailure& failure() const { return m_failure; }
    int status() const { return m_failure.status; }
    bool outcome_unknown() const { return m_failure.outcome_unknown; }
    bool is_not_found() const { return m_failure.status == 404; }
    // The API said a quota is exhausted (message names a quota).
    bool is_quota() const;

  private:
    ApiFailure m_failure;
};

// Reads class/message (or errorCode/message) from a JSON error body; a non-JSON body (an HTML
// error page) gives its text without tags, shortened.
void parse_error_body(const std::string& body, ApiFailure& into);

// The rule of required_access_rules() that covers a call, as OVH writes rules:
// "POST /cloud/project/<p>/instance/*/reboot"; the exact route when none does.
std::string access_rule_for(const std::string& method, const std::string& path);

// The hint for a failure (what to do next).
std::string hint_for(const ApiFailure& failure);

}  // namespace pgdr::ovh
