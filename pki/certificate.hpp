// X.509 certificates for the cluster's own CA, with OpenSSL 3's C API (no `openssl` process).
//
// Keys are EC P-256, written as unencrypted PKCS#8 PEM ("BEGIN PRIVATE KEY"), which etcd (Go's
// crypto/tls), Python's ssl (Patroni), libpq/PostgreSQL and HAProxy all read. Certificates are
// X.509 v3 with SHA-256 signatures: the CA has basicConstraints CA:TRUE (critical) and keyUsage
// keyCertSign + cRLSign; a leaf has CA:FALSE, keyUsage digitalSignature + keyEncipherment, and
// extendedKeyUsage serverAuth, clientAuth or both (Usage), with its DNS names and IP addresses
// as subjectAltNames (clients check those, never the common name).
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace pgdr::pki {

enum class Usage { server, client, server_and_client };

// A certificate and its private key, both PEM.
struct KeyPair {
    std::string cert_pem;
    std::string key_pem;
};

struct CertRequest {
    std::string common_name;
    std::vector<std::string> dns_names;
    std::vector<std::string> ip_addresses;  // IPv4 or IPv6 literals
    Usage usage = Usage::server_and_client;
    std::chrono::hours validity{24 * 825};
};

// What a certificate says, for status reports and tests.
struct CertInfo {
    std::string subject_cn;
    std::string issuer_cn;
    std::string serial_hex;
    std::vector<std::string> dns_names;
    std::vector<std::string> ip_addresses;
    std::chrono::system_clock::time_point not_before;
    std::chrono::system_clock::time_point not_after;
    bool is_ca = false;
    bool server_auth = false;
    bool client_auth = false;
    bool digital_signature = false;
    bool key_cert_sign = false;
};

// A new self-signed CA. Throws pgdr::Error (internal) when OpenSSL fails.
KeyPair make_ca(const std::string& common_name, std::chrono::hours validity);

// A leaf certificate signed by `ca`. Throws pgdr::Error (invalid_config) for an address that is
// not an IP literal or an empty request, (internal) when OpenSSL fails.
KeyPair issue(const KeyPair& ca, const CertRequest& request);

// Throws pgdr::Error (invalid_config) when `cert_pem` is not a PEM certificate.
CertInfo inspect(const std::string& cert_pem);

// True when `cert_pem` chains to `ca_pem` and is within its validity now; `reason` (when given)
// receives OpenSSL's verdict otherwise.
bool verify(const std::string& ca_pem, const std::string& cert_pem, std::string* reason = nullptr);

// The SHA-256 of the certificate's DER encoding, lower-case hex: two PEM texts hold the same
// certificate when their fingerprints are equal (whatever their line endings). Throws like
// inspect().
std::string fingerprint(const std::string& cert_pem);

// True when `cert_pem` is signed by `ca_pem` (its chain), whatever the time: status reports
// tell a certificate of another CA from an expired one.
bool chains_to(const std::string& ca_pem, const std::string& cert_pem,
               std::string* reason = nullptr);

// True when the private key belongs to the certificate.
bool key_matches(const std::string& cert_pem, const std::string& key_pem);

}  // namespace pgdr::pki
