#include "pg/foreign_guard.hpp"

#include <algorithm>
#include <vector>

#include "core/error.hpp"
#include "pg/secrets.hpp"

namespace pgdr::pg {

std::string pgdr_patroni_header(const Inventory& inv) {
    return "# Managed by pgdr (cluster " + inv.cluster + "): `pgdr bootstrap` rewrites this file.";
}

namespace {

std::string adopt_hint(const std::string& inventory_path, const std::string& what) {
    return "pgdr never takes over or wipes a cluster it did not build. Check that the inventory "
           "names the right hosts; if this is the cluster you mean to manage (a new operator "
           "machine, a lost state directory), run `pgdr bootstrap -i " +
           inventory_path + " --adopt` to " + what;
}

// pgdr's own formation, interrupted before its marker was written: exactly the inventory's etcd
// hosts as members, and no key yet.
bool formed_by_pgdr(const Inventory& inv, const HostFacts& f) {
    std::vector<std::string> names;
    for (const auto* h : inv.hosts_with(Service::etcd)) {
        names.push_back(h->name);
    }
    std::sort(names.begin(), names.end());
    std::string joined;
    for (const auto& n : names) {
        joined += (joined.empty() ? "" : ",") + n;
    }
    return f.etcd_keys == 0 && f.etcd_member_names == joined;
}

std::string etcd_found(const HostFacts& f) {
    if (f.etcd_members < 0 || f.etcd_keys < 0) {
        return "an etcd data directory (/var/lib/etcd/default) that pgdr did not form, and its "
               "member did not answer (is etcd stopped?), so pgdr cannot tell it from another "
               "cluster's DCS";
    }
    return "an etcd member that pgdr did not form, with " + std::to_string(f.etcd_members) +
           " member(s) and " + (f.etcd_keys > 0 ? "keys" : "no keys") +
           ": not Debian's fresh single-node member, maybe another cluster's DCS";
}

}  // namespace

void check_foreign_cluster(const Inventory& inv, const FactsMap& facts,
                           const std::string& expected_sysid, bool adopt,
                           const std::string& inventory_path) {
    if (adopt) {
        return;
    }
    for (const auto* h : inv.hosts_with(Service::etcd)) {
        auto it = facts.find(h->name);
        // A member pgdr started forming (its marker of that membership), whether or not it
        // answers: a run cut off while the members were starting leaves one waiting for quorum.
        if (it == facts.end() || !it->second.etcd_marker.empty() || it->second.etcd_pristine() ||
            formed_by_pgdr(inv, it->second) ||
            it->second.etcd_forming == etcd_marker_content(inv, *h)) {
            continue;
        }
        throw Error(ExitCode::postgres, h->name + " runs " + etcd_found(it->second),
                    adopt_hint(inventory_path, "keep its etcd data as it is (never reset)"));
    }
    const std::string ours = pgdr_patroni_header(inv);
    for (const auto* h : inv.hosts_with(Service::postgres)) {
        auto it = facts.find(h->name);
        if (it == facts.end() || !it->second.patroni_running()) {
            continue;
        }
        const auto& f = it->second;
        if (f.patroni_header != ours) {
            throw Error(ExitCode::postgres,
                        h->name +
                            ": Patroni runs with a configuration pgdr did not write for "
                            "cluster " +
                            inv.cluster + " (first line: '" + f.patroni_header + "')",
                        adopt_hint(inventory_path, "rewrite its patroni.yml and take it over"));
        }
        if (expected_sysid.empty()) {
            throw Error(ExitCode::postgres,
                        h->name + ": Patroni already runs (" +
                            (f.patroni_role.empty() ? "role unknown" : f.patroni_role) +
                            ") but the state directory " + inv.paths.state_dir +
                            " records no system identifier for cluster " + inv.cluster,
                        adopt_hint(inventory_path, "take it over and record its identifier"));
        }
    }
}

std::string secrets_record(const Inventory& inv, const std::string& fingerprint) {
    return "cluster=" + inv.cluster + " secrets=" + fingerprint;
}

void check_secrets_match(const Inventory& inv, const FactsMap& facts,
                         const std::string& fingerprint) {
    const std::string want = secrets_record(inv, fingerprint);
    for (const auto* h : inv.hosts_with(Service::postgres)) {
        auto it = facts.find(h->name);
        if (it == facts.end() || it->second.secrets_fingerprint.empty() ||
            it->second.secrets_fingerprint == want) {
            continue;
        }
        throw Error(ExitCode::invalid_config,
                    h->name + " runs with other passwords than the state directory's (host: '" +
                        it->second.secrets_fingerprint + "', " + inv.paths.state_dir +
                        "/secrets: '" + want +
                        "'): the state directory was lost, regenerated or belongs to another "
                        "cluster; writing its passwords into patroni.yml would make every "
                        "replica fail authentication at its next reconnect",
                    "restore " + inv.paths.state_dir +
                        "/secrets/ from your backup (or point paths.state_dir at the right "
                        "one); to change the passwords on purpose, ALTER ROLE them on the "
                        "cluster first, then delete " +
                        secrets_fingerprint_path() + " on every PostgreSQL host");
    }
}

}  // namespace pgdr::pg
