// The cluster CA and its certificates (pki/certificate.hpp): subjectAltNames, key usage,
// expiry, the chain to the CA, the key format the services read.
#include "pki/certificate.hpp"

#include <catch2/catch.hpp>

#include "core/error.hpp"

using namespace pgdr::pki;
using std::chrono::hours;
using std::chrono::system_clock;

namespace {

const KeyPair& test_ca() {
    static const KeyPair ca = make_ca("test CA", hours(24 * 3650));
    return ca;
}

CertRequest member_request(Usage usage = Usage::server_and_client) {
    CertRequest r;
    r.common_name = "pg1 postgres";
    r.dns_names = {"pg1", "localhost"};
    r.ip_addresses = {"198.18.0.11", "127.0.0.1"};
    r.usage = usage;
    r.validity = hours(24 * 90);
    return r;
}

}  // namespace

TEST_CASE("pki: the CA is a CA that signs certificates, with a PKCS#8 EC key", "[pki]") {
    const auto& ca = test_ca();
    CHECK(ca.cert_pem.rfind("-----BEGIN CERTIFICATE-----", 0) == 0);
    CHECK(ca.key_pem.rfind("-----BEGIN PRIVATE KEY-----", 0) == 0);
    const CertInfo info = inspect(ca.cert_pem);
    CHECK(info.is_ca);
    CHECK(info.key_cert_sign);
    CHECK(info.subject_cn == "test CA");
    CHECK(info.issuer_cn == "test CA");
    CHECK(key_matches(ca.cert_pem, ca.key_pem));
    CHECK(verify(ca.cert_pem, ca.cert_pem));
}

TEST_CASE("pki: a member certificate names its host and addresses", "[pki]") {
    const KeyPair pair = issue(test_ca(), member_request());
    const CertInfo info = inspect(pair.cert_pem);
    CHECK(info.subject_cn == "pg1 postgres");
    CHECK(info.issuer_cn == "test CA");
    CHECK(info.dns_names == std::vector<std::string>{"pg1", "localhost"});
    CHECK(info.ip_addresses == std::vector<std::string>{"198.18.0.11", "127.0.0.1"});
    CHECK_FALSE(info.is_ca);
    CHECK_FALSE(info.key_cert_sign);
    CHECK(info.digital_signature);
    CHECK(pair.key_pem.rfind("-----BEGIN PRIVATE KEY-----", 0) == 0);
}

TEST_CASE("pki: extended key usage follows the role", "[pki]") {
    const CertInfo server = inspect(issue(test_ca(), member_request(Usage::server)).cert_pem);
    CHECK(server.server_auth);
    CHECK_FALSE(server.client_auth);
    const CertInfo client = inspect(issue(test_ca(), member_request(Usage::client)).cert_pem);
    CHECK_FALSE(client.server_auth);
    CHECK(client.client_auth);
    const CertInfo both =
        inspect(issue(test_ca(), member_request(Usage::server_and_client)).cert_pem);
    CHECK(both.server_auth);
    CHECK(both.client_auth);
}

TEST_CASE("pki: validity starts before now and ends after the requested time", "[pki]") {
    const auto before = system_clock::now();
    const CertInfo info = inspect(issue(test_ca(), member_request()).cert_pem);
    CHECK(info.not_before <= before);
    const auto left = info.not_after - before;
    CHECK(left > hours(24 * 90 - 1));
    CHECK(left < hours(24 * 90 + 1));
}

TEST_CASE("pki: a certificate chains to its CA only, and its key only matches it", "[pki]") {
    const KeyPair pair = issue(test_ca(), member_request());
    CHECK(verify(test_ca().cert_pem, pair.cert_pem));
    const KeyPair other_ca = make_ca("other CA", hours(24));
    std::string reason;
    CHECK_FALSE(verify(other_ca.cert_pem, pair.cert_pem, &reason));
    CHECK_FALSE(reason.empty());
    CHECK(key_matches(pair.cert_pem, pair.key_pem));
    const KeyPair second = issue(test_ca(), member_request());
    CHECK_FALSE(key_matches(pair.cert_pem, second.key_pem));
    CHECK(inspect(pair.cert_pem).serial_hex != inspect(second.cert_pem).serial_hex);
}

TEST_CASE("pki: an expired certificate does not verify", "[pki]") {
    CertRequest r = member_request();
    r.validity = hours(0);  // notBefore is an hour back: expired at once
    const KeyPair pair = issue(test_ca(), r);
    std::string reason;
    CHECK_FALSE(verify(test_ca().cert_pem, pair.cert_pem, &reason));
    CHECK(reason.find("expired") != std::string::npos);
}

TEST_CASE("pki: bad names and addresses are refused before anything is signed", "[pki]") {
    CertRequest r = member_request();
    r.dns_names = {"pg1,IP:10.0.0.1"};
    CHECK_THROWS_AS(issue(test_ca(), r), pgdr::Error);
    r = member_request();
    r.ip_addresses = {"pg1.example"};
    CHECK_THROWS_AS(issue(test_ca(), r), pgdr::Error);
    r = member_request();
    r.dns_names.clear();
    r.ip_addresses.clear();
    CHECK_THROWS_AS(issue(test_ca(), r), pgdr::Error);
    CHECK_THROWS_AS(inspect("not a certificate"), pgdr::Error);
}
