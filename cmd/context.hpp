// What every subcommand shares: global options, the logger, output format, and the wiring of
// the real objects (DESIGN.md §3: cmd/ builds the real objects in one place).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/inventory.hpp"
#include "core/log.hpp"

namespace pgdr::net {
class SshForwarder;
}

namespace pgdr::cmd {

enum class OutputFormat { text, json };

struct Context {
    std::string inventory_path;  // -i / PGDR_INVENTORY
    int verbosity = 0;           // -v, repeatable
    OutputFormat output = OutputFormat::text;
    bool no_color = false;  // --no-color / NO_COLOR
    bool accept_new_host_keys = false;
    std::string command_line;  // argv joined, for the cluster lock's holder record
    std::unique_ptr<Logger> log;
    // Bastion sessions (ssh.jump_host), one per bastion, shared by the hosts behind it; they
    // go before the logger they write to.
    std::map<std::string, std::shared_ptr<net::SshForwarder>> jump_hosts;

    // The subcommand's work, set by its callback and run by main after parsing.
    std::function<int()> action;

    // Loads and validates the inventory named by -i; throws InventoryError (exit 3) or a usage
    // error (exit 2) when none was given.
    const Inventory& inventory();
    bool color_stdout() const;
    bool json() const { return output == OutputFormat::json; }

  private:
    std::optional<Inventory> m_inventory;
};

// Each family registers its subcommands; the callbacks set ctx.action.
void register_inventory_commands(CLI::App& app, Context& ctx);
void register_exec_commands(CLI::App& app, Context& ctx);
void register_lab_commands(CLI::App& app, Context& ctx);
void register_drill_commands(CLI::App& app, Context& ctx);
void register_bootstrap_commands(CLI::App& app, Context& ctx);
void register_status_commands(CLI::App& app, Context& ctx);
void register_ovh_commands(CLI::App& app, Context& ctx);
void register_ha_commands(CLI::App& app, Context& ctx);
void register_dr_commands(CLI::App& app, Context& ctx);
void register_runbook_commands(CLI::App& app, Context& ctx);
void register_completion_commands(CLI::App& app, Context& ctx);
void register_certs_commands(CLI::App& app, Context& ctx);
void register_guard_commands(CLI::App& app, Context& ctx);
void register_backup_commands(CLI::App& app, Context& ctx);
void register_restore_commands(CLI::App& app, Context& ctx);

}  // namespace pgdr::cmd
