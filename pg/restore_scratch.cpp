#include "pg/restore_scratch.hpp"

#include "core/backup_repo.hpp"
#include "core/error.hpp"
#include "core/strings.hpp"
#include "pg/debian_paths.hpp"
#include "pg/pgbackrest_conf.hpp"
#include "pg/plan_actions.hpp"
#include "pg/postgres_conf.hpp"
#include "pg/stage_files.hpp"

namespace pgdr::pg {

std::vector<std::string> scratch_boot_wait_argv() {
    return {"sh", "-c",
            "timeout 600 systemctl is-system-running --wait >/dev/null 2>&1; "
            "s=$(systemctl is-system-running 2>/dev/null); "
            "case \"$s\" in running|degraded) exit 0;; esac; "
            "echo \"its boot has not finished after 10 minutes (systemd: $s)\" >&2; exit 1",
            "pgdr-boot-wait"};
}

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

namespace {

// The cluster CA and the restore client's pair: the repository host's TLS server accepts them.
void restore_client_files(std::vector<PutFile>& out, const Secrets& secrets) {
    const auto it = secrets.tls.certs.find(pki::k_restore_client_name);
    if (it == secrets.tls.certs.end()) {
        throw Error(ExitCode::internal, "no restore client certificate (load_restore_client)");
    }
    out.push_back(plan_file(k_pgbackrest_restore_ca, secrets.tls.ca.cert_pem, "0644", "",
                            "the cluster CA (the repository host's certificate)"));
    out.push_back(plan_file(k_pgbackrest_restore_key, it->second.key_pem, "0600",
                            "postgres:postgres", "the restore client's private key",
                            Secrecy::whole_file));
    out.push_back(plan_file(k_pgbackrest_restore_cert, it->second.cert_pem, "0644",
                            "postgres:postgres",
                            "the restore client's certificate (the repository host accepts it)"));
}

}  // namespace

std::vector<PutFile> scratch_files(const Inventory& inv, const Secrets& secrets) {
    std::vector<PutFile> out;
    out.push_back(plan_file(scratch_postgres_conf_path(inv), render_scratch_postgres_conf(inv),
                            "0644", "", "PostgreSQL settings of the restored copy (no archiving)"));
    out.push_back(plan_file(k_pgbackrest_conf, render_pgbackrest_restore_conf(inv, secrets), "0640",
                            "root:postgres", "pgBackRest configuration (restore only)",
                            Secrecy::password_lines));
    if (backup_repo_host(inv) != nullptr) {
        restore_client_files(out, secrets);
    }
    add_repo_ca_file(out, secrets);
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
    say("waiting for " + host.host_name() + " to finish booting");
    step(scratch_boot_wait_argv(), "waiting for the boot", std::chrono::seconds(660));
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
