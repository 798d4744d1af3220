// HttpClient: the seam for every HTTP call (OVH API, Patroni REST, fake servers in tests).
//
// One request in, one response out. HTTP status codes are data. Transport-level failures are
// thrown as HttpTransportError with a classification, so retry code never parses messages.
#pragma once

#include <chrono>
#include <map>
#include <stdexcept>
#include <string>

namespace pgdr {

struct HttpRequest {
    std::string method = "GET";
    std::string url;
    std::map<std::string, std::string> headers;
    std::string body;
    std::chrono::milliseconds timeout{std::chrono::seconds(30)};
    std::chrono::milliseconds connect_timeout{std::chrono::seconds(10)};
};

struct HttpResponse {
    int status = 0;
    std::map<std::string, std::string> headers;  // names lower-cased
    std::string body;

    std::string header(const std::string& lower_name) const {
        auto it = headers.find(lower_name);
        return it == headers.end() ? std::string() : it->second;
    }
};

enum class HttpFailure {
    connect,   // refused, unreachable, DNS: the request was not sent (safe to retry)
    timeout,   // sent, no full answer in time: it may have been applied (not safe for POST)
    tls,       // certificate or handshake: permanent
    protocol,  // malformed answer, truncated transfer
};

class HttpTransportError : public std::runtime_error {
  public:
    HttpTransportError(HttpFailure kind, const std::string& what)
        : std::runtime_error(what), m_kind(kind) {}
    HttpFailure kind() const noexcept { return m_kind; }
    // True when retrying cannot help (TLS); the rest are transient.
    bool permanent() const noexcept { return m_kind == HttpFailure::tls; }

  private:
    HttpFailure m_kind;
};

class HttpClient {
  public:
    virtual ~HttpClient() = default;
    // Throws HttpTransportError when no HTTP answer was received.
    virtual HttpResponse send(const HttpRequest& request) = 0;
};

}  // namespace pgdr
