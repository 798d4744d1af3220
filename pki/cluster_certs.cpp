#include "pki/cluster_certs.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <optional>

#include "core/backup_repo.hpp"
#include "core/error.hpp"
#include "core/files.hpp"

namespace pgdr::pki {

namespace {

CertSpec host_spec(const Inventory& inv, const HostSpec& h, const std::string& service) {
    if (h.address.empty()) {
        throw config_error("host " + h.name + " has no address yet: no certificate for it",
                           "run `pgdr provision` first, or set its address in the inventory");
    }
    CertSpec s;
    s.host = h.name;
    s.service = service;
    s.stem = h.name + "." + service;
    s.request.common_name = cert_common_name(inv, h.name, service);
    s.request.dns_names = {h.name, "localhost"};
    s.request.ip_addresses = {h.address};
    if (h.address != "127.0.0.1") {
        s.request.ip_addresses.push_back("127.0.0.1");
    }
    // PostgreSQL's clients also connect through HAProxy (a TCP proxy): its hosts' names and
    // addresses are on every PostgreSQL certificate, so that verify-full holds there too.
    if ((service == k_postgres_service || service == k_pgbackrest_service) &&
        inv.release == "bookworm") {
        // pgBackRest's TLS servers use these certificates (the members' and a repository
        // host's). pgBackRest 2.45 (Debian 12) matches
        // the address it dials (pgN-host) only against DNS names and the CN, never against IP
        // SANs ("unable to find hostname '198.18.0.12' in certificate common name or subject
        // alternative names", pgbackrest#1977): the address is also a DNS name there.
        s.request.dns_names.push_back(h.address);
    }
    if (service == k_postgres_service) {
        for (const auto& lb : inv.hosts) {
            if (lb.runs(Service::haproxy) && lb.name != h.name && !lb.address.empty()) {
                s.request.dns_names.push_back(lb.name);
                s.request.ip_addresses.push_back(lb.address);
            }
        }
    }
    s.request.usage = Usage::server_and_client;
    s.request.validity = k_leaf_validity;
    return s;
}

// A client certificate of no host (the operator's, the restore client's).
CertSpec client_spec(const std::string& stem, const std::string& common_name,
                     const std::string& dns_name) {
    CertSpec s;
    s.stem = stem;
    s.request.common_name = common_name;
    s.request.dns_names = {dns_name};
    s.request.usage = Usage::client;
    s.request.validity = k_leaf_validity;
    return s;
}

CertSpec operator_spec(const Inventory& inv) {
    return client_spec(k_operator_name, "pgdr operator (" + inv.cluster + ")", "pgdr-operator");
}

std::optional<KeyPair> read_pair(const std::string& dir, const std::string& stem) {
    auto cert = read_text_file(dir + "/" + stem + ".crt");
    auto key = read_text_file(dir + "/" + stem + ".key");
    if (!cert || !key) {
        return std::nullopt;
    }
    return KeyPair{*cert, *key};
}

void write_pair(const std::string& dir, const std::string& stem, const KeyPair& pair) {
    write_file_atomic(dir + "/" + stem + ".key", pair.key_pem, 0600);
    write_file_atomic(dir + "/" + stem + ".crt", pair.cert_pem, 0600);
}

std::vector<std::string> sorted(std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
}

// The existing pair still serves `spec`: chained, matching key, same names, time left.
bool still_good(const KeyPair& ca, const KeyPair& pair, const CertSpec& spec,
                std::chrono::system_clock::time_point now) {
    try {
        if (!verify(ca.cert_pem, pair.cert_pem) || !key_matches(pair.cert_pem, pair.key_pem)) {
            return false;
        }
        const CertInfo info = inspect(pair.cert_pem);
        return sorted(info.dns_names) == sorted(spec.request.dns_names) &&
               sorted(info.ip_addresses) == sorted(spec.request.ip_addresses) &&
               info.not_after - now > k_renew_before;
    } catch (const Error&) {
        return false;  // unreadable: issue it again
    }
}

KeyPair ensure_ca(const std::string& dir, const Inventory& inv) {
    if (auto ca = read_pair(dir, "ca")) {
        if (!key_matches(ca->cert_pem, ca->key_pem)) {
            throw config_error(dir + "/ca.key does not belong to " + dir + "/ca.crt",
                               "restore both files from the same backup; pgdr never replaces a "
                               "cluster's CA on its own");
        }
        return *ca;
    }
    KeyPair ca = make_ca("pgdr cluster CA (" + inv.cluster + ")", k_ca_validity);
    write_pair(dir, "ca", ca);
    return ca;
}

}  // namespace

std::string cert_common_name(const Inventory& inv, const std::string& host,
                             const std::string& service) {
    return host + " " + service + " (" + inv.cluster + ")";
}

std::string restore_client_common_name(const Inventory& inv) {
    return "pgdr restore (" + inv.cluster + ")";
}

std::vector<CertSpec> cluster_cert_specs(const Inventory& inv) {
    std::vector<CertSpec> out;
    for (const auto& h : inv.hosts) {
        if (h.runs(Service::etcd)) {
            out.push_back(host_spec(inv, h, k_etcd_service));
        }
        if (h.runs(Service::postgres)) {
            out.push_back(host_spec(inv, h, k_postgres_service));
        }
        if (is_backup_repo_host(inv, h.name)) {
            out.push_back(host_spec(inv, h, k_pgbackrest_service));
        }
    }
    if (inv.guard.enabled) {
        for (const auto* h : inv.guard_hosts()) {
            CertSpec s = client_spec(h->name + "." + k_guard_service,
                                     cert_common_name(inv, h->name, k_guard_service), "pgdr-guard");
            s.host = h->name;
            s.service = k_guard_service;
            out.push_back(s);
        }
    }
    out.push_back(operator_spec(inv));
    if (backup_repo_host(inv) != nullptr) {
        out.push_back(
            client_spec(k_restore_client_name, restore_client_common_name(inv), "pgdr-restore"));
    }
    return out;
}

const KeyPair& ClusterPki::of(const std::string& host, const std::string& service) const {
    auto it = certs.find(host + "." + service);
    if (it == certs.end()) {
        throw Error(ExitCode::internal, "no " + service + " certificate for " + host);
    }
    return it->second;
}

std::string pki_dir(const std::string& state_dir) {
    return state_dir + "/pki";
}

ClusterPki read_cluster_pki(const std::string& state_dir, const Inventory& inv) {
    const std::string dir = pki_dir(state_dir);
    auto ca = read_pair(dir, "ca");
    if (!ca) {
        throw config_error("no cluster CA in " + dir,
                           "run `pgdr bootstrap` first: its certificates stage makes the CA");
    }
    if (!key_matches(ca->cert_pem, ca->key_pem)) {
        throw config_error(dir + "/ca.key does not belong to " + dir + "/ca.crt",
                           "restore both files from the same backup");
    }
    ClusterPki pki;
    pki.ca = *ca;
    for (const auto& spec : cluster_cert_specs(inv)) {
        if (auto pair = read_pair(dir, spec.stem)) {
            pki.certs[spec.stem] = *pair;
        }
    }
    return pki;
}

ClusterPki issue_cluster_certs(const KeyPair& ca, const Inventory& inv) {
    ClusterPki pki;
    pki.ca = ca;
    for (const auto& spec : cluster_cert_specs(inv)) {
        pki.certs[spec.stem] = issue(ca, spec.request);
        pki.issued.push_back(spec.stem);
    }
    return pki;
}

void store_cluster_certs(const std::string& state_dir, const ClusterPki& pki) {
    const std::string dir = pki_dir(state_dir);
    ensure_directory(dir, 0700);
    for (const auto& [stem, pair] : pki.certs) {
        write_pair(dir, stem, pair);
    }
}

ClusterPki ensure_cluster_pki(const std::string& state_dir, const Inventory& inv,
                              std::chrono::system_clock::time_point now, Renew renew) {
    const std::string dir = pki_dir(state_dir);
    ensure_directory(state_dir, 0700);
    ensure_directory(dir, 0700);
    ::chmod(dir.c_str(), 0700);
    ClusterPki pki;
    pki.ca = ensure_ca(dir, inv);
    for (const auto& spec : cluster_cert_specs(inv)) {
        auto existing = read_pair(dir, spec.stem);
        if (renew == Renew::when_needed && existing && still_good(pki.ca, *existing, spec, now)) {
            pki.certs[spec.stem] = *existing;
            continue;
        }
        KeyPair pair = issue(pki.ca, spec.request);
        write_pair(dir, spec.stem, pair);
        pki.certs[spec.stem] = pair;
        pki.issued.push_back(spec.stem);
    }
    return pki;
}

}  // namespace pgdr::pki
