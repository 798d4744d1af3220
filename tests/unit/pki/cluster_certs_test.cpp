// The cluster's certificates in the state directory (pki/cluster_certs.hpp): one per host and
// service with the host's names, 0600 files in a 0700 directory, reused while good.
#include "pki/cluster_certs.hpp"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "core/files.hpp"
#include "core/inventory.hpp"
#include "unit/core/temp_dir.hpp"

using namespace pgdr;
using namespace pgdr::pki;
using pgdr::test::TempDir;
using std::chrono::hours;

namespace {

const char* const k_inventory = R"(cluster: lab
network: {cidr: 198.18.0.0/24}
hosts:
  - {name: pg1, address: 198.18.0.11, services: [postgres, etcd]}
  - {name: pg2, address: 198.18.0.12, services: [postgres, etcd]}
  - {name: pg3, address: 198.18.0.13, services: [etcd]}
  - {name: lb1, address: 198.18.0.21, services: [haproxy]}
)";

unsigned mode_of(const std::string& path) {
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

std::vector<std::string> stems(const std::vector<CertSpec>& specs) {
    std::vector<std::string> out;
    for (const auto& s : specs) {
        out.push_back(s.stem);
    }
    return out;
}

}  // namespace

TEST_CASE("cluster certs: one per host and service, and the operator's", "[pki]") {
    const Inventory inv = parse_inventory(k_inventory, "lab.yaml");
    const auto specs = cluster_cert_specs(inv);
    CHECK(stems(specs) == std::vector<std::string>{"pg1.etcd", "pg1.postgres", "pg2.etcd",
                                                   "pg2.postgres", "pg3.etcd", "operator"});
    CHECK(specs[0].request.dns_names == std::vector<std::string>{"pg1", "localhost"});
    CHECK(specs[0].request.ip_addresses == std::vector<std::string>{"198.18.0.11", "127.0.0.1"});
    // PostgreSQL's certificate also names the HAProxy host clients connect through.
    CHECK(specs[1].request.dns_names == std::vector<std::string>{"pg1", "localhost", "lb1"});
    CHECK(specs[1].request.ip_addresses ==
          std::vector<std::string>{"198.18.0.11", "127.0.0.1", "198.18.0.21"});
    CHECK(specs[1].request.usage == Usage::server_and_client);
    CHECK(specs.back().request.usage == Usage::client);

    // Debian 12: pgBackRest 2.45 dials members by address and checks DNS names only (the lab's
    // stanza-create failed with "unable to find hostname '198.18.0.12' in certificate").
    Inventory bookworm = inv;
    bookworm.release = "bookworm";
    const auto old = cluster_cert_specs(bookworm);
    CHECK(old[1].request.dns_names ==
          std::vector<std::string>{"pg1", "localhost", "198.18.0.11", "lb1"});
    CHECK(old[0].request.dns_names == specs[0].request.dns_names);  // etcd's: unchanged
}

TEST_CASE("cluster certs: written 0600 in a 0700 directory, chained to the CA", "[pki]") {
    TempDir tmp;
    const std::string state = tmp.path() + "/lab.state";
    const Inventory inv = parse_inventory(k_inventory, "lab.yaml");
    const auto pki = ensure_cluster_pki(state, inv, std::chrono::system_clock::now());
    CHECK(pki.issued.size() == 6);
    CHECK(mode_of(pki_dir(state)) == 0700);
    for (const auto& entry : std::filesystem::directory_iterator(pki_dir(state))) {
        INFO(entry.path().string());
        CHECK(mode_of(entry.path().string()) == 0600);
    }
    CHECK(std::filesystem::exists(pki_dir(state) + "/ca.key"));
    for (const auto& [stem, pair] : pki.certs) {
        INFO(stem);
        CHECK(verify(pki.ca.cert_pem, pair.cert_pem));
        CHECK(key_matches(pair.cert_pem, pair.key_pem));
    }
    const CertInfo pg2 = inspect(pki.of("pg2", k_postgres_service).cert_pem);
    CHECK(pg2.ip_addresses == std::vector<std::string>{"198.18.0.12", "127.0.0.1", "198.18.0.21"});
    CHECK_THROWS_AS(pki.of("lb1", k_postgres_service), pgdr::Error);
}

TEST_CASE("cluster certs: reused while good, renewed when names change or time runs out", "[pki]") {
    TempDir tmp;
    const std::string state = tmp.path() + "/lab.state";
    Inventory inv = parse_inventory(k_inventory, "lab.yaml");
    const auto now = std::chrono::system_clock::now();
    const auto first = ensure_cluster_pki(state, inv, now);

    const auto again = ensure_cluster_pki(state, inv, now);
    CHECK(again.issued.empty());
    CHECK(again.ca.cert_pem == first.ca.cert_pem);
    CHECK(again.certs.at("pg1.etcd").cert_pem == first.certs.at("pg1.etcd").cert_pem);

    inv.hosts[1].address = "198.18.0.42";  // pg2 moved: its two certificates follow
    const auto moved = ensure_cluster_pki(state, inv, now);
    CHECK(moved.issued == std::vector<std::string>{"pg2.etcd", "pg2.postgres"});
    CHECK(moved.ca.cert_pem == first.ca.cert_pem);

    // 800 days later every leaf (825 days) has less than 30 days left; the CA stays.
    const auto late = ensure_cluster_pki(state, inv, now + hours(24 * 800));
    CHECK(late.issued.size() == 6);
    CHECK(late.ca.cert_pem == first.ca.cert_pem);

    const auto rotated = ensure_cluster_pki(state, inv, now, Renew::all);
    CHECK(rotated.issued.size() == 6);
    CHECK(rotated.certs.at("pg1.etcd").cert_pem != late.certs.at("pg1.etcd").cert_pem);
}

TEST_CASE("cluster certs: a CA key that does not match its certificate is refused", "[pki]") {
    TempDir tmp;
    const std::string state = tmp.path() + "/lab.state";
    const Inventory inv = parse_inventory(k_inventory, "lab.yaml");
    ensure_cluster_pki(state, inv, std::chrono::system_clock::now());
    const KeyPair other = make_ca("other", hours(24));
    write_file_atomic(pki_dir(state) + "/ca.key", other.key_pem, 0600);
    CHECK_THROWS_AS(ensure_cluster_pki(state, inv, std::chrono::system_clock::now()), pgdr::Error);
}
