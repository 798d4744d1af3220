// The monitoring stage of bootstrap (issue 15): exporters on every host, Prometheus and
// Alertmanager on the hosts with the monitor service (monitoring/config.hpp renders their files).
//
//   role        on the leader, role `prometheus` in pg_monitor, for the PostgreSQL exporter
//               (peer authentication over the local socket: no password anywhere);
//   services    the files first, then the Debian packages with --force-confold (so a package
//               starts on the cluster address at once, never on Debian's wildcard default),
//               enabled, restarted when their settings changed, Prometheus and Alertmanager
//               reloaded when their configuration changed (after `promtool check config`);
//   targets     on each monitor host, until Prometheus has scraped every target successfully.
// Nothing is planned when no host runs the monitor service.
#pragma once

#include "core/inventory.hpp"
#include "core/plan.hpp"
#include "pg/secrets.hpp"

namespace pgdr::pg {

void plan_monitoring(Plan& plan, const Inventory& inv, const HostSpec& primary,
                     const Secrets& secrets);

// The Debian packages of the monitoring stage for one host.
std::vector<std::string> monitoring_packages(const Inventory& inv, const HostSpec& host);

}  // namespace pgdr::pg
