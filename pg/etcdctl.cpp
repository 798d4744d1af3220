#include "pg/etcdctl.hpp"

#include "core/error.hpp"
#include "core/strings.hpp"
#include "pg/etcd_config.hpp"

namespace pgdr::pg {

namespace {

// etcdctl's own failure to reach etcd (as opposed to an answer such as "lease not found").
bool cannot_reach_etcd(const CommandResult& r) {
    return r.timed_out || r.err.find("deadline exceeded") != std::string::npos ||
           r.err.find("connection refused") != std::string::npos ||
           r.err.find("Unavailable") != std::string::npos;
}

}  // namespace

// etcdctl_argv (with the client certificate) lives in pg/tls.cpp.

EtcdCtl::EtcdCtl(std::vector<std::string> hosts, std::string endpoints, TransportMap transports)
    : m_hosts(std::move(hosts)),
      m_endpoints(std::move(endpoints)),
      m_transports(std::move(transports)) {}

EtcdCtl::EtcdCtl(const Inventory& inv, TransportMap transports)
    : m_endpoints(etcd_client_endpoints(inv)), m_transports(std::move(transports)) {
    for (const auto* h : inv.hosts_with(Service::etcd)) {
        m_hosts.push_back(h->name);
    }
}

CommandResult EtcdCtl::run(const std::vector<std::string>& args,
                           const std::optional<std::string>& stdin_data) {
    RunOptions o;
    o.timeout = std::chrono::seconds(15);
    o.stdin_data = stdin_data;
    o.sudo = true;  // the client key is readable by root and etcd only (0600 etcd:etcd)
    std::vector<std::string> failures;
    for (const auto& host : m_hosts) {
        auto it = m_transports.find(host);
        if (it == m_transports.end() || it->second == nullptr) {
            continue;
        }
        try {
            auto r = it->second->run(etcdctl_argv(m_endpoints, args), o);
            if (!cannot_reach_etcd(r)) {
                return r;
            }
            failures.push_back(host + ": " +
                               (r.timed_out ? "etcdctl timed out" : first_line(r.err)));
        } catch (const Error& e) {
            failures.push_back(host + ": " + e.what());
        }
    }
    throw Error(ExitCode::unreachable,
                "etcd did not answer `etcdctl " + join(args, " ") + "` from any member" +
                    (failures.empty() ? std::string() : ": " + join(failures, "; ")),
                "is etcd up on a majority of its members? `pgdr status` shows it");
}

}  // namespace pgdr::pg
