#include "ovh/scratch_instance.hpp"

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/poll.hpp"
#include "ovh/layout.hpp"

namespace pgdr::ovh {

using nlohmann::json;

std::string scratch_instance_prefix(const Inventory& inv) {
    return "pgdr-" + inv.cluster + "-restore-drill-";
}

namespace {

// 2026-12-06T04:30:00.123Z -> 20261206-043000
std::string compact_utc(std::chrono::system_clock::time_point now) {
    const std::string t = format_utc(now);
    return t.substr(0, 4) + t.substr(5, 2) + t.substr(8, 2) + "-" + t.substr(11, 2) +
           t.substr(14, 2) + t.substr(17, 2);
}

std::string region_id(const json& record, const char* key) {
    return record.is_object() ? json_string(record, key) : std::string();
}

}  // namespace

ScratchInstanceSpec scratch_instance_spec(const Inventory& inv, const ClusterState& state,
                                          std::chrono::system_clock::time_point now) {
    const auto regions = regions_in_use(inv);
    if (regions.empty()) {
        throw config_error("the inventory has no hosts: no region for the scratch instance");
    }
    ScratchInstanceSpec s;
    s.name = scratch_instance_prefix(inv) + compact_utc(now);
    s.region = regions.front();
    s.flavor = inv.ovh.flavor;
    s.image = inv.ovh.image;
    s.ssh_key_name = ssh_key_name(inv);
    json record;
    if (state.provider.is_object() && state.provider.contains("regions") &&
        state.provider["regions"].is_object() && state.provider["regions"].contains(s.region)) {
        record = state.provider["regions"][s.region];
    }
    s.network_id = region_id(record, "network_id");
    s.subnet_id = region_id(record, "subnet_id");
    s.security_group_id = region_id(record, "security_group_id");
    if (s.network_id.empty() || s.subnet_id.empty() || s.security_group_id.empty()) {
        throw config_error("the state in " + inv.paths.state_dir +
                               " records no private network, "
                               "subnet and security group of " +
                               inv.cluster + " in " + s.region,
                           "run `pgdr provision` first: the scratch instance joins them");
    }
    return s;
}

json scratch_target_spec(const ScratchInstanceSpec& spec, const std::string& flavor_id,
                         const std::string& image_id) {
    return {{"name", spec.name},
            {"flavor", {{"id", flavor_id}}},
            {"image", {{"id", image_id}}},
            {"location", {{"region", spec.region}}},
            {"networks", json::array({{{"autoAssignPublicIp", true}},
                                      {{"id", spec.network_id}, {"subnetId", spec.subnet_id}}})},
            {"sshKeyName", spec.ssh_key_name},
            {"securityGroups", json::array({{{"id", spec.security_group_id}}})},
            {"powerState", "ACTIVE"},
            {"volumes", json::array()}};
}

OvhScratchInstances::OvhScratchInstances(ProjectApi& api, ScratchInstanceSpec spec,
                                         ScratchInstanceOptions options)
    : m_api(api), m_spec(std::move(spec)), m_options(std::move(options)) {}

void OvhScratchInstances::say(const std::string& m) const {
    if (m_options.progress) {
        m_options.progress(m);
    }
}

void OvhScratchInstances::wait_for(const std::string& what, std::chrono::milliseconds timeout,
                                   const std::function<bool()>& holds) {
    const auto outcome =
        poll_until(m_api.clock(), timeout, m_options.poll, m_options.interrupted, holds);
    if (outcome == PollOutcome::interrupted) {
        throw Error(ExitCode::interrupted, "interrupted while waiting for " + what);
    }
    if (outcome == PollOutcome::timed_out) {
        throw Error(ExitCode::cloud_api,
                    what + ": not within " + std::to_string(timeout.count() / 1000) + " s");
    }
}

void OvhScratchInstances::wait_up(ScratchMachine& m) {
    const std::string v2 = m_api.v2_path("compute/instance/" + m.id);
    json ready;
    wait_for("instance " + m.id + " to be READY", m_options.active_timeout, [&] {
        ready = m_api.client().get(v2);
        const auto status = resource_status(ready);
        if (status == "ERROR") {
            const auto errors = task_errors(ready);
            throw Error(ExitCode::cloud_api, "the scratch instance " + m.id + " went to ERROR" +
                                                 (errors.empty() ? "" : ": " + errors));
        }
        return status == "READY";
    });
    wait_for("instance " + m.id + " to be ACTIVE", m_options.active_timeout, [&] {
        const auto status = m_api.instance_status(m.id);
        if (status == "ERROR") {
            throw Error(ExitCode::cloud_api, "the scratch instance " + m.id + " is in ERROR");
        }
        return status == "ACTIVE";
    });
    const auto addresses = instance_addresses(ready, m_spec.network_id);
    m.address = addresses.private_address;
    m.public_address = addresses.public_address;
    if (m.address.empty()) {
        throw Error(ExitCode::cloud_api, "the scratch instance " + m.id +
                                             " has no address on the cluster's network " +
                                             m_spec.network_id);
    }
    say("instance " + m.name + " ACTIVE (" + m.address +
        (m.public_address.empty() ? "" : ", public " + m.public_address) +
        "); waiting until it answers SSH");
    if (m_options.ssh_ready) {
        wait_for(m.name + " to answer SSH", m_options.ssh_timeout,
                 [&] { return m_options.ssh_ready(m); });
    }
}

void OvhScratchInstances::discard(const ScratchMachine& m, std::exception_ptr failure) {
    std::string first = "creating the scratch instance failed";
    try {
        std::rethrow_exception(failure);
    } catch (const std::exception& e) {
        first = e.what();
    } catch (...) {
    }
    say("deleting the scratch instance " + m.name + " (" + m.id + "): " + first);
    try {
        remove(m);
    } catch (const Error& e) {
        throw Error(e.code(), first + "; then " + e.what(), e.hint());
    }
    std::rethrow_exception(failure);
}

ScratchMachine OvhScratchInstances::create() {
    const auto flavor = m_api.flavor(m_spec.region, m_spec.flavor);
    if (!flavor || !flavor->available) {
        throw Error(ExitCode::cloud_api, "flavor " + m_spec.flavor + " is not available in " +
                                             m_spec.region + ": no scratch instance");
    }
    if (flavor->quota && *flavor->quota < 1) {
        throw Error(ExitCode::cloud_api,
                    "quota: the project may start no more " + m_spec.flavor + " instances in " +
                        m_spec.region + ", and the restore drill needs one",
                    "raise the quota (Control Panel > Public Cloud > Quota and Regions); "
                    "nothing was created");
    }
    const auto image = m_api.image_id(m_spec.region, m_spec.image);
    if (!image) {
        throw Error(ExitCode::cloud_api,
                    "image '" + m_spec.image + "' does not exist in " + m_spec.region);
    }
    say("creating the scratch instance " + m_spec.name + " (" + m_spec.flavor + ", " +
        m_spec.region + ")");
    const json created =
        m_api.create("compute/instance", m_spec.name,
                     {{"targetSpec", scratch_target_spec(m_spec, flavor->id, *image)}});
    ScratchMachine m;
    m.provider = "ovh";
    m.id = json_string(created, "id");
    m.name = m_spec.name;
    m.flavor = m_spec.flavor;
    m.region = m_spec.region;
    if (m.id.empty()) {
        throw Error(ExitCode::cloud_api,
                    "OVH answered the creation of " + m.name + " without an id",
                    "look for the instance " + m.name +
                        " in the Control Panel (Public Cloud > Instances) and delete it");
    }
    try {
        wait_up(m);
    } catch (...) {
        discard(m, std::current_exception());
    }
    return m;
}

void OvhScratchInstances::remove(const ScratchMachine& m) {
    say("deleting the scratch instance " + m.name + " (" + m.id + ")");
    try {
        m_api.remove("compute/instance", m.id);
        m_api.wait_gone("compute/instance", m.id);
    } catch (const std::exception& e) {
        throw Error(ExitCode::cloud_api,
                    "the scratch instance " + m.name + " (id " + m.id + ", " + m.flavor + ", " +
                        m.region + ") was NOT deleted and is billed until it is: " + e.what(),
                    "delete it: DELETE " + m_api.v2_path("compute/instance/" + m.id) +
                        " (OVH API), or Public Cloud > Instances > " + m.name +
                        " in the Control Panel; `pgdr destroy` also deletes it with the cluster");
    }
    say("scratch instance " + m.name + ": deleted");
}

}  // namespace pgdr::ovh
