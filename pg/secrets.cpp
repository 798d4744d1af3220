#include "pg/secrets.hpp"

#include <sys/stat.h>

#include "core/backup_repo.hpp"
#include "core/error.hpp"
#include "core/files.hpp"
#include "core/sha256.hpp"
#include "core/state.hpp"

namespace pgdr::pg {

Secrets load_secrets(const std::string& state_dir) {
    Secrets s;
    s.replication_password = ensure_secret(state_dir, k_replication_secret);
    s.superuser_password = ensure_secret(state_dir, k_superuser_secret);
    s.rewind_password = ensure_secret(state_dir, k_rewind_secret);
    s.rest_api_password = ensure_secret(state_dir, k_rest_api_secret);
    s.probe_password = ensure_secret(state_dir, k_probe_secret);
    s.haproxy_stats_password = ensure_secret(state_dir, k_haproxy_stats_secret);
    check_secrets(s);
    return s;
}

void check_secrets(const Secrets& secrets) {
    auto check = [](const std::string& value, const char* name) {
        if (value.empty()) {
            throw config_error(std::string("the secret '") + name + "' is empty",
                               std::string("delete secrets/") + name +
                                   " in the state directory to have a new one generated");
        }
        for (unsigned char c : value) {
            if (c < 0x20 || c == 0x7f) {
                throw config_error(std::string("the secret '") + name +
                                       "' holds a control character (a line break?), which "
                                       "a PostgreSQL passfile cannot hold",
                                   std::string("rewrite secrets/") + name +
                                       " in the state directory on one line, or delete it");
            }
        }
    };
    check(secrets.replication_password, k_replication_secret);
    check(secrets.superuser_password, k_superuser_secret);
    check(secrets.rewind_password, k_rewind_secret);
    check(secrets.rest_api_password, k_rest_api_secret);
    check(secrets.probe_password, k_probe_secret);
}

std::string secrets_fingerprint(const Secrets& secrets) {
    const std::string joined = "pgdr-secrets-v1\n" + secrets.replication_password + "\n" +
                               secrets.superuser_password + "\n" + secrets.rewind_password + "\n" +
                               secrets.rest_api_password + "\n" + secrets.probe_password;
    return sha256_hex(joined).substr(0, 16);
}

std::string secrets_fingerprint_path() {
    return "/etc/patroni/pgdr-secrets.fingerprint";
}

void parse_s3_credentials(const std::string& text, const std::string& file, BackupSecrets& out) {
    std::size_t at = 0;
    int line_no = 0;
    while (at < text.size()) {
        auto end = text.find('\n', at);
        std::string line = text.substr(at, end == std::string::npos ? std::string::npos : end - at);
        at = end == std::string::npos ? text.size() : end + 1;
        ++line_no;
        if (!line.empty() && line.back() == '\r') {
            line.pop_back();
        }
        if (line.empty() || line[0] == '#') {
            continue;
        }
        const auto eq = line.find('=');
        const std::string key = line.substr(0, eq);
        if (eq == std::string::npos || (key != "access_key" && key != "secret_key")) {
            throw config_error(file + ":" + std::to_string(line_no) +
                                   ": expected access_key=... or secret_key=...",
                               "the S3 credentials file holds two lines: access_key=KEY and "
                               "secret_key=SECRET");
        }
        const std::string value = line.substr(eq + 1);
        for (unsigned char c : value) {
            if (c < 0x21 || c == 0x7f) {
                throw config_error(file + ":" + std::to_string(line_no) + ": the " + key +
                                   " holds a space or a control character");
            }
        }
        (key == "access_key" ? out.s3_key : out.s3_secret) = value;
    }
    if (out.s3_key.empty() || out.s3_secret.empty()) {
        throw config_error(file + ": needs both access_key=... and secret_key=...",
                           "`pgdr provision` writes it for OVH and the lab; else write it 0600");
    }
}

void load_restore_client(const Inventory& inv, Secrets& secrets) {
    if (backup_repo_host(inv) == nullptr) {
        return;
    }
    secrets.tls = pki::read_cluster_pki(inv.paths.state_dir, inv);
    if (secrets.tls.certs.count(pki::k_restore_client_name) == 0) {
        throw config_error("no restore client certificate in " + pki::pki_dir(inv.paths.state_dir) +
                               " (the repository host " + inv.backup->repo.host +
                               " accepts only certificates of the cluster)",
                           "run `pgdr bootstrap` first: its certificates stage makes it");
    }
}

BackupSecrets load_backup_secrets(const Inventory& inv) {
    BackupSecrets out;
    // A DR cluster reads the primary's repository (its standby_cluster's restore_command).
    const BackupSettings* settings = members_repository(inv);
    if (settings == nullptr) {
        return out;
    }
    const auto& b = *settings;
    if (b.cipher) {
        out.cipher_pass = ensure_secret(inv.paths.state_dir, k_pgbackrest_cipher_secret);
    }
    if (b.repo.type == "s3") {
        const std::string file = b.repo.credentials_file.empty()
                                     ? inv.paths.state_dir + "/secrets/" + k_s3_credentials_secret
                                     : b.repo.credentials_file;
        const std::string text = read_private_file(
            file, "the S3 credentials",
            "`pgdr provision` writes it for OVH and the lab; else write access_key=... and "
            "secret_key=... into it, mode 0600");
        parse_s3_credentials(text, file, out);
    }
    if (!b.repo.ca_file.empty()) {
        auto pem = read_text_file(b.repo.ca_file);
        if (!pem || pem->find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
            throw config_error("backup.repo.ca_file " + b.repo.ca_file +
                               " is not a readable PEM certificate");
        }
        out.repo_ca_pem = *pem;
    }
    return out;
}

void register_secrets(const Secrets& secrets, Logger& log) {
    log.add_secret(secrets.replication_password);
    log.add_secret(secrets.superuser_password);
    log.add_secret(secrets.rewind_password);
    log.add_secret(secrets.rest_api_password);
    log.add_secret(secrets.probe_password);
    if (!secrets.haproxy_stats_password.empty()) {
        log.add_secret(secrets.haproxy_stats_password);
    }
    for (const auto* s :
         {&secrets.backup.cipher_pass, &secrets.backup.s3_key, &secrets.backup.s3_secret}) {
        if (!s->empty()) {
            log.add_secret(*s);
        }
    }
}

void register_stored_secrets(const std::string& state_dir, Logger& log) {
    for (const char* name : {k_replication_secret, k_superuser_secret, k_rewind_secret,
                             k_rest_api_secret, k_probe_secret, k_pgbackrest_cipher_secret}) {
        if (auto s = read_secret(state_dir, name); s && !s->empty()) {
            log.add_secret(*s);
        }
    }
}

}  // namespace pgdr::pg
