// A scripted HttpClient: answers come from a queue (or a handler), and every request is
// recorded so tests can assert on exactly what would have gone over the wire.
#pragma once

#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/http.hpp"

namespace pgdr::fakes {

class RecordingHttpClient final : public HttpClient {
  public:
    using Outcome = std::variant<HttpResponse, HttpFailure>;
    // Computes the outcome of a request; used when the queue is empty.
    using Handler = std::function<Outcome(const HttpRequest&)>;

    HttpResponse send(const HttpRequest& request) override;

    // Queue one answer / one transport failure.
    void respond(int status, std::string body, std::map<std::string, std::string> headers = {});
    void fail(HttpFailure kind);
    void set_handler(Handler handler);

    std::vector<HttpRequest> requests() const;
    std::size_t count(const std::string& method, const std::string& url_part) const;

    static HttpResponse make(int status, std::string body,
                             std::map<std::string, std::string> headers = {});

  private:
    mutable std::mutex m_mutex;
    std::deque<Outcome> m_queue;
    Handler m_handler;
    std::vector<HttpRequest> m_requests;
};

}  // namespace pgdr::fakes
