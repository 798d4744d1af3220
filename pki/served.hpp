// The certificate a TLS server presents, fetched with OpenSSL's C API: `pgdr certs rotate`
// proves that every service serves the new certificate (its serial) after the reloads.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "pki/certificate.hpp"

namespace pgdr::pki {

// How the connection starts: TLS at once (etcd, Patroni REST), or PostgreSQL's SSLRequest
// (the server answers 'S', then the TLS handshake) for PostgreSQL.
enum class TlsStart { immediate, postgres };

// Connects to host:port (an address or name; IPv6 without brackets) within `timeout`, completes
// a TLS handshake presenting `client` when given (etcd requires a client certificate; every
// cluster certificate chains to the CA), and returns the server's certificate as PEM. The
// server is not verified here: the caller compares the certificate with the one it installed.
// The process must ignore SIGPIPE (pgdr's main does): OpenSSL writes to the socket itself.
// std::nullopt, with `error` filled, when the connection, the SSLRequest or the handshake fails.
std::optional<std::string> served_certificate(const std::string& host, int port, TlsStart start,
                                              const KeyPair* client,
                                              std::chrono::milliseconds timeout,
                                              std::string* error = nullptr);

}  // namespace pgdr::pki
