#include "core/inventory_json.hpp"

namespace pgdr {

namespace {
nlohmann::json ssh_json(const SshSettings& s) {
    return {{"user", s.user},
            {"port", s.port},
            {"identity_file", s.identity_file},
            {"known_hosts", s.known_hosts},
            {"connect_timeout", s.connect_timeout_s},
            {"command_timeout", s.command_timeout_s}};
}

nlohmann::json hosts_json(const std::vector<HostSpec>& list) {
    nlohmann::json hosts = nlohmann::json::array();
    for (const auto& h : list) {
        nlohmann::json services = nlohmann::json::array();
        for (auto s : h.services) {
            services.push_back(to_string(s));
        }
        hosts.push_back({{"name", h.name},
                         {"address", h.address},
                         {"zone", h.zone},
                         {"region", h.region},
                         {"services", services},
                         {"ssh", ssh_json(h.ssh)}});
    }
    return hosts;
}
}  // namespace

nlohmann::json inventory_to_json(const Inventory& inv) {
    const nlohmann::json hosts = hosts_json(inv.hosts);
    const char* provider = inv.provider == ProviderKind::lab   ? "lab"
                           : inv.provider == ProviderKind::ovh ? "ovh"
                                                               : "none";
    nlohmann::json out = {
        {"cluster", inv.cluster},
        {"production", inv.production},
        {"release", inv.release},
        {"postgres_version", inv.postgres_version},
        {"network", {{"cidr", inv.network_cidr}, {"ssh_allowed_cidrs", inv.ssh_allowed_cidrs}}},
        {"hosts", hosts},
        {"patroni",
         {{"timing", inv.patroni.timing},
          {"ttl", inv.patroni.ttl},
          {"loop_wait", inv.patroni.loop_wait},
          {"retry_timeout", inv.patroni.retry_timeout},
          {"maximum_lag_on_failover", inv.patroni.maximum_lag_on_failover},
          {"synchronous_mode", inv.patroni.synchronous_mode},
          {"synchronous_mode_strict", inv.patroni.synchronous_mode_strict},
          {"use_pg_rewind", inv.patroni.use_pg_rewind},
          {"use_slots", inv.patroni.use_slots},
          {"rest_port", inv.patroni.rest_port}}},
        {"haproxy",
         {{"write_port", inv.haproxy.write_port},
          {"read_port", inv.haproxy.read_port},
          {"stats_port", inv.haproxy.stats_port},
          {"check_interval_ms", inv.haproxy.check_interval_ms},
          {"fast_check_interval_ms", inv.haproxy.fast_check_interval_ms},
          {"fall", inv.haproxy.fall},
          {"rise", inv.haproxy.rise}}},
        {"etcd", {{"client_port", inv.etcd.client_port}, {"peer_port", inv.etcd.peer_port}}},
        {"paths", {{"state_dir", inv.paths.state_dir}, {"archive_dir", inv.paths.archive_dir}}},
        {"provider", {{"type", provider}}},
    };
    if (inv.provider == ProviderKind::lab) {
        out["provider"]["lab"] = {{"dir", inv.lab.dir}};
    }
    if (inv.provider == ProviderKind::ovh) {
        out["provider"]["ovh"] = {
            {"endpoint", inv.ovh.endpoint}, {"project_id", inv.ovh.project_id},
            {"regions", inv.ovh.regions},   {"flavor", inv.ovh.flavor},
            {"image", inv.ovh.image},       {"ssh_public_key_file", inv.ovh.ssh_public_key_file}};
    }
    if (inv.backup) {
        const auto& b = *inv.backup;
        out["backup"] = {{"repo",
                          {{"type", b.repo.type},
                           {"endpoint", b.repo.endpoint},
                           {"region", b.repo.region},
                           {"bucket", b.repo.bucket},
                           {"uri_style", b.repo.uri_style},
                           {"ca_file", b.repo.ca_file},
                           {"credentials_file", b.repo.credentials_file},
                           {"path", b.repo.path},
                           {"host", b.repo.host}}},
                         {"retention_full", b.retention_full},
                         {"retention_diff", b.retention_diff},
                         {"compress", b.compress},
                         {"cipher", b.cipher},
                         {"schedule", {{"full", b.schedule.full}, {"diff", b.schedule.diff}}}};
    }
    if (inv.dr) {
        out["dr"] = {{"region", inv.dr->region},
                     {"cluster", inv.dr->cluster},
                     {"slot", inv.dr->slot},
                     {"hosts", hosts_json(inv.dr->hosts)}};
    }
    if (inv.guard.enabled) {
        std::vector<std::string> agents;
        for (const auto* h : inv.guard_hosts()) {
            agents.push_back(h->name);
        }
        out["guard"] = {{"enabled", true},
                        {"hosts", agents},
                        {"probe_interval_ms", inv.guard.probe_interval_ms},
                        {"unreachable_after_ms", inv.guard.unreachable_after_ms},
                        {"quorum", inv.guard.quorum},
                        {"fence_timeout_s", inv.guard.fence_timeout_s},
                        {"fence_action", inv.guard.fence_action},
                        {"fence_on_silence", inv.guard.fence_on_silence},
                        {"provider_endpoint", inv.guard.provider_endpoint},
                        {"provider_ca_file", inv.guard.provider_ca_file},
                        {"credentials_file", inv.guard.credentials_file}};
    }
    return out;
}

}  // namespace pgdr
