#include "ovh/api_error.hpp"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <vector>

#include "ovh/access_rules.hpp"

namespace pgdr::ovh {

namespace {

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

bool contains(const std::string& haystack, const std::string& needle) {
    return lower(haystack).find(lower(needle)) != std::string::npos;
}

std::string transport_text(HttpFailure kind) {
    switch (kind) {
        case HttpFailure::connect:
            return "could not connect";
        case HttpFailure::timeout:
            return "timed out";
        case HttpFailure::tls:
            return "TLS failure";
        case HttpFailure::protocol:
            return "broken answer";
    }
    return "failed";
}

std::string describe(const ApiFailure& f) {
    std::string s = "OVH API " + f.method + " " + f.path + ": ";
    if (f.status == 0) {
        s += f.transport ? transport_text(*f.transport) : "no answer";
    } else {
        s += "HTTP " + std::to_string(f.status);
    }
    if (!f.ovh_class.empty()) {
        s += " " + f.ovh_class;
    }
    if (!f.message.empty()) {
        s += ": \"" + f.message + "\"";
    }
    if (f.attempts > 1) {
        s += " (after " + std::to_string(f.attempts) + " attempts)";
    }
    if (!f.query_id.empty()) {
        s += " (X-Ovh-Queryid: " + f.query_id + ")";
    }
    return s;
}

}  // namespace

ApiError::ApiError(ApiFailure failure)
    : Error(ExitCode::cloud_api, describe(failure), hint_for(failure)),
      m_failure(std::move(failure)) {}

bool ApiError::is_quota() const {
    return contains(m_failure.message, "quota");
}

void parse_error_body(const std::string& body, ApiFailure& into) {
    auto j = nlohmann::json::parse(body, nullptr, false);
    if (j.is_object()) {
        if (j.contains("class") && j["class"].is_string()) {
            into.ovh_class = j["class"].get<std::string>();
        } else if (j.contains("errorCode") && j["errorCode"].is_string()) {
            into.ovh_class = j["errorCode"].get<std::string>();
        }
        if (j.contains("message") && j["message"].is_string()) {
            into.message = j["message"].get<std::string>();
        } else if (j.contains("error") && j["error"].is_object() &&
                   j["error"].value("message", "") != "") {
            // OpenStack-style rate-limit answers (ovh-api.md §6.2).
            into.message = j["error"].value("message", "");
        }
        return;
    }
    // Not JSON: typically an HTML page from a proxy (503). Keep readable text only.
    std::string text;
    bool in_tag = false;
    for (char c : body) {
        if (c == '<') {
            in_tag = true;
        } else if (c == '>') {
            in_tag = false;
            text.push_back(' ');
        } else if (!in_tag) {
            text.push_back(std::isspace(static_cast<unsigned char>(c)) ? ' ' : c);
        }
    }
    std::string squeezed;
    for (char c : text) {
        if (c == ' ' && (squeezed.empty() || squeezed.back() == ' ')) {
            continue;
        }
        if (static_cast<unsigned char>(c) >= 0x20) {
            squeezed.push_back(c);
        }
    }
    while (!squeezed.empty() && squeezed.back() == ' ') {
        squeezed.pop_back();
    }
    if (squeezed.size() > 160) {
        squeezed = squeezed.substr(0, 157) + "...";
    }
    into.message = squeezed.empty() ? std::string() : "non-JSON answer: " + squeezed;
}

std::string access_rule_for(const std::string& method, const std::string& path) {
    std::string p = path.substr(0, path.find('?'));
    std::vector<std::string> parts;
    std::size_t start = 1;
    while (start <= p.size()) {
        auto slash = p.find('/', start);
        if (slash == std::string::npos) {
            slash = p.size();
        }
        parts.push_back(p.substr(start, slash - start));
        start = slash + 1;
    }
    // The project's branch (v1 or v2), then the rule pgdr asks for that covers the call.
    std::size_t keep = 0;
    if (parts.size() >= 3 && parts[0] == "cloud" && parts[1] == "project") {
        keep = 3;
    } else if (parts.size() >= 4 && parts[0] == "v2" && parts[1] == "publicCloud" &&
               parts[2] == "project") {
        keep = 4;
    }
    if (keep == 0 || parts.size() == keep) {
        return method + " " + p;
    }
    const auto rules = required_access_rules(parts[keep - 1]);
    for (const auto& r : rules) {
        if (rule_allows({r}, method, p)) {
            return r.method + " " + r.path;
        }
    }
    return method + " " + p;  // a call outside what pgdr asks for: the exact route
}

std::string hint_for(const ApiFailure& f) {
    const std::string& m = f.message;
    if (f.status == 0) {
        if (f.transport && *f.transport == HttpFailure::tls) {
            return "check the endpoint URL and the system's CA certificates";
        }
        if (f.outcome_unknown) {
            return "the call may or may not have been applied; run the command again: pgdr "
                   "looks resources up by name before creating them";
        }
        return "check the network path to the OVH API (proxy, DNS, firewall) and OVH_ENDPOINT";
    }
    if (contains(m, "quota")) {
        return "a Public Cloud quota is exhausted: raise it in the OVHcloud Control Panel "
               "(Public Cloud > Quota and Regions) or ask for fewer/smaller instances";
    }
    if (contains(m, "Invalid signature")) {
        return "the application secret or consumer key does not belong to the application key "
               "(check OVH_APPLICATION_SECRET / OVH_CONSUMER_KEY or ovh.conf), or something "
               "between pgdr and OVH altered the request";
    }
    if (contains(m, "timestamp") || contains(m, "out of time")) {
        return "the request timestamp was refused; check this machine's clock and time zone";
    }
    if (contains(m, "Invalid application key") || contains(m, "application key")) {
        return "the application key is unknown to this endpoint: check OVH_APPLICATION_KEY and "
               "that OVH_ENDPOINT is the region where the application was created";
    }
    if (contains(m, "credential does not exist") || contains(m, "Invalid credential") ||
        contains(m, "not been validated") || contains(m, "expired")) {
        return "the consumer key is unknown, expired or not validated yet: create one with "
               "`pgdr ovh credential` and open its validation URL";
    }
    if (f.status == 403) {
        return "the consumer key lacks the access rule `" + access_rule_for(f.method, f.path) +
               "`; create a key with the rules pgdr needs: `pgdr ovh credential -i INVENTORY`";
    }
    if (f.status == 401) {
        return "authentication failed: check the OVH_* credentials (`pgdr ovh check`)";
    }
    if (f.status == 404) {
        if (f.path.find("/project/") != std::string::npos) {
            return "not found: check provider.ovh.project_id (the 32-hex-digit project id) and "
                   "that the consumer key belongs to the account owning it";
        }
        return "not found: check the endpoint (OVH_ENDPOINT)";
    }
    if (f.status == 409) {
        return "the resource changed or is busy (conflict); run the command again";
    }
    if (f.status == 429) {
        return "the OVH API rate-limited pgdr; wait a minute and run the command again";
    }
    if (f.status >= 500) {
        std::string h = "the OVH API is failing; run the command again later";
        if (f.outcome_unknown) {
            h += " (pgdr looks resources up by name first, so nothing is created twice)";
        }
        if (!f.query_id.empty()) {
            h += "; quote the query id to OVH support if it persists";
        }
        return h;
    }
    return "the OVH API refused the request; read its message above";
}

}  // namespace pgdr::ovh
