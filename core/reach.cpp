#include "core/reach.hpp"

#include <exception>

#include "core/reach_http.hpp"

namespace pgdr {

std::string Endpoint::authority() const {
    const bool v6 = host.find(':') != std::string::npos;
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string Endpoint::url(const std::string& scheme) const {
    return scheme + "://" + authority();
}

std::optional<Endpoint> url_authority(const std::string& url) {
    const auto scheme_end = url.find("://");
    if (scheme_end == std::string::npos) {
        return std::nullopt;
    }
    const std::string scheme = url.substr(0, scheme_end);
    const auto start = scheme_end + 3;
    const auto end = url.find_first_of("/?#", start);
    std::string authority = url.substr(start, end == std::string::npos ? end : end - start);
    if (authority.find('@') != std::string::npos || authority.empty()) {
        return std::nullopt;  // pgdr never puts credentials in a URL
    }
    Endpoint e;
    e.port = scheme == "https" ? 443 : scheme == "http" ? 80 : 0;
    std::string port_text;
    bool has_port = false;
    if (authority.front() == '[') {
        const auto close = authority.find(']');
        if (close == std::string::npos) {
            return std::nullopt;
        }
        e.host = authority.substr(1, close - 1);
        if (close + 1 < authority.size()) {
            if (authority[close + 1] != ':') {
                return std::nullopt;
            }
            port_text = authority.substr(close + 2);
            has_port = true;
        }
    } else if (const auto colon = authority.rfind(':'); colon != std::string::npos) {
        e.host = authority.substr(0, colon);
        port_text = authority.substr(colon + 1);
        has_port = true;
    } else {
        e.host = authority;
    }
    if (has_port) {
        if (port_text.empty() || port_text.size() > 5 ||
            port_text.find_first_not_of("0123456789") != std::string::npos) {
            return std::nullopt;
        }
        e.port = std::stoi(port_text);
    }
    if (e.host.empty() || e.port <= 0 || e.port > 65535) {
        return std::nullopt;
    }
    return e;
}

HttpResponse ReachingHttpClient::send(const HttpRequest& request) {
    auto target = url_authority(request.url);
    if (!target) {
        return m_inner.send(request);
    }
    Endpoint via;
    try {
        via = m_reach.endpoint(target->host, target->port);
    } catch (const std::exception& e) {
        throw HttpTransportError(HttpFailure::connect, e.what());
    }
    if (via.host == target->host && via.port == target->port) {
        return m_inner.send(request);
    }
    HttpRequest routed = request;
    routed.connect_to = std::make_pair(*target, via);
    return m_inner.send(routed);
}

}  // namespace pgdr
