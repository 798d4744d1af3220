// etcdctl on a cluster host: the one place pgdr builds an etcdctl command line (client
// certificates and other connection flags belong in etcdctl_argv), and EtcdCtl, which runs it
// over SSH on the first etcd member that answers, with every member as an endpoint.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/apply.hpp"
#include "core/inventory.hpp"
#include "core/transport.hpp"
#include "pg/tls.hpp"

namespace pgdr::pg {

// etcdctl_argv: pg/tls.hpp (the CA and the host's client certificate).

class EtcdCtl {
  public:
    // `hosts`: where etcdctl may run (the etcd members), tried in order; `endpoints`: every
    // member's client URL (etcd_client_endpoints). The transports must outlive this object.
    EtcdCtl(std::vector<std::string> hosts, std::string endpoints, TransportMap transports);
    // The inventory's etcd members.
    EtcdCtl(const Inventory& inv, TransportMap transports);

    // Runs etcdctl ARGS on the first host that answers; a host whose SSH fails or whose etcdctl
    // cannot reach etcd (timed out, deadline exceeded, connection refused) is skipped. Throws
    // pgdr::Error (unreachable) naming every host's failure when none answered.
    CommandResult run(const std::vector<std::string>& args,
                      const std::optional<std::string>& stdin_data = std::nullopt);

  private:
    std::vector<std::string> m_hosts;
    std::string m_endpoints;
    TransportMap m_transports;
};

}  // namespace pgdr::pg
