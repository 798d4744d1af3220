#include "twin/server.hpp"

#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <mutex>
#include <stdexcept>

namespace pgdr::twin {

namespace {

// Every method either server answers (HEAD goes to the GET handler), then bind and serve.
void listen(httplib::Server& server, const std::string& host, int port,
            const std::function<void(int)>& on_bound) {
    const int bound = port == 0                         ? server.bind_to_any_port(host)
                      : server.bind_to_port(host, port) ? port
                                                        : -1;
    if (bound <= 0) {
        throw std::runtime_error("cannot listen on " + host + ":" + std::to_string(port));
    }
    on_bound(bound);
    server.listen_after_bind();
}

// The API's routes on `server`; `scheme` is how clients reach it (part of the signed URL).
void route_api(httplib::Server& server, TwinApi& api, const std::string& scheme, std::ostream& log,
               std::mutex& log_mutex) {
    auto handler = [&api, &log, &log_mutex, scheme](const httplib::Request& req,
                                                    httplib::Response& res) {
        const auto start = std::chrono::steady_clock::now();
        HttpRequest in;
        in.method = req.method;
        // The absolute URL the client signed: its Host header and the request target as sent.
        in.url = scheme + "://" + req.get_header_value("Host") + req.target;
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
        log << scheme << ' ' << req.method << ' ' << req.path << ' ' << out.status << ' ' << ms
            << "ms" << std::endl;
    };
    server.Get(".*", handler);
    server.Post(".*", handler);
    server.Put(".*", handler);
    server.Delete(".*", handler);
}

}  // namespace

void serve(TwinApi& api, const std::string& host, int port,
           const std::function<void(int)>& on_bound, std::ostream& log) {
    httplib::Server server;
    std::mutex log_mutex;
    route_api(server, api, "http", log, log_mutex);
    listen(server, host, port, on_bound);
}

void serve_tls(TwinApi& api, const std::string& host, int port, const std::string& cert_file,
               const std::string& key_file, const std::function<void(int)>& on_bound,
               std::ostream& log) {
    httplib::SSLServer server(cert_file.c_str(), key_file.c_str());
    if (!server.is_valid()) {
        throw std::runtime_error("cannot load the API endpoint's certificate " + cert_file);
    }
    std::mutex log_mutex;
    route_api(server, api, "https", log, log_mutex);
    listen(server, host, port, on_bound);
}

void serve_s3(S3Regions& regions, const std::string& host, int port, const std::string& cert_file,
              const std::string& key_file, const std::function<void(int)>& on_bound,
              std::ostream& log) {
    serve_s3_by_host([&](const std::string& h) { return regions.by_host(h); }, host, port,
                     cert_file, key_file, on_bound, log);
}

void serve_s3(S3Api& api, const std::string& host, int port, const std::string& cert_file,
              const std::string& key_file, const std::function<void(int)>& on_bound,
              std::ostream& log) {
    serve_s3_by_host([&](const std::string&) { return &api; }, host, port, cert_file, key_file,
                     on_bound, log);
}

void serve_s3_by_host(const std::function<S3Api*(const std::string&)>& store_of,
                      const std::string& host, int port, const std::string& cert_file,
                      const std::string& key_file, const std::function<void(int)>& on_bound,
                      std::ostream& log) {
    httplib::SSLServer server(cert_file.c_str(), key_file.c_str());
    if (!server.is_valid()) {
        throw std::runtime_error("cannot load the S3 endpoint's certificate " + cert_file);
    }
    std::mutex log_mutex;
    auto handler = [&](const httplib::Request& req, httplib::Response& res) {
        const auto start = std::chrono::steady_clock::now();
        S3Reply out;
        if (S3Api* api = store_of(req.get_header_value("Host")); api == nullptr) {
            out.status = 404;
            out.body =
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchEndpoint"
                "</Code><Message>No Object Storage region for this host</Message></Error>";
        } else {
            HttpRequest in;
            in.method = req.method;
            in.url = req.target;
            in.body = req.body;
            for (const auto& [k, v] : req.headers) {
                in.headers[k] = v;
            }
            out = api->handle(in);
        }
        for (const auto& [k, v] : out.headers) {
            if (k != "Content-Length" && k != "Content-Type") {
                res.set_header(k, v);
            }
        }
        res.status = out.status;
        if (!out.file.empty() || (req.method == "HEAD" && out.headers.count("Content-Length"))) {
            // Streamed from the object's file (HEAD: the length alone).
            const std::string file = out.file;
            const auto base = out.offset;
            const auto length =
                out.file.empty() ? std::stoull(out.headers.at("Content-Length")) : out.length;
            res.set_content_provider(
                length, "application/octet-stream",
                [file, base](size_t offset, size_t size, httplib::DataSink& sink) {
                    std::ifstream in(file, std::ios::binary);
                    in.seekg(static_cast<std::streamoff>(base + offset));
                    std::string chunk(std::min<size_t>(size, 1 << 20), '\0');
                    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
                    if (in.gcount() <= 0) {
                        return false;
                    }
                    sink.write(chunk.data(), static_cast<size_t>(in.gcount()));
                    return true;
                });
        } else {
            auto type = out.headers.find("Content-Type");
            res.set_content(out.body,
                            type == out.headers.end() ? "application/xml" : type->second.c_str());
        }
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - start)
                            .count();
        std::lock_guard lock(log_mutex);
        log << "s3 " << req.method << ' ' << req.path << ' ' << out.status << ' ' << ms << "ms"
            << std::endl;
    };
    server.Get(".*", handler);
    server.Post(".*", handler);
    server.Put(".*", handler);
    server.Delete(".*", handler);
    listen(server, host, port, on_bound);
}

}  // namespace pgdr::twin
