// Every rendered file, for three inventories, against tests/golden/ (see its README.md).
#include <catch2/catch.hpp>

#include "core/backup_repo.hpp"
#include "core/files.hpp"
#include "core/inventory.hpp"
#include "core/state.hpp"
#include "pg/debian_paths.hpp"
#include "pg/secrets.hpp"
#include "pg/stage_files.hpp"
#include "unit/pg/golden.hpp"
#include "unit/pg/plan_fixtures.hpp"
#include "unit/pg/test_tls.hpp"

using namespace pgdr;
using namespace pgdr::pg;
using pgdr::testing::check_golden;
using pgdr::testing::with_ovh_addresses;
using pgdr::testing::with_test_tls;

namespace {

// Fixed test secrets; the bookworm ones are hostile on purpose (quotes, ':', '#', '\', a line
// break in the REST API password, which no passfile holds).
Secrets plain_secrets() {
    return {"test-replication-pw",
            "test-superuser-pw",
            "test-rewind-pw",
            "test-rest-api-pw",
            "test-probe-pw",
            "test-stats-pw",
            {},
            {}};
}
Secrets hostile_secrets() {
    return {"rep'l:\"pw\"#1\\",
            "su \"quoted\" #not-a-comment",
            "re:wi\\nd:",
            "line1\nline2: 'x' # y",
            "pr:obe#",
            "test-stats-pw",
            {},
            {}};
}

Inventory ovh_inventory() {
    return with_ovh_addresses(
        load_inventory(std::string(PGDR_SOURCE_DIR) + "/inventories/ovh.yaml"));
}

// Renders every file of every host of `inv`, stage by stage, into
// tests/golden/<name>/<host>/<path on the host>; returns the number of files compared.
int check_inventory(const std::string& name, const Inventory& inv, const Secrets& secrets) {
    const auto pg_hosts = inv.hosts_with(Service::postgres);
    REQUIRE_FALSE(pg_hosts.empty());
    const HostSpec& primary = *pg_hosts.front();
    int files = 0;
    for (const auto& h : inv.hosts) {
        for (Stage stage : all_stages()) {
            for (const auto& f : stage_files(inv, h, primary, with_test_tls(secrets, inv), stage)) {
                check_golden(name + "/" + h.name + f.path, f.content);
                ++files;
            }
        }
    }
    return files;
}

}  // namespace

TEST_CASE("golden: lab inventory (Debian 13, 3 hosts)", "[pg][golden]") {
    Inventory inv = load_inventory(std::string(PGDR_SOURCE_DIR) + "/inventories/lab.yaml");
    REQUIRE(inv.postgres_version == 17);
    // 3 x (include, hba, start.conf, patroni.yml, etcd settings and drop-in, ...) + 2 x (standby,
    // passfile) + haproxy (haproxy.cfg, the reload script, the unit's drop-in) + certificates (CA,
    // etcd and PostgreSQL key pairs) on each member; no monitor host
    CHECK(check_inventory("lab", inv, plain_secrets()) == 3 * 7 + 2 * 2 + 1 * 3 + 3 * 5);
}

TEST_CASE("golden: ovh inventory (Debian 13, 3 PostgreSQL + 2 HAProxy hosts)", "[pg][golden]") {
    Inventory inv = ovh_inventory();
    // + monitoring: 2 exporters per member, the node exporter and Prometheus + Alertmanager
    // (5 files) on lb1, the node exporter on lb2
    CHECK(check_inventory("ovh", inv, plain_secrets()) ==
          3 * 7 + 2 * 2 + 2 * 3 + 3 * 5 + 2 + 3 * 2 + 6 + 1);
}

TEST_CASE("golden: ovh-twin inventory with pgdr-guard on lb1 and lb2", "[pg][golden][guard]") {
    Inventory inv = with_ovh_addresses(
        load_inventory(std::string(PGDR_GOLDEN_DIR) + "/inventories/ovh-twin-guard.yaml"));
    Secrets secrets = plain_secrets();
    secrets.guard = pgdr::testing::test_guard_inputs(inv);
    // ovh-twin's files, + on lb1 and lb2: the guard's key pair, the binary, guard.json, its
    // provider key, the provider's CA and the unit
    CHECK(check_inventory("ovh-twin-guard", inv, secrets) ==
          3 * 7 + 2 * 2 + 2 * 3 + 3 * 5 + 2 + 2 * (2 + 5));
}

TEST_CASE("golden: bookworm inventory (Debian 12, hostile passwords)", "[pg][golden]") {
    Inventory inv = load_inventory(std::string(PGDR_GOLDEN_DIR) + "/inventories/bookworm.yaml");
    REQUIRE(inv.postgres_version == 15);
    CHECK(check_inventory("bookworm", inv, hostile_secrets()) ==
          3 * 7 + 2 * 2 + 2 * 3 + 3 * 5 + 3 * 2 + 5);
}

namespace {

// The backup section's files (pg/pgbackrest_conf.hpp) and the two files it changes
// (patroni.yml: archive/restore commands and create_replica_methods; the replication include:
// archive_command), per member, and a repository host's, into tests/golden/<name>/<host>/<path>.
// A DR cluster's inventory: the primary's repository it reads (standby_of->archive).
int check_backup_files(const std::string& name, const Inventory& inv, Secrets secrets) {
    const BackupSettings& b = *members_repository(inv);
    secrets.backup.cipher_pass = b.cipher ? "test-cipher-pass" : "";
    secrets.backup.s3_key = "AKPGDRTEST";
    secrets.backup.s3_secret = "test-s3-secret";
    if (!b.repo.ca_file.empty()) {
        secrets.backup.repo_ca_pem = read_text_file(b.repo.ca_file).value_or("");
        REQUIRE_FALSE(secrets.backup.repo_ca_pem.empty());
    }
    const auto tls = with_test_tls(secrets, inv);
    const HostSpec& primary = *inv.hosts_with(Service::postgres).front();
    const auto paths = debian_paths(inv);
    int files = 0;
    for (const auto& h : inv.hosts) {
        for (Stage stage : {Stage::replication, Stage::backup, Stage::patroni}) {
            for (const auto& f : stage_files(inv, h, primary, tls, stage)) {
                if (stage == Stage::backup || f.path == paths.patroni_config ||
                    f.path == paths.include_file) {
                    check_golden(name + "/" + h.name + f.path, f.content);
                    ++files;
                }
            }
        }
    }
    return files;
}

}  // namespace

TEST_CASE("golden: backup section, lab S3 with its CA (Debian 13)", "[pg][golden][backup]") {
    Inventory inv = load_inventory(std::string(PGDR_GOLDEN_DIR) + "/inventories/lab-backup.yaml");
    REQUIRE(inv.backup);
    // per member: include, patroni.yml, CA, pgbackrest.conf, server unit, script, 2 x 2 timers
    CHECK(check_backup_files("backup-lab", inv, plain_secrets()) == 3 * (2 + 4 + 4));
}

TEST_CASE("golden: a DR cluster reads the primary's S3 archive (issue 16)",
          "[pg][golden][backup][dr]") {
    const Inventory pair =
        load_inventory(std::string(PGDR_GOLDEN_DIR) + "/inventories/lab-dr-backup.yaml");
    REQUIRE(pair.backup);
    CHECK(check_backup_files("backup-lab-dr", pair, plain_secrets()) == 3 * (2 + 4 + 4));
    const Inventory dr = dr_inventory(pair);
    REQUIRE(dr.standby_of->archive);
    // per DR member: include, patroni.yml (standby_cluster.restore_command), the repository's
    // CA and a read-only pgbackrest.conf (no server unit, script or timers)
    CHECK(check_backup_files("backup-lab-dr", dr, plain_secrets()) == 2 * (2 + 2));
}

TEST_CASE("golden: backup section, OVH S3 without cipher, full backups only (Debian 12)",
          "[pg][golden][backup]") {
    Inventory inv =
        load_inventory(std::string(PGDR_GOLDEN_DIR) + "/inventories/bookworm-backup.yaml");
    REQUIRE(inv.backup);
    // per member: include, patroni.yml, pgbackrest.conf, server unit, script, full timer + service
    CHECK(check_backup_files("backup-bookworm", inv, plain_secrets()) == 3 * (2 + 3 + 2));
}

TEST_CASE("golden: backup section, a repository host over TLS (posix, Debian 13)",
          "[pg][golden][backup]") {
    Inventory inv = load_inventory(std::string(PGDR_GOLDEN_DIR) + "/inventories/lab-posix.yaml");
    REQUIRE(inv.backup);
    // per member: include, patroni.yml, pgbackrest.conf, server unit (no script, no timers);
    // the repository host: pgbackrest.conf, server unit, script, 2 x 2 timers
    CHECK(check_backup_files("backup-posix", inv, plain_secrets()) == 3 * (2 + 2) + (3 + 4));
}

TEST_CASE("golden: a pair of clusters (lab --regions 2), the primary and its DR cluster",
          "[pg][golden][dr]") {
    const Inventory inv = load_inventory(std::string(PGDR_GOLDEN_DIR) + "/inventories/lab-dr.yaml");
    // As the lab's 3 hosts; patroni.yml keeps the DR slot.
    CHECK(check_inventory("lab-dr", inv, plain_secrets()) == 3 * 7 + 2 * 2 + 1 * 3 + 3 * 5);
    // The DR cluster: both members stream (the first from the primary cluster), r2-pg1 runs its
    // one etcd member and HAProxy (checking /leader); patroni.yml is a standby cluster's.
    CHECK(check_inventory("lab-dr", dr_inventory(inv), plain_secrets()) ==
          (7 + 2 + 3 + 5) + (5 + 2 + 3));
}
