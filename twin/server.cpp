#include "twin/server.hpp"

#include <httplib.h>

#include <chrono>
#include <mutex>
#include <stdexcept>

namespace pgdr::twin {

void serve(TwinApi& api, const std::string& host, int port,
           const std::function<void(int)>& on_bound, std::ostream& log) {
    httplib::Server server;
    std::mutex log_mutex;
    auto handler = [&](const httplib::Request& req, httplib::Response& res) {
        const auto start = std::chrono::steady_clock::now();
        HttpRequest in;
        in.method = req.method;
        // The absolute URL the client signed: its Host header and the request target as sent.
        in.url = "http://" + req.get_header_value("Host") + req.target;
        in.body = req.body;
        for (const auto& [k, v] : req.headers) {
            in.headers[k] = v;
        }
        const HttpResponse out = api.handle(in);
        for (const auto& [k, v] : out.headers) {
            if (k != "content-type") {
                res.set_header(k, v);
            }
        }
        res.status = out.status;
        res.set_content(out.body, "application/json; charset=utf-8");
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - start)
                            .count();
        std::lock_guard lock(log_mutex);
        log << req.method << ' ' << req.path << ' ' << out.status << ' ' << ms << "ms" << std::endl;
    };
    server.Get(".*", handler);
    server.Post(".*", handler);
    server.Put(".*", handler);
    server.Delete(".*", handler);
    const int bound = port == 0                         ? server.bind_to_any_port(host)
                      : server.bind_to_port(host, port) ? port
                                                        : -1;
    if (bound <= 0) {
        throw std::runtime_error("cannot listen on " + host + ":" + std::to_string(port));
    }
    on_bound(bound);
    server.listen_after_bind();
}

}  // namespace pgdr::twin
