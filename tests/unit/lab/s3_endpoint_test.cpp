// The lab's S3 endpoint: its files (CA, server certificate for the listening address, a
// bucket-scoped credential), the credentials file format and the inventory's backup section.
#include "lab/s3_endpoint.hpp"

#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <catch2/catch.hpp>

#include "core/files.hpp"
#include "core/inventory.hpp"
#include "lab/lab.hpp"
#include "pki/certificate.hpp"
#include "unit/core/temp_dir.hpp"
#include "unit/pg/golden.hpp"

using namespace pgdr;
using namespace pgdr::lab;

namespace {
unsigned mode_of(const std::string& path) {
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return st.st_mode & 0777;
}
}  // namespace

TEST_CASE("lab s3: the credentials file format", "[lab][s3]") {
    const S3Keys keys{"AKLAB", "s3cr3t"};
    CHECK(render_s3_keys(keys) == "access_key=AKLAB\nsecret_key=s3cr3t\n");
    auto back = parse_s3_keys("# comment\n access_key = AKLAB \nother=1\nsecret_key=s3cr3t\n");
    REQUIRE(back);
    CHECK(back->access_key == "AKLAB");
    CHECK(back->secret_key == "s3cr3t");
    CHECK_FALSE(parse_s3_keys("access_key=AKLAB\n"));
    CHECK_FALSE(parse_s3_keys("access_key=\nsecret_key=x\n"));
}

TEST_CASE("lab s3: CA, server certificate for the address and a 0600 credential", "[lab][s3]") {
    test::TempDir tmp;
    const LabS3Paths p(tmp.path());
    const auto keys = ensure_lab_s3_files(p, "198.18.0.1");
    CHECK(keys.access_key.rfind("PGDRLAB", 0) == 0);
    CHECK(keys.access_key.size() == 20);
    CHECK(keys.secret_key.size() == 40);
    CHECK(mode_of(p.dir) == 0700);
    CHECK(mode_of(p.credentials()) == 0600);
    CHECK(mode_of(p.ca_key()) == 0600);
    CHECK(mode_of(p.server_key()) == 0600);
    CHECK(parse_s3_keys(*read_text_file(p.credentials()))->secret_key == keys.secret_key);

    const auto ca = *read_text_file(p.ca_cert());
    const auto cert = *read_text_file(p.server_cert());
    CHECK(pki::inspect(ca).is_ca);
    const auto info = pki::inspect(cert);
    CHECK(info.ip_addresses == std::vector<std::string>{"198.18.0.1"});
    // Also a DNS name: pgBackRest 2.45 (Debian 12) matches the endpoint against DNS names only.
    CHECK(info.dns_names == std::vector<std::string>{"198.18.0.1"});
    CHECK(info.server_auth);
    CHECK(pki::verify(ca, cert));
    CHECK(pki::key_matches(cert, *read_text_file(p.server_key())));

    SECTION("a second run keeps everything") {
        const auto again = ensure_lab_s3_files(p, "198.18.0.1");
        CHECK(again.access_key == keys.access_key);
        CHECK(*read_text_file(p.server_cert()) == cert);
        CHECK(*read_text_file(p.ca_cert()) == ca);
    }
    SECTION("another address: a new server certificate from the same CA, same credential") {
        const auto again = ensure_lab_s3_files(p, "127.0.0.1");
        CHECK(again.secret_key == keys.secret_key);
        const auto cert2 = *read_text_file(p.server_cert());
        CHECK(pki::inspect(cert2).ip_addresses == std::vector<std::string>{"127.0.0.1"});
        CHECK(*read_text_file(p.ca_cert()) == ca);
        CHECK(pki::verify(ca, cert2));
    }
}

TEST_CASE("lab s3: the inventory's backup section", "[lab][s3][golden]") {
    const LabPaths paths("/var/lib/pgdr/lab");
    const auto section = render_lab_backup_section(LabS3Paths(paths.dir), "198.18.0.1", 9000);
    testing::check_golden("lab/backup-section.yaml", section);
    // Appended to the lab inventory, the whole file is still one YAML document with it.
    const auto text = Lab::render_inventory(paths, LabConfig{}, Lab::plan_hosts(3)) + section;
    const auto doc = YAML::Load(text);
    const auto repo = doc["backup"]["repo"];
    CHECK(repo["type"].as<std::string>() == "s3");
    CHECK(repo["endpoint"].as<std::string>() == "198.18.0.1:9000");
    CHECK(repo["region"].as<std::string>() == "lab");
    CHECK(repo["bucket"].as<std::string>() == "pgdr-lab");
    CHECK(repo["uri_style"].as<std::string>() == "path");
    CHECK(repo["ca_file"].as<std::string>() == "/var/lib/pgdr/lab/s3/ca.pem");
    CHECK(repo["credentials_file"].as<std::string>() == "/var/lib/pgdr/lab/s3/credentials");
    CHECK(doc["cluster"].as<std::string>() == "lab");
}

TEST_CASE("lab: the default inventory has a monitor host beside HAProxy", "[lab]") {
    // Issue 15 (fixed interface): the lab's default inventory gets a `monitor` host.
    for (int count : {3, 4, 5}) {
        const auto hosts = Lab::plan_hosts(count);
        int monitors = 0;
        for (const auto& h : hosts) {
            const bool has =
                std::find(h.services.begin(), h.services.end(), "monitor") != h.services.end();
            const bool proxy =
                std::find(h.services.begin(), h.services.end(), "haproxy") != h.services.end();
            monitors += has ? 1 : 0;
            CHECK(has == proxy);
        }
        CHECK(monitors == 1);
    }
    const auto text =
        Lab::render_inventory(LabPaths("/var/lib/pgdr/lab"), LabConfig{}, Lab::plan_hosts(3));
    CHECK(text.find("services: [postgres, etcd, haproxy, monitor]") != std::string::npos);
}
