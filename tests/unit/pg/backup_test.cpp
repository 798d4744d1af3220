// pgdr backup's core (pg/backup.hpp) and pgBackRest's configuration (pg/pgbackrest_conf.hpp):
// `info --output=json` and error outputs in pgBackRest's formats (2.45 and 2.55), the commands
// on a recording transport, and the refusals.
#include "pg/backup.hpp"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "core/inventory.hpp"
#include "core/local_transport.hpp"
#include "fakes/recording_transport.hpp"
#include "pg/pgbackrest_conf.hpp"
#include "pg/secrets.hpp"
#include "unit/core/temp_dir.hpp"

using namespace pgdr;
using namespace pgdr::pg;
using pgdr::testing::RecordingTransport;

namespace {

Inventory backup_inventory(const std::string& repo =
                               "{endpoint: s3.lab.internal:9443, region: "
                               "lab, bucket: pgdr-lab, uri_style: path}") {
    return parse_inventory(R"(cluster: lab
network: {cidr: 198.18.0.0/24}
hosts:
  - {name: pg1, address: 198.18.0.11, services: [postgres, etcd]}
  - {name: pg2, address: 198.18.0.12, services: [postgres, etcd]}
  - {name: pg3, address: 198.18.0.13, services: [postgres, etcd, haproxy]}
  - {name: nas, address: 198.18.0.20, services: []}
backup:
  repo: )" + repo + "\n",
                           "");
}

// pgBackRest 2.55.1, a full and a diff backup, the archive's range, no backup running.
const char* const k_info_two_backups =
    R"([{"archive":[{"database":{"id":1,"repo-key":1},"id":"17-1","max":"000000010000000000000009","min":"000000010000000000000003"}],"backup":[{"archive":{"start":"000000010000000000000003","stop":"000000010000000000000003"},"backrest":{"format":5,"version":"2.55.1"},"database":{"id":1,"repo-key":1},"error":false,"info":{"delta":31457280,"repository":{"delta":3145728,"size":3145728},"size":31457280},"label":"20261205-010000F","lsn":{"start":"0/3000028","stop":"0/3000138"},"prior":null,"reference":null,"timestamp":{"start":1796432400,"stop":1796432472},"type":"full"},{"archive":{"start":"000000010000000000000007","stop":"000000010000000000000007"},"backrest":{"format":5,"version":"2.55.1"},"database":{"id":1,"repo-key":1},"error":false,"info":{"delta":1048576,"repository":{"delta":262144,"size":3407872},"size":31457280},"label":"20261205-010000F_20261206-010000D","lsn":{"start":"0/7000028","stop":"0/7000100"},"prior":"20261205-010000F","reference":["20261205-010000F"],"timestamp":{"start":1796518800,"stop":1796518809},"type":"diff"}],"cipher":"aes-256-cbc","db":[{"id":1,"repo-key":1,"system-id":7580000000000000001,"version":"17"}],"name":"lab","repo":[{"cipher":"aes-256-cbc","key":1,"status":{"code":0,"message":"ok"}}],"status":{"code":0,"lock":{"backup":{"held":false}},"message":"ok"}}])";

// A backup running (2.55: the lock's size and size-cplt), no backup yet.
const char* const k_info_running =
    R"([{"archive":[],"backup":[],"cipher":"aes-256-cbc","db":[],"name":"lab","repo":[{"cipher":"aes-256-cbc","key":1,"status":{"code":2,"message":"no valid backups"}}],"status":{"code":2,"lock":{"backup":{"held":true,"size":4294967296,"size-cplt":1073741824}},"message":"no valid backups"}}])";

// pgBackRest 2.45 `info` with a wrong cipher passphrase: status 99, the repository says why.
const char* const k_info_wrong_cipher =
    R"([{"archive":[],"backup":[],"cipher":"aes-256-cbc","db":[],"name":"lab","repo":[{"cipher":"aes-256-cbc","key":1,"status":{"code":99,"message":"[CryptoError] unable to load info file '/pgbackrest/lab/backup/lab/backup.info' or '/pgbackrest/lab/backup/lab/backup.info.copy':\nCryptoError: cipher header invalid\nHINT: is or was the repo encrypted?"}}],"status":{"code":99,"lock":{"backup":{"held":false}},"message":"other"}}])";

// `check` with a wrong passphrase (2.45 on OpenSSL 3).
const char* const k_check_wrong_cipher =
    "P00   INFO: check command begin 2.45: --exec-id=4711-5b3e2f1a --log-level-console=info "
    "--pg1-path=/var/lib/postgresql/15/main --repo1-cipher-pass=<redacted> --stanza=lab\n"
    "P00  ERROR: [095]: unable to load info file '/pgbackrest/lab/archive/lab/archive.info' or "
    "'/pgbackrest/lab/archive/lab/archive.info.copy':\n"
    "            CryptoError: unable to flush EVP context: [478150756] error:1C800064:Provider "
    "routines::bad decrypt\n"
    "            HINT: is or was the repo encrypted?\n"
    "            HINT: use option --stanza if encryption settings are different for the stanza "
    "than the global settings.\n"
    "P00   INFO: check command end: aborted with exception [095]\n";

const char* const k_check_unreachable =
    "P00   INFO: check command begin 2.55.1: --exec-id=812-0a1b2c3d --stanza=lab\n"
    "P00  ERROR: [049]: unable to get address for 's3.lab.internal': [-2] Name or service not "
    "known\n"
    "P00   INFO: check command end: aborted with exception [049]\n";

const char* const k_check_untrusted =
    "P00  ERROR: [095]: unable to verify certificate presented by 's3.lab.internal:9443 "
    "(198.18.0.50)': [20] unable to get local issuer certificate\n"
    "            HINT: is or was the repo encrypted?\n";

const char* const k_check_forbidden =
    "P00  ERROR: [039]: HTTP request failed with 403 (Forbidden):\n"
    "            *** Path/Query ***:\n"
    "            GET /pgdr-lab/?delimiter=%2F&list-type=2&prefix=pgbackrest%2Flab%2Farchive\n"
    "            *** Response Content ***:\n"
    "            <Error><Code>InvalidAccessKeyId</Code></Error>\n";

const char* const k_check_archive_timeout =
    "P00  ERROR: [082]: WAL segment 000000010000000000000012 was not archived before the 60000ms "
    "timeout\n"
    "            HINT: check the archive_command to ensure that all options are correct.\n";

Secrets backup_secrets() {
    Secrets s;
    s.backup = {"test-cipher-pass", "AKPGDRTEST", "test-s3-secret", ""};
    return s;
}

// `pgbackrest info` printing `body` is refused as a wrong passphrase: exit 3, a hint naming it.
void expect_wrong_passphrase(const Inventory& inv, const std::string& body) {
    RecordingTransport bad("pg2");
    bad.on(backup_info_argv(inv), 0, body);
    try {
        read_backup_info(inv, bad);
        FAIL("accepted");
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::invalid_config);
        CHECK(std::string(e.what()).find("wrong_passphrase") != std::string::npos);
        CHECK(e.hint().find("cipher passphrase") != std::string::npos);
    }
}

}  // namespace

TEST_CASE("backup: pgbackrest info JSON, table and JSON", "[pg][backup]") {
    const auto stanzas = parse_pgbackrest_info(k_info_two_backups);
    const auto& s = stanza_of(stanzas, "lab");
    CHECK(s.status_code == 0);
    CHECK(s.cipher == "aes-256-cbc");
    CHECK(s.archive_min == "000000010000000000000003");
    CHECK(s.archive_max == "000000010000000000000009");
    REQUIRE(s.backups.size() == 2);
    const auto& full = s.backups[0];
    CHECK(full.label == "20261205-010000F");
    CHECK(full.type == "full");
    CHECK(full.duration_s() == 72);
    CHECK(full.size == 31457280);
    CHECK(full.repo_size == 3145728);
    CHECK(full.wal_start == "000000010000000000000003");
    CHECK(s.backups[1].prior == "20261205-010000F");
    CHECK(s.backups[1].type == "diff");

    const auto table = render_backup_table(s);
    CHECK(table.find("LABEL") == 0);
    // Columns padded to the widest value (the diff's label), two spaces apart.
    CHECK(table.find("20261205-010000F                   full  2026-12-05T01:00:00Z  "
                     "2026-12-05T01:01:12Z  1m12s     30.0 MiB  3.0 MiB    "
                     "000000010000000000000003  000000010000000000000003\n") != std::string::npos);
    CHECK(table.find("20261205-010000F_20261206-010000D  diff  2026-12-06T01:00:00Z  "
                     "2026-12-06T01:00:09Z  9s        30.0 MiB  3.2 MiB") != std::string::npos);
    CHECK(table.find("WAL archive: 000000010000000000000003 .. 000000010000000000000009") !=
          std::string::npos);

    const auto j = backups_to_json(s);
    CHECK(j["stanza"] == "lab");
    CHECK(j["backups"].size() == 2);
    CHECK(j["backups"][0]["duration_s"] == 72);
    CHECK(j["backups"][0]["repo_size_bytes"] == 3145728);
    CHECK(j["backups"][0]["start"] == "2026-12-05T01:00:00Z");
    CHECK(j["backups"][1]["wal_stop"] == "000000010000000000000007");

    CHECK_THROWS_AS(stanza_of(stanzas, "prod"), Error);
    CHECK_THROWS_AS(parse_pgbackrest_info("P00 ERROR: not json"), Error);
}

TEST_CASE("backup: a running backup's progress", "[pg][backup]") {
    const auto s = stanza_of(parse_pgbackrest_info(k_info_running), "lab");
    CHECK(s.backup_running);
    REQUIRE(s.progress);
    CHECK(*s.progress == Approx(0.25));
    CHECK(s.progress_total == 4294967296LL);
    CHECK(render_backup_table(s).find("a backup is running (25.0%)") != std::string::npos);
    CHECK(render_backup_table(s).find("no backup yet") != std::string::npos);
}

TEST_CASE("backup: pgBackRest's failures become exit codes and hints", "[pg][backup]") {
    auto f = classify_pgbackrest_failure(95, k_check_wrong_cipher);
    CHECK(f.code == 95);
    CHECK(f.kind == "wrong_passphrase");
    CHECK(f.exit == ExitCode::invalid_config);
    CHECK(f.hint.find("secrets/pgbackrest-cipher") != std::string::npos);

    f = classify_pgbackrest_failure(49, k_check_unreachable);
    CHECK(f.kind == "repository_unreachable");
    CHECK(f.exit == ExitCode::unreachable);
    CHECK(f.message ==
          "unable to get address for 's3.lab.internal': [-2] Name or service not known");

    f = classify_pgbackrest_failure(95, k_check_untrusted);
    CHECK(f.kind == "tls_untrusted");
    CHECK(f.exit == ExitCode::invalid_config);
    CHECK(f.hint.find("ca_file") != std::string::npos);

    f = classify_pgbackrest_failure(39, k_check_forbidden);
    CHECK(f.kind == "access_denied");
    CHECK(f.exit == ExitCode::invalid_config);

    f = classify_pgbackrest_failure(82, k_check_archive_timeout);
    CHECK(f.kind == "archive_timeout");
    CHECK(f.exit == ExitCode::postgres);

    f = classify_pgbackrest_failure(1, "sh: 1: pgbackrest: not found\n");
    CHECK(f.kind == "other");
    CHECK(f.message == "sh: 1: pgbackrest: not found");
}

TEST_CASE("backup: list, check and run on a recording transport", "[pg][backup]") {
    const auto inv = backup_inventory();
    RecordingTransport pg1("pg1");
    pg1.on(backup_info_argv(inv), 0, k_info_two_backups);
    const auto info = read_backup_info(inv, pg1);
    CHECK(info.backups.size() == 2);
    REQUIRE(pg1.calls().size() == 1);
    CHECK(pg1.calls()[0].argv == std::vector<std::string>{"runuser", "-u", "postgres", "--",
                                                          "pgbackrest", "--stanza=lab",
                                                          "--output=json", "info"});
    CHECK(pg1.calls()[0].sudo);

    SECTION("a wrong passphrase in info: exit 3") {
        expect_wrong_passphrase(inv, k_info_wrong_cipher);
    }
    SECTION("check: an unreachable repository is exit 5") {
        RecordingTransport leader("pg1");
        leader.on(backup_check_argv(inv), 49, "", k_check_unreachable);
        try {
            check_backup(inv, leader);
            FAIL("accepted");
        } catch (const Error& e) {
            CHECK(e.code() == ExitCode::unreachable);
            CHECK(std::string(e.what()) ==
                  "pgbackrest check on pg1 failed (repository_unreachable): [049] unable to get "
                  "address for 's3.lab.internal': [-2] Name or service not known");
        }
    }
    SECTION("check: ok, with the archiver's state") {
        RecordingTransport leader("pg1");
        leader.on(backup_check_argv(inv), 0, "", "P00   INFO: check command end: completed\n");
        leader.on({"runuser", "-u", "postgres", "--", "psql"}, 0,
                  "42|000000010000000000000009|1764982800.5|3|000000010000000000000008|"
                  "1764982900.25\n");
        const auto c = check_backup(inv, leader);
        CHECK(c.ok);
        REQUIRE(c.archiver_read);
        CHECK(c.archiver.archived_count == 42);
        CHECK(c.archiver.failed_count == 3);
        CHECK(c.archiver.failing());  // the last failure is newer than the last success
    }
    SECTION("run: the script on the leader, then the newest backup") {
        RecordingTransport leader("pg1");
        leader.on(backup_run_argv("diff"), 0, "");
        leader.on(backup_info_argv(inv), 0, k_info_two_backups);
        BackupRunOptions o;
        o.type = "diff";
        const auto b = run_backup(inv, leader, o);
        CHECK(b.label == "20261205-010000F_20261206-010000D");
        REQUIRE(leader.calls().size() == 3);  // info (the repository answers), backup, info
        CHECK(leader.calls()[0].argv == backup_info_argv(inv));
        CHECK(leader.calls()[1].argv == std::vector<std::string>{"runuser", "-u", "postgres", "--",
                                                                 "/usr/local/sbin/pgdr-backup",
                                                                 "diff", "--manual"});
    }
    SECTION("run: an unanswered repository stops it before the backup starts (exit 5)") {
        // Lab, the S3 endpoint stopped: `pgbackrest backup` was still retrying after 12 min
        // (its protocol-timeout is 30 min); info gives up at pgdr's bound.
        RecordingTransport leader("pg1");
        leader.on(backup_info_argv(inv), [](const std::vector<std::string>&, const RunOptions& o) {
            CHECK(o.timeout == std::chrono::seconds(30));
            CommandResult r;
            r.timed_out = true;
            r.exit_status = -1;
            return r;
        });
        leader.on(backup_run_argv("full"), 0, "");
        try {
            run_backup(inv, leader, {});
            FAIL("accepted");
        } catch (const Error& e) {
            CHECK(e.code() == ExitCode::unreachable);
            CHECK(std::string(e.what()).find("repository_unreachable") != std::string::npos);
        }
        REQUIRE(leader.calls().size() == 1);  // no backup started
    }
    SECTION("run: a member that is no longer the leader takes no backup") {
        RecordingTransport leader("pg1");
        leader.on(backup_info_argv(inv), 0, k_info_two_backups);
        leader.on(backup_run_argv("full"), 3,
                  "pgdr-backup: pg1 is not the leader: no backup here\n");
        try {
            run_backup(inv, leader, {});
            FAIL("accepted");
        } catch (const Error& e) {
            CHECK(e.code() == ExitCode::verification_failed);
        }
    }
    SECTION("run: an unknown type is a usage error") {
        BackupRunOptions o;
        o.type = "weekly";
        CHECK_THROWS_AS(run_backup(inv, pg1, o), Error);
    }
}

TEST_CASE("backup: pgBackRest 2.55 on the lab: a wrong passphrase, an unanswered repository",
          "[pg][backup]") {
    const auto inv = backup_inventory();
    SECTION("a wrong passphrase as pgBackRest 2.55 reports it on the lab: exit 3") {
        // Recorded on the lab (a member's pgbackrest.conf with another repo1-cipher-pass): the
        // info file decrypted into garbage (bytes that are no UTF-8) quoted in a FormatError.
        const std::string recorded =
            R"([{"archive":[],"backup":[],"cipher":"aes-256-cbc","db":[],"name":"lab","repo":[)"
            R"({"cipher":"aes-256-cbc","key":1,"status":{"code":99,"message":"[FormatError] )"
            R"(unable to load info file '/pgbackrest/lab/backup/lab/backup.info' or )"
            R"('/pgbackrest/lab/backup/lab/backup.info.copy':\nFormatError: key/value found )"
            "outside of section at line 1: "
            "sj\xe9\x9a\xf5u\xc3h\xff\x9d\x01\xed\xa0\x80\xc0\xafN\\nHINT: "
            R"(backup.info cannot be opened and is required to perform a backup.\nHINT: has a )"
            R"(stanza-create been performed?"}}],"status":{"code":99,"lock":{"backup":)"
            R"({"held":false}},"message":"other"}}])";
        expect_wrong_passphrase(inv, recorded);
    }
    SECTION("info that reaches pgdr's bound (a refused or dropped repository): exit 5") {
        // Seen on the lab with the endpoint on a closed port: pgBackRest retries the connection
        // until its io-timeout, longer than pgdr's bound on info.
        CommandResult slow;
        slow.timed_out = true;
        try {
            throw_pgbackrest_failure("pgbackrest info", "pg1", slow);
            FAIL("accepted");
        } catch (const Error& e) {
            CHECK(e.code() == ExitCode::unreachable);
            CHECK(std::string(e.what()).find("repository_unreachable") != std::string::npos);
        }
        try {  // a backup that outlives its bound is no sign of an unreachable repository
            throw_pgbackrest_failure("pgbackrest backup --type=full", "pg1", slow);
            FAIL("accepted");
        } catch (const Error& e) {
            CHECK(e.code() == ExitCode::postgres);
        }
    }
}

TEST_CASE("backup: no backup section, no backup commands", "[pg][backup]") {
    auto inv = parse_inventory(R"(cluster: lab
network: {cidr: 198.18.0.0/24}
hosts:
  - {name: pg1, address: 198.18.0.11, services: [postgres, etcd]}
  - {name: pg2, address: 198.18.0.12, services: [postgres, etcd]}
  - {name: pg3, address: 198.18.0.13, services: [postgres, etcd, haproxy]}
)",
                               "");
    try {
        require_backup(inv);
        FAIL("accepted");
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::usage);
    }
    CHECK_THROWS_AS(render_pgbackrest_conf(inv, inv.hosts[0], backup_secrets()), Error);
}

TEST_CASE("pgbackrest.conf: members, secrets, refusals", "[pg][backup]") {
    const auto inv = backup_inventory();
    const auto conf = render_pgbackrest_conf(inv, inv.hosts[1], backup_secrets());
    CHECK(conf.find("repo1-s3-uri-style=path\n") != std::string::npos);
    CHECK(conf.find("repo1-storage-verify-tls=y\n") != std::string::npos);
    CHECK(conf.find("repo1-storage-ca-file") == std::string::npos);  // system CAs
    CHECK(conf.find("repo1-cipher-pass=test-cipher-pass\n") != std::string::npos);
    CHECK(conf.find("[lab]\npg1-path=/var/lib/postgresql/17/main\n") != std::string::npos);
    // pg2.. are the other members, through their TLS servers; this host's server lets them in.
    CHECK(conf.find("pg2-host=198.18.0.11\n") != std::string::npos);
    CHECK(conf.find("pg3-host=198.18.0.13\n") != std::string::npos);
    CHECK(conf.find("tls-server-address=198.18.0.12\n") != std::string::npos);
    CHECK(conf.find("tls-server-auth=pg1 postgres (lab)=lab\n") != std::string::npos);
    CHECK(conf.find("tls-server-auth=pg2") == std::string::npos);
    CHECK(conf.find("backup-standby=y\n") != std::string::npos);

    auto missing = backup_secrets();
    missing.backup.s3_secret.clear();
    CHECK_THROWS_AS(render_pgbackrest_conf(inv, inv.hosts[0], missing), Error);
    auto broken = backup_secrets();
    broken.backup.s3_key = "AK\nrepo1-path=/elsewhere";
    CHECK_THROWS_AS(render_pgbackrest_conf(inv, inv.hosts[0], broken), Error);
    CHECK_THROWS_AS(render_pgbackrest_conf(inv, inv.hosts[3], backup_secrets()), Error);

    const auto posix = backup_inventory("{type: posix, host: nas}");
    const auto pconf = render_pgbackrest_conf(posix, posix.hosts[0], backup_secrets());
    CHECK(pconf.find("repo1-type=posix\nrepo1-host=198.18.0.20\nrepo1-host-type=tls\n") !=
          std::string::npos);
    CHECK(pconf.find("repo1-path=/pgbackrest/lab\n") != std::string::npos);

    CHECK(pgbackrest_archive_command(inv) == "pgbackrest --stanza=lab archive-push \"%p\"");
    CHECK(pgbackrest_restore_command(inv) == "pgbackrest --stanza=lab archive-get %f \"%p\"");
    CHECK(pgbackrest_version("bookworm") == "2.45");
    CHECK(pgbackrest_version("trixie") == "2.55.1");
}

TEST_CASE("backup secrets: the S3 credentials file", "[pg][backup][secrets]") {
    BackupSecrets b;
    parse_s3_credentials("# OVH S3 user\naccess_key=AKIA123\nsecret_key=s3cr/et+x=\n", "f", b);
    CHECK(b.s3_key == "AKIA123");
    CHECK(b.s3_secret == "s3cr/et+x=");
    BackupSecrets c;
    CHECK_THROWS_AS(parse_s3_credentials("access_key=AKIA123\n", "f", c), Error);
    CHECK_THROWS_AS(parse_s3_credentials("user=x\n", "f", c), Error);
    CHECK_THROWS_AS(parse_s3_credentials("access_key=a b\nsecret_key=x\n", "f", c), Error);

    pgdr::test::TempDir dir;
    auto inv = backup_inventory();
    inv.paths.state_dir = dir.path();
    ::mkdir((dir.path() + "/secrets").c_str(), 0700);
    const std::string cred = dir.path() + "/secrets/s3-credentials";
    std::ofstream(cred) << "access_key=AKIA123\nsecret_key=topsecret\n";
    ::chmod(cred.c_str(), 0644);
    try {
        load_backup_secrets(inv);
        FAIL("accepted a world-readable credentials file");
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::invalid_config);
        CHECK(std::string(e.what()).find("(mode 644)") != std::string::npos);
        CHECK(std::string(e.what()).find("topsecret") == std::string::npos);
    }
    ::chmod(cred.c_str(), 0600);
    const auto s = load_backup_secrets(inv);
    CHECK(s.s3_secret == "topsecret");
    CHECK(s.cipher_pass.size() >= 32);  // generated into the state directory
    CHECK(load_backup_secrets(inv).cipher_pass == s.cipher_pass);  // and reused
}

namespace {

// Runs the rendered pgdr-backup with fake psql and pgbackrest first in PATH: psql answers
// `recovery` to pg_is_in_recovery() and `streaming` to the count; pgbackrest prints its argv.
CommandResult run_backup_script(const std::string& recovery, const std::string& streaming,
                                const std::vector<std::string>& args) {
    pgdr::test::TempDir dir;
    const std::string bin = dir.path();
    std::ofstream(bin + "/pgdr-backup") << render_backup_script(backup_inventory());
    std::ofstream(bin + "/psql") << "#!/bin/sh\ncase \"$*\" in *pg_is_in_recovery*) echo "
                                 << recovery << ";; *) echo " << streaming << ";; esac\n";
    std::ofstream(bin + "/pgbackrest") << "#!/bin/sh\necho pgbackrest \"$@\"\n";
    for (const char* f : {"/pgdr-backup", "/psql", "/pgbackrest"}) {
        ::chmod((bin + f).c_str(), 0755);
    }
    std::vector<std::string> argv{"env", "PATH=" + bin + ":/usr/bin:/bin", bin + "/pgdr-backup"};
    argv.insert(argv.end(), args.begin(), args.end());
    LocalTransport local;
    return local.run(argv, {});
}

}  // namespace

TEST_CASE("pgdr-backup: only the leader backs up, from a standby when one streams",
          "[pg][backup]") {
    auto r = run_backup_script("f", "2", {"full"});
    CHECK(r.exit_status == 0);
    CHECK(r.out == "pgbackrest --stanza=lab --type=full --backup-standby=y backup\n");
    r = run_backup_script("f", "0", {"diff"});
    CHECK(r.out == "pgbackrest --stanza=lab --type=diff --backup-standby=n backup\n");
    r = run_backup_script("t", "1", {"full"});  // a replica: the timer's run does nothing
    CHECK(r.exit_status == 0);
    CHECK(r.out.find("is not the leader") != std::string::npos);
    CHECK(r.out.find("pgbackrest") == std::string::npos);
    r = run_backup_script("t", "1", {"full", "--manual"});
    CHECK(r.exit_status == 3);
    r = run_backup_script("f", "1", {"weekly"});
    CHECK(r.exit_status == 2);
}
