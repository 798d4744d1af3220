// Facts about a host that the bootstrap planner decides on: what is installed, what the
// PostgreSQL data directory holds, which services run, what Patroni says. Gathered with one
// read-only command per host (facts_argv), parsed by parse_facts (pure, unit-tested).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/inventory.hpp"

namespace pgdr::pg {

struct HostFacts {
    std::string host;
    std::string os_codename;
    std::map<std::string, bool> packages;  // package -> installed
    // The data directory: "absent" (missing or empty), "cluster" (PG_VERSION present), or
    // "other" (not empty, not a cluster: pgdr never touches it).
    std::string data = "absent";
    std::string sysid;          // pg_controldata "Database system identifier"
    std::string cluster_state;  // pg_controldata "Database cluster state"
    bool standby_signal = false;
    bool basebackup_marker = false;  // an interrupted pgdr clone left its marker
    std::string pg_status;           // pg_lsclusters: online | down | online,recovery | ""
    long long user_objects = -1;     // databases + relations beyond a fresh initdb; -1 unknown
    std::string patroni_active, postgresql_active, etcd_active, haproxy_active;  // systemctl
    std::string patroni_role;  // from the local REST API: primary/master/replica/...
    std::string patroni_state;
    std::string patroni_scheme;  // "https" or "http": how its REST API answered ("" when not)
    std::string etcd_marker;     // content of pgdr's etcd membership marker
    // content of the marker pgdr writes before it starts the members of a new etcd cluster
    // (etcd_forming_marker_path): a run cut off before the cluster formed left this member
    std::string etcd_forming;
    // Without pgdr's marker: an etcd data directory (/var/lib/etcd/default/member) exists, and
    // what the running local member says about it (-1: not running or did not answer). Only
    // Debian's pristine single-node member (1 member, 0 keys) is ever reset.
    bool etcd_data = false;
    long long etcd_members = -1;
    long long etcd_keys = -1;       // 0 or 1: whether any key exists
    std::string etcd_member_names;  // sorted, comma-separated, as `etcdctl member list` names them
    bool etcd_pristine() const { return !etcd_data || (etcd_members == 1 && etcd_keys == 0); }
    // Runs a member of a formed cluster: pgdr's marker (written once the cluster was healthy;
    // the member count is then not gathered) or a member list of more than one.
    bool etcd_member_running() const {
        return etcd_active == "active" && (!etcd_marker.empty() || etcd_members > 1);
    }
    std::string patroni_header;  // first line of /etc/patroni/V-main.yml; "" when absent
    // "cluster=NAME secrets=FP" from pg::secrets_fingerprint_path(); "" when absent
    std::string secrets_fingerprint;
    std::vector<std::string> errors;  // lines the script could not make sense of

    bool installed(const std::string& package) const;
    bool all_installed(const std::vector<std::string>& packages) const;
    bool pg_running() const { return pg_status.rfind("online", 0) == 0; }
    bool patroni_running() const { return patroni_active == "active"; }
    bool patroni_leader() const { return patroni_role == "primary" || patroni_role == "master"; }
    // A fresh cluster as Debian's package creates it: nothing a user made in it.
    bool pristine() const { return data == "cluster" && user_objects == 0; }
};

// Where pgdr marks an etcd member it formed, and what the marker says (the member's place in
// the inventory's cluster); a different marker means the membership changed.
std::string etcd_marker_path();
// Written, with etcd_marker_content, before pgdr first starts the members of a new cluster.
std::string etcd_forming_marker_path();
std::string etcd_marker_content(const Inventory& inv, const HostSpec& host);

// Where a replica clone marks itself while it runs (removed at the end).
std::string basebackup_marker_path(int postgres_version);

std::vector<std::string> facts_argv(const Inventory& inv, const HostSpec& host);
HostFacts parse_facts(const std::string& host, const std::string& output);

}  // namespace pgdr::pg
