// `pgdr certs status` (pg/cert_status.hpp) on recording hosts holding certificates made by pki/:
// what is read (as root), how each host's copies are judged, the exit code and the JSON fields.
#include "pg/cert_status.hpp"

#include <catch2/catch.hpp>

#include "core/error.hpp"
#include "fakes/recording_transport.hpp"
#include "pg/tls.hpp"

using namespace pgdr;
using namespace pgdr::pg;
using pgdr::testing::CallLog;
using pgdr::testing::RecordingTransport;

namespace {

struct Rig {
    Inventory inv = load_inventory(std::string(PGDR_SOURCE_DIR) + "/inventories/lab.yaml");
    pki::ClusterPki state =
        pki::issue_cluster_certs(pki::make_ca("pgdr cluster CA (lab)", pki::k_ca_validity), inv);
    std::shared_ptr<CallLog> log = std::make_shared<CallLog>();
    RecordingTransport pg1{"pg1", log};
    RecordingTransport pg2{"pg2", log};
    RecordingTransport pg3{"pg3", log};
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now();

    Rig() {
        for (auto* t : {&pg1, &pg2, &pg3}) {
            install(*t);
        }
    }
    // What the certificates stage writes, from `state`.
    void install(RecordingTransport& t) {
        for (const auto& c : host_certificates(inv, *inv.find_host(t.host_name()))) {
            const std::string pem = c.service == k_ca_service
                                        ? state.ca.cert_pem
                                        : state.of(t.host_name(), c.service).cert_pem;
            t.set_file(c.cert_path, {pem, "644", c.owner.empty() ? "root:root" : c.owner});
        }
    }
    TransportMap transports() { return {{"pg1", &pg1}, {"pg2", &pg2}, {"pg3", &pg3}}; }
    CertsReport collect(int warn_days = 30) {
        return collect_cert_status(inv, state, transports(), now, warn_days);
    }
};

const CertEntry& entry(const CertsReport& r, const std::string& host, const std::string& service) {
    for (const auto& e : r.entries) {
        if (e.host == host && e.service == service) {
            return e;
        }
    }
    FAIL("no entry " << host << " " << service);
    throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("certs status: every installed certificate, read as root", "[pg][certs]") {
    Rig rig;
    const auto r = rig.collect();
    // The CA, etcd's and postgres's on each of the three hosts, and the operator's.
    REQUIRE(r.entries.size() == 10);
    CHECK(r.exit_code() == 0);
    CHECK(r.ok());
    for (const auto& e : r.entries) {
        INFO(e.host << " " << e.service);
        CHECK(e.check.state == pki::CertState::ok);
    }
    const auto& etcd = entry(r, "pg2", "etcd");
    CHECK(etcd.path == "/etc/pgdr/tls/etcd.crt");
    CHECK(etcd.check.matches_state == true);
    CHECK(etcd.check.info->ip_addresses == std::vector<std::string>{"198.18.0.12", "127.0.0.1"});
    CHECK(entry(r, "(operator)", "operator").check.matches_state == std::nullopt);
    for (const auto& call : rig.log->calls()) {
        CHECK(call.argv.front() == "cat");
        CHECK(call.sudo);  // keys and certificates live in root's /etc/pgdr/tls
    }
    CHECK(render_certs_text(r).find(
              "10 certificate(s): 0 failing, 0 expiring within 30 days\nok") != std::string::npos);
}

TEST_CASE("certs status: mismatched, missing and foreign certificates fail", "[pg][certs]") {
    Rig rig;
    // pg2 serves an etcd certificate the state does not hold (a rotation cut short).
    const auto stray = pki::issue(rig.state.ca, pki::cluster_cert_specs(rig.inv)[2].request);
    rig.pg2.set_file("/etc/pgdr/tls/etcd.crt", {stray.cert_pem, "644", "etcd:etcd"});
    // pg3's postgres certificate is gone; pg1's CA file is another cluster's.
    rig.pg3.run({"rm", "-f", "/etc/pgdr/tls/postgres.crt"}, {});
    const auto other = pki::make_ca("another CA", pki::k_ca_validity);
    rig.pg1.set_file("/etc/pgdr/tls/ca.crt", {other.cert_pem, "644", "root:root"});
    const auto r = rig.collect();
    CHECK(entry(r, "pg2", "etcd").check.state == pki::CertState::mismatch);
    CHECK(entry(r, "pg3", "postgres").check.state == pki::CertState::missing);
    CHECK(entry(r, "pg1", "ca").check.state == pki::CertState::wrong_ca);
    CHECK(entry(r, "pg1", "etcd").check.state == pki::CertState::ok);
    CHECK(r.exit_code() == static_cast<int>(ExitCode::verification_failed));
    const auto j = certs_to_json(r);
    CHECK(j["ok"] == false);
    CHECK(j["exit_code"] == 7);
    CHECK(render_certs_text(r).find("3 failing") != std::string::npos);
}

TEST_CASE("certs status: near expiry warns, exit 0; an unreachable host is exit 5", "[pg][certs]") {
    Rig rig;
    auto spec = pki::cluster_cert_specs(rig.inv)[0];  // pg1.etcd
    spec.request.validity = std::chrono::hours(24 * 12);
    rig.state.certs["pg1.etcd"] = pki::issue(rig.state.ca, spec.request);
    rig.install(rig.pg1);
    auto r = rig.collect();
    CHECK(entry(r, "pg1", "etcd").check.state == pki::CertState::expiring);
    CHECK(r.exit_code() == 0);
    CHECK(rig.collect(10).entries.front().check.state == pki::CertState::ok);

    rig.pg3.set_unreachable(true);
    r = rig.collect();
    CHECK(entry(r, "pg3", "etcd").state_name() == "unreachable");
    CHECK(entry(r, "pg3", "ca").reachable == false);
    CHECK(r.exit_code() == static_cast<int>(ExitCode::unreachable));
    const auto j = certs_to_json(r);
    CHECK(j["certificates"][0]["host"] == "pg1");
    CHECK(j["certificates"].back()["state"] == "ok");
}

TEST_CASE("certs status: the JSON fields", "[pg][certs]") {
    Rig rig;
    rig.pg2.set_file("/etc/pgdr/tls/postgres.crt", {"", "644", "root:root"});
    const auto j = certs_to_json(rig.collect());
    CHECK(j["cluster"] == "lab");
    CHECK(j["warn_days"] == 30);
    CHECK(j["ca"]["subject"] == "pgdr cluster CA (lab)");
    CHECK(j["ca"]["days_left"].get<long long>() >= 3649);
    const auto& first = j["certificates"][0];
    for (const char* key : {"host", "service", "path", "state", "subject", "issuer", "serial",
                            "dns_names", "ip_addresses", "not_before", "not_after", "days_left",
                            "matches_state", "chains_to_ca", "problems"}) {
        INFO(key);
        CHECK(first.contains(key));
    }
    CHECK(first["service"] == "ca");
    CHECK(first["not_after"].get<std::string>().back() == 'Z');
    for (const auto& c : j["certificates"]) {
        if (c["host"] == "pg2" && c["service"] == "postgres") {
            CHECK(c["state"] == "unreadable");
            CHECK(c["serial"].is_null());
            CHECK(c["problems"].size() == 1);
        }
    }
}
