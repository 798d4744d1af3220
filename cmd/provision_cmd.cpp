// pgdr provision | destroy | ovh check | ovh credential: OVH Public Cloud through the signed
// OVH API. Wiring and output only; the work is in ovh/.
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <memory>

#include "cmd/context.hpp"
#include "cmd/table.hpp"
#include "cmd/wiring.hpp"
#include "core/clock.hpp"
#include "core/state.hpp"
#include "net/curl_http_client.hpp"
#include "ovh/access_rules.hpp"
#include "ovh/client.hpp"
#include "ovh/object_storage.hpp"
#include "ovh/provider.hpp"
#include "ovh/prune.hpp"

namespace pgdr::cmd {

namespace {

using nlohmann::json;

struct OvhOptions {
    int api_timeout_s = 30;
    int wait_timeout_s = 1800;
    bool plan_only = false;
    bool yes = false;
    bool prune = false;
    bool delete_backups = false;
    std::string yes_really;
    std::string project;
    std::string redirection;
    bool guard = false;  // ovh credential --guard
};

OvhTimeouts timeouts(const OvhOptions& opts) {
    return {std::chrono::seconds(opts.api_timeout_s), std::chrono::seconds(opts.wait_timeout_s)};
}

const Inventory& ovh_inventory(Context& ctx) {
    const auto& inv = ctx.inventory();
    if (inv.provider != ProviderKind::ovh) {
        throw config_error("inventory " + ctx.inventory_path + " does not use the ovh provider",
                           "set provider.type: ovh (see pgdr-inventory(5)); lab clusters are "
                           "made with `pgdr lab up`");
    }
    return inv;
}

ovh::ProviderOptions provider_options(Context& ctx) {
    ovh::ProviderOptions po;
    // Progress only on a terminal, and not twice when -v already logs each step.
    if (::isatty(STDERR_FILENO) != 0 && ctx.verbosity == 0) {
        po.progress = [](const std::string& line) { std::cerr << "  " << line << '\n'; };
    }
    return po;
}

json change_json(const ovh::Change& c) {
    return {{"action", ovh::to_string(c.action)},
            {"kind", c.kind},
            {"name", c.name},
            {"region", c.region},
            {"id", c.id},
            {"detail", c.detail}};
}

void print_changes(const std::vector<ovh::Change>& changes) {
    Table t({"ACTION", "KIND", "NAME", "REGION", "ID", "DETAIL"});
    for (const auto& c : changes) {
        t.add({ovh::to_string(c.action), c.kind, c.name, c.region.empty() ? "-" : c.region,
               c.id.empty() ? "-" : c.id, c.detail.empty() ? "-" : c.detail});
    }
    t.print(std::cout);
}

std::string plan_summary(const ovh::ProvisionPlan& p) {
    return std::to_string(p.count(ovh::ChangeAction::create)) + " to create, " +
           std::to_string(p.count(ovh::ChangeAction::update)) + " to update, " +
           std::to_string(p.count(ovh::ChangeAction::remove)) + " to delete, " +
           std::to_string(p.count(ovh::ChangeAction::keep) + p.count(ovh::ChangeAction::wait)) +
           " unchanged";
}

json hosts_json(const ClusterState& st) {
    json hosts = json::object();
    for (const auto& [name, h] : st.hosts) {
        hosts[name] = {{"address", h.address},
                       {"public_address", h.public_address},
                       {"instance_id", h.instance_id},
                       {"region", h.region}};
    }
    return hosts;
}

// Deleting instances of hosts gone from the inventory needs --prune and the cluster's name,
// typed at the prompt or given with --yes-really (ovh/prune.hpp).
bool confirm_prune(Context& ctx, const Inventory& inv, ovh::OvhProvider& provider,
                   const ClusterState& state, const OvhOptions& opts) {
    auto p = provider.plan(inv, state);
    std::vector<ovh::Change> removals;
    for (const auto& c : p.changes) {
        if (c.action == ovh::ChangeAction::remove) {
            removals.push_back(c);
        }
    }
    if (removals.empty() || !p.blockers.empty()) {
        return true;  // nothing to confirm, or apply() stops on the blockers anyway
    }
    const std::string command = "pgdr provision -i " + ctx.inventory_path + " --prune";
    if (ovh::deletion_confirmed_by_flags(inv, false, opts.yes_really, command)) {
        return true;
    }
    if (::isatty(STDIN_FILENO) == 0) {
        throw usage_error("refusing to delete " + std::to_string(removals.size()) +
                              " instance(s) of cluster " + inv.cluster +
                              " without the typed cluster name: stdin is not a terminal",
                          "run `" + command + " --yes-really " + inv.cluster + "`");
    }
    print_changes(removals);
    std::cout.flush();
    std::cerr << "This deletes the " << removals.size()
              << " instance(s) above and their local disks (cluster " << inv.cluster
              << (inv.production ? ", PRODUCTION" : "") << ").\nType the cluster name to confirm: ";
    std::string answer;
    return std::getline(std::cin, answer) && answer == inv.cluster;
}

int provision(Context& ctx, const OvhOptions& opts) {
    const auto& inv = ovh_inventory(ctx);
    OvhWiring w(ctx, inv.ovh.endpoint, inv.ovh.project_id, timeouts(opts));
    auto po = provider_options(ctx);
    po.prune = opts.prune;
    po.inventory_path = ctx.inventory_path;
    ovh::OvhProvider provider(*w.api, *ctx.log, po);
    ClusterState state = load_state(inv.paths.state_dir);
    // Whose state this is: another inventory's or project's is refused.
    check_state_identity(inv, state);

    if (opts.plan_only) {
        auto p = provider.plan(inv, state);
        if (ctx.json()) {
            json changes = json::array();
            for (const auto& c : p.changes) {
                changes.push_back(change_json(c));
            }
            std::cout << json{{"cluster", inv.cluster},
                              {"changes", changes},
                              {"create", p.count(ovh::ChangeAction::create)},
                              {"update", p.count(ovh::ChangeAction::update)},
                              {"delete", p.count(ovh::ChangeAction::remove)},
                              {"blockers", p.blockers}}
                             .dump(2)
                      << '\n';
        } else {
            print_changes(p.changes);
            std::cout << "\nplan for cluster " << inv.cluster << ": " << plan_summary(p) << '\n';
            for (const auto& b : p.blockers) {
                std::cout << "blocker: " << b << '\n';
            }
            if (!p.blockers.empty()) {
                std::cout << "provision would stop before changing anything\n";
            }
        }
        return p.blockers.empty() ? 0 : static_cast<int>(ExitCode::cloud_api);
    }

    if (opts.prune && !confirm_prune(ctx, inv, provider, state, opts)) {
        std::cerr << "pgdr: nothing changed\n";
        return static_cast<int>(ExitCode::usage);
    }
    state.cluster = inv.cluster;
    state.project = inv.ovh.project_id;
    const auto started = w.clock.steady_now();
    auto result = provider.apply(inv, state, inv.paths.state_dir);
    const double seconds = std::chrono::duration<double>(w.clock.steady_now() - started).count();
    const int unchanged = result.plan.count(ovh::ChangeAction::keep) +
                          result.plan.count(ovh::ChangeAction::wait) - result.updated;
    if (ctx.json()) {
        json changes = json::array();
        for (const auto& c : result.plan.changes) {
            changes.push_back(change_json(c));
        }
        std::cout << json{{"cluster", inv.cluster},
                          {"created", result.created},
                          {"updated", result.updated},
                          {"deleted", result.deleted},
                          {"changes", changes},
                          {"hosts", hosts_json(state)},
                          {"state_dir", inv.paths.state_dir},
                          {"seconds", seconds}}
                         .dump(2)
                  << '\n';
        return 0;
    }
    Table t({"HOST", "INSTANCE", "REGION", "PRIVATE", "PUBLIC"});
    for (const auto& h : inv.hosts) {
        auto it = state.hosts.find(h.name);
        const HostState hs = it == state.hosts.end() ? HostState{} : it->second;
        t.add({h.name, hs.instance_id, hs.region, hs.address,
               hs.public_address.empty() ? "-" : hs.public_address});
    }
    t.print(std::cout);
    char secs[32];
    std::snprintf(secs, sizeof secs, "%.1f", seconds);
    std::cout << "\nprovisioned cluster " << inv.cluster << ": " << result.created << " created, "
              << result.updated << " updated, " << result.deleted << " deleted, "
              << std::max(0, unchanged) << " unchanged in " << secs << " s\n"
              << "state: " << inv.paths.state_dir << "/state.json\n";
    return 0;
}

bool confirm_destroy(const Inventory& inv, std::size_t count) {
    std::cerr << "This deletes the " << count << " resources above (cluster " << inv.cluster
              << (inv.production ? ", PRODUCTION" : "") << ").\nType the cluster name to confirm: ";
    std::string answer;
    if (!std::getline(std::cin, answer)) {
        return false;
    }
    return answer == inv.cluster;
}

int destroy(Context& ctx, const OvhOptions& opts) {
    const auto& inv = ovh_inventory(ctx);
    // production: true needs the cluster's name (typed, or --yes-really); --yes alone refuses.
    const bool confirmed = ovh::deletion_confirmed_by_flags(
        inv, opts.yes, opts.yes_really, "pgdr destroy -i " + ctx.inventory_path);
    // Refuse early, before any API call, when nobody can answer the question.
    if (!confirmed && ::isatty(STDIN_FILENO) == 0) {
        throw usage_error(
            "refusing to destroy cluster " + inv.cluster +
                " without --yes: stdin is not a terminal",
            "run `pgdr destroy -i " + ctx.inventory_path +
                (inv.production ? " --yes-really " + inv.cluster : std::string(" --yes")) +
                "` to delete without asking");
    }
    OvhWiring w(ctx, inv.ovh.endpoint, inv.ovh.project_id, timeouts(opts));
    auto po = provider_options(ctx);
    po.delete_backups = opts.delete_backups;
    ovh::OvhProvider provider(*w.api, *ctx.log, po);
    ClusterState state = load_state(inv.paths.state_dir);
    check_state_identity(inv, state);
    auto targets = provider.destroy_plan(inv, state);
    const auto removals = std::count_if(targets.begin(), targets.end(), [](const ovh::Change& c) {
        return c.action == ovh::ChangeAction::remove;
    });
    if (removals == 0) {
        if (!ctx.json() && !targets.empty()) {
            print_changes(targets);  // what is kept: a bucket that holds backups
        }
        if (ctx.json()) {
            std::cout << json{{"cluster", inv.cluster}, {"deleted", 0}, {"changes", json::array()}}
                             .dump(2)
                      << '\n';
        } else {
            std::cout << "nothing of cluster " << inv.cluster << " exists in project "
                      << inv.ovh.project_id << "\n";
        }
        state.hosts.clear();
        const auto storage = state.provider.find("object_storage");
        json kept = storage == state.provider.end() ? json() : *storage;
        state.provider = json::object();
        if (!kept.is_null()) {
            state.provider["object_storage"] = kept;
        }
        save_state(inv.paths.state_dir, state);
        return 0;
    }
    // Deleting the backups (a bucket that holds objects) always needs the cluster's name,
    // typed or given with --yes-really: --yes is not enough, production or not.
    if (ovh::deletes_backups(targets)) {
        const std::string command = "pgdr destroy -i " + ctx.inventory_path + " --delete-backups";
        if (!ovh::deletion_confirmed_by_flags(inv, false, opts.yes_really, command)) {
            if (::isatty(STDIN_FILENO) == 0) {
                throw usage_error("refusing to delete the backups of cluster " + inv.cluster +
                                      " without the typed cluster name: stdin is not a terminal",
                                  "run `" + command + " --yes-really " + inv.cluster + "`");
            }
            print_changes(targets);
            std::cout.flush();
            std::cerr << "This deletes the BACKUPS of cluster " << inv.cluster
                      << " (the bucket above and every object in it).\n"
                         "Type the cluster name to confirm: ";
            std::string answer;
            if (!std::getline(std::cin, answer) || answer != inv.cluster) {
                std::cerr << "pgdr: nothing deleted\n";
                return static_cast<int>(ExitCode::usage);
            }
        }
    }
    if (!ctx.json() || !confirmed) {
        print_changes(targets);
        std::cout.flush();
    }
    if (!confirmed && !confirm_destroy(inv, static_cast<std::size_t>(removals))) {
        std::cerr << "pgdr: nothing deleted\n";
        return static_cast<int>(ExitCode::usage);
    }
    auto result = provider.destroy(inv, state, inv.paths.state_dir);
    if (ctx.json()) {
        json changes = json::array();
        for (const auto& c : result.plan.changes) {
            changes.push_back(change_json(c));
        }
        std::cout << json{{"cluster", inv.cluster},
                          {"deleted", result.deleted},
                          {"changes", changes}}
                         .dump(2)
                  << '\n';
    } else {
        std::cout << "\ndestroyed cluster " << inv.cluster << ": " << result.deleted
                  << " resources deleted\n";
    }
    return 0;
}

// The inventory when one was given, for the project and endpoint.
const Inventory* optional_inventory(Context& ctx) {
    if (ctx.inventory_path.empty()) {
        return nullptr;
    }
    return &ovh_inventory(ctx);
}

int check(Context& ctx, const OvhOptions& opts) {
    const Inventory* inv = optional_inventory(ctx);
    const std::string project = !opts.project.empty() ? opts.project
                                : inv != nullptr      ? inv->ovh.project_id
                                                      : std::string();
    OvhWiring w(ctx, inv != nullptr ? inv->ovh.endpoint : std::string(), project, timeouts(opts));
    const auto& creds = w.client->credentials();
    struct Row {
        std::string check, result, detail;
    };
    std::vector<Row> rows;
    bool ok = true;
    std::string origins;
    for (const auto& [key, origin] : creds.origin) {
        origins += (origins.empty() ? "" : ", ") + key + " from " + origin;
    }
    rows.push_back({"credentials", "ok", origins});
    rows.push_back({"endpoint", "ok", creds.endpoint + " (" + creds.base_url + ")"});
    auto attempt = [&](const std::string& name, const std::function<std::string()>& fn) {
        try {
            rows.push_back({name, "ok", fn()});
            return true;
        } catch (const Error& e) {
            ok = false;
            rows.push_back({name, "FAILED",
                            std::string(e.what()) + (e.hint().empty() ? "" : " - " + e.hint())});
            return false;
        }
    };
    attempt("API clock", [&] {
        return "offset " + std::to_string(w.client->time_delta()) + " s from this machine";
    });
    std::vector<ovh::AccessRule> granted;
    bool have_rules = attempt("consumer key", [&] {
        auto cred = w.client->get("/auth/currentCredential");
        granted = ovh::rules_from_json(cred.value("rules", json::array()));
        std::string detail = "status " + cred.value("status", std::string("?"));
        if (cred.contains("expiration") && cred["expiration"].is_string()) {
            detail += ", expires " + cred["expiration"].get<std::string>();
        }
        return detail + ", " + std::to_string(granted.size()) + " access rules";
    });
    if (!project.empty()) {
        attempt("project", [&] {
            auto p = w.client->get("/cloud/project/" + project);
            return project + " \"" + p.value("description", p.value("projectName", "")) +
                   "\", status " + p.value("status", std::string("?"));
        });
        if (have_rules) {
            auto missing = ovh::missing_rules(granted, project);
            if (missing.empty()) {
                rows.push_back({"access rules", "ok", "cover what pgdr needs"});
            } else {
                ok = false;
                std::string list;
                for (const auto& m : missing) {
                    list += (list.empty() ? "" : ", ") + m;
                }
                rows.push_back({"access rules", "FAILED",
                                "missing " + list + " - create a key with `pgdr ovh credential`"});
            }
        }
    } else {
        rows.push_back({"project", "skipped", "no -i INVENTORY or --project given"});
    }
    if (ctx.json()) {
        json out = json::array();
        for (const auto& r : rows) {
            out.push_back({{"check", r.check}, {"result", r.result}, {"detail", r.detail}});
        }
        std::cout << json{{"ok", ok}, {"checks", out}}.dump(2) << '\n';
    } else {
        Table t({"CHECK", "RESULT", "DETAIL"});
        for (const auto& r : rows) {
            t.add({r.check, r.result, r.detail});
        }
        t.print(std::cout);
    }
    return ok ? 0 : static_cast<int>(ExitCode::cloud_api);
}

int credential(Context& ctx, const OvhOptions& opts) {
    const Inventory* inv = optional_inventory(ctx);
    const std::string project = !opts.project.empty() ? opts.project
                                : inv != nullptr      ? inv->ovh.project_id
                                                      : std::string();
    if (project.empty()) {
        throw usage_error("which project? pass -i INVENTORY or --project ID",
                          "the consumer key is limited to one Public Cloud project");
    }
    OvhWiring w(ctx, inv != nullptr ? inv->ovh.endpoint : std::string(), project, timeouts(opts),
                false);
    const auto rules =
        opts.guard ? ovh::guard_access_rules(project) : ovh::required_access_rules(project);
    json body = {{"accessRules", ovh::to_json(rules)}};
    if (!opts.redirection.empty()) {
        body["redirection"] = opts.redirection;
    }
    auto answer = w.client->call_unsigned("POST", "/auth/credential", body);
    const std::string ck = answer.value("consumerKey", "");
    const std::string url = answer.value("validationUrl", "");
    if (ctx.json()) {
        std::cout << json{{"consumer_key", ck},
                          {"validation_url", url},
                          {"state", answer.value("state", "")},
                          {"access_rules", body["accessRules"]}}
                         .dump(2)
                  << '\n';
        return 0;
    }
    std::cout << "validation URL: " << url << "\n"
              << "consumer key:   " << ck << "\n\n"
              << "1. Open the validation URL, log in and choose a validity period.\n"
              << (opts.guard
                      ? "2. Store it with application_key and application_secret in the agents' "
                        "key file (guard.credentials_file, default <state>/secrets/guard-ovh.conf,"
                        " mode 0600), as consumer_key in the section named by the endpoint the "
                        "hosts use (guard.provider_endpoint).\n"
                        "3. Run `pgdr bootstrap`: its guard stage installs it and checks it.\n"
                      : "2. Store the consumer key as consumer_key in the [" +
                            w.client->credentials().endpoint +
                            "] section of ~/.ovh.conf (mode 0600) or in OVH_CONSUMER_KEY.\n"
                            "3. Run `pgdr ovh check` to verify.\n")
              << "Access rules requested (" << body["accessRules"].size() << "):\n";
    for (const auto& r : rules) {
        std::cout << "  " << r.method << " " << r.path << '\n';
    }
    return 0;
}

void add_api_options(CLI::App* cmd, OvhOptions& opts) {
    cmd->add_option("--api-timeout", opts.api_timeout_s, "Seconds allowed per API request")
        ->check(CLI::Range(1, 600));
}

}  // namespace

void register_ovh_commands(CLI::App& app, Context& ctx) {
    auto opts = std::make_shared<OvhOptions>();

    auto* prov = app.add_subcommand(
        "provision", "Create the OVH Public Cloud hosts of an inventory (--plan: only show)");
    prov->add_flag("--plan", opts->plan_only, "Print what would be created/changed/deleted");
    prov->add_flag("--prune", opts->prune,
                   "Delete the instances of hosts no longer in the inventory (asks for the "
                   "cluster name)");
    prov->add_option("--yes-really", opts->yes_really,
                     "With --prune: the cluster's name, instead of typing it");
    add_api_options(prov, *opts);
    prov->add_option("--wait-timeout", opts->wait_timeout_s,
                     "Seconds to wait for each resource to become READY")
        ->check(CLI::Range(1, 86400));
    prov->callback([&ctx, opts] { ctx.action = [&ctx, opts] { return provision(ctx, *opts); }; });

    auto* des = app.add_subcommand("destroy",
                                   "Delete everything pgdr made on OVH for an inventory's cluster");
    des->add_flag("-y,--yes", opts->yes,
                  "Do not ask for confirmation (not enough for production: true)");
    des->add_flag("--delete-backups", opts->delete_backups,
                  "Also delete the backup bucket when it holds backups (asks for the cluster "
                  "name, or --yes-really CLUSTER)");
    des->add_option("--yes-really", opts->yes_really,
                    "The cluster's name: delete without asking, also in production");
    add_api_options(des, *opts);
    des->add_option("--wait-timeout", opts->wait_timeout_s,
                    "Seconds to wait for each resource to be gone")
        ->check(CLI::Range(1, 86400));
    des->callback([&ctx, opts] { ctx.action = [&ctx, opts] { return destroy(ctx, *opts); }; });

    auto* ovh_cmd = app.add_subcommand("ovh", "OVH API credentials: check or create them");
    ovh_cmd->require_subcommand(1);
    auto* chk = ovh_cmd->add_subcommand(
        "check", "Verify the credentials, the API clock and access to the project");
    chk->add_option("--project", opts->project, "Project id (default: the inventory's)");
    add_api_options(chk, *opts);
    chk->callback([&ctx, opts] { ctx.action = [&ctx, opts] { return check(ctx, *opts); }; });
    auto* cred = ovh_cmd->add_subcommand(
        "credential", "Request a consumer key with exactly the access rules pgdr needs");
    cred->add_option("--project", opts->project, "Project id (default: the inventory's)");
    cred->add_option("--redirection", opts->redirection, "URL to open after validation");
    cred->add_flag("--guard", opts->guard,
                   "The key of pgdr-guard's agents: read the project's instances, hard reboot "
                   "and stop them, nothing else");
    add_api_options(cred, *opts);
    cred->callback([&ctx, opts] { ctx.action = [&ctx, opts] { return credential(ctx, *opts); }; });
}

}  // namespace pgdr::cmd
