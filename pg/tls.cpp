#include "pg/tls.hpp"

#include "core/backup_repo.hpp"
#include "pki/cluster_certs.hpp"

namespace pgdr::pg {

const TlsPaths& tls_paths() {
    static const TlsPaths k_paths;
    return k_paths;
}

std::vector<HostCertificate> host_certificates(const Inventory& inv, const HostSpec& host) {
    const auto& p = tls_paths();
    std::vector<HostCertificate> out{{k_ca_service, p.ca, "", ""}};
    if (host.runs(Service::etcd)) {
        out.push_back({pki::k_etcd_service, p.etcd_cert, p.etcd_key, "etcd:etcd"});
    }
    if (host.runs(Service::postgres)) {
        out.push_back(
            {pki::k_postgres_service, p.postgres_cert, p.postgres_key, "postgres:postgres"});
    }
    if (is_backup_repo_host(inv, host.name)) {
        out.push_back({pki::k_pgbackrest_service, p.pgbackrest_cert, p.pgbackrest_key,
                       "pgbackrest:pgbackrest"});
    }
    if (inv.guard.enabled) {
        for (const auto* g : inv.guard_hosts()) {
            if (g->name == host.name) {
                out.push_back(
                    {pki::k_guard_service, p.guard_cert, p.guard_key, "pgdr-guard:pgdr-guard"});
            }
        }
    }
    return out;
}

std::vector<std::string> etcdctl_argv(const std::string& endpoints,
                                      const std::vector<std::string>& args) {
    const auto& p = tls_paths();
    std::vector<std::string> argv{"etcdctl",
                                  "--endpoints=" + endpoints,
                                  "--cacert=" + p.ca,
                                  "--cert=" + p.etcd_cert,
                                  "--key=" + p.etcd_key,
                                  "--dial-timeout=2s",
                                  "--command-timeout=3s"};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
}

std::string local_etcd_endpoint(int client_port) {
    return "https://127.0.0.1:" + std::to_string(client_port);
}

std::string python_tls_preamble(bool client_cert) {
    const auto& p = tls_paths();
    std::string out = "import ssl\nCTX = ssl.create_default_context(cafile=\"" + p.ca + "\")\n";
    if (client_cert) {
        out += "CTX.load_cert_chain(\"" + p.postgres_cert + "\", \"" + p.postgres_key + "\")\n";
    }
    return out;
}

}  // namespace pgdr::pg
