// The judgement of an installed certificate (pki/cert_check.hpp) on certificates made by pki/:
// good, near expiry, expired, different from the state's copy, of another CA, missing, garbage.
#include "pki/cert_check.hpp"

#include <catch2/catch.hpp>

using namespace pgdr::pki;
using std::chrono::hours;

namespace {

CertRequest request(hours validity) {
    CertRequest r;
    r.common_name = "pg1 etcd (lab)";
    r.dns_names = {"pg1", "localhost"};
    r.ip_addresses = {"198.18.0.11", "127.0.0.1"};
    r.validity = validity;
    return r;
}

struct Fixture {
    KeyPair ca = make_ca("pgdr cluster CA (lab)", hours(24 * 3650));
    // A minute before the certificates are made: whole days left do not depend on the
    // sub-second part of the time (certificates keep whole seconds).
    std::chrono::system_clock::time_point now =
        std::chrono::system_clock::now() - std::chrono::minutes(1);
};

}  // namespace

TEST_CASE("cert check: a good certificate, the same as the state's", "[pki][certs]") {
    Fixture f;
    const auto leaf = issue(f.ca, request(hours(24 * 825)));
    const auto c = judge_certificate(leaf.cert_pem, leaf.cert_pem, f.ca.cert_pem, f.now, 30);
    CHECK(c.state == CertState::ok);
    CHECK(c.problems.empty());
    REQUIRE(c.info);
    CHECK(c.info->subject_cn == "pg1 etcd (lab)");
    CHECK(c.info->dns_names == std::vector<std::string>{"pg1", "localhost"});
    CHECK(c.chains_to_ca);
    CHECK(c.matches_state == true);
    CHECK(c.days_left == 825);
    CHECK_FALSE(is_failure(c.state));
}

TEST_CASE("cert check: near expiry is a warning, not a failure", "[pki][certs]") {
    Fixture f;
    const auto leaf = issue(f.ca, request(hours(24 * 10)));
    auto c = judge_certificate(leaf.cert_pem, leaf.cert_pem, f.ca.cert_pem, f.now, 30);
    CHECK(c.state == CertState::expiring);
    CHECK(c.days_left == 10);
    REQUIRE(c.problems.size() == 1);
    CHECK(c.problems[0] == "only 10 day(s) left (under 30)");
    CHECK_FALSE(is_failure(c.state));
    // --warn-days 5: no warning.
    c = judge_certificate(leaf.cert_pem, leaf.cert_pem, f.ca.cert_pem, f.now, 5);
    CHECK(c.state == CertState::ok);
}

TEST_CASE("cert check: expired, and not valid yet", "[pki][certs]") {
    Fixture f;
    const auto leaf = issue(f.ca, request(hours(1)));
    auto c = judge_certificate(leaf.cert_pem, leaf.cert_pem, f.ca.cert_pem, f.now + hours(50), 30);
    CHECK(c.state == CertState::expired);
    CHECK(c.days_left == -2);
    CHECK(c.chains_to_ca);  // expiry is told apart from another CA
    CHECK(is_failure(c.state));
    CHECK(c.problems == std::vector<std::string>{"it expired 2 day(s) ago"});
    c = judge_certificate(leaf.cert_pem, leaf.cert_pem, f.ca.cert_pem, f.now + hours(2), 30);
    CHECK(c.state == CertState::expired);
    CHECK(c.days_left == -1);  // expired within the last day
    c = judge_certificate(leaf.cert_pem, leaf.cert_pem, f.ca.cert_pem, f.now - hours(3), 30);
    CHECK(c.state == CertState::expired);
    CHECK(c.problems.front().find("not valid yet") != std::string::npos);
}

TEST_CASE("cert check: a certificate other than the state's is a mismatch", "[pki][certs]") {
    Fixture f;
    const auto installed = issue(f.ca, request(hours(24 * 825)));
    const auto stored = issue(f.ca, request(hours(24 * 825)));
    const auto c = judge_certificate(installed.cert_pem, stored.cert_pem, f.ca.cert_pem, f.now, 30);
    CHECK(c.state == CertState::mismatch);
    CHECK(c.matches_state == false);
    CHECK(c.chains_to_ca);
    CHECK(c.problems == std::vector<std::string>{"it differs from the state directory's copy"});
}

TEST_CASE("cert check: the same certificate with other line endings matches", "[pki][certs]") {
    Fixture f;
    const auto leaf = issue(f.ca, request(hours(24 * 825)));
    std::string crlf;
    for (char ch : leaf.cert_pem) {
        crlf += ch == '\n' ? std::string("\r\n") : std::string(1, ch);
    }
    CHECK(fingerprint(crlf) == fingerprint(leaf.cert_pem));
    CHECK(fingerprint(leaf.cert_pem).size() == 64);
    CHECK(judge_certificate(crlf, leaf.cert_pem, f.ca.cert_pem, f.now, 30).state == CertState::ok);
}

TEST_CASE("cert check: a certificate of another CA", "[pki][certs]") {
    Fixture f;
    const auto other_ca = make_ca("another cluster's CA", hours(24 * 3650));
    const auto leaf = issue(other_ca, request(hours(24 * 825)));
    const auto c = judge_certificate(leaf.cert_pem, std::nullopt, f.ca.cert_pem, f.now, 30);
    CHECK(c.state == CertState::wrong_ca);
    CHECK_FALSE(c.chains_to_ca);
    CHECK_FALSE(c.matches_state.has_value());  // nothing to compare with
    REQUIRE(c.problems.size() == 1);
    CHECK(c.problems[0].rfind("it does not chain to the cluster CA (", 0) == 0);
    // The CA itself chains to itself.
    CHECK(judge_certificate(f.ca.cert_pem, f.ca.cert_pem, f.ca.cert_pem, f.now, 30).state ==
          CertState::ok);
}

TEST_CASE("cert check: missing and unreadable files", "[pki][certs]") {
    Fixture f;
    const auto leaf = issue(f.ca, request(hours(24 * 825)));
    auto c = judge_certificate(std::nullopt, leaf.cert_pem, f.ca.cert_pem, f.now, 30);
    CHECK(c.state == CertState::missing);
    CHECK_FALSE(c.info.has_value());
    CHECK(is_failure(c.state));
    c = judge_certificate(std::string("not a certificate\n"), leaf.cert_pem, f.ca.cert_pem, f.now,
                          30);
    CHECK(c.state == CertState::unreadable);
    CHECK(to_string(c.state) == "unreadable");
    CHECK(to_string(CertState::wrong_ca) == "wrong_ca");
}
