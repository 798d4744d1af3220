#include "pg/secrets.hpp"

#include "core/error.hpp"
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

void register_secrets(const Secrets& secrets, Logger& log) {
    log.add_secret(secrets.replication_password);
    log.add_secret(secrets.superuser_password);
    log.add_secret(secrets.rewind_password);
    log.add_secret(secrets.rest_api_password);
    log.add_secret(secrets.probe_password);
    if (!secrets.haproxy_stats_password.empty()) {
        log.add_secret(secrets.haproxy_stats_password);
    }
}

void register_stored_secrets(const std::string& state_dir, Logger& log) {
    for (const char* name : {k_replication_secret, k_superuser_secret, k_rewind_secret,
                             k_rest_api_secret, k_probe_secret}) {
        if (auto s = read_secret(state_dir, name); s && !s->empty()) {
            log.add_secret(*s);
        }
    }
}

}  // namespace pgdr::pg
