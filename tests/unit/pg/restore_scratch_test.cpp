// A scratch host made ready for a restore (pg/restore_scratch.hpp) on a recording transport:
// the packages, Debian's cluster stopped, the restore-only pgbackrest.conf and the CA written
// with put_file, and no secret in any argv.
#include "pg/restore_scratch.hpp"

#include <catch2/catch.hpp>

#include "core/error.hpp"
#include "fakes/recording_transport.hpp"
#include "pg/pgbackrest_conf.hpp"

using namespace pgdr;
using namespace pgdr::pg;
using pgdr::testing::RecordingTransport;

namespace {

Inventory inventory() {
    return parse_inventory(R"(cluster: lab
network: {cidr: 198.18.0.0/24}
hosts:
  - {name: pg1, address: 198.18.0.11, services: [postgres, etcd]}
  - {name: pg2, address: 198.18.0.12, services: [postgres, etcd]}
  - {name: pg3, address: 198.18.0.13, services: [postgres, etcd, haproxy]}
backup:
  repo: {endpoint: 198.18.0.1:9000, region: lab, bucket: pgdr-lab, uri_style: path}
)",
                           "");
}

Secrets secrets() {
    Secrets s;
    s.backup = {"test-cipher-pass", "AKPGDRTEST", "test-s3-secret",
                "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"};
    return s;
}

}  // namespace

TEST_CASE("restore scratch: packages, the stopped cluster, files through put_file",
          "[pg][restore]") {
    const auto inv = inventory();
    RecordingTransport t("scr100");  // every command succeeds
    prepare_scratch_host(inv, t, secrets(), {});
    const auto calls = t.calls();
    REQUIRE(calls.size() >= 5);
    // The boot first: the lab's first-boot unit starts Debian's cluster after SSH answers, and a
    // cluster started after the stop made the restore refuse a running server (CI, stop 25).
    CHECK(calls[0].argv == scratch_boot_wait_argv());
    CHECK(calls[0].argv[2].find("is-system-running --wait") != std::string::npos);
    CHECK(calls[1].argv == scratch_install_argv(inv));
    CHECK(calls[1].argv.back() == "pgbackrest");
    CHECK(calls[1].argv[calls[1].argv.size() - 2] ==
          "postgresql-" + std::to_string(inv.postgres_version));
    CHECK(calls[2].argv == scratch_prepare_argv(inv));
    for (const auto& c : calls) {
        CHECK(c.sudo);
        for (const auto& a : c.argv) {
            CHECK(a.find("test-cipher-pass") == std::string::npos);
            CHECK(a.find("test-s3-secret") == std::string::npos);
        }
    }
    const auto conf = t.file(k_pgbackrest_conf);
    REQUIRE(conf.has_value());
    CHECK(conf->content == render_pgbackrest_restore_conf(inv, secrets()));
    CHECK(conf->content.find("repo1-cipher-pass=test-cipher-pass") != std::string::npos);
    CHECK(conf->mode == "640");
    CHECK(conf->owner == "root:postgres");
    const auto pgconf = t.file("/etc/postgresql/" + std::to_string(inv.postgres_version) +
                               "/main/conf.d/pgdr-restore.conf");
    REQUIRE(pgconf.has_value());
    CHECK(pgconf->content.find("\narchive_mode = off\n") != std::string::npos);
    CHECK(pgconf->content.find("\nmax_wal_senders = 10\n") != std::string::npos);
    CHECK(pgconf->content.find("\nmax_replication_slots = 10\n") != std::string::npos);
    const auto ca = t.file(k_pgbackrest_repo_ca);
    REQUIRE(ca.has_value());
    CHECK(ca->content == secrets().backup.repo_ca_pem);
}

TEST_CASE("restore scratch: a failed step names itself", "[pg][restore]") {
    const auto inv = inventory();
    RecordingTransport t("scr100");
    const auto install = scratch_install_argv(inv);
    t.on({install[0], install[1], install[2]}, 100, "", "E: Unable to locate package pgbackrest");
    try {
        prepare_scratch_host(inv, t, secrets(), {});
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::postgres);
        CHECK(std::string(e.what()).find("installing postgresql and pgbackrest on scr100") !=
              std::string::npos);
        CHECK(std::string(e.what()).find("Unable to locate package") != std::string::npos);
    }
}
