// `pgdr certs status`: every certificate the certificates stage installs (pg::host_certificates:
// the CA on every host, etcd's on members, postgres's on PostgreSQL hosts), read from the host
// over its Transport (as root) and judged against the state directory's copy and the cluster CA
// (pki::judge_certificate); the operator's own client certificate, from the state directory.
//
// JSON (man/pgdr-certs.1; stable field names):
//   {"cluster", "warn_days", "ok", "exit_code",
//    "ca": {"subject", "serial", "not_after", "days_left"},
//    "certificates": [{"host", "service", "path", "state", "subject", "issuer", "serial",
//                      "dns_names", "ip_addresses", "not_before", "not_after", "days_left",
//                      "matches_state", "chains_to_ca", "problems"}]}
// Times are UTC ISO 8601 ("2028-03-01T09:00:00Z"); fields of an absent or unreadable file are
// null; state is a pki::CertState name or "unreachable" (the host could not be read).
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/apply.hpp"
#include "core/inventory.hpp"
#include "pki/cert_check.hpp"
#include "pki/cluster_certs.hpp"

namespace pgdr::pg {

inline constexpr const char* k_operator_host = "(operator)";
inline constexpr int k_default_warn_days = 30;

struct CertEntry {
    std::string host;     // inventory host; k_operator_host for pgdr's own certificate
    std::string service;  // ca | etcd | postgres | operator
    std::string path;     // on the host (the state directory's file for the operator's)
    bool reachable = true;
    std::string error;  // why the host could not be read
    pki::CertCheck check;

    std::string state_name() const;  // pki::to_string(check.state) or "unreachable"
};

struct CertsReport {
    std::string cluster;
    int warn_days = k_default_warn_days;
    pki::CertInfo ca;
    long long ca_days_left = 0;
    std::vector<CertEntry> entries;

    // 0: every certificate ok or expiring; 7 (verification_failed): one is missing, unreadable,
    // of another CA, expired or differs from the state's; else 5 (unreachable) when a host
    // could not be read.
    int exit_code() const;
    bool ok() const { return exit_code() == 0; }
};

// Reads and judges every host's certificates. A host whose transport throws (unreachable) gets
// entries in state "unreachable"; nothing else is thrown.
CertsReport collect_cert_status(const Inventory& inv, const pki::ClusterPki& state,
                                const TransportMap& transports,
                                std::chrono::system_clock::time_point now, int warn_days);

nlohmann::json certs_to_json(const CertsReport& report);
std::string render_certs_text(const CertsReport& report);
// "2028-03-01T09:00:00Z"
std::string utc_text(std::chrono::system_clock::time_point t);

}  // namespace pgdr::pg
