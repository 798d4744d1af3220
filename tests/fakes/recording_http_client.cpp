#include "fakes/recording_http_client.hpp"

#include <stdexcept>

namespace pgdr::fakes {

HttpResponse RecordingHttpClient::make(int status, std::string body,
                                       std::map<std::string, std::string> headers) {
    HttpResponse r;
    r.status = status;
    r.body = std::move(body);
    r.headers = std::move(headers);
    return r;
}

void RecordingHttpClient::respond(int status, std::string body,
                                  std::map<std::string, std::string> headers) {
    std::lock_guard lock(m_mutex);
    m_queue.emplace_back(make(status, std::move(body), std::move(headers)));
}

void RecordingHttpClient::fail(HttpFailure kind) {
    std::lock_guard lock(m_mutex);
    m_queue.emplace_back(kind);
}

void RecordingHttpClient::set_handler(Handler handler) {
    std::lock_guard lock(m_mutex);
    m_handler = std::move(handler);
}

HttpResponse RecordingHttpClient::send(const HttpRequest& request) {
    Outcome outcome;
    {
        std::lock_guard lock(m_mutex);
        m_requests.push_back(request);
        if (!m_queue.empty()) {
            outcome = m_queue.front();
            m_queue.pop_front();
        } else if (m_handler) {
            Handler h = m_handler;
            m_mutex.unlock();
            try {
                outcome = h(request);
            } catch (...) {
                m_mutex.lock();
                throw;
            }
            m_mutex.lock();
        } else {
            throw std::logic_error("RecordingHttpClient: unexpected request " + request.method +
                                   " " + request.url);
        }
    }
    if (auto* failure = std::get_if<HttpFailure>(&outcome)) {
        throw HttpTransportError(*failure, "scripted failure");
    }
    return std::get<HttpResponse>(outcome);
}

std::vector<HttpRequest> RecordingHttpClient::requests() const {
    std::lock_guard lock(m_mutex);
    return m_requests;
}

std::size_t RecordingHttpClient::count(const std::string& method,
                                       const std::string& url_part) const {
    std::lock_guard lock(m_mutex);
    std::size_t n = 0;
    for (const auto& r : m_requests) {
        n += r.method == method && r.url.find(url_part) != std::string::npos;
    }
    return n;
}

}  // namespace pgdr::fakes
