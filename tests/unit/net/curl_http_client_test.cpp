// CurlHttpClient against a scripted loopback TCP server: what is sent, what is returned, and how
// each kind of failure is classified.
#include "net/curl_http_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <thread>

using namespace std::chrono_literals;

namespace {

// One listening socket on 127.0.0.1:<random>; `serve` runs on a thread for one connection and
// receives the connected socket and the raw request bytes read so far.
class ScriptedServer {
  public:
    using Script = std::function<void(int fd, const std::string& request)>;

    // read_first: read the HTTP request before running the script (off for non-HTTP clients).
    explicit ScriptedServer(Script script, bool read_first = true) {
        m_listen = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = 0;
        REQUIRE(::bind(m_listen, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        REQUIRE(::listen(m_listen, 4) == 0);
        socklen_t len = sizeof addr;
        ::getsockname(m_listen, reinterpret_cast<sockaddr*>(&addr), &len);
        m_port = ntohs(addr.sin_port);
        m_thread = std::thread([this, script, read_first] {
            int fd = ::accept(m_listen, nullptr, nullptr);
            if (fd < 0) {
                return;
            }
            std::string request = read_first ? read_request(fd) : std::string();
            m_request = request;
            script(fd, request);
            ::close(fd);
        });
    }
    ~ScriptedServer() {
        ::shutdown(m_listen, SHUT_RDWR);
        ::close(m_listen);
        if (m_thread.joinable()) {
            m_thread.join();
        }
    }
    std::string url(const std::string& path) const {
        return "http://127.0.0.1:" + std::to_string(m_port) + path;
    }
    int port() const { return m_port; }
    const std::string& request() const { return m_request; }

    static void write_all(int fd, const std::string& data) {
        std::size_t off = 0;
        while (off < data.size()) {
            auto n = ::write(fd, data.data() + off, data.size() - off);
            if (n <= 0) {
                return;
            }
            off += static_cast<std::size_t>(n);
        }
    }

  private:
    // Reads headers, then Content-Length bytes of body.
    static std::string read_request(int fd) {
        std::string data;
        char buf[4096];
        std::size_t need = std::string::npos;
        while (true) {
            auto head_end = data.find("\r\n\r\n");
            if (head_end != std::string::npos && need == std::string::npos) {
                std::size_t body_len = 0;
                auto cl = data.find("Content-Length: ");
                if (cl != std::string::npos && cl < head_end) {
                    body_len = std::stoul(data.substr(cl + 16));
                }
                need = head_end + 4 + body_len;
            }
            if (need != std::string::npos && data.size() >= need) {
                return data;
            }
            auto n = ::read(fd, buf, sizeof buf);
            if (n <= 0) {
                return data;
            }
            data.append(buf, static_cast<std::size_t>(n));
        }
    }

    int m_listen = -1;
    int m_port = 0;
    std::thread m_thread;
    std::string m_request;
};

pgdr::HttpTransportError send_expecting_failure(pgdr::HttpRequest req) {
    pgdr::net::CurlHttpClient client;
    try {
        client.send(req);
    } catch (const pgdr::HttpTransportError& e) {
        return e;
    }
    FAIL("no HttpTransportError was thrown");
    throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("CurlHttpClient sends method, headers and exact body; returns status and headers",
          "[net][curl]") {
    ScriptedServer server([](int fd, const std::string&) {
        ScriptedServer::write_all(fd,
                                  "HTTP/1.1 409 Conflict\r\nContent-Type: application/json\r\n"
                                  "X-Ovh-QueryId: EU.ext-1.abc\r\nContent-Length: 11\r\n"
                                  "Connection: close\r\n\r\n{\"a\":\"b\"}\n\n");
    });
    pgdr::net::CurlHttpClient client;
    pgdr::HttpRequest req;
    req.method = "POST";
    req.url = server.url("/1.0/thing?x=1");
    req.headers["X-Ovh-Application"] = "app";
    req.body = "{\"a\":\"b\",\"c\":\"d\"}";
    auto resp = client.send(req);
    CHECK(resp.status == 409);
    CHECK(resp.header("x-ovh-queryid") == "EU.ext-1.abc");
    CHECK(resp.header("content-type") == "application/json");
    CHECK(resp.body == "{\"a\":\"b\"}\n\n");
    const auto& sent = server.request();
    CHECK(sent.rfind("POST /1.0/thing?x=1 HTTP/1.1\r\n", 0) == 0);
    CHECK(sent.find("X-Ovh-Application: app\r\n") != std::string::npos);
    CHECK(sent.find("Expect:") == std::string::npos);
    CHECK(sent.substr(sent.size() - req.body.size()) == req.body);
}

TEST_CASE("CurlHttpClient sends a DELETE without a body", "[net][curl]") {
    ScriptedServer server([](int fd, const std::string&) {
        ScriptedServer::write_all(fd, "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
    });
    pgdr::net::CurlHttpClient client;
    pgdr::HttpRequest req;
    req.method = "DELETE";
    req.url = server.url("/x");
    auto resp = client.send(req);
    CHECK(resp.status == 204);
    CHECK(resp.body.empty());
    CHECK(server.request().rfind("DELETE /x HTTP/1.1", 0) == 0);
    CHECK(server.request().find("Content-Length") == std::string::npos);
}

TEST_CASE("CurlHttpClient classifies a silent server as timeout", "[net][curl]") {
    ScriptedServer server([](int, const std::string&) { std::this_thread::sleep_for(1500ms); });
    pgdr::HttpRequest req;
    req.url = server.url("/slow");
    req.timeout = 300ms;
    auto start = std::chrono::steady_clock::now();
    auto e = send_expecting_failure(req);
    CHECK(e.kind() == pgdr::HttpFailure::timeout);
    CHECK_FALSE(e.permanent());
    CHECK(std::chrono::steady_clock::now() - start < 1400ms);
}

TEST_CASE("CurlHttpClient classifies a refused connection as connect", "[net][curl]") {
    // A socket bound but not listening: connections to its port are refused while it lives.
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    pgdr::HttpRequest req;
    req.url = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/";
    auto e = send_expecting_failure(req);
    ::close(fd);
    CHECK(e.kind() == pgdr::HttpFailure::connect);
}

TEST_CASE("CurlHttpClient classifies a garbage or cut answer as protocol", "[net][curl]") {
    SECTION("not HTTP") {
        ScriptedServer server([](int fd, const std::string&) {
            ScriptedServer::write_all(fd, "SSH-2.0-OpenSSH_9.2\r\n");
        });
        pgdr::HttpRequest req;
        req.url = server.url("/");
        CHECK(send_expecting_failure(req).kind() == pgdr::HttpFailure::protocol);
    }
    SECTION("truncated body") {
        ScriptedServer server([](int fd, const std::string&) {
            ScriptedServer::write_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort");
        });
        pgdr::HttpRequest req;
        req.url = server.url("/");
        CHECK(send_expecting_failure(req).kind() == pgdr::HttpFailure::protocol);
    }
}

TEST_CASE("CurlHttpClient classifies a TLS handshake against plain HTTP as tls", "[net][curl]") {
    ScriptedServer server(
        [](int fd, const std::string&) {
            ScriptedServer::write_all(fd, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
            // Keep the connection open so that curl reads the reply as a TLS record.
            std::this_thread::sleep_for(500ms);
        },
        false);
    pgdr::HttpRequest req;
    req.url = "https://127.0.0.1:" + std::to_string(server.port()) + "/";
    req.timeout = 2000ms;
    auto e = send_expecting_failure(req);
    CHECK(e.kind() == pgdr::HttpFailure::tls);
    CHECK(e.permanent());
}
