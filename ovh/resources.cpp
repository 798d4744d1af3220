#include "ovh/resources.hpp"

#include <algorithm>

namespace pgdr::ovh {

std::string json_string(const nlohmann::json& j, const char* key) {
    if (j.is_object() && j.contains(key) && j[key].is_string()) {
        return j[key].get<std::string>();
    }
    return {};
}

std::string task_errors(const nlohmann::json& resource) {
    std::string out;
    if (!resource.contains("currentTasks") || !resource["currentTasks"].is_array()) {
        return out;
    }
    for (const auto& task : resource["currentTasks"]) {
        if (task.contains("errors") && task["errors"].is_array()) {
            for (const auto& e : task["errors"]) {
                out += (out.empty() ? "" : "; ") + json_string(e, "message");
            }
        }
    }
    return out;
}

InstanceAddresses instance_addresses(const nlohmann::json& instance,
                                     const std::string& network_id) {
    InstanceAddresses out;
    if (!instance.contains("currentState") || !instance["currentState"].is_object() ||
        !instance["currentState"].contains("networks")) {
        return out;
    }
    for (const auto& n : instance["currentState"]["networks"]) {
        std::string ip;
        if (n.contains("addresses") && n["addresses"].is_array()) {
            for (const auto& a : n["addresses"]) {
                if (a.value("version", 4) == 4 && !json_string(a, "ip").empty()) {
                    ip = json_string(a, "ip");
                    break;
                }
            }
        }
        if (ip.empty()) {
            continue;
        }
        if (json_string(n, "id") == network_id) {
            out.private_address = ip;
        } else if (out.public_address.empty()) {
            out.public_address = ip;
        }
    }
    return out;
}

namespace {

std::string str(const nlohmann::json& j, const char* key) {
    return json_string(j, key);
}

}  // namespace

std::string resource_name(const nlohmann::json& r) {
    if (r.contains("targetSpec")) {
        if (auto n = str(r["targetSpec"], "name"); !n.empty()) {
            return n;
        }
    }
    if (r.contains("currentState")) {
        if (auto n = str(r["currentState"], "name"); !n.empty()) {
            return n;
        }
    }
    return str(r, "name");
}

std::string resource_status(const nlohmann::json& r) {
    auto s = str(r, "resourceStatus");
    return s.empty() ? "READY" : s;
}

ProjectApi::ProjectApi(Client& client, Clock& clock, Logger& log, std::string project_id,
                       WaitOptions wait)
    : m_client(client),
      m_clock(clock),
      m_log(log),
      m_project(std::move(project_id)),
      m_wait(wait) {}

std::string ProjectApi::v2_path(const std::string& kind) const {
    return "/v2/publicCloud/project/" + m_project + "/" + kind;
}

std::string ProjectApi::v1_path(const std::string& rel) const {
    return "/cloud/project/" + m_project + (rel.empty() ? "" : "/" + rel);
}

nlohmann::json ProjectApi::list(const std::string& kind) {
    return m_client.list(v2_path(kind));
}

std::optional<nlohmann::json> ProjectApi::find_by_name(const std::string& kind,
                                                       const std::string& name) {
    for (const auto& r : list(kind)) {
        // A resource on its way out does not count as existing.
        if (resource_name(r) == name && resource_status(r) != "DELETING") {
            return r;
        }
    }
    return std::nullopt;
}

nlohmann::json ProjectApi::create(const std::string& kind, const std::string& name,
                                  const nlohmann::json& body) {
    for (int round = 1;; ++round) {
        try {
            return m_client.post(v2_path(kind), body);
        } catch (const ApiError& e) {
            if (!e.outcome_unknown() || round >= m_wait.create_rounds) {
                throw;
            }
            // The POST may have been applied. Give the API a moment to make the resource
            // visible, then look it up by name rather than creating a duplicate.
            m_log.warn("creating " + kind + " " + name + ": " + e.what() +
                       "; checking by name whether it was created");
            m_clock.sleep_for(std::chrono::milliseconds(1000 * round));
            if (auto found = find_by_name(kind, name)) {
                m_log.info(kind + " " + name + " exists after all; not creating it again");
                return *found;
            }
            m_log.info(kind + " " + name + " does not exist; creating it again");
        }
    }
}

nlohmann::json ProjectApi::update(const std::string& kind, const std::string& id,
                                  const nlohmann::json& target_spec) {
    auto current = m_client.get(v2_path(kind + "/" + id));
    nlohmann::json body = {{"checksum", str(current, "checksum")}, {"targetSpec", target_spec}};
    return m_client.put(v2_path(kind + "/" + id), body);
}

void ProjectApi::poll_pause(std::chrono::milliseconds& interval,
                            std::chrono::steady_clock::time_point deadline, const std::string& what,
                            const std::string& last_status) {
    if (m_clock.steady_now() >= deadline) {
        auto secs = std::chrono::duration_cast<std::chrono::seconds>(m_wait.timeout).count();
        throw Error(ExitCode::cloud_api,
                    what + " is still " + last_status + " after " + std::to_string(secs) + " s",
                    "OVH may be slow or stuck; run the command again later (it resumes), or "
                    "raise --wait-timeout; check the project in the OVHcloud Control Panel");
    }
    m_clock.sleep_for(interval);
    interval = std::min(m_wait.max_poll, interval + interval / 2);
}

nlohmann::json ProjectApi::wait_ready(const std::string& kind, const std::string& id) {
    const auto deadline = m_clock.steady_now() + m_wait.timeout;
    auto interval = m_wait.first_poll;
    const std::string what = kind + " " + id;
    while (true) {
        auto r = m_client.get(v2_path(kind + "/" + id));
        const auto status = resource_status(r);
        if (status == "READY") {
            return r;
        }
        if (status == "ERROR") {
            auto errors = task_errors(r);
            throw Error(ExitCode::cloud_api,
                        what + " (" + resource_name(r) + ") is in ERROR" +
                            (errors.empty() ? "" : ": " + errors),
                        "see the resource in the OVHcloud Control Panel; `pgdr destroy` removes "
                        "it, then provision again");
        }
        poll_pause(interval, deadline, what, status);
    }
}

bool ProjectApi::remove(const std::string& kind, const std::string& id) {
    try {
        m_client.del(v2_path(kind + "/" + id));
        return true;
    } catch (const ApiError& e) {
        if (e.is_not_found()) {
            return false;
        }
        throw;
    }
}

void ProjectApi::wait_gone(const std::string& kind, const std::string& id) {
    const auto deadline = m_clock.steady_now() + m_wait.timeout;
    auto interval = m_wait.first_poll;
    while (true) {
        auto r = m_client.get_if_exists(v2_path(kind + "/" + id));
        if (!r) {
            return;
        }
        if (resource_status(*r) == "ERROR") {
            throw Error(ExitCode::cloud_api,
                        kind + " " + id + " went to ERROR while being deleted: " + task_errors(*r),
                        "see the resource in the OVHcloud Control Panel");
        }
        poll_pause(interval, deadline, kind + " " + id, resource_status(*r));
    }
}

std::optional<FlavorInfo> ProjectApi::flavor(const std::string& region, const std::string& name) {
    auto flavors = m_client.get(v1_path("flavor?region=" + region));
    std::optional<FlavorInfo> best;
    for (const auto& f : flavors) {
        if (str(f, "name") != name || str(f, "region") != region) {
            continue;
        }
        FlavorInfo info;
        info.id = str(f, "id");
        info.available =
            !f.contains("available") || !f["available"].is_boolean() || f["available"].get<bool>();
        if (f.contains("quota") && f["quota"].is_number_integer()) {
            info.quota = f["quota"].get<long long>();
        }
        // Prefer an available one (OVH lists e.g. the Linux and Windows variants).
        if (!best || (!best->available && info.available)) {
            best = info;
        }
    }
    return best;
}

std::optional<std::string> ProjectApi::image_id(const std::string& region,
                                                const std::string& name) {
    auto images = m_client.get(v1_path("image?osType=linux&region=" + region));
    for (const auto& i : images) {
        const bool usable = str(i, "status").empty() || str(i, "status") == "active";
        const bool any_flavor = !i.contains("flavorType") || i["flavorType"].is_null();
        if (str(i, "name") == name && str(i, "region") == region && usable && any_flavor) {
            return str(i, "id");
        }
    }
    return std::nullopt;
}

void ProjectApi::reboot_hard(const std::string& id) {
    m_client.post(v1_path("instance/" + id + "/reboot"), {{"type", "hard"}});
}

void ProjectApi::stop(const std::string& id) {
    m_client.call("POST", v1_path("instance/" + id + "/stop"));
}

void ProjectApi::start(const std::string& id) {
    m_client.call("POST", v1_path("instance/" + id + "/start"));
}

nlohmann::json ProjectApi::instance(const std::string& id) {
    return m_client.get(v1_path("instance/" + id));
}

std::string ProjectApi::instance_status(const std::string& id) {
    return str(m_client.get(v1_path("instance/" + id)), "status");
}

void ProjectApi::wait_instance_status(const std::string& id, const std::string& status) {
    const auto deadline = m_clock.steady_now() + m_wait.timeout;
    auto interval = m_wait.first_poll;
    while (true) {
        auto current = instance_status(id);
        if (current == status) {
            return;
        }
        if (current == "ERROR") {
            throw Error(ExitCode::cloud_api, "instance " + id + " is in ERROR",
                        "see the instance in the OVHcloud Control Panel");
        }
        poll_pause(interval, deadline, "instance " + id, current);
    }
}

}  // namespace pgdr::ovh
