#include "pg/restore_scratch.hpp"

#include "core/error.hpp"
#include "pg/debian_paths.hpp"
#include "pg/pgbackrest_conf.hpp"
#include "pg/plan_actions.hpp"

namespace pgdr::pg {

namespace {

using Argv = std::vector<std::string>;

PutFile file(std::string path, std::string content, std::string mode, std::string owner,
             std::string description, Secrecy secrecy = Secrecy::none) {
    PutFile f;
    f.path = std::move(path);
    f.content = std::move(content);
    f.spec.mode = std::move(mode);
    f.spec.owner = std::move(owner);
    f.description = std::move(description);
    f.secrecy = secrecy;
    return f;
}

}  // namespace

Plan plan_restore_scratch(const Inventory& inv, const HostSpec& host, const Secrets& secrets) {
    if (host.runs(Service::postgres)) {
        throw usage_error(host.name + " is a member of " + inv.cluster +
                          ": bootstrap configured it, it is no scratch host");
    }
    const auto paths = debian_paths(inv);
    const std::string v = std::to_string(inv.postgres_version);
    const Argv packages{"postgresql-" + v, "pgbackrest"};
    Argv install{"sh", "-c",
                 "export DEBIAN_FRONTEND=noninteractive; "
                 "apt-get install -y -q --no-install-recommends \"$@\" || "
                 "{ apt-get update -q && apt-get install -y -q --no-install-recommends \"$@\"; }",
                 "pgdr-install"};
    install.insert(install.end(), packages.begin(), packages.end());
    std::vector<Action> acts;
    acts.emplace_back(plan_command(install, "install postgresql-" + v + " and pgbackrest",
                                   packages_installed(packages), std::chrono::seconds(1200)));
    // Debian creates and starts a cluster "main" on installation: the restore replaces its data.
    acts.emplace_back(plan_command(
        {"pg_ctlcluster", v, "main", "stop"},
        "stop Debian's new cluster (the restore replaces its data)",
        Argv{"sh", "-c", "! pg_ctlcluster \"$1\" main status >/dev/null 2>&1", "pgdr-stopped", v}));
    acts.emplace_back(plan_command(
        {"install", "-d", "-o", "postgres", "-g", "postgres", "-m", "0750", "/var/log/pgbackrest"},
        "create pgBackRest's log directory", Argv{"test", "-d", "/var/log/pgbackrest"}));
    if (!secrets.backup.repo_ca_pem.empty()) {
        acts.emplace_back(file(k_pgbackrest_repo_ca, secrets.backup.repo_ca_pem, "0644", "",
                               "the CA the backup repository's certificate is checked against"));
    }
    // 0640 root:postgres: it holds the S3 secret and the cipher passphrase.
    acts.emplace_back(file(
        k_pgbackrest_conf, render_pgbackrest_restore_conf(inv, secrets), "0640", "root:postgres",
        "pgBackRest configuration for a restore (repository, " + paths.data_dir + ")",
        Secrecy::password_lines));
    Plan plan;
    plan.add_step(Stage::backup, "prepare " + host.name + " for a restore")
        .hosts.push_back({host.name, std::move(acts)});
    return plan;
}

}  // namespace pgdr::pg
