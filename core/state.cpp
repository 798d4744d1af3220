#include "core/state.hpp"

#include <fstream>
#include <regex>
#include <utility>

#include "core/error.hpp"
#include "core/files.hpp"

namespace pgdr {

ClusterState load_state(const std::string& state_dir) {
    auto text = read_text_file(state_dir + "/state.json");
    if (!text) {
        return {};
    }
    return parse_state(*text, state_dir + "/state.json");
}

ClusterState parse_state(const std::string& text, const std::string& path) {
    ClusterState st;
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
        throw Error(ExitCode::invalid_config,
                    "state file " + path + " is not valid JSON: " + e.what(),
                    "restore it from a backup or remove it and run `pgdr provision` again");
    }
    // Valid JSON of another shape (edited by hand, another tool's file) is refused the same
    // way; value() throws type_error for a field that is not a string.
    auto wrong_shape = [&](const std::string& why) {
        return Error(ExitCode::invalid_config,
                     "state file " + path + " is not a pgdr state file: " + why,
                     "restore it from a backup or remove it and run `pgdr provision` again");
    };
    if (!j.is_object()) {
        throw wrong_shape("the top level is not an object");
    }
    try {
        if (j.contains("hosts") && j["hosts"].is_object()) {
            for (const auto& [name, h] : j["hosts"].items()) {
                HostState hs;
                hs.address = h.value("address", "");
                hs.public_address = h.value("public_address", "");
                hs.instance_id = h.value("instance_id", "");
                hs.region = h.value("region", "");
                st.hosts[name] = hs;
            }
        }
    } catch (const nlohmann::json::exception& e) {
        throw wrong_shape(e.what());
    }
    if (j.contains("provider")) {
        st.provider = j["provider"];
    }
    using Field = std::pair<const char*, std::string*>;
    for (auto [key, field] : {Field{"cluster", &st.cluster}, Field{"project", &st.project},
                              Field{"secrets_fingerprint", &st.secrets_fingerprint}}) {
        if (j.contains(key)) {
            if (!j[key].is_string()) {
                throw wrong_shape(std::string(key) + " is not a string");
            }
            *field = j[key].get<std::string>();
        }
    }
    return st;
}

void save_state(const std::string& state_dir, const ClusterState& state) {
    ensure_directory(state_dir, 0700);
    restrict_directory(state_dir);
    nlohmann::json hosts = nlohmann::json::object();
    for (const auto& [name, h] : state.hosts) {
        hosts[name] = {{"address", h.address},
                       {"public_address", h.public_address},
                       {"instance_id", h.instance_id},
                       {"region", h.region}};
    }
    nlohmann::json j = {{"version", 1}, {"hosts", hosts}, {"provider", state.provider}};
    using Field = std::pair<const char*, const std::string*>;
    for (auto [key, value] : {Field{"cluster", &state.cluster}, Field{"project", &state.project},
                              Field{"secrets_fingerprint", &state.secrets_fingerprint}}) {
        if (!value->empty()) {
            j[key] = *value;
        }
    }
    write_file_atomic(state_dir + "/state.json", j.dump(2) + "\n", 0600);
}

void check_state_identity(const Inventory& inv, const ClusterState& state) {
    const std::string file = inv.paths.state_dir + "/state.json";
    // A pair's clusters share the state directory: bootstrap records the one that leads.
    if (!state.cluster.empty() && state.cluster != inv.cluster &&
        !(inv.dr && state.cluster == inv.dr->cluster)) {
        throw Error(ExitCode::invalid_config,
                    file + " belongs to cluster " + state.cluster + ", not " + inv.cluster +
                        " (two inventories sharing one state directory?)",
                    "give each inventory its own paths.state_dir; pgdr uses no state that "
                    "another cluster wrote");
    }
    if (inv.provider == ProviderKind::ovh && !state.project.empty() &&
        state.project != inv.ovh.project_id) {
        throw Error(ExitCode::invalid_config,
                    file + " records OVH project " + state.project + ", the inventory names " +
                        inv.ovh.project_id,
                    "check provider.ovh.project_id and paths.state_dir: instance ids of one "
                    "project mean nothing (or another machine) in another");
    }
}

std::vector<std::string> apply_state(Inventory& inv, const ClusterState& state) {
    check_state_identity(inv, state);
    std::vector<std::string> missing;
    for (auto& h : inv.hosts) {
        auto it = state.hosts.find(h.name);
        if (h.address.empty() && it != state.hosts.end()) {
            h.address = it->second.address;
        }
        // SSH goes to the public address that provisioning recorded, unless the inventory
        // names one; cluster traffic stays on the private address.
        if (h.ssh.address.empty() && it != state.hosts.end() &&
            it->second.public_address != h.address) {
            h.ssh.address = it->second.public_address;
        }
        if (h.address.empty()) {
            missing.push_back(h.name);
        }
    }
    if (inv.dr && !dr_primary(state).empty() && dr_primary(state) == inv.dr->cluster) {
        inv = swap_dr_roles(inv);
    }
    return missing;
}

std::string dr_primary(const ClusterState& state) {
    if (!state.provider.contains(k_dr_state_key) || !state.provider[k_dr_state_key].is_object()) {
        return "";
    }
    return state.provider[k_dr_state_key].value("primary", "");
}

namespace {
void check_secret_name(const std::string& name) {
    static const std::regex k_name("^[a-z0-9][a-z0-9-]{0,63}$");
    if (!std::regex_match(name, k_name)) {
        throw Error(ExitCode::internal, "bad secret name '" + name + "'");
    }
}
}  // namespace

std::optional<std::string> read_secret(const std::string& state_dir, const std::string& name) {
    check_secret_name(name);
    auto text = read_text_file(state_dir + "/secrets/" + name);
    if (!text) {
        return std::nullopt;
    }
    while (!text->empty() && (text->back() == '\n' || text->back() == '\r')) {
        text->pop_back();
    }
    return text;
}

std::string ensure_secret(const std::string& state_dir, const std::string& name) {
    if (auto existing = read_secret(state_dir, name)) {
        return *existing;
    }
    // URL-safe letters and digits only: the secret lands in YAML, libpq conninfo, pgpass and
    // HTTP basic auth, and none of them needs quoting for these characters.
    static const char k_alphabet[] = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    const size_t n = sizeof(k_alphabet) - 1;
    std::ifstream rnd("/dev/urandom", std::ios::binary);
    if (!rnd) {
        throw Error(ExitCode::internal, "cannot read /dev/urandom to generate a secret");
    }
    std::string secret;
    while (secret.size() < 32) {
        unsigned char c = 0;
        rnd.read(reinterpret_cast<char*>(&c), 1);
        if (c < 256 - (256 % n)) {  // rejection sampling: no modulo bias
            secret += k_alphabet[c % n];
        }
    }
    ensure_directory(state_dir, 0700);
    ensure_directory(state_dir + "/secrets", 0700);
    restrict_directory(state_dir);
    restrict_directory(state_dir + "/secrets");
    write_file_atomic(state_dir + "/secrets/" + name, secret + "\n", 0600);
    return secret;
}

}  // namespace pgdr
