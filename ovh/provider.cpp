#include "ovh/provider.hpp"

#include <algorithm>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <set>

#include "core/backup_repo.hpp"
#include "core/error.hpp"
#include "core/files.hpp"
#include "core/parallel.hpp"
#include "core/strings.hpp"
#include "ovh/layout.hpp"
#include "ovh/object_storage.hpp"
#include "ovh/prune.hpp"
#include "ovh/scratch_instance.hpp"

namespace pgdr::ovh {

std::string to_string(ChangeAction a) {
    switch (a) {
        case ChangeAction::create:
            return "create";
        case ChangeAction::update:
            return "update";
        case ChangeAction::keep:
            return "keep";
        case ChangeAction::wait:
            return "wait";
        case ChangeAction::remove:
            return "delete";
    }
    return "?";
}

int ProvisionPlan::count(ChangeAction a) const {
    return static_cast<int>(std::count_if(changes.begin(), changes.end(),
                                          [a](const Change& c) { return c.action == a; }));
}

int ProvisionPlan::change_count() const {
    return count(ChangeAction::create) + count(ChangeAction::update) + count(ChangeAction::remove);
}

namespace {

using nlohmann::json;

const char* const k_ssh = "ssh key";
const char* const k_net = "network";
const char* const k_subnet = "subnet";
const char* const k_sg = "security group";
const char* const k_group = "instance group";
const char* const k_instance = "instance";

std::string id_of(const json& r) {
    auto id = json_string(r, "id");
    return id.empty() ? json_string(r, "name") : id;  // SSH keys are keyed by name
}

// What the project holds, read once per command.
struct Observed {
    json ssh_keys, networks, security_groups, groups, instances;
    std::map<std::string, json> subnets;  // by network id

    static std::optional<json> by_name(const json& list, const std::string& name) {
        for (const auto& r : list) {
            if (resource_name(r) == name && resource_status(r) != "DELETING") {
                return r;
            }
        }
        return std::nullopt;
    }
    static std::optional<json> by_id(const json& list, const std::string& id) {
        for (const auto& r : list) {
            if (json_string(r, "id") == id && resource_status(r) != "DELETING") {
                return r;
            }
        }
        return std::nullopt;
    }
};

Observed observe(ProjectApi& api, const Inventory& inv) {
    Observed o;
    o.ssh_keys = api.list("sshKey");
    o.networks = api.list("network");
    o.security_groups = api.list("securityGroup");
    o.groups = api.list("compute/instanceGroup");
    o.instances = api.list("compute/instance");
    const std::string prefix = "pgdr-" + inv.cluster + "-net-";
    for (const auto& n : o.networks) {
        if (resource_name(n).rfind(prefix, 0) == 0 && resource_status(n) != "DELETING") {
            o.subnets[json_string(n, "id")] =
                api.list("network/" + json_string(n, "id") + "/subnet");
        }
    }
    return o;
}

// The public key text, or an explanation of why there is none.
std::optional<std::string> public_key(const Inventory& inv, std::string& problem) {
    if (inv.ovh.ssh_public_key_file.empty()) {
        problem =
            "provider.ovh.ssh_public_key_file is not set: pgdr needs the public key that "
            "will log in to the instances";
        return std::nullopt;
    }
    auto text = read_text_file(inv.ovh.ssh_public_key_file);
    if (!text || trim(*text).empty()) {
        problem = "cannot read the SSH public key " + inv.ovh.ssh_public_key_file;
        return std::nullopt;
    }
    return trim(*text);
}

// keep / wait for an existing resource, or a blocker for one in ERROR.
Change existing(const char* kind, const std::string& name, const std::string& region, const json& r,
                ProvisionPlan& plan) {
    Change c{ChangeAction::keep, kind, name, region, id_of(r), ""};
    const auto status = resource_status(r);
    if (status == "ERROR") {
        plan.blockers.push_back(std::string(kind) + " " + name + " (" + c.id +
                                ") is in ERROR: delete it with `pgdr destroy` (or in the "
                                "Control Panel), then provision again");
    } else if (status != "READY") {
        c.action = ChangeAction::wait;
        c.detail = status;
    }
    return c;
}

struct RegionIds {
    std::string network, subnet, security_group, group;
};

// Runs the jobs in parallel; rethrows the first failure after all have finished, with how many
// others failed, so no job is abandoned half-way.
void run_all(const std::vector<std::function<void()>>& jobs, std::size_t max_parallel,
             Logger& log) {
    std::mutex m;
    std::vector<std::exception_ptr> errors;
    parallel_for(jobs.size(), max_parallel, [&](std::size_t i) {
        try {
            jobs[i]();
        } catch (const std::exception& e) {
            log.error(e.what());
            std::lock_guard lock(m);
            errors.push_back(std::current_exception());
        } catch (...) {
            std::lock_guard lock(m);
            errors.push_back(std::current_exception());
        }
    });
    if (!errors.empty()) {
        if (errors.size() > 1) {
            log.error(std::to_string(errors.size()) + " steps failed (all listed above)");
        }
        std::rethrow_exception(errors.front());
    }
}

json location(const std::string& region, const std::string& zone = {}) {
    json l = {{"region", region}};
    if (!zone.empty()) {
        l["availabilityZone"] = zone;
    }
    return l;
}

// The project-wide SSH key (immutable): keep it when it holds the inventory's public key.
void plan_ssh_key(const Inventory& inv, const Observed& o, ProvisionPlan& plan) {
    const std::string key_name = ssh_key_name(inv);
    std::string key_problem;
    auto key = public_key(inv, key_problem);
    if (auto r = Observed::by_name(o.ssh_keys, key_name)) {
        Change c = existing(k_ssh, key_name, "", *r, plan);
        if (key && trim(json_string(*r, "publicKey")) != *key) {
            plan.blockers.push_back("SSH key " + key_name +
                                    " exists with another public key than " +
                                    inv.ovh.ssh_public_key_file +
                                    ": delete it (pgdr destroy) or restore the original key file");
        }
        plan.changes.push_back(c);
    } else {
        plan.changes.push_back({ChangeAction::create, k_ssh, key_name, "", "", ""});
        if (!key) {
            plan.blockers.push_back(key_problem);
        }
    }
}

// One region's network, subnet, security group, anti-affinity group and instances; counts the
// instances to create per region.
void plan_region(const Inventory& inv, Observed& o, const std::string& region, const json& rules,
                 const std::map<std::string, std::string>& addresses, ProvisionPlan& plan,
                 std::map<std::string, int>& creates_per_region) {
    const auto net_name = regional_name(inv, "net", region);
    const auto subnet_name = regional_name(inv, "subnet", region);
    if (auto net = Observed::by_name(o.networks, net_name)) {
        plan.changes.push_back(existing(k_net, net_name, region, *net, plan));
        const auto& subnets = o.subnets[json_string(*net, "id")];
        if (auto sub = Observed::by_name(subnets, subnet_name)) {
            plan.changes.push_back(existing(k_subnet, subnet_name, region, *sub, plan));
        } else {
            plan.changes.push_back(
                {ChangeAction::create, k_subnet, subnet_name, region, "", inv.network_cidr});
        }
    } else {
        plan.changes.push_back({ChangeAction::create, k_net, net_name, region, "", ""});
        plan.changes.push_back(
            {ChangeAction::create, k_subnet, subnet_name, region, "", inv.network_cidr});
    }

    const auto sg_name = regional_name(inv, "sg", region);
    if (auto sg = Observed::by_name(o.security_groups, sg_name)) {
        Change c = existing(k_sg, sg_name, region, *sg, plan);
        json current =
            sg->contains("targetSpec") ? (*sg)["targetSpec"].value("rules", json()) : json();
        if (c.action == ChangeAction::keep && rule_keys(current) != rule_keys(rules)) {
            c.action = ChangeAction::update;
            c.detail = "rules differ from the inventory";
        }
        plan.changes.push_back(c);
    } else {
        plan.changes.push_back({ChangeAction::create, k_sg, sg_name, region, "",
                                std::to_string(rules.size()) + " ingress rules"});
    }

    const auto in_region = hosts_in_region(inv, region);
    if (in_region.size() >= 2) {
        const auto ag_name = regional_name(inv, "ag", region);
        if (auto g = Observed::by_name(o.groups, ag_name)) {
            plan.changes.push_back(existing(k_group, ag_name, region, *g, plan));
        } else {
            plan.changes.push_back(
                {ChangeAction::create, k_group, ag_name, region, "", "anti-affinity"});
        }
    }

    for (const auto* h : in_region) {
        const auto name = instance_name(inv, *h);
        if (auto inst = Observed::by_name(o.instances, name)) {
            plan.changes.push_back(existing(k_instance, name, region, *inst, plan));
        } else {
            plan.changes.push_back(
                {ChangeAction::create, k_instance, name, region, "",
                 inv.ovh.flavor + ", " + inv.ovh.image + ", " + addresses.at(h->name)});
            ++creates_per_region[region];
        }
    }
}

// Flavor, image and quota, where instances are to be created.
void check_capacity(ProjectApi& api, const Inventory& inv,
                    const std::map<std::string, int>& creates_per_region, ProvisionPlan& plan) {
    for (const auto& [region, wanted] : creates_per_region) {
        auto flavor = api.flavor(region, inv.ovh.flavor);
        if (!flavor) {
            plan.blockers.push_back("flavor " + inv.ovh.flavor + " does not exist in " + region +
                                    ": pick another provider.ovh.flavor or region");
        } else if (!flavor->available) {
            plan.blockers.push_back("flavor " + inv.ovh.flavor + " is not available in " + region);
        } else if (flavor->quota && *flavor->quota < wanted) {
            plan.blockers.push_back(
                "quota: " + std::to_string(wanted) + " new " + inv.ovh.flavor +
                " instance(s) needed in " + region + ", the project's quota allows " +
                std::to_string(*flavor->quota) +
                " more; raise the quota (Control Panel > Public Cloud > Quota and Regions) or "
                "use a smaller flavor; nothing was created");
        }
        if (!api.image_id(region, inv.ovh.image)) {
            plan.blockers.push_back("image '" + inv.ovh.image + "' does not exist in " + region +
                                    " (supported: Debian 13, Debian 12)");
        }
    }
}

// One apply(): what the project held when it started, the ids learnt per region, the counters;
// one method per step, run top-down by steps().
class ApplyRun {
  public:
    ApplyRun(ProjectApi& api, Logger& log, const ProviderOptions& options,
             std::function<void(const std::string&)> say, const Inventory& inv, ClusterState& state,
             std::string state_dir, ApplyResult& result)
        : m_api(api),
          m_log(log),
          m_options(options),
          m_say(std::move(say)),
          m_inv(inv),
          m_state(state),
          m_state_dir(std::move(state_dir)),
          m_result(result),
          m_observed(observe(api, inv)),
          m_regions(regions_in_use(inv)),
          m_addresses(private_addresses(inv)),
          m_key_name(ssh_key_name(inv)),
          m_rules(security_group_rules(inv)) {}

    void steps() {
        // Stage 1: everything instances need, independent chains in parallel.
        run_all(network_jobs(), m_options.max_parallel, m_log);
        // What bootstrap and destroy need later, recorded before instances exist.
        record_regions();
        // Stage 2: every instance in parallel (ids saved as soon as they are known), and the
        // instances removed from the inventory.
        auto jobs = instance_jobs();
        auto removals = removal_jobs();
        jobs.insert(jobs.end(), removals.begin(), removals.end());
        try {
            run_all(jobs, m_options.max_parallel, m_log);
        } catch (...) {
            save_state(m_state_dir, m_state);
            throw;
        }
        save_state(m_state_dir, m_state);
    }

  private:
    std::vector<std::function<void()>> network_jobs() {
        std::vector<std::function<void()>> jobs;
        if (!Observed::by_name(m_observed.ssh_keys, m_key_name)) {
            jobs.push_back([this] { create_ssh_key(); });
        }
        for (std::size_t ri = 0; ri < m_regions.size(); ++ri) {
            const std::string region = m_regions[ri];
            jobs.push_back([this, region, ri] { ensure_network(region, ri); });
            jobs.push_back([this, region] { ensure_security_group(region); });
            if (hosts_in_region(m_inv, region).size() >= 2) {
                jobs.push_back([this, region] { ensure_instance_group(region); });
            }
        }
        return jobs;
    }

    std::vector<std::function<void()>> instance_jobs() {
        std::vector<std::function<void()>> jobs;
        for (const auto& host : m_inv.hosts) {
            jobs.push_back([this, h = &host] { ensure_instance(*h); });
        }
        return jobs;
    }

    // Instances removed from the inventory, known from the state.
    std::vector<std::function<void()>> removal_jobs() {
        std::vector<std::function<void()>> jobs;
        for (const auto& c : m_result.plan.changes) {
            if (c.action == ChangeAction::remove) {
                jobs.push_back([this, c] { remove_instance(c); });
            }
        }
        return jobs;
    }

    void count(int ApplyResult::*counter) {
        std::lock_guard lock(m_mutex);
        ++(m_result.*counter);
    }

    // Existing resource: wait if needed. Missing: create, then wait.
    json ensure(const char* what, const std::string& kind, const std::string& name,
                const std::optional<json>& found, const json& body) {
        if (found) {
            if (resource_status(*found) == "READY") {
                return *found;
            }
            m_say(std::string(what) + " " + name + ": waiting (" + resource_status(*found) + ")");
            return m_api.wait_ready(kind, id_of(*found));
        }
        auto created = m_api.create(kind, name, body);
        count(&ApplyResult::created);
        m_say(std::string(what) + " " + name + ": created, waiting until READY");
        auto ready = m_api.wait_ready(kind, id_of(created));
        m_say(std::string(what) + " " + name + ": READY");
        return ready;
    }

    void create_ssh_key() {
        std::string problem;
        auto key = public_key(m_inv, problem);
        if (!key) {
            throw config_error(problem);
        }
        m_api.create("sshKey", m_key_name, {{"name", m_key_name}, {"publicKey", *key}});
        count(&ApplyResult::created);
        m_say("ssh key " + m_key_name + ": created");
    }

    void ensure_network(const std::string& region, std::size_t ri) {
        const auto net_name = regional_name(m_inv, "net", region);
        auto net =
            ensure(k_net, "network", net_name, Observed::by_name(m_observed.networks, net_name),
                   {{"targetSpec",
                     {{"name", net_name},
                      {"description", "pgdr cluster " + m_inv.cluster},
                      {"location", location(region)}}}});
        const auto net_id = id_of(net);
        const auto subnet_name = regional_name(m_inv, "subnet", region);
        std::optional<json> found_subnet;
        if (auto it = m_observed.subnets.find(net_id); it != m_observed.subnets.end()) {
            found_subnet = Observed::by_name(it->second, subnet_name);
        }
        auto subnet = ensure(k_subnet, "network/" + net_id + "/subnet", subnet_name, found_subnet,
                             {{"targetSpec",
                               {{"name", subnet_name},
                                {"cidr", m_inv.network_cidr},
                                {"dhcpEnabled", true},
                                {"allocationPools", allocation_pools(m_inv, ri, m_regions.size())},
                                {"location", location(region)}}}});
        std::lock_guard lock(m_mutex);
        m_ids[region].network = net_id;
        m_ids[region].subnet = id_of(subnet);
    }

    void ensure_security_group(const std::string& region) {
        const auto sg_name = regional_name(m_inv, "sg", region);
        json spec = {{"name", sg_name},
                     {"description", "pgdr cluster " + m_inv.cluster},
                     {"rules", m_rules}};
        auto found = Observed::by_name(m_observed.security_groups, sg_name);
        json sg;
        if (found && resource_status(*found) == "READY" &&
            rule_keys((*found)["targetSpec"].value("rules", json())) != rule_keys(m_rules)) {
            m_api.update("securityGroup", id_of(*found), spec);
            count(&ApplyResult::updated);
            m_say("security group " + sg_name + ": rules updated, waiting until READY");
            sg = m_api.wait_ready("securityGroup", id_of(*found));
        } else {
            json create_spec = spec;
            create_spec["location"] = location(region);
            sg = ensure(k_sg, "securityGroup", sg_name, found, {{"targetSpec", create_spec}});
        }
        std::lock_guard lock(m_mutex);
        m_ids[region].security_group = id_of(sg);
    }

    void ensure_instance_group(const std::string& region) {
        const auto ag_name = regional_name(m_inv, "ag", region);
        auto g = ensure(
            k_group, "compute/instanceGroup", ag_name,
            Observed::by_name(m_observed.groups, ag_name),
            {{"targetSpec",
              {{"name", ag_name}, {"policy", "ANTI_AFFINITY"}, {"location", location(region)}}}});
        std::lock_guard lock(m_mutex);
        m_ids[region].group = id_of(g);
    }

    json instance_spec(const HostSpec& h, const std::string& region, const RegionIds& rid) {
        auto flavor = m_api.flavor(region, m_inv.ovh.flavor);
        auto image = m_api.image_id(region, m_inv.ovh.image);
        if (!flavor || !image) {
            throw Error(ExitCode::cloud_api, "flavor or image vanished in " + region);
        }
        json spec = {{"name", instance_name(m_inv, h)},
                     {"flavor", {{"id", flavor->id}}},
                     {"image", {{"id", *image}}},
                     {"location", location(region, availability_zone(h))},
                     {"networks", json::array({{{"autoAssignPublicIp", true}},
                                               {{"id", rid.network},
                                                {"subnetId", rid.subnet},
                                                {"ip", m_addresses.at(h.name)}}})},
                     {"sshKeyName", m_key_name},
                     {"securityGroups", json::array({{{"id", rid.security_group}}})},
                     {"powerState", "ACTIVE"},
                     {"volumes", json::array()}};
        if (!rid.group.empty()) {
            spec["group"] = {{"id", rid.group}};
        }
        return spec;
    }

    // Creates the instance, records its id in the state file at once, waits until READY.
    json create_instance(const HostSpec& h, const std::string& region, const RegionIds& rid) {
        const auto name = instance_name(m_inv, h);
        auto created =
            m_api.create("compute/instance", name, {{"targetSpec", instance_spec(h, region, rid)}});
        count(&ApplyResult::created);
        {
            std::lock_guard lock(m_mutex);
            auto& hs = m_state.hosts[h.name];
            hs.instance_id = id_of(created);
            hs.region = region;
            save_state(m_state_dir, m_state);
        }
        m_say("instance " + name + ": created, waiting until READY");
        auto ready = m_api.wait_ready("compute/instance", id_of(created));
        m_say("instance " + name + ": READY");
        return ready;
    }

    void ensure_instance(const HostSpec& h) {
        const auto region = host_region(m_inv, h);
        const auto name = instance_name(m_inv, h);
        RegionIds rid;
        {
            std::lock_guard lock(m_mutex);
            rid = m_ids[region];
        }
        auto found = Observed::by_name(m_observed.instances, name);
        const json ready = found ? ensure(k_instance, "compute/instance", name, found, json())
                                 : create_instance(h, region, rid);
        std::lock_guard lock(m_mutex);
        auto& hs = m_state.hosts[h.name];
        hs = HostState{};
        hs.instance_id = id_of(ready);
        hs.region = region;
        const auto addresses = instance_addresses(ready, rid.network);
        hs.address = addresses.private_address;
        hs.public_address = addresses.public_address;
        if (hs.address.empty()) {
            hs.address = m_addresses.at(h.name);
        }
    }

    void remove_instance(const Change& c) {
        m_api.remove("compute/instance", c.id);
        m_api.wait_gone("compute/instance", c.id);
        m_say("instance " + c.name + ": deleted (" + c.detail + ")");
        std::lock_guard lock(m_mutex);
        ++m_result.deleted;
        for (auto it = m_state.hosts.begin(); it != m_state.hosts.end();) {
            it = it->second.instance_id == c.id ? m_state.hosts.erase(it) : std::next(it);
        }
    }

    void record_regions() {
        const auto storage = m_state.provider.find("object_storage");
        json kept = storage == m_state.provider.end() ? json() : *storage;
        m_state.provider = {{"type", "ovh"},
                            {"project_id", m_api.project_id()},
                            {"ssh_key", m_key_name},
                            {"regions", json::object()}};
        for (const auto& [region, r] : m_ids) {
            m_state.provider["regions"][region] = {{"network_id", r.network},
                                                   {"subnet_id", r.subnet},
                                                   {"security_group_id", r.security_group},
                                                   {"instance_group_id", r.group}};
        }
        if (!kept.is_null()) {
            m_state.provider["object_storage"] = kept;  // ovh/object_storage.cpp's record
        }
        save_state(m_state_dir, m_state);
    }

    ProjectApi& m_api;
    Logger& m_log;
    const ProviderOptions& m_options;
    std::function<void(const std::string&)> m_say;
    const Inventory& m_inv;
    ClusterState& m_state;
    const std::string m_state_dir;
    ApplyResult& m_result;
    const Observed m_observed;
    const std::vector<std::string> m_regions;
    const std::map<std::string, std::string> m_addresses;
    const std::string m_key_name;
    const json m_rules;
    std::mutex m_mutex;  // guards m_ids, m_state, m_result
    std::map<std::string, RegionIds> m_ids;
};

// The plan's blockers as one error; nothing has been changed yet.
void refuse_blockers(const Inventory& inv, const ProvisionPlan& plan) {
    if (plan.blockers.empty()) {
        return;
    }
    std::string what = "cannot provision cluster " + inv.cluster + ":";
    for (const auto& b : plan.blockers) {
        what += "\n  - " + b;
    }
    throw Error(ExitCode::cloud_api, what,
                "nothing was created or changed; fix the problems above and run `pgdr "
                "provision --plan` again");
}

}  // namespace

OvhProvider::OvhProvider(ProjectApi& api, Logger& log, ProviderOptions options)
    : m_api(api), m_log(log), m_options(std::move(options)) {}

void OvhProvider::say(const std::string& line) {
    m_log.info(line);
    if (m_options.progress) {
        m_options.progress(line);
    }
}

ProvisionPlan OvhProvider::plan(const Inventory& inv, const ClusterState& state) {
    ProvisionPlan plan;
    Observed o = observe(m_api, inv);
    const auto regions = regions_in_use(inv);
    const auto addresses = private_addresses(inv);
    plan_ssh_key(inv, o, plan);
    const auto rules = security_group_rules(inv);
    if (inv.ssh_allowed_cidrs.empty()) {
        m_log.warn("network.ssh_allowed_cidrs is empty: no security-group rule lets SSH in");
    }
    std::map<std::string, int> creates_per_region;
    for (const auto& region : regions) {
        plan_region(inv, o, region, rules, addresses, plan, creates_per_region);
    }
    check_capacity(m_api, inv, creates_per_region, plan);

    // Instances pgdr made for hosts no longer in the inventory (known from the state only):
    // deleted only with --prune, and only when named as pgdr names this cluster's hosts.
    auto pruning = plan_pruning(inv, state, o.instances, m_options.prune, m_options.inventory_path);
    plan.changes.insert(plan.changes.end(), pruning.removals.begin(), pruning.removals.end());
    plan.blockers.insert(plan.blockers.end(), pruning.blockers.begin(), pruning.blockers.end());
    // The backups' bucket, S3 user, credential and policy (ovh/object_storage.hpp); none for a
    // repository host's filesystem repository (backup.repo.type posix).
    if (const auto warning = backup_region_warning(inv); !warning.empty()) {
        m_log.warn(warning);
    }
    const auto spec = object_storage_spec(inv);
    if (spec && backup_repo_host(inv) == nullptr) {
        ObjectStorage storage(m_api, m_log, [this](const std::string& line) { say(line); });
        auto changes = storage.plan(*spec, state, inv.paths.state_dir);
        plan.changes.insert(plan.changes.end(), changes.begin(), changes.end());
    }
    return plan;
}

ApplyResult OvhProvider::apply(const Inventory& inv, ClusterState& state,
                               const std::string& state_dir) {
    ApplyResult result;
    result.plan = plan(inv, state);
    refuse_blockers(inv, result.plan);
    ApplyRun run(
        m_api, m_log, m_options, [this](const std::string& line) { say(line); }, inv, state,
        state_dir, result);
    run.steps();
    if (const auto spec = object_storage_spec(inv)) {
        ObjectStorage storage(m_api, m_log, [this](const std::string& line) { say(line); });
        storage.apply(*spec, state, state_dir, result);
    }
    return result;
}

std::vector<Change> OvhProvider::destroy_plan(const Inventory& inv, const ClusterState& state) {
    std::vector<Change> out;
    Observed o = observe(m_api, inv);
    std::set<std::string> seen;
    auto add = [&](const char* kind, const json& r, const std::string& region,
                   const std::string& detail = {}) {
        if (seen.insert(id_of(r)).second) {
            out.push_back({ChangeAction::remove, kind, resource_name(r), region, id_of(r), detail});
        }
    };
    for (const auto& h : inv.hosts) {
        if (auto r = Observed::by_name(o.instances, instance_name(inv, h))) {
            add(k_instance, *r, host_region(inv, h));
        }
    }
    for (const auto& [host, hs] : state.hosts) {
        if (!hs.instance_id.empty()) {
            if (auto r = Observed::by_id(o.instances, hs.instance_id)) {
                add(k_instance, *r, hs.region, "recorded in the state");
            }
        }
    }
    // A restore drill's scratch instance that its deletion left (ovh/scratch_instance.hpp).
    for (const auto& r : o.instances) {
        if (resource_name(r).rfind(scratch_instance_prefix(inv), 0) == 0 &&
            resource_status(r) != "DELETING") {
            const json spec = r.contains("targetSpec") ? r["targetSpec"] : json();
            const bool located = spec.is_object() && spec.contains("location");
            add(k_instance, r, located ? json_string(spec["location"], "region") : "",
                "left by a restore drill");
        }
    }
    auto regions = regions_in_use(inv);
    if (state.provider.contains("regions") && state.provider["regions"].is_object()) {
        for (const auto& [region, unused] : state.provider["regions"].items()) {
            if (std::find(regions.begin(), regions.end(), region) == regions.end()) {
                regions.push_back(region);
            }
        }
    }
    for (const auto& region : regions) {
        if (auto r = Observed::by_name(o.groups, regional_name(inv, "ag", region))) {
            add(k_group, *r, region);
        }
        if (auto r = Observed::by_name(o.security_groups, regional_name(inv, "sg", region))) {
            add(k_sg, *r, region);
        }
        if (auto net = Observed::by_name(o.networks, regional_name(inv, "net", region))) {
            for (const auto& sub : o.subnets[id_of(*net)]) {
                if (resource_status(sub) != "DELETING") {
                    add(k_subnet, sub, region, id_of(*net));  // detail: its network id
                }
            }
            add(k_net, *net, region);
        }
    }
    if (auto r = Observed::by_name(o.ssh_keys, ssh_key_name(inv))) {
        add(k_ssh, *r, "");
    }
    // The backups' Object Storage, from the state's record or the inventory's names; a bucket
    // holding backups stays (action keep) unless --delete-backups.
    ObjectStorage storage(m_api, m_log, [this](const std::string& line) { say(line); });
    auto os = storage.destroy_plan(object_storage_spec(inv), state, m_options.delete_backups);
    out.insert(out.end(), os.begin(), os.end());
    return out;
}

ApplyResult OvhProvider::destroy(const Inventory& inv, ClusterState& state,
                                 const std::string& state_dir) {
    ApplyResult result;
    const auto targets = destroy_plan(inv, state);
    result.plan.changes = targets;
    std::mutex m;
    auto remove_and_wait = [&](const Change& c, const std::string& kind) {
        if (m_api.remove(kind, c.id)) {
            say(c.kind + " " + c.name + ": deleting");
        }
        if (kind != "sshKey") {
            m_api.wait_gone(kind, c.id);
        }
        say(c.kind + " " + c.name + ": gone");
        std::lock_guard lock(m);
        ++result.deleted;
    };
    auto stage = [&](const std::function<bool(const Change&)>& pick,
                     const std::function<std::string(const Change&)>& kind) {
        std::vector<std::function<void()>> jobs;
        for (const auto& c : targets) {
            if (pick(c)) {
                jobs.push_back([&, c] { remove_and_wait(c, kind(c)); });
            }
        }
        run_all(jobs, m_options.max_parallel, m_log);
    };
    // Reverse order of creation; each stage waits until its resources are gone.
    stage([](const Change& c) { return c.kind == k_instance; },
          [](const Change&) { return std::string("compute/instance"); });
    stage([](const Change& c) { return c.kind == k_group || c.kind == k_sg; },
          [](const Change& c) {
              return std::string(c.kind == k_group ? "compute/instanceGroup" : "securityGroup");
          });
    stage([](const Change& c) { return c.kind == k_subnet; },
          [](const Change& c) { return "network/" + c.detail + "/subnet"; });
    stage([](const Change& c) { return c.kind == k_net; },
          [](const Change&) { return std::string("network"); });
    stage([](const Change& c) { return c.kind == k_ssh; },
          [](const Change&) { return std::string("sshKey"); });
    ObjectStorage storage(m_api, m_log, [this](const std::string& line) { say(line); });
    result.deleted += storage.destroy(targets, state, state_dir);

    state.hosts.clear();
    const auto kept = state.provider.find("object_storage");
    json storage_record = kept == state.provider.end() ? json() : *kept;
    state.provider = json::object();
    if (!storage_record.is_null()) {
        state.provider["object_storage"] = storage_record;  // a bucket kept with its backups
    }
    save_state(state_dir, state);
    return result;
}

}  // namespace pgdr::ovh
