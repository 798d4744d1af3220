#include "drills/fault_journal.hpp"

#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/files.hpp"
#include "core/strings.hpp"

namespace pgdr::drills {

std::string fault_journal_path(const std::string& state_dir) {
    return state_dir + "/fault-journal.json";
}

std::string render_fault_journal(const FaultJournal& journal) {
    const auto& info = fault_info(journal.plan.kind);
    nlohmann::json j = {{"fault", info.name},
                        {"target", journal.plan.target},
                        {"leader", journal.plan.leader},
                        {"candidate", journal.plan.candidate},
                        {"use_host_control", journal.plan.use_host_control},
                        {"started", journal.started},
                        {"operator_host", journal.operator_host},
                        {"pid", journal.pid},
                        {"neighbour", journal.neighbour},
                        {"restore", info.restore}};
    return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

FaultJournal parse_fault_journal(const std::string& text, const std::string& path) {
    auto unreadable = [&](const std::string& why) {
        return Error(ExitCode::invalid_config,
                     path + " records a fault in place but cannot be read: " + why,
                     "check the cluster by hand (`pgdr status`), restore what the drill did, "
                     "then delete the file");
    };
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
        throw unreadable(e.what());
    }
    if (!j.is_object() || !j.contains("fault") || !j["fault"].is_string() ||
        !j.contains("target") || !j["target"].is_string()) {
        throw unreadable("no fault and target");
    }
    const auto* info = find_fault(j["fault"].get<std::string>());
    if (info == nullptr) {
        throw unreadable("unknown fault '" + j["fault"].get<std::string>() + "'");
    }
    auto str = [&j](const char* key) {
        return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
    };
    FaultJournal out;
    out.plan.kind = info->kind;
    out.plan.target = str("target");
    out.plan.leader = str("leader");
    out.plan.candidate = str("candidate");
    out.plan.use_host_control = j.contains("use_host_control") &&
                                j["use_host_control"].is_boolean() &&
                                j["use_host_control"].get<bool>();
    out.started = str("started");
    out.operator_host = str("operator_host");
    out.pid = j.contains("pid") && j["pid"].is_number_integer() ? j["pid"].get<long>() : 0;
    out.neighbour = str("neighbour");
    return out;
}

void write_fault_journal(const std::string& state_dir, const FaultJournal& journal) {
    try {
        write_file_atomic(fault_journal_path(state_dir), render_fault_journal(journal), 0600);
    } catch (const std::exception& e) {
        throw Error(ExitCode::internal, "cannot record the fault in " +
                                            fault_journal_path(state_dir) + ": " + e.what() +
                                            "; the fault was not injected");
    }
}

std::optional<FaultJournal> read_fault_journal(const std::string& state_dir) {
    const std::string path = fault_journal_path(state_dir);
    auto text = read_text_file(path);
    if (!text) {
        return std::nullopt;
    }
    return parse_fault_journal(*text, path);
}

std::string journal_neighbour(const DrillTopology& topology, const std::string& target) {
    for (const auto& n : topology.postgres) {
        if (n.name != target) {
            return n.name;
        }
    }
    return {};
}

std::string copy_fault_journal(Transport& host, const FaultJournal& journal) {
    RunOptions o;
    o.sudo = true;
    o.timeout = std::chrono::seconds(30);
    try {
        auto dir = host.run({"mkdir", "-p", "-m", "0700", k_host_journal_dir}, o);
        if (!dir.ok()) {
            return "mkdir " + std::string(k_host_journal_dir) + " failed: " + first_line(dir.err);
        }
        std::string err;
        if (!host.put_file(k_host_journal_path, render_fault_journal(journal), {"0600", ""},
                           &err)) {
            return err;
        }
    } catch (const Error& e) {
        return e.what();
    }
    return {};
}

std::optional<FoundJournal> find_fault_journal(const std::string& state_dir,
                                               const DrillTopology& topology,
                                               const TransportFor& transport) {
    if (!state_dir.empty()) {
        if (auto local = read_fault_journal(state_dir)) {
            return FoundJournal{*local, fault_journal_path(state_dir)};
        }
    }
    for (const auto& n : topology.postgres) {
        std::optional<std::string> text;
        try {
            text = transport(n.name).read_file(k_host_journal_path, true);
        } catch (const Error&) {
            continue;  // an unreachable member: the others may hold it
        }
        if (text && !trim(*text).empty()) {
            const auto where = n.name + ":" + k_host_journal_path;
            return FoundJournal{parse_fault_journal(*text, where), where};
        }
    }
    return std::nullopt;
}

void clear_host_fault_journal(Transport& host) {
    RunOptions o;
    o.sudo = true;
    o.timeout = std::chrono::seconds(30);
    try {
        host.run({"rm", "-f", k_host_journal_path}, o);
    } catch (const Error&) {
        // Unreachable: the next command finds it and sees the fault is gone after a restore.
    }
}

void clear_fault_journal(const std::string& state_dir) {
    std::remove(fault_journal_path(state_dir).c_str());
}

std::string describe(const FaultJournal& journal) {
    return fault_info(journal.plan.kind).name + " on " + journal.plan.target + " (since " +
           (journal.started.empty() ? "?" : journal.started) + ", pid " +
           std::to_string(journal.pid) + " on " +
           (journal.operator_host.empty() ? "?" : journal.operator_host) + ")";
}

}  // namespace pgdr::drills
