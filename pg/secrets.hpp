// The cluster's generated secrets and the roles they belong to.
//
// Each password lives in its own 0600 file in the state directory (core/state.hpp), generated
// on first use and reused on re-runs. They reach the hosts only inside 0600 files (patroni.yml,
// passfiles), never argv or logs: register_secrets() adds them to the logger's redaction.
#pragma once

#include <map>
#include <string>

#include "core/inventory.hpp"
#include "core/log.hpp"
#include "pki/cluster_certs.hpp"

namespace pgdr::pg {

// Role names pgdr creates or configures.
inline constexpr const char* k_replication_user = "replicator";
inline constexpr const char* k_superuser = "postgres";
inline constexpr const char* k_rewind_user = "rewind";
inline constexpr const char* k_rest_api_user = "patroni";
// The role and database the drill probes and bootstrap's verification write through HAProxy with.
inline constexpr const char* k_probe_user = "pgdr_probe";
inline constexpr const char* k_probe_database = "pgdr";

// Secret file names under <state_dir>/secrets/.
inline constexpr const char* k_replication_secret = "replication-password";
inline constexpr const char* k_superuser_secret = "superuser-password";
inline constexpr const char* k_rewind_secret = "rewind-password";
inline constexpr const char* k_rest_api_secret = "rest-api-password";
inline constexpr const char* k_probe_secret = "probe-password";
inline constexpr const char* k_haproxy_stats_secret = "haproxy-stats-password";
inline constexpr const char* k_haproxy_stats_user = "pgdr";
// pgBackRest (the inventory's backup section): the repository's cipher passphrase, generated, and
// the S3 credentials the operator (or `pgdr provision`) put there.
inline constexpr const char* k_pgbackrest_cipher_secret = "pgbackrest-cipher";
inline constexpr const char* k_s3_credentials_secret = "s3-credentials";

// What pgBackRest's configuration needs from the operator's side; empty without a backup section.
struct BackupSecrets {
    std::string cipher_pass;  // backup.cipher
    std::string s3_key;       // backup.repo.type s3
    std::string s3_secret;
    std::string repo_ca_pem;  // backup.repo.ca_file's content (no secret)
};

// pgdr-guard's (guard.enabled), filled by the caller (cmd/): what the guard stage installs.
struct GuardInputs {
    std::map<std::string, std::string> agent_configs;  // by guard host: guard.json's content
    std::string credentials;      // the agents' ovh.conf (application and consumer keys)
    std::string provider_ca_pem;  // guard.provider_ca_file's content; "": the system's CAs
    std::string agent_binary;     // pgdr-guard's bytes
};

struct Secrets {
    std::string replication_password;
    std::string superuser_password;
    std::string rewind_password;
    std::string rest_api_password;
    std::string probe_password;
    // HAProxy's statistics page (basic auth): not in the fingerprint, which predates it.
    std::string haproxy_stats_password;
    // The cluster CA and every host's certificates (pki/cluster_certs.hpp), filled by the
    // caller that knows the inventory (bootstrap); the certificates stage needs them.
    pki::ClusterPki tls;
    // pgBackRest's, filled by load_backup_secrets() for an inventory with a backup section.
    BackupSecrets backup;
    GuardInputs guard = {};
};

// Reads (or generates) the passwords from the state directory, then check_secrets().
Secrets load_secrets(const std::string& state_dir);

// Throws pgdr::Error (invalid_config) when a password is empty or holds a control character
// (a line break cannot be written to a passfile, by pgdr or by Patroni). The message names the
// secret file, never its content.
void check_secrets(const Secrets& secrets);

// A short, one-way fingerprint of the five passwords (16 hex digits of a sha256): recorded in
// state.json and on every PostgreSQL host (secrets_fingerprint_path()), so that a lost or
// regenerated state directory is noticed before its new passwords reach a running cluster.
std::string secrets_fingerprint(const Secrets& secrets);
std::string secrets_fingerprint_path();  // /etc/patroni/pgdr-secrets.fingerprint

// The backup section's secrets: the cipher passphrase (generated into the state directory), the
// S3 credentials from backup.repo.credentials_file (default <state>/secrets/s3-credentials: lines
// access_key=... and secret_key=...; refused when group or others may read it) and the CA file.
// Throws pgdr::Error (invalid_config) naming the file, never a value. Empty without a section.
// A DR cluster's inventory: those of the primary's repository it reads (standby_of->archive).
BackupSecrets load_backup_secrets(const Inventory& inv);
// With a repository host (backup.repo.type posix): the cluster CA and the restore client's pair
// from the state directory into secrets.tls, for a scratch host's restore
// (pg/restore_scratch.hpp). Nothing otherwise. Throws as pki::read_cluster_pki, or when the
// restore client's pair is missing (`pgdr bootstrap` makes it).
void load_restore_client(const Inventory& inv, Secrets& secrets);

// The S3 credentials file's content; throws like load_backup_secrets (`file` names it).
void parse_s3_credentials(const std::string& text, const std::string& file, BackupSecrets& out);

// Registers every password with the logger's redaction.
void register_secrets(const Secrets& secrets, Logger& log);
// Registers the passwords the state directory holds, generating none (runbooks, transcripts).
void register_stored_secrets(const std::string& state_dir, Logger& log);

}  // namespace pgdr::pg
