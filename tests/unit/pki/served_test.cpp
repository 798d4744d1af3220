// pki::served_certificate against a TLS server on loopback made here with OpenSSL: immediate
// TLS with a required client certificate (etcd's shape), PostgreSQL's SSLRequest, a server that
// refuses TLS, and a closed port.
#include "pki/served.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <csignal>
#include <thread>

using namespace pgdr::pki;
using std::chrono::hours;

namespace {

// One connection: optionally PostgreSQL's SSLRequest (answered `answer`), then a TLS handshake
// with the server's pair, requiring a client certificate of `ca` when `require_client`.
class OneShotServer {
  public:
    OneShotServer(KeyPair server, std::string ca_pem, bool postgres, char answer = 'S')
        : m_server(std::move(server)), m_ca(std::move(ca_pem)) {
        m_fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(m_fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        socklen_t len = sizeof a;
        ::getsockname(m_fd, reinterpret_cast<sockaddr*>(&a), &len);
        m_port = ntohs(a.sin_port);
        REQUIRE(::listen(m_fd, 1) == 0);
        m_thread = std::thread([this, postgres, answer] { serve(postgres, answer); });
    }
    ~OneShotServer() {
        finish();
        ::close(m_fd);
    }
    int port() const { return m_port; }
    // Waits for the connection to end; true when the client presented a certificate.
    bool client_certificate_seen() {
        finish();
        return m_client_seen;
    }

  private:
    void finish() {
        if (m_thread.joinable()) {
            m_thread.join();
        }
    }
    void serve(bool postgres, char answer) {
        const int c = ::accept(m_fd, nullptr, nullptr);
        if (c < 0) {
            return;
        }
        if (postgres) {
            unsigned char req[8];
            if (::recv(c, req, sizeof req, MSG_WAITALL) != 8 || ::send(c, &answer, 1, 0) != 1 ||
                answer != 'S') {
                ::close(c);
                return;
            }
        }
        SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
        BIO* cb = BIO_new_mem_buf(m_server.cert_pem.data(), -1);
        BIO* kb = BIO_new_mem_buf(m_server.key_pem.data(), -1);
        BIO* ab = BIO_new_mem_buf(m_ca.data(), -1);
        X509* cert = PEM_read_bio_X509(cb, nullptr, nullptr, nullptr);
        EVP_PKEY* key = PEM_read_bio_PrivateKey(kb, nullptr, nullptr, nullptr);
        X509* ca = PEM_read_bio_X509(ab, nullptr, nullptr, nullptr);
        SSL_CTX_use_certificate(ctx, cert);
        SSL_CTX_use_PrivateKey(ctx, key);
        X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), ca);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
        SSL* ssl = SSL_new(ctx);
        SSL_set_fd(ssl, c);
        if (SSL_accept(ssl) == 1) {
            X509* peer = SSL_get1_peer_certificate(ssl);
            m_client_seen = peer != nullptr;
            X509_free(peer);
            char buf[1];
            SSL_read(ssl, buf, 1);  // until the client's close_notify
            SSL_shutdown(ssl);
        }
        SSL_free(ssl);
        SSL_CTX_free(ctx);
        X509_free(cert);
        X509_free(ca);
        EVP_PKEY_free(key);
        BIO_free(cb);
        BIO_free(kb);
        BIO_free(ab);
        ::close(c);
    }

    KeyPair m_server;
    std::string m_ca;
    int m_fd = -1;
    int m_port = 0;
    std::atomic<bool> m_client_seen{false};
    std::thread m_thread;
};

struct Pki {
    // A TLS close_notify written to a peer that already closed raises SIGPIPE; pgdr's main
    // ignores it, the test binary does not.
    Pki() { std::signal(SIGPIPE, SIG_IGN); }
    KeyPair ca = make_ca("test CA", hours(24 * 3650));
    KeyPair server = issue(ca, request(Usage::server_and_client));
    KeyPair client = issue(ca, request(Usage::client));

    static CertRequest request(Usage usage) {
        CertRequest r;
        r.common_name = usage == Usage::client ? "operator" : "pg1 etcd";
        r.dns_names = {"localhost"};
        r.ip_addresses = {"127.0.0.1"};
        r.usage = usage;
        return r;
    }
};

const std::chrono::seconds k_timeout{5};

}  // namespace

TEST_CASE("served certificate: immediate TLS with a required client certificate", "[pki][certs]") {
    Pki p;
    OneShotServer server(p.server, p.ca.cert_pem, false);
    std::string err;
    auto pem = served_certificate("127.0.0.1", server.port(), TlsStart::immediate, &p.client,
                                  k_timeout, &err);
    REQUIRE(pem);
    CHECK(err.empty());
    CHECK(inspect(*pem).serial_hex == inspect(p.server.cert_pem).serial_hex);
    CHECK(fingerprint(*pem) == fingerprint(p.server.cert_pem));
    CHECK(server.client_certificate_seen());
}

TEST_CASE("served certificate: PostgreSQL's SSLRequest first", "[pki][certs]") {
    Pki p;
    OneShotServer server(p.server, p.ca.cert_pem, true);
    std::string err;
    auto pem = served_certificate("127.0.0.1", server.port(), TlsStart::postgres, &p.client,
                                  k_timeout, &err);
    REQUIRE(pem);
    CHECK(inspect(*pem).serial_hex == inspect(p.server.cert_pem).serial_hex);
    CHECK(server.client_certificate_seen());
}

TEST_CASE("served certificate: a server without TLS, and a closed port", "[pki][certs]") {
    Pki p;
    {
        OneShotServer server(p.server, p.ca.cert_pem, true, 'N');
        std::string err;
        CHECK_FALSE(served_certificate("127.0.0.1", server.port(), TlsStart::postgres, &p.client,
                                       k_timeout, &err));
        CHECK(err == "the server refuses TLS (answered 'N')");
    }
    int port = 0;
    {
        // A port that was free a moment ago: nothing listens there now.
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        socklen_t len = sizeof a;
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
        port = ntohs(a.sin_port);
        ::close(fd);
    }
    std::string err;
    CHECK_FALSE(
        served_certificate("127.0.0.1", port, TlsStart::immediate, &p.client, k_timeout, &err));
    CHECK(err.rfind("cannot connect to 127.0.0.1:", 0) == 0);
}
