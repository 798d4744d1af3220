// The inventory: one YAML (or JSON) file that describes one cluster (man/pgdr-inventory.5).
//
// load_inventory() parses and validates the whole file and reports every problem at once, each
// with file:line:column, what was found and what is expected (unknown keys with a did-you-mean).
// The resolved Inventory has every default filled in; nothing downstream re-reads the file.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace pgdr {

enum class Service { postgres, etcd, haproxy, monitor };
std::string to_string(Service s);

struct Diagnostic {
    std::string file;
    int line = 0;    // 1-based; 0 when the problem is about the file as a whole
    int column = 0;  // 1-based
    std::string message;

    std::string format() const;  // "file:line:column: message"
};

// Thrown by load_inventory/parse_inventory with every diagnostic found; exit code 3.
class InventoryError : public Error {
  public:
    explicit InventoryError(std::vector<Diagnostic> diagnostics);
    const std::vector<Diagnostic>& diagnostics() const { return m_diagnostics; }

  private:
    std::vector<Diagnostic> m_diagnostics;
};

struct SshSettings {
    std::string user = "root";
    int port = 22;
    std::string identity_file;  // empty: the SSH agent, then ~/.ssh/id_ed25519, id_ecdsa, id_rsa
    std::string known_hosts;    // empty: ~/.ssh/known_hosts
    int connect_timeout_s = 10;
    int command_timeout_s = 600;
    // A bastion to reach the host through, as OpenSSH's ProxyJump: "[user@]host[:port]"; the
    // bastion's key is checked against the same known_hosts file. Empty: connect directly.
    std::string jump_host;
    // The address SSH connects to when it is not the cluster address: a host's public address
    // (from the state file after `pgdr provision`, or set per host). Empty: the host's address.
    std::string address;
};

// How pgdr reaches cluster ports (PostgreSQL, Patroni REST, HAProxy, etcd) from this machine.
enum class PortAccess {
    automatic,  // directly when a port answers, else forwarded over SSH (the default)
    ssh,        // always forwarded over SSH from a host inside the network (OVH's shape)
    direct,     // always directly (this machine sits inside the cluster's network)
};

struct HostSpec {
    std::string name;
    std::string address;  // may be empty with the ovh provider until provisioned
    std::string zone;
    std::string region;
    std::set<Service> services;
    SshSettings ssh;
    int line = 0;  // where the host is declared, for later messages

    // Where SSH connects to: the public address when there is one, else the cluster address.
    const std::string& ssh_address() const { return ssh.address.empty() ? address : ssh.address; }

    bool runs(Service s) const { return services.count(s) != 0; }
};

struct PatroniSettings {
    std::string timing = "default";  // default | fast | safe (explicit values override)
    int ttl = 30;
    int loop_wait = 5;
    int retry_timeout = 10;
    long long maximum_lag_on_failover = 1048576;  // bytes
    bool synchronous_mode = true;
    bool synchronous_mode_strict = false;
    bool use_pg_rewind = true;
    bool use_slots = true;
    int rest_port = 8008;
};

struct HaproxySettings {
    int write_port = 5000;
    int read_port = 5001;
    int stats_port = 7000;
    int check_interval_ms = 1000;
    // The interval for a server that is down or changing state (HAProxy's downinter and
    // fastinter): how soon a newly promoted leader is seen, and a failing one confirmed down.
    int fast_check_interval_ms = 250;
    int fall = 2;
    int rise = 1;
    // Who may reach the write and read ports besides the cluster's subnet (security groups).
    std::vector<std::string> client_cidrs;
    // Where the write and read ports listen: "private" (the host's cluster address) or "any".
    std::string bind = "private";
};

struct EtcdSettings {
    int client_port = 2379;
    int peer_port = 2380;
};

// The `monitoring` section: Prometheus and Alertmanager on the hosts with the monitor service,
// exporters on every host (man/pgdr-inventory.5).
struct MonitoringSettings {
    int scrape_interval_s = 2;  // also the rule evaluation interval
    std::string retention = "7d";
    // Where Alertmanager sends notifications; none set: alerts are only read (pgdr alerts,
    // drills).
    std::string webhook_url;
    std::vector<std::string> email_to;
    std::string email_from;
    std::string email_smarthost;  // host:port of the SMTP relay
};

struct PathSettings {
    std::string state_dir;  // default: <inventory without extension>.state next to the file
    std::string archive_dir = "/var/lib/postgresql/wal_archive";
};

// The `backup` section (issue 14): pgBackRest with a repository in object storage (s3) or on a
// filesystem (posix); absent: the cluster archives WAL into paths.archive_dir as before.
struct BackupRepo {
    std::string type = "s3";         // s3 | posix
    std::string endpoint;            // s3: host[:port]
    std::string region;              // s3
    std::string bucket;              // s3
    std::string uri_style = "host";  // s3: host | path
    std::string ca_file;             // operator-side PEM to trust for the endpoint; "": system CAs
    std::string credentials_file;    // operator-side 0600 file; "": <state>/secrets/s3-credentials
    std::string path;                // repository path; "": /pgbackrest/<cluster>
    std::string host;                // posix: the inventory host holding the repository
};

struct BackupSchedule {
    std::string full = "Sun 01:00";       // systemd OnCalendar
    std::string diff = "Mon..Sat 01:00";  // systemd OnCalendar; "" for none
};

struct BackupSettings {
    BackupRepo repo;
    int retention_full = 2;
    int retention_diff = 6;
    std::string compress = "lz4";  // pgbackrest compress-type
    bool cipher = true;            // aes-256-cbc, passphrase in <state>/secrets/pgbackrest-cipher
    BackupSchedule schedule;
};

enum class ProviderKind { lab, ovh, none };

struct LabSettings {
    std::string dir;  // the lab directory (pgdr lab --dir)
};

struct OvhSettings {
    std::string endpoint;  // empty: OVH_ENDPOINT / ovh.conf, as the official clients
    std::string project_id;
    std::vector<std::string> regions;
    std::string flavor = "b3-8";
    std::string image = "Debian 13";
    std::string ssh_public_key_file;
    // provider.ovh.backup_region: where Object Storage holds the backups; "": another of
    // `regions` than the first, or the first when there is only one (ovh/object_storage.hpp).
    std::string backup_region;
};

// The `guard` section: pgdr-guard, fenced fast failover (pgdr-inventory(5), pgdr-guard(1)).
struct GuardSection {
    bool enabled = false;
    // Where the agents run; empty: the HAProxy hosts that are not PostgreSQL members when there
    // are two or more, else the PostgreSQL members (Inventory::guard_hosts()).
    std::vector<std::string> hosts;
    int probe_interval_ms = 300;
    int unreachable_after_ms = 2000;
    int quorum = 2;
    int fence_timeout_s = 20;
    std::string fence_action = "reboot";  // reboot (OVH hard reboot) or stop
    bool fence_on_silence = false;
    // The provider's API as the agents reach it from the hosts; "": provider.ovh.endpoint
    // (the operator's). The OVH twin's: https://198.19.0.1:8443/1.0 with its CA.
    std::string provider_endpoint;
    std::string provider_ca_file;  // operator-side PEM the agents trust for it; "": system CAs
    // Operator-side ovh.conf-format file with the agents' key (`pgdr ovh credential --guard`:
    // only the power routes); "": <state>/secrets/guard-ovh.conf.
    std::string credentials_file;
};

// The `dr` section (issue 16): the hosts of one region form a second cluster with its own etcd,
// Patroni and HAProxy, a Patroni standby cluster whose standby leader streams from this one
// through a permanent slot (pgdr-inventory(5), DR CLUSTER). Its hosts are not in
// Inventory::hosts: every command works on the primary cluster; dr_inventory() gives the other.
struct DrSection {
    std::string region;
    std::string cluster;           // "": <cluster>-dr
    std::string slot = "pgdr_dr";  // the permanent physical slot on the primary cluster
    std::vector<HostSpec> hosts;   // the hosts of `region`, in inventory order
    int line = 0;
};

// What a standby cluster replicates from (set on the inventory dr_inventory() returns).
struct StandbyOf {
    std::string cluster;
    std::vector<std::string> addresses;  // the primary cluster's PostgreSQL members
    int port = 5432;
    std::string slot;
    // The primary cluster's S3 repository (its `backup` section, type s3), when it has one:
    // the DR cluster's members fetch from its archive, read only (the primary's stanza), the
    // WAL that streaming no longer has (Patroni's standby_cluster.restore_command). A
    // repository host (type posix) is not reached from the DR region: streaming only.
    std::optional<BackupSettings> archive;
};

struct TimingProfile {
    int ttl, loop_wait, retry_timeout;
    int check_interval_ms, fast_check_interval_ms, fall, rise;
};
// The named profiles; std::nullopt for an unknown name.
std::optional<TimingProfile> timing_profile(const std::string& name);

struct Inventory {
    std::string source_path;  // the file it was read from ("" when parsed from a string)
    std::string cluster;
    bool production = false;
    std::string release = "trixie";  // Debian release of the hosts: trixie (13) or bookworm (12)
    int postgres_version = 17;
    std::string network_cidr;
    std::vector<std::string> ssh_allowed_cidrs;
    // network.port_access; unset: `ssh` with the ovh provider (its security group closes the
    // cluster ports to the operator), `automatic` otherwise. Read it through port_access().
    std::optional<PortAccess> port_access_setting;
    std::vector<HostSpec> hosts;
    PatroniSettings patroni;
    HaproxySettings haproxy;
    EtcdSettings etcd;
    MonitoringSettings monitoring;
    std::optional<BackupSettings> backup;  // the `backup` section; none: the local cp archive
    GuardSection guard;
    std::optional<DrSection> dr;          // the `dr` section: a standby cluster in another region
    std::optional<StandbyOf> standby_of;  // set on a DR cluster's inventory (dr_inventory())
    PathSettings paths;
    ProviderKind provider = ProviderKind::none;
    LabSettings lab;
    OvhSettings ovh;

    std::vector<const HostSpec*> hosts_with(Service s) const;
    const HostSpec* find_host(const std::string& name) const;
    PortAccess port_access() const;
    // The hosts pgdr-guard runs on when guard.enabled (see GuardSection::hosts), in inventory
    // order.
    std::vector<const HostSpec*> guard_hosts() const;
};

// Parses and validates; throws InventoryError listing every problem. file_name is used in
// diagnostics and to resolve relative paths (state_dir, identity files).
Inventory parse_inventory(const std::string& text, const std::string& file_name);
// Reads the file (throws InventoryError when it cannot), then parse_inventory().
Inventory load_inventory(const std::string& path);

// The DR cluster of `primary` (which must have a `dr` section) as an inventory of its own: the
// DR hosts, the DR cluster's name, standby_of naming the primary's members and slot; the same
// settings, state directory (one CA, the same roles' passwords: a physical copy has the same
// roles) and provider; no synchronous mode (a standby cluster's commits are its primary's), no
// guard, no backup section of its own yet.
Inventory dr_inventory(const Inventory& primary);

// The pair with its roles swapped, once `pgdr dr promote` made the DR cluster the primary
// (recorded in the state, core/state.hpp): the DR cluster's hosts and name as the inventory's
// cluster, the old primary's as its `dr` (whose dr_inventory() is then a standby of the new
// primary, to be rebuilt). No guard (its hosts were the old primary's).
Inventory swap_dr_roles(const Inventory& pair);

// Debian release facts pgdr relies on.
int postgres_major_for_release(const std::string& release);  // 0 when unknown

// Edit distance, for did-you-mean suggestions.
int edit_distance(const std::string& a, const std::string& b);

}  // namespace pgdr
