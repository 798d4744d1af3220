#include "pki/served.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace pgdr::pki {

namespace {

template <typename T, void (*Free)(T*)>
struct Deleter {
    void operator()(T* p) const { Free(p); }
};
using SslCtx = std::unique_ptr<SSL_CTX, Deleter<SSL_CTX, SSL_CTX_free>>;
using Ssl = std::unique_ptr<SSL, Deleter<SSL, SSL_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using KeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;

struct Fd {
    int fd = -1;
    ~Fd() {
        if (fd >= 0) {
            ::close(fd);
        }
    }
};

std::string ssl_error() {
    const unsigned long code = ERR_get_error();
    ERR_clear_error();
    if (code == 0) {
        return "handshake failed";
    }
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    return buf;
}

// A connected socket with send/receive timeouts, or -1 (and `error`).
int connect_with_timeout(const std::string& host, int port, std::chrono::milliseconds timeout,
                         std::string& error) {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    const std::string service = std::to_string(port);
    if (int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &res); rc != 0) {
        error = std::string("cannot resolve ") + host + ": " + ::gai_strerror(rc);
        return -1;
    }
    std::unique_ptr<addrinfo, void (*)(addrinfo*)> guard(res, ::freeaddrinfo);
    const int fd = ::socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, res->ai_protocol);
    if (fd < 0) {
        error = std::string("socket: ") + std::strerror(errno);
        return -1;
    }
    const int flags = ::fcntl(fd, F_GETFL, 0);
    ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    int rc = ::connect(fd, res->ai_addr, res->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
        pollfd p{fd, POLLOUT, 0};
        rc = ::poll(&p, 1, static_cast<int>(timeout.count()));
        int soerr = 0;
        socklen_t len = sizeof soerr;
        if (rc == 1 && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && soerr == 0) {
            rc = 0;
        } else {
            errno = rc == 0 ? ETIMEDOUT : (soerr != 0 ? soerr : errno);
            rc = -1;
        }
    }
    if (rc != 0) {
        error = "cannot connect to " + host + ":" + service + ": " + std::strerror(errno);
        ::close(fd);
        return -1;
    }
    ::fcntl(fd, F_SETFL, flags);
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    return fd;
}

// PostgreSQL's SSLRequest: length 8, code 80877103; the server answers one byte, 'S' for yes.
bool postgres_ssl_request(int fd, std::string& error) {
    const unsigned char request[8] = {0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f};
    if (::send(fd, request, sizeof request, MSG_NOSIGNAL) != static_cast<ssize_t>(sizeof request)) {
        error = std::string("SSLRequest not sent: ") + std::strerror(errno);
        return false;
    }
    char answer = 0;
    if (::recv(fd, &answer, 1, 0) != 1) {
        error = "no answer to the SSLRequest";
        return false;
    }
    if (answer != 'S') {
        error = "the server refuses TLS (answered '" + std::string(1, answer) + "')";
        return false;
    }
    return true;
}

bool use_client_certificate(SSL_CTX* ctx, const KeyPair& client, std::string& error) {
    BioPtr cb(BIO_new_mem_buf(client.cert_pem.data(), static_cast<int>(client.cert_pem.size())));
    BioPtr kb(BIO_new_mem_buf(client.key_pem.data(), static_cast<int>(client.key_pem.size())));
    X509Ptr cert(cb ? PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr) : nullptr);
    KeyPtr key(kb ? PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr) : nullptr);
    if (!cert || !key || SSL_CTX_use_certificate(ctx, cert.get()) != 1 ||
        SSL_CTX_use_PrivateKey(ctx, key.get()) != 1) {
        error = "the client certificate cannot be used: " + ssl_error();
        return false;
    }
    return true;
}

std::optional<std::string> handshake(int fd, const KeyPair* client, std::string& error) {
    SslCtx ctx(SSL_CTX_new(TLS_client_method()));
    if (!ctx) {
        error = ssl_error();
        return std::nullopt;
    }
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
    if (client != nullptr && !use_client_certificate(ctx.get(), *client, error)) {
        return std::nullopt;
    }
    Ssl ssl(SSL_new(ctx.get()));
    if (!ssl || SSL_set_fd(ssl.get(), fd) != 1 || SSL_connect(ssl.get()) != 1) {
        error = "TLS handshake: " + ssl_error();
        return std::nullopt;
    }
    X509Ptr peer(SSL_get1_peer_certificate(ssl.get()));
    SSL_shutdown(ssl.get());
    if (!peer) {
        error = "the server presented no certificate";
        return std::nullopt;
    }
    BioPtr out(BIO_new(BIO_s_mem()));
    if (!out || PEM_write_bio_X509(out.get(), peer.get()) != 1) {
        error = ssl_error();
        return std::nullopt;
    }
    char* data = nullptr;
    const long n = BIO_get_mem_data(out.get(), &data);
    return std::string(data, static_cast<std::size_t>(n));
}

}  // namespace

std::optional<std::string> served_certificate(const std::string& host, int port, TlsStart start,
                                              const KeyPair* client,
                                              std::chrono::milliseconds timeout,
                                              std::string* error) {
    std::string why;
    Fd sock;
    sock.fd = connect_with_timeout(host, port, timeout, why);
    std::optional<std::string> pem;
    if (sock.fd >= 0 && (start != TlsStart::postgres || postgres_ssl_request(sock.fd, why))) {
        pem = handshake(sock.fd, client, why);
    }
    if (!pem && error != nullptr) {
        *error = why;
    }
    return pem;
}

}  // namespace pgdr::pki
