#include "runbook/pgdr_argv.hpp"

#include <map>
#include <variant>

#include "core/error.hpp"

namespace pgdr::runbook {

namespace {

// A yes/no argument: "true" or "false" (or absent, empty: false).
bool flag_argument(const PgdrStep& step, const std::string& name) {
    const auto it = step.args.find(name);
    if (it == step.args.end() || it->second.empty() || it->second == "false") {
        return false;
    }
    if (it->second != "true") {
        throw usage_error("pgdr " + step.action + ": argument " + name + " is '" + it->second +
                              "', not true or false",
                          "fix the runbook (see pgdr-runbook(5))");
    }
    return true;
}

}  // namespace

std::vector<std::string> pgdr_step_argv(const PgdrStep& step, const PgdrArgvOptions& options) {
    std::vector<std::string> argv{options.exe, "-i", options.inventory_path};
    if (options.accept_new_host_keys) {
        argv.push_back("--accept-new-host-keys");
    }
    argv.push_back("--no-color");
    if (step.action == "certs_status" || step.action == "certs_rotate") {
        // `pgdr certs status|rotate`; the runbook's own confirm step stands for rotate's
        // question (a child process has no terminal to ask on).
        argv.push_back("certs");
        argv.push_back(step.action == "certs_status" ? "status" : "rotate");
        if (auto it = step.args.find("warn_days"); it != step.args.end() && !it->second.empty()) {
            argv.push_back("--warn-days");
            argv.push_back(it->second);
        }
        if (step.action == "certs_rotate") {
            argv.push_back("--yes");
        }
        return argv;
    }
    if (step.action == "backup_list" || step.action == "backup_check") {
        argv.push_back("backup");
        argv.push_back(step.action == "backup_list" ? "list" : "check");
        return argv;
    }
    if (step.action == "restore_cluster") {
        // `pgdr restore --cluster` asks for the cluster's name: a child has no terminal, and the
        // gate below has refused the runbook unless the operator gave --yes-really CLUSTER.
        argv.insert(argv.end(), {"restore", "--cluster", "--to", step.args.at("to")});
        if (auto it = step.args.find("target"); it != step.args.end() && !it->second.empty()) {
            argv.push_back("--target");
            argv.push_back(it->second);
        }
        if (!options.yes_really.empty()) {
            argv.push_back("--yes-really");
            argv.push_back(options.yes_really);
        }
        return argv;
    }
    if (step.action.starts_with("dr_")) {
        // `pgdr dr promote|rebuild|switchover --yes`: the runbook's confirm step stands for the
        // question a child process cannot ask.
        argv.insert(argv.end(), {"dr", step.action.substr(3), "--yes"});
        if (flag_argument(step, "force")) {
            argv.push_back("--force");
        }
        for (const auto& [k, flag] : {std::pair<const char*, const char*>{"timeout", "--timeout"},
                                      {"catch_up", "--catch-up"}}) {
            if (auto it = step.args.find(k); it != step.args.end() && !it->second.empty()) {
                argv.push_back(flag);
                argv.push_back(it->second);
            }
        }
        return argv;
    }
    argv.push_back(step.action);
    if (step.action == "drill") {
        static const std::map<std::string, std::string> k_flags = {
            {"candidate", "--candidate"}, {"max_rto", "--max-rto"},
            {"max_lost", "--max-lost"},   {"repeat", "--repeat"},
            {"report", "--report"},       {"baseline", "--baseline"},
            {"timeout", "--timeout"},     {"to", "--to"}};
        argv.push_back("--" + step.args.at("fault"));
        // --lose-region takes the region; --promote is a flag.
        if (auto it = step.args.find("region"); it != step.args.end()) {
            argv.push_back(it->second);
        }
        if (flag_argument(step, "promote")) {
            argv.push_back("--promote");
        }
        for (const auto& [k, v] : step.args) {
            if (k != "fault" && k != "region" && k != "promote" && !v.empty()) {
                argv.push_back(k_flags.at(k));
                argv.push_back(v);
            }
        }
        if (!options.yes_really.empty()) {
            argv.push_back("--yes-really");
            argv.push_back(options.yes_really);
        }
    } else if (auto it = step.args.find("stage"); it != step.args.end() && !it->second.empty()) {
        argv.push_back("--stage");
        argv.push_back(it->second);
    }
    return argv;
}

void check_production_gate(const Runbook& runbook, const Inventory& inv,
                           const std::string& yes_really, const std::string& command) {
    if (!yes_really.empty() && yes_really != inv.cluster) {
        throw usage_error("--yes-really " + yes_really + " does not name this cluster (" +
                              inv.cluster + "); nothing was run",
                          "run `" + command + " --yes-really " + inv.cluster + "`");
    }
    for (const auto& step : runbook.steps) {
        const auto* p = std::get_if<PgdrStep>(&step.body);
        if (p != nullptr && p->action == "restore_cluster" && yes_really != inv.cluster) {
            throw usage_error("runbook " + runbook.name + " replaces the data of every member of " +
                                  inv.cluster + " (step " + step.id +
                                  ": restore --cluster), which needs the cluster's name typed; "
                                  "nothing was run",
                              "run `" + command + " --yes-really " + inv.cluster + "`");
        }
    }
    if (!inv.production || yes_really == inv.cluster) {
        return;
    }
    for (const auto& step : runbook.steps) {
        const auto* p = std::get_if<PgdrStep>(&step.body);
        if (p != nullptr && p->action == "drill") {
            throw usage_error("runbook " + runbook.name + " drills cluster " + inv.cluster +
                                  " (step " + step.id +
                                  "), which is marked production: true; nothing was run",
                              "run `" + command + " --yes-really " + inv.cluster + "`");
        }
    }
}

}  // namespace pgdr::runbook
