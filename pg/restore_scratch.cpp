#include "pg/restore_scratch.hpp"

#include "core/error.hpp"
#include "core/strings.hpp"
#include "pg/debian_paths.hpp"
#include "pg/pgbackrest_conf.hpp"
#include "pg/postgres_conf.hpp"

namespace pgdr::pg {

std::vector<std::string> scratch_install_argv(const Inventory& inv) {
    return {"sh",
            "-c",
            "export DEBIAN_FRONTEND=noninteractive; "
            "apt-get install -y -q --no-install-recommends \"$@\" || "
            "{ apt-get update -q && apt-get install -y -q --no-install-recommends \"$@\"; }",
            "pgdr-install",
            "postgresql-" + std::to_string(inv.postgres_version),
            "pgbackrest"};
}

std::vector<std::string> scratch_prepare_argv(const Inventory& inv) {
    // pgBackRest restores with --delta into the data directory Debian made; its server must be
    // down (run_restore refuses a running one on a host that is not a member).
    return {"sh", "-c",
            "systemctl disable --now \"postgresql@$1-main\" >/dev/null 2>&1; "
            "pg_ctlcluster \"$1\" main stop --force >/dev/null 2>&1; "
            "install -d -o postgres -g postgres -m 0750 /var/log/pgbackrest && "
            "install -d -m 0755 /etc/pgbackrest && "
            "! pg_ctlcluster \"$1\" main status >/dev/null 2>&1",
            "pgdr-scratch-prepare", std::to_string(inv.postgres_version)};
}

std::string scratch_postgres_conf_path(const Inventory& inv) {
    const std::string include = debian_paths(inv).include_file;
    return include.substr(0, include.rfind('/') + 1) + "pgdr-restore.conf";
}

std::string render_scratch_postgres_conf(const Inventory& inv) {
    std::string out = "# Written by pgdr for a restore onto this scratch host (not a member of " +
                      inv.cluster +
                      ").\n"
                      "# Never archive into the cluster's repository: a promoted copy's new "
                      "timeline there would\n"
                      "# mislead the cluster's own recoveries.\n"
                      "archive_mode = off\n"
                      "# Recovery needs these at least as high as on the primary.\n";
    for (const auto& p : replication_parameters(inv)) {
        if (p.name == "max_wal_senders" || p.name == "max_replication_slots") {
            out += p.name + " = " + p.value + "\n";
        }
    }
    return out;
}

std::vector<PutFile> scratch_files(const Inventory& inv, const Secrets& secrets) {
    std::vector<PutFile> out;
    PutFile pgconf;
    pgconf.path = scratch_postgres_conf_path(inv);
    pgconf.content = render_scratch_postgres_conf(inv);
    pgconf.spec = {"0644", ""};
    pgconf.description = "PostgreSQL settings of the restored copy (no archiving)";
    out.push_back(pgconf);
    PutFile conf;
    conf.path = k_pgbackrest_conf;
    conf.content = render_pgbackrest_restore_conf(inv, secrets);
    conf.spec = {"0640", "root:postgres"};
    conf.description = "pgBackRest configuration (restore only)";
    conf.secrecy = Secrecy::password_lines;
    out.push_back(conf);
    if (!secrets.backup.repo_ca_pem.empty()) {
        PutFile ca;
        ca.path = k_pgbackrest_repo_ca;
        ca.content = secrets.backup.repo_ca_pem;
        ca.spec = {"0644", ""};
        ca.description = "the CA the backup repository's certificate is checked against";
        out.push_back(ca);
    }
    return out;
}

void prepare_scratch_host(const Inventory& inv, Transport& host, const Secrets& secrets,
                          const std::function<void(const std::string&)>& progress) {
    auto say = [&](const std::string& m) {
        if (progress) {
            progress(m);
        }
    };
    RunOptions o;
    o.sudo = true;
    auto step = [&](const std::vector<std::string>& argv, const std::string& what,
                    std::chrono::seconds timeout) {
        o.timeout = timeout;
        const auto r = host.run(argv, o);
        if (!r.ok()) {
            throw Error(ExitCode::postgres, what + " on " + host.host_name() +
                                                " failed: " + trim(r.err.empty() ? r.out : r.err));
        }
    };
    say("installing PostgreSQL " + std::to_string(inv.postgres_version) + " and pgBackRest on " +
        host.host_name());
    step(scratch_install_argv(inv), "installing postgresql and pgbackrest",
         std::chrono::seconds(1200));
    step(scratch_prepare_argv(inv), "stopping Debian's main cluster", std::chrono::seconds(120));
    for (const auto& f : scratch_files(inv, secrets)) {
        std::string err;
        if (!host.put_file(f.path, f.content, f.spec, &err)) {
            throw Error(ExitCode::postgres,
                        "writing " + f.path + " on " + host.host_name() + " failed: " + trim(err));
        }
    }
}

}  // namespace pgdr::pg
