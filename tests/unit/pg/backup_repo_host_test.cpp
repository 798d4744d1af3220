// A pgBackRest repository host (backup.repo.type posix, issue 14): where each pgBackRest command
// runs (recording transports), what each host's configuration holds (the cipher passphrase only
// on the repository host, who each TLS server lets in), the backup stage's plan, the scratch
// host's restore client, the certificates and the security group's pgBackRest rules.
#include <sys/stat.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>

#include "core/backup_repo.hpp"
#include "core/inventory.hpp"
#include "core/local_transport.hpp"
#include "fakes/recording_transport.hpp"
#include "ovh/layout.hpp"
#include "pg/backup.hpp"
#include "pg/cluster_restore.hpp"
#include "pg/pgbackrest_conf.hpp"
#include "pg/restore_scratch.hpp"
#include "pg/stage_backup.hpp"
#include "pg/stage_files.hpp"
#include "pki/cluster_certs.hpp"
#include "unit/core/temp_dir.hpp"
#include "unit/pg/test_tls.hpp"

using namespace pgdr;
using namespace pgdr::pg;
using pgdr::testing::RecordingTransport;
using Argv = std::vector<std::string>;

namespace {

Inventory repo_inventory(const std::string& repo = "{type: posix, host: nas}") {
    return parse_inventory(R"(cluster: lab
network: {cidr: 198.18.0.0/24}
hosts:
  - {name: pg1, address: 198.18.0.11, services: [postgres, etcd]}
  - {name: pg2, address: 198.18.0.12, services: [postgres, etcd]}
  - {name: pg3, address: 198.18.0.13, services: [postgres, etcd]}
  - {name: lb1, address: 198.18.0.30, services: [haproxy]}
  - {name: nas, address: 198.18.0.20, services: []}
backup:
  repo: )" + repo + "\n",
                           "");
}

Secrets repo_secrets(const Inventory& inv) {
    Secrets s;
    s.backup.cipher_pass = "test-cipher-pass";
    return pgdr::testing::with_test_tls(s, inv);
}

bool has(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

const char* const k_info =
    R"([{"archive":[],"backup":[{"archive":{"start":"000000010000000000000003","stop":"000000010000000000000003"},"database":{"id":1,"repo-key":1},"error":false,"info":{"delta":31457280,"repository":{"delta":3145728,"size":3145728},"size":31457280},"label":"20261205-010000F","lsn":{"start":"0/3000028","stop":"0/3000138"},"prior":null,"reference":null,"timestamp":{"start":1796432400,"stop":1796432472},"type":"full"}],"cipher":"aes-256-cbc","db":[],"name":"lab","repo":[{"cipher":"aes-256-cbc","key":1,"status":{"code":0,"message":"ok"}}],"status":{"code":0,"lock":{"backup":{"held":false}},"message":"ok"}}])";

const Step* find_step(const Plan& plan, const std::string& name) {
    for (const auto& sp : plan.stages) {
        for (const auto& st : sp.steps) {
            if (st.name == name) {
                return &st;
            }
        }
    }
    return nullptr;
}

std::vector<std::string> descriptions(const HostActions& ha) {
    std::vector<std::string> out;
    for (const auto& a : ha.actions) {
        if (const auto* c = std::get_if<RunCommand>(&a)) {
            out.push_back(c->description);
        } else if (const auto* f = std::get_if<PutFile>(&a)) {
            out.push_back("put " + f->path);
        }
    }
    return out;
}

bool any_starts(const std::vector<std::string>& items, const std::string& prefix) {
    return std::any_of(items.begin(), items.end(),
                       [&](const std::string& i) { return i.rfind(prefix, 0) == 0; });
}

}  // namespace

TEST_CASE("repository host: the inventory names it", "[pg][backup][repo-host]") {
    const auto inv = repo_inventory();
    REQUIRE(backup_repo_host(inv) != nullptr);
    CHECK(backup_repo_host(inv)->name == "nas");
    CHECK(is_backup_repo_host(inv, "nas"));
    CHECK_FALSE(is_backup_repo_host(inv, "pg1"));
    CHECK(backup_host(inv) == "nas");
    const auto s3 = repo_inventory("{endpoint: s3.lab.internal:9443, region: lab, bucket: b-1}");
    CHECK(backup_repo_host(s3) == nullptr);
    CHECK(backup_host(s3).empty());
}

TEST_CASE("repository host: the passphrase and the retention live only there",
          "[pg][backup][repo-host]") {
    const auto inv = repo_inventory();
    const auto secrets = repo_secrets(inv);
    const auto member = render_pgbackrest_conf(inv, *inv.find_host("pg2"), secrets);
    CHECK(has(member, "repo1-host=198.18.0.20\nrepo1-host-type=tls\nrepo1-host-port=8432\n"));
    CHECK(has(member, "repo1-host-cert-file=/etc/pgdr/tls/postgres.crt\n"));
    CHECK_FALSE(has(member, "cipher"));
    CHECK_FALSE(has(member, "test-cipher-pass"));
    CHECK_FALSE(has(member, "retention"));
    // pg1 only: the repository host is the one configuration that knows every member.
    CHECK(has(member, "pg1-path="));
    CHECK_FALSE(has(member, "pg2-host"));
    CHECK_FALSE(has(member, "backup-standby"));
    // Its TLS server lets the repository host in, not the other members.
    CHECK(has(member, "tls-server-auth=nas pgbackrest (lab)=lab\n"));
    CHECK_FALSE(has(member, "tls-server-auth=pg1"));

    const auto repo = render_pgbackrest_repo_conf(inv, secrets);
    CHECK(has(repo, "repo1-type=posix\nrepo1-path=/pgbackrest/lab\n"));
    CHECK_FALSE(has(repo, "repo1-host="));
    CHECK(has(repo, "repo1-retention-full=2\n"));
    CHECK(has(repo, "repo1-cipher-type=aes-256-cbc\nrepo1-cipher-pass=test-cipher-pass\n"));
    CHECK(has(repo, "tls-server-address=198.18.0.20\n"));
    CHECK(has(repo, "tls-server-cert-file=/etc/pgdr/tls/pgbackrest.crt\n"));
    for (const char* m : {"pg1", "pg2", "pg3"}) {
        CHECK(has(repo, std::string("tls-server-auth=") + m + " postgres (lab)=lab\n"));
    }
    CHECK(has(repo, "tls-server-auth=pgdr restore (lab)=lab\n"));
    CHECK(has(repo, "pg1-host=198.18.0.11\n"));
    CHECK(has(repo, "pg3-host=198.18.0.13\n"));
    CHECK(has(repo, "pg3-host-key-file=/etc/pgdr/tls/pgbackrest.key\n"));
    CHECK_FALSE(has(repo, "pg4-host"));  // lb1 and nas are no members
    CHECK(has(repo, "backup-standby=y\n"));

    auto missing = secrets;
    missing.backup.cipher_pass.clear();
    CHECK_THROWS_AS(render_pgbackrest_repo_conf(inv, missing), Error);
    CHECK(render_pgbackrest_conf(inv, *inv.find_host("pg1"), missing) ==
          render_pgbackrest_conf(inv, *inv.find_host("pg1"), secrets));
    const auto s3 = repo_inventory("{endpoint: s3.lab.internal:9443, region: lab, bucket: b-1}");
    CHECK_THROWS_AS(render_pgbackrest_repo_conf(s3, secrets), Error);
}

TEST_CASE("repository host: the files of the backup stage", "[pg][backup][repo-host]") {
    const auto inv = repo_inventory();
    const auto secrets = repo_secrets(inv);
    const auto& pg1 = *inv.find_host("pg1");
    auto paths = [&](const HostSpec& h) {
        std::vector<std::string> out;
        for (const auto& f : stage_files(inv, h, pg1, secrets, Stage::backup)) {
            out.push_back(f.path + " " + f.spec.mode + " " + f.spec.owner);
        }
        return out;
    };
    CHECK(paths(pg1) ==
          std::vector<std::string>{"/etc/pgbackrest/pgbackrest.conf 0640 root:postgres",
                                   "/etc/systemd/system/pgdr-pgbackrest-server.service 0644 "});
    CHECK(paths(*inv.find_host("nas")) ==
          std::vector<std::string>{"/etc/pgbackrest/pgbackrest.conf 0640 root:pgbackrest",
                                   "/etc/systemd/system/pgdr-pgbackrest-server.service 0644 ",
                                   "/usr/local/sbin/pgdr-backup 0755 ",
                                   "/etc/systemd/system/pgdr-backup-full.service 0644 ",
                                   "/etc/systemd/system/pgdr-backup-full.timer 0644 ",
                                   "/etc/systemd/system/pgdr-backup-diff.service 0644 ",
                                   "/etc/systemd/system/pgdr-backup-diff.timer 0644 "});
    CHECK(paths(*inv.find_host("lb1")).empty());
    const auto unit = render_pgbackrest_repo_server_unit(inv);
    CHECK(has(unit, "User=pgbackrest\nGroup=pgbackrest\n"));
    CHECK(has(render_backup_service(inv, "full"), "User=pgbackrest\n"));
    // The repository host's pair, owned by the user pgBackRest runs as there.
    std::vector<std::string> certs;
    for (const auto& f :
         stage_files(inv, *inv.find_host("nas"), pg1, secrets, Stage::certificates)) {
        certs.push_back(f.path + " " + f.spec.owner);
    }
    CHECK(certs == std::vector<std::string>{"/etc/pgdr/tls/ca.crt ",
                                            "/etc/pgdr/tls/pgbackrest.key pgbackrest:pgbackrest",
                                            "/etc/pgdr/tls/pgbackrest.crt pgbackrest:pgbackrest"});
}

TEST_CASE("repository host: the bootstrap plan runs pgBackRest where it must",
          "[pg][backup][repo-host]") {
    const auto inv = repo_inventory();
    const auto secrets = repo_secrets(inv);
    Plan plan;
    plan_backup(plan, inv, *inv.find_host("pg2"), secrets);
    const Step* members = find_step(plan, "pgBackRest on the members");
    REQUIRE(members != nullptr);
    REQUIRE(members->hosts.size() == 3);
    const auto pg1 = descriptions(members->hosts[0]);
    CHECK(any_starts(pg1, "start pgdr-pgbackrest-server.service"));
    CHECK_FALSE(any_starts(pg1, "enable pgdr-backup-full.timer"));  // timers: repository host

    const Step* repo = find_step(plan, "pgBackRest repository host");
    REQUIRE(repo != nullptr);
    REQUIRE(repo->hosts.size() == 1);
    CHECK(repo->hosts[0].host == "nas");
    const auto nas = descriptions(repo->hosts[0]);
    CHECK(any_starts(nas, "the repository's directory /pgbackrest/lab, owned by pgbackrest"));
    CHECK(any_starts(nas, "enable pgdr-backup-full.timer"));
    CHECK(any_starts(nas, "start pgdr-pgbackrest-server.service"));
    const auto& dir = std::get<RunCommand>(repo->hosts[0].actions[2]);
    CHECK(dir.argv == Argv{"install", "-d", "-o", "pgbackrest", "-g", "pgbackrest", "-m", "0750",
                           "/pgbackrest/lab"});
    // Put right also when Debian's package made it for another user (root, without postgres).
    REQUIRE(dir.unless);
    CHECK(dir.unless->back() == "pgbackrest:pgbackrest:750");

    // stanza-create where the repository is: as pgbackrest on the repository host.
    const Step* stanza = find_step(plan, "stanza");
    REQUIRE(stanza != nullptr);
    REQUIRE(stanza->hosts.size() == 1);
    CHECK(stanza->hosts[0].host == "nas");
    const auto& create = std::get<RunCommand>(stanza->hosts[0].actions.at(0));
    CHECK(create.argv ==
          Argv{"runuser", "-u", "pgbackrest", "--", "pgbackrest", "--stanza=lab", "stanza-create"});
    REQUIRE(create.unless);
    CHECK(has(create.unless->at(2), "\"runuser\", \"-u\", \"pgbackrest\""));

    // S3: the leader (the primary given) creates it, as postgres.
    const auto s3 = repo_inventory("{endpoint: s3.lab.internal:9443, region: lab, bucket: b-1}");
    Secrets s3_secrets = repo_secrets(s3);
    s3_secrets.backup.s3_key = "AK";
    s3_secrets.backup.s3_secret = "SK";
    Plan s3_plan;
    plan_backup(s3_plan, s3, *s3.find_host("pg2"), s3_secrets);
    CHECK(find_step(s3_plan, "pgBackRest repository host") == nullptr);
    const Step* s3_stanza = find_step(s3_plan, "stanza");
    REQUIRE(s3_stanza != nullptr);
    CHECK(s3_stanza->hosts[0].host == "pg2");
    CHECK(std::get<RunCommand>(s3_stanza->hosts[0].actions.at(0)).argv.at(2) == "postgres");
}

TEST_CASE("repository host: backup run and info run there as pgbackrest",
          "[pg][backup][repo-host]") {
    const auto inv = repo_inventory();
    RecordingTransport nas("nas");
    nas.on(backup_run_argv("full", "pgbackrest"), 0, "");
    nas.on(backup_info_argv(inv, "nas"), 0, k_info);
    const auto b = run_backup(inv, nas, {});
    CHECK(b.label == "20261205-010000F");
    REQUIRE(nas.calls().size() == 3);  // info (the repository answers), backup, info
    CHECK(nas.calls()[0].argv == nas.calls()[2].argv);
    CHECK(nas.calls()[1].argv == Argv{"runuser", "-u", "pgbackrest", "--",
                                      "/usr/local/sbin/pgdr-backup", "full", "--manual"});
    CHECK(nas.calls()[2].argv == Argv{"runuser", "-u", "pgbackrest", "--", "pgbackrest",
                                      "--stanza=lab", "--output=json", "info"});
    // info anywhere: on a member, as postgres (through repo1-host).
    RecordingTransport pg1("pg1");
    pg1.on(backup_info_argv(inv, "pg1"), 0, k_info);
    CHECK(read_backup_info(inv, pg1).backups.size() == 1);
    CHECK(pg1.calls().at(0).argv.at(2) == "postgres");
    // check on the leader, as postgres, as with S3.
    CHECK(backup_check_argv(inv).at(2) == "postgres");
}

TEST_CASE("repository host: restore --cluster backs the new timeline up there",
          "[pg][backup][repo-host]") {
    const auto inv = repo_inventory();
    ClusterRestoreRequest req;
    req.target = parse_restore_target("2026-12-05T16:20:00Z");
    std::vector<std::string> on;
    for (const auto& s : plan_cluster_restore(inv, req)) {
        if (s.name == "backup_new_timeline" || s.name == "restore_first") {
            on.push_back(s.name + "@" + s.host);
        }
    }
    CHECK(on == std::vector<std::string>{"restore_first@pg1", "backup_new_timeline@nas"});
    const auto s3 = repo_inventory("{endpoint: s3.lab.internal:9443, region: lab, bucket: b-1}");
    bool on_first = false;
    for (const auto& s : plan_cluster_restore(s3, req)) {
        on_first = on_first || (s.name == "backup_new_timeline" && s.host == "pg1");
    }
    CHECK(on_first);
}

TEST_CASE("repository host: a scratch host restores with the restore client's pair",
          "[pg][backup][repo-host]") {
    const auto inv = repo_inventory();
    const auto secrets = repo_secrets(inv);
    const auto files = scratch_files(inv, secrets);
    std::vector<std::string> paths;
    std::string conf;
    for (const auto& f : files) {
        paths.push_back(f.path + " " + f.spec.mode + " " + f.spec.owner);
        if (f.path == k_pgbackrest_conf) {
            conf = f.content;
        }
        if (f.path == k_pgbackrest_restore_key) {
            CHECK(f.content == "TEST KEY restore\n");
            CHECK(f.secrecy == Secrecy::whole_file);
        }
    }
    CHECK(std::find(paths.begin(), paths.end(),
                    "/etc/pgbackrest/restore.key 0600 postgres:postgres") != paths.end());
    CHECK(std::find(paths.begin(), paths.end(), "/etc/pgbackrest/cluster-ca.crt 0644 ") !=
          paths.end());
    CHECK(has(conf, "repo1-host=198.18.0.20\n"));
    CHECK(has(conf, "repo1-host-ca-file=/etc/pgbackrest/cluster-ca.crt\n"));
    CHECK(has(conf, "repo1-host-cert-file=/etc/pgbackrest/restore.crt\n"));
    CHECK_FALSE(has(conf, "test-cipher-pass"));
    // Without the restore client's pair (no bootstrap yet): an internal error, not a bad file.
    Secrets none;
    CHECK_THROWS_AS(scratch_files(inv, none), Error);
}

TEST_CASE("repository host: certificates", "[pg][backup][repo-host][pki]") {
    const auto inv = repo_inventory();
    std::vector<std::string> stems;
    for (const auto& spec : pki::cluster_cert_specs(inv)) {
        stems.push_back(spec.stem + "=" + spec.request.common_name);
    }
    CHECK(std::find(stems.begin(), stems.end(), "nas.pgbackrest=nas pgbackrest (lab)") !=
          stems.end());
    CHECK(stems.back() == "restore=pgdr restore (lab)");
    // Debian 12: pgBackRest 2.45 matches the address it dials only against DNS names, the
    // repository host's certificate too (the members dial it by address).
    auto bookworm = inv;
    bookworm.release = "bookworm";
    for (const auto& spec : pki::cluster_cert_specs(bookworm)) {
        if (spec.service == pki::k_pgbackrest_service) {
            CHECK(std::find(spec.request.dns_names.begin(), spec.request.dns_names.end(),
                            "198.18.0.20") != spec.request.dns_names.end());
        }
    }
    const auto s3 = repo_inventory("{endpoint: s3.lab.internal:9443, region: lab, bucket: b-1}");
    for (const auto& spec : pki::cluster_cert_specs(s3)) {
        CHECK(spec.service != pki::k_pgbackrest_service);
        CHECK(spec.stem != pki::k_restore_client_name);
    }
}

TEST_CASE("repository host: 8432 only from the members and the repository host",
          "[pg][backup][repo-host][ovh]") {
    auto inv = repo_inventory();
    const auto keys = ovh::rule_keys(ovh::security_group_rules(inv));
    auto opened = [&](const std::string& from) {
        return std::find(keys.begin(), keys.end(), "INGRESS IPV4 TCP 8432-8432 " + from) !=
               keys.end();
    };
    for (const char* from :
         {"198.18.0.11/32", "198.18.0.12/32", "198.18.0.13/32", "198.18.0.20/32"}) {
        CHECK(opened(from));
    }
    CHECK_FALSE(opened("198.18.0.30/32"));  // lb1
    CHECK_FALSE(opened("198.18.0.0/24"));
    inv.backup.reset();
    const auto without = ovh::rule_keys(ovh::security_group_rules(inv));
    CHECK(std::none_of(without.begin(), without.end(),
                       [](const std::string& k) { return k.find("8432") != std::string::npos; }));
}

namespace {

// The repository host's pgdr-backup with a fake pgbackrest first in PATH: it fails as pgBackRest
// does without a standby when `no_standby`, else prints its argv.
CommandResult run_repo_script(bool no_standby, const std::vector<std::string>& args) {
    pgdr::test::TempDir dir;
    const std::string bin = dir.path();
    std::ofstream(bin + "/pgdr-backup") << render_repo_backup_script(repo_inventory());
    std::ofstream(bin + "/pgbackrest")
        << "#!/bin/sh\n"
        << (no_standby ? "case \"$*\" in *backup-standby=y*) echo 'P00  ERROR: [056]: unable to "
                         "find standby cluster - cannot proceed' >&2; exit 56;; esac\n"
                       : "")
        << "echo pgbackrest \"$@\"\n";
    for (const char* f : {"/pgdr-backup", "/pgbackrest"}) {
        ::chmod((bin + f).c_str(), 0755);
    }
    Argv argv{"env", "PATH=" + bin + ":/usr/bin:/bin", bin + "/pgdr-backup"};
    argv.insert(argv.end(), args.begin(), args.end());
    LocalTransport local;
    return local.run(argv, {});
}

}  // namespace

TEST_CASE("repository host: pgdr-backup there, from a standby when pgBackRest finds one",
          "[pg][backup][repo-host]") {
    auto r = run_repo_script(false, {"full", "--manual"});
    CHECK(r.exit_status == 0);
    CHECK(r.out == "pgbackrest --stanza=lab --type=full --backup-standby=y backup\n");
    r = run_repo_script(true, {"diff"});
    CHECK(r.exit_status == 0);
    CHECK(has(r.out, "unable to find standby"));
    CHECK(has(r.out, "pgbackrest --stanza=lab --type=diff --backup-standby=n backup\n"));
    r = run_repo_script(false, {"weekly"});
    CHECK(r.exit_status == 2);
}

TEST_CASE("repository host: an unreachable repository's hint names the repository host",
          "[pg][backup][repo-host]") {
    const auto inv = repo_inventory();
    RecordingTransport pg1("pg1");
    pg1.on(backup_check_argv(inv), 49, "",
           "P00  ERROR: [049]: unable to connect to 198.18.0.20:8432: [111] Connection refused\n");
    try {
        check_backup(inv, pg1);
        FAIL("accepted");
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::unreachable);
        // "repository" in the hint: `backup list` tells pgBackRest's answer from SSH's by it.
        CHECK(has(e.hint(),
                  "the repository host nas (backup.repo.host): check that it runs "
                  "pgdr-pgbackrest-server.service on port 8432 and that pg1 reaches "
                  "it"));
        CHECK_FALSE(has(e.hint(), "endpoint"));
    }
    // S3: the endpoint, as before.
    const auto s3 = repo_inventory("{endpoint: s3.lab.internal:9443, region: lab, bucket: b-1}");
    RecordingTransport s3_pg1("pg1");
    s3_pg1.on(backup_check_argv(s3), 49, "",
              "P00  ERROR: [049]: unable to connect to s3.lab.internal:9443\n");
    try {
        check_backup(s3, s3_pg1);
        FAIL("accepted");
    } catch (const Error& e) {
        CHECK(has(e.hint(), "backup.repo.endpoint"));
    }
}
