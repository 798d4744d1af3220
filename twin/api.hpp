// The OVH twin's API model: an OVH-API-compatible request handler whose instances are real
// machines behind a TwinBackend (DESIGN.md §11, issue 11). Pure: HTTP in and out as the
// HttpRequest/HttpResponse values of core/http.hpp, time from a Clock, machines through the
// backend, so every rule is unit-tested without a network.
//
// It checks each request as the real API does (ovh-api.md §1): X-Ovh-Application must be the
// twin's application key (403 INVALID_KEY), X-Ovh-Consumer its consumer key (401/403), the
// timestamp within `time_window_s` of the twin's clock (400 INVALID_TIMESTAMP), and
// X-Ovh-Signature the "$1$" SHA-1 of AS+CK+METHOD+URL+BODY+TS over the absolute URL that was
// sent (400 INVALID_SIGNATURE). /auth/time is unsigned.
//
// Routes (what pgdr calls; tests/fake_ovh/fake_ovh.py has the same list):
//   v1  GET /auth/time, /auth/currentCredential, /cloud/project/{p}, /cloud/project/{p}/region,
//       /cloud/project/{p}/flavor?region=, /cloud/project/{p}/image?region=,
//       GET /cloud/project/{p}/instance/{id}, POST .../instance/{id}/reboot|stop|start,
//       Object Storage: /cloud/project/{p}/region/{R}/storage[/{name}] (buckets, served by
//       S3Regions), /cloud/project/{p}/user[/{id}] (role objectstore_operator),
//       .../user/{id}/s3Credentials[/{access}[/secret]], .../user/{id}/policy
//   v2  /v2/publicCloud/project/{p}/sshKey[/{name}], network[/{id}], network/{id}/subnet[/{id}],
//       securityGroup[/{id}], compute/instanceGroup[/{id}], compute/instance[/{id}]
// v2 resources are CREATING until the backend finished (a booted host answering SSH, a
// bridge), then READY; UPDATING while a security group's rules are re-applied; DELETING until
// the backend removed them, then 404. A backend failure makes the resource ERROR with the
// message in currentTasks[].errors[]. Bad input gets OVH's status and class: unknown region,
// flavor or image 400 Client::BadRequest, exceeded quota 403, resources in use 409.
// Thread-safe.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/http.hpp"
#include "twin/backend.hpp"
#include "twin/s3.hpp"

namespace pgdr::twin {

struct FlavorSpec {
    std::string name;
    int vcpus = 1;
    int ram_gb = 1;
    int disk_gb = 10;
};

struct TwinConfig {
    std::string application_key;
    std::string application_secret;
    std::string consumer_key;
    std::vector<std::string> projects;  // project ids (serviceName)
    std::vector<std::string> regions{"GRA11", "SBG5", "RBX-A", "BHS5", "WAW1", "DE1"};
    int quota_per_region = 6;   // instances per project and region
    int time_window_s = 180;    // accepted |timestamp - twin time|
    int region_latency_ms = 0;  // added each way between private networks of two regions

    nlohmann::json to_json() const;
    // Throws std::exception on a malformed document.
    static TwinConfig from_json(const nlohmann::json& j);
};

// The flavors every region offers (names as OVH's; vCPUs and RAM become cgroup limits).
const std::vector<FlavorSpec>& flavors();
// "Debian 13" -> "trixie", "Debian 12" -> "bookworm"; empty for another image name.
std::string image_release(const std::string& image_name);

class TwinApi {
  public:
    // Runs one backend job (a slow operation) outside the request: on a thread in the server,
    // at once in unit tests.
    using Spawn = std::function<void(std::function<void()>)>;

    TwinApi(TwinConfig config, Clock& clock, TwinBackend& backend, Spawn spawn);

    // One request. `request.url` is the absolute URL the client sent (what it signed).
    HttpResponse handle(const HttpRequest& request);

    const TwinConfig& config() const { return m_config; }

    // Object Storage behind the v1 storage, user, s3Credentials and policy routes; without it
    // they answer 404 as for a project without the product.
    void set_object_storage(S3Regions* storage) { m_storage = storage; }

  private:
    struct Resource {
        std::string id;
        std::string kind;  // sshKey, network, subnet, securityGroup, compute/instanceGroup,
                           // compute/instance
        std::string project;
        std::string parent;  // a subnet's network
        nlohmann::json target_spec;
        nlohmann::json current_state;  // null until READY
        std::string status = "CREATING";
        std::string checksum;
        std::string created_at;
        std::string updated_at;
        std::string error;
        // instances
        std::string power = "BUILD";  // v1 status
        std::string region;
        std::string public_address;
        std::vector<PrivateNic> private_nics;
    };
    struct Reply {
        int status = 200;
        nlohmann::json body;
    };
    using Jobs = std::vector<std::function<void()>>;

    Reply route(const HttpRequest& request, const std::string& path, const std::string& query,
                Jobs& jobs);
    void authenticate(const HttpRequest& request, bool signed_call) const;
    Reply v1(const std::string& method, const std::string& path, const std::string& query,
             const nlohmann::json& body, Jobs& jobs);
    std::vector<std::string> regions_of_query(const std::string& query) const;
    nlohmann::json flavor_list(const std::string& project,
                               const std::vector<std::string>& regions) const;
    nlohmann::json instance_v1(const Resource& r) const;
    Reply v2(const std::string& method, const std::string& project, const std::string& rest,
             const nlohmann::json& body, Jobs& jobs);
    Reply ssh_keys(const std::string& method, const std::string& project,
                   const std::vector<std::string>& rest, const nlohmann::json& body);
    Reply create(const std::string& kind, const std::string& project, const std::string& parent,
                 const nlohmann::json& body, Jobs& jobs);
    void create_subnet(const Resource& r, const nlohmann::json& spec, Jobs& jobs);
    Reply create_instance(Resource r, const nlohmann::json& spec, Jobs& jobs);
    Reply remove(Resource& r, Jobs& jobs);
    Reply update(Resource& r, const nlohmann::json& body, Jobs& jobs);
    Reply power(Resource& r, const std::string& action, const nlohmann::json& body, Jobs& jobs);
    // v1 Object Storage: region/{R}/storage[/{name}] and user[/{id}[/s3Credentials|policy]].
    Reply storage(const std::string& method, const std::vector<std::string>& parts,
                  const nlohmann::json& body);
    Reply users(const std::string& method, const std::vector<std::string>& parts,
                const nlohmann::json& body);

    void validate_instance(const std::string& project, const nlohmann::json& spec,
                           const std::string& region);
    HostSpec host_spec(const Resource& instance) const;
    Firewall firewall_of(const Resource& instance) const;
    std::string allocate_public_address(const std::string& region);
    std::string allocate_private_address(const Resource& subnet) const;
    void mark_ready(const std::string& id);
    void mark_error(const std::string& id, const std::string& message);
    // Re-applies the firewall of every instance attached to a group.
    void refresh_firewalls(Jobs& jobs);

    nlohmann::json envelope(const Resource& r) const;
    nlohmann::json instance_state(const Resource& r) const;
    Resource* find(const std::string& id, const std::string& kind, const std::string& project);
    std::vector<Resource*> live(const std::string& kind, const std::string& project,
                                const std::string& parent = {});
    bool known_project(const std::string& project) const;
    bool known_region(const std::string& region) const;
    std::string now_iso() const;
    std::string new_id();

    TwinConfig m_config;
    Clock& m_clock;
    TwinBackend& m_backend;
    Spawn m_spawn;

    // Serialises the backend jobs of one machine (a DELETE waits for its create, a reboot for
    // a stop); the returned lock holds that machine's mutex.
    std::unique_lock<std::mutex> lock_machine(const std::string& id);

    mutable std::mutex m_mutex;
    std::map<std::string, std::unique_ptr<std::mutex>> m_machine_locks;  // under m_mutex
    std::map<std::string, Resource> m_resources;                         // by id
    std::map<std::string, Firewall> m_applied;  // instance id -> last firewall sent
    unsigned long long m_counter = 0;
    std::map<std::string, int> m_public_next;  // region -> next host number

    // Object Storage: the S3 endpoints and the project's S3 users (under m_mutex).
    struct S3User {
        long long id = 0;
        std::string username;
        std::string description;
        std::string role;
        std::map<std::string, std::string> credentials;  // access -> secret
        std::string policy;                              // the JSON document, as POSTed
    };
    S3Regions* m_storage = nullptr;
    std::map<long long, S3User> m_users;

    // users()' routes: a user's creation, its bucket policy and its S3 credentials.
    static nlohmann::json user_json(const S3User& u);
    std::string token(std::size_t n);  // n characters of new ids (route() holds m_mutex)
    Reply create_user(const nlohmann::json& body);
    Reply user_policy(S3User& u, const std::string& method, const nlohmann::json& body);
    Reply user_credentials(S3User& u, const std::string& method,
                           const std::vector<std::string>& parts);
};

// HTTP error bodies as OVH sends them: {"class": ..., "message": ...} plus errorCode/httpCode
// for authentication failures.
nlohmann::json error_body(const std::string& cls, const std::string& message,
                          const std::string& code = {});

}  // namespace pgdr::twin
