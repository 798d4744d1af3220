// The Public Cloud resources pgdr manages, over the signed Client (ovh-api.md §3-§5).
//
// - v2 (/v2/publicCloud/project/{p}/...): sshKey (synchronous, keyed by name), network and
//   network/{id}/subnet, securityGroup, compute/instanceGroup, compute/instance. Each async
//   resource is created with {"targetSpec": ...} and waited on until resourceStatus == READY;
//   deletion is waited on until GET answers 404.
// - v1 (/cloud/project/{p}/...): flavors and images by name and region (flavors carry the
//   remaining quota), and the power actions the drills use: reboot (hard), stop, start, with
//   the instance status (BUILD, ACTIVE, HARD_REBOOT, SHUTOFF, ...).
// Resources are found by name (pgdr names them pgdr-<cluster>-...). A POST whose outcome is
// unknown (timeout, 5xx) is never repeated blindly: create() lists by name first and only posts
// again when the resource is not there.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "ovh/client.hpp"

namespace pgdr::ovh {

// j[key] when j is an object holding a string there; "" otherwise (OVH answers vary).
std::string json_string(const nlohmann::json& j, const char* key);

struct WaitOptions {
    std::chrono::milliseconds timeout{std::chrono::minutes(30)};
    std::chrono::milliseconds first_poll{std::chrono::milliseconds(200)};
    std::chrono::milliseconds max_poll{std::chrono::seconds(5)};
    int create_rounds = 3;  // POSTs of one resource at most, each after a look by name
};

// targetSpec.name, else currentState.name, else name (sshKey).
std::string resource_name(const nlohmann::json& resource);
// resourceStatus ("READY", ...); "READY" for resources without one (sshKey).
std::string resource_status(const nlohmann::json& resource);

// The messages of a resource's currentTasks[].errors[], joined with "; " ("" when none).
std::string task_errors(const nlohmann::json& resource);

// An instance's IPv4 addresses from its v2 currentState.networks: the one on `network_id`
// (private), and the first one elsewhere (public, Ext-Net). "" for what it does not have.
struct InstanceAddresses {
    std::string private_address;
    std::string public_address;
};
InstanceAddresses instance_addresses(const nlohmann::json& instance, const std::string& network_id);

struct FlavorInfo {
    std::string id;
    bool available = true;
    std::optional<long long> quota;  // instances of this flavor the project may still start
};

class ProjectApi {
  public:
    ProjectApi(Client& client, Clock& clock, Logger& log, std::string project_id,
               WaitOptions wait = {});

    const std::string& project_id() const { return m_project; }
    Client& client() { return m_client; }
    Clock& clock() { return m_clock; }
    // "/v2/publicCloud/project/<p>/" + kind
    std::string v2_path(const std::string& kind) const;
    std::string v1_path(const std::string& rel) const;

    // v2 collections. kind: "sshKey", "network", "network/<id>/subnet", "securityGroup",
    // "compute/instanceGroup", "compute/instance".
    nlohmann::json list(const std::string& kind);
    std::optional<nlohmann::json> find_by_name(const std::string& kind, const std::string& name);
    // POST {body}; on an unknown outcome looks the name up before posting again.
    nlohmann::json create(const std::string& kind, const std::string& name,
                          const nlohmann::json& body);
    // PUT {"checksum": <current>, "targetSpec": spec} (checksum read just before).
    nlohmann::json update(const std::string& kind, const std::string& id,
                          const nlohmann::json& target_spec);
    // Polls GET until READY; throws ApiError-like pgdr::Error (exit 4) on ERROR or timeout.
    nlohmann::json wait_ready(const std::string& kind, const std::string& id);
    // DELETE; false when it was already gone (404).
    bool remove(const std::string& kind, const std::string& id);
    // Polls GET until 404.
    void wait_gone(const std::string& kind, const std::string& id);

    // v1 reference data for one region.
    std::optional<FlavorInfo> flavor(const std::string& region, const std::string& name);
    std::optional<std::string> image_id(const std::string& region, const std::string& name);

    // v1 power actions (drills) and status.
    void reboot_hard(const std::string& instance_id);
    void stop(const std::string& instance_id);
    void start(const std::string& instance_id);
    std::string instance_status(const std::string& instance_id);
    // GET v1 instance/<id>: name, status, ipAddresses[{ip, type}], ...
    nlohmann::json instance(const std::string& instance_id);
    // Polls the v1 status until it equals `status` (ERROR fails at once).
    void wait_instance_status(const std::string& instance_id, const std::string& status);

  private:
    // Sleeps the next poll interval; throws when `deadline` has passed.
    void poll_pause(std::chrono::milliseconds& interval,
                    std::chrono::steady_clock::time_point deadline, const std::string& what,
                    const std::string& last_status);

    Client& m_client;
    Clock& m_clock;
    Logger& m_log;
    std::string m_project;
    WaitOptions m_wait;
};

}  // namespace pgdr::ovh
