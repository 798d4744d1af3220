// The guard stage of bootstrap (issue 18): pgdr-guard on the guard hosts when guard.enabled.
//
//   packages    libcurl and the pgdr-guard system user on each guard host (packages stage, so
//               the certificates stage can give the user its etcd client key);
//   files       the agent binary (/usr/local/sbin/pgdr-guard), guard.json (rendered from the
//               inventory by guard::agent_config_for), the agents' provider key (ovh.conf,
//               0640 root:pgdr-guard), the provider's CA when the inventory names one, and the
//               systemd unit;
//   service     enabled, restarted when one of them changed, started;
//   check       `pgdr-guard --check` on each host: etcd answers with Patroni's keys, and the
//               provider's API answers for every member's instance with the expected name and
//               address (a wrong key or a stale instance id fails bootstrap, not a failover).
// Nothing is planned without guard.enabled.
#pragma once

#include <string>
#include <vector>

#include "core/inventory.hpp"
#include "core/plan.hpp"
#include "pg/secrets.hpp"

namespace pgdr::pg {

// Where the guard stage puts pgdr-guard on a host (guard/inventory_config.cpp names the
// configuration's own paths from these).
inline constexpr const char* k_guard_binary = "/usr/local/sbin/pgdr-guard";
inline constexpr const char* k_guard_config = "/etc/pgdr-guard/guard.json";
inline constexpr const char* k_guard_credentials = "/etc/pgdr-guard/ovh.conf";
inline constexpr const char* k_guard_provider_ca = "/etc/pgdr-guard/provider-ca.crt";
inline constexpr const char* k_guard_unit = "/etc/systemd/system/pgdr-guard.service";
inline constexpr const char* k_guard_user = "pgdr-guard";

// The agent's packages on a guard host (libcurl; Debian 13 names it libcurl4t64); none elsewhere.
std::vector<std::string> guard_packages(const Inventory& inv, const HostSpec& host);
bool is_guard_host(const Inventory& inv, const std::string& host);
// useradd --system pgdr-guard, unless it exists.
RunCommand guard_user_action();

// Every file the guard stage writes on `host` (none off the guard hosts).
std::vector<PutFile> guard_files(const Inventory& inv, const HostSpec& host,
                                 const Secrets& secrets);
std::string render_guard_unit(const Inventory& inv);

void plan_guard(Plan& plan, const Inventory& inv, const Secrets& secrets);

}  // namespace pgdr::pg
