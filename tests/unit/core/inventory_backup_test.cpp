// The inventory's backup section (issue 14; pgdr-inventory(5)): values, defaults and every
// refusal with file:line:column.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "core/files.hpp"
#include "core/inventory.hpp"
#include "core/inventory_json.hpp"

using namespace pgdr;

namespace {

const char* const k_base = R"(cluster: prod
network: {cidr: 198.18.0.0/24}
hosts:
  - {name: pg1, address: 198.18.0.11, services: [postgres, etcd]}
  - {name: pg2, address: 198.18.0.12, services: [postgres, etcd]}
  - {name: pg3, address: 198.18.0.13, services: [postgres, etcd, haproxy]}
  - {name: repo, address: 198.18.0.20, services: []}
)";

using Lines = std::vector<std::string>;

Lines diagnostics(const std::string& backup) {
    try {
        parse_inventory(std::string(k_base) + backup, "b.yaml");
    } catch (const InventoryError& e) {
        Lines out;
        for (const auto& d : e.diagnostics()) {
            out.push_back(d.format());
        }
        return out;
    }
    return {"(accepted)"};
}

}  // namespace

TEST_CASE("inventory backup: absent keeps the local cp archive", "[inventory][backup]") {
    auto inv = parse_inventory(k_base, "b.yaml");
    CHECK_FALSE(inv.backup);
    CHECK_FALSE(inventory_to_json(inv).contains("backup"));
}

TEST_CASE("inventory backup: every value, and the defaults", "[inventory][backup]") {
    auto inv = parse_inventory(std::string(k_base) + R"(backup:
  repo:
    type: s3
    endpoint: s3.gra.io.cloud.ovh.net
    region: gra
    bucket: pgdr-prod-backup
    uri_style: path
    ca_file: certs/s3-ca.pem
    credentials_file: /etc/pgdr/s3.cred
    path: /backups/prod
  retention_full: 3
  retention_diff: 7
  compress: zst
  cipher: false
  schedule: {full: "Sat 02:00", diff: ""}
)",
                               "/srv/inv/b.yaml");
    REQUIRE(inv.backup);
    const auto& b = *inv.backup;
    CHECK(b.repo.type == "s3");
    CHECK(b.repo.endpoint == "s3.gra.io.cloud.ovh.net");
    CHECK(b.repo.region == "gra");
    CHECK(b.repo.bucket == "pgdr-prod-backup");
    CHECK(b.repo.uri_style == "path");
    CHECK(b.repo.ca_file == "/srv/inv/certs/s3-ca.pem");  // relative to the inventory
    CHECK(b.repo.credentials_file == "/etc/pgdr/s3.cred");
    CHECK(b.repo.path == "/backups/prod");
    CHECK(b.retention_full == 3);
    CHECK(b.retention_diff == 7);
    CHECK(b.compress == "zst");
    CHECK_FALSE(b.cipher);
    CHECK(b.schedule.full == "Sat 02:00");
    CHECK(b.schedule.diff.empty());
    CHECK(inventory_to_json(inv)["backup"]["repo"]["bucket"] == "pgdr-prod-backup");

    auto d = parse_inventory(std::string(k_base) + R"(backup:
  repo: {endpoint: s3.example.net:9000, region: lab, bucket: b-1}
)",
                             "b.yaml");
    REQUIRE(d.backup);
    CHECK(d.backup->repo.type == "s3");
    CHECK(d.backup->repo.uri_style == "host");
    CHECK(d.backup->repo.path == "/pgbackrest/prod");
    CHECK(d.backup->retention_full == 2);
    CHECK(d.backup->retention_diff == 6);
    CHECK(d.backup->compress == "lz4");
    CHECK(d.backup->cipher);
    CHECK(d.backup->schedule.full == "Sun 01:00");
    CHECK(d.backup->schedule.diff == "Mon..Sat 01:00");
}

TEST_CASE("inventory backup: posix on a repository host", "[inventory][backup]") {
    auto inv = parse_inventory(std::string(k_base) + R"(backup:
  repo: {type: posix, host: repo, path: /var/lib/pgbackrest}
)",
                               "b.yaml");
    REQUIRE(inv.backup);
    CHECK(inv.backup->repo.host == "repo");
    CHECK(diagnostics("backup:\n  repo: {type: posix, host: pg2}\n") ==
          Lines{"b.yaml:5:1: backup.repo.host: pg2 runs postgres; the repository must be on a "
                "host that is not a member"});
    CHECK(diagnostics("backup:\n  repo: {type: posix, host: nas}\n") ==
          Lines{"b.yaml: backup.repo.host: no host named 'nas'"});
    CHECK(diagnostics("backup:\n  repo: {type: posix}\n") ==
          Lines{"b.yaml:9:9: backup.repo: type posix needs 'host' (the inventory host holding "
                "it)"});
    CHECK(diagnostics("backup:\n  repo: {type: posix, host: repo, bucket: x}\n") ==
          Lines{"b.yaml:9:43: backup.repo.bucket: only for type s3"});
}

TEST_CASE("inventory backup: refusals with file:line:column", "[inventory][backup][bad]") {
    CHECK(diagnostics("backup: {}\n") ==
          Lines{"b.yaml:8:9: backup: missing required key 'repo' (where the backups go)"});
    CHECK(diagnostics("backup:\n  repo: {type: nfs}\n") ==
          Lines{"b.yaml:9:9: backup.repo: type s3 needs 'endpoint' (the object storage's "
                "host[:port])",
                "b.yaml:9:9: backup.repo: type s3 needs 'region' (the S3 region)",
                "b.yaml:9:9: backup.repo: type s3 needs 'bucket' (the bucket's name)",
                "b.yaml:9:16: backup.repo.type: 'nfs' is not valid; expected s3 (object "
                "storage) or posix (a directory on a repository host)"});
    const std::string repo = "  repo: {endpoint: s3.example.net, region: gra, bucket: bk1";
    CHECK(diagnostics("backup:\n" + repo + ", uri_style: vhost}\n") ==
          Lines{"b.yaml:9:73: backup.repo.uri_style: 'vhost' is not valid; expected host "
                "(bucket.endpoint) or path (endpoint/bucket)"});
    CHECK(diagnostics("backup:\n  repo: {endpoint: 'https://s3.example.net', region: gra, "
                      "bucket: bk1}\n") ==
          Lines{"b.yaml:9:20: backup.repo.endpoint: 'https://s3.example.net' is not valid; "
                "expected host[:port] such as s3.gra.io.cloud.ovh.net (no scheme: always "
                "https)"});
    CHECK(diagnostics("backup:\n" + repo + ", host: repo}\n") ==
          Lines{"b.yaml:9:68: backup.repo.host: only for type posix (a repository host)"});
    CHECK(diagnostics("backup:\n" + repo + ", bukket: x}\n") ==
          Lines{"b.yaml:9:62: backup.repo: unknown key 'bukket'; did you mean 'bucket'?"});
    CHECK(diagnostics("backup:\n" + repo + "}\n  compress: xz\n") ==
          Lines{"b.yaml:10:13: backup.compress: 'xz' is not valid; expected one of none, gz, "
                "bz2, lz4, zst"});
    CHECK(diagnostics("backup:\n" + repo + "}\n  retention_full: 0\n") ==
          Lines{"b.yaml:10:19: backup.retention_full (full backups kept): 0 is out of range (1 "
                "to 9999)"});
    CHECK(diagnostics("backup:\n" + repo + "}\n  schedule: {full: 'Sun; rm -rf /'}\n") ==
          Lines{"b.yaml:10:20: backup.schedule.full: 'Sun; rm -rf /' is not valid; expected a "
                "systemd calendar expression such as 'Sun 01:00', or \"\" for none"});
    CHECK(diagnostics("backup:\n" + repo + "}\n  cipher: maybe\n") ==
          Lines{"b.yaml:10:11: backup.cipher: expected true or false, found 'maybe'"});
}
