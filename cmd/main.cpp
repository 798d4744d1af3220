// pgdr: PostgreSQL high availability on OVHcloud, bootstrapped, drilled and proven.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdlib>
#include <iostream>

#include "cmd/context.hpp"
#include "core/error.hpp"

#ifndef PGDR_VERSION
#define PGDR_VERSION "0.0.0"
#endif

namespace pgdr::cmd {

const Inventory& Context::inventory() {
    if (!m_inventory) {
        if (inventory_path.empty()) {
            throw usage_error("this command needs an inventory",
                              "pass -i FILE or set PGDR_INVENTORY (`pgdr lab up` writes one)");
        }
        m_inventory = load_inventory(inventory_path);
    }
    return *m_inventory;
}

bool Context::color_stdout() const {
    return !no_color && ::isatty(STDOUT_FILENO) != 0;
}

namespace {

void add_help_command(CLI::App& app, Context& ctx) {
    auto* help = app.add_subcommand("help", "Show the help of pgdr or of one subcommand");
    auto topic = std::make_shared<std::vector<std::string>>();
    help->add_option("subcommand", *topic, "Subcommand (and sub-subcommand) to describe");
    help->callback([&app, &ctx, topic] {
        ctx.action = [&app, topic]() -> int {
            CLI::App* target = &app;
            std::string command = app.get_name();
            for (const auto& name : *topic) {
                CLI::App* sub = nullptr;
                try {
                    sub = target->get_subcommand(name);
                } catch (const CLI::OptionNotFound&) {
                    sub = nullptr;
                }
                if (sub == nullptr) {
                    std::cerr << "pgdr: error: no subcommand '" << name
                              << "'; run `pgdr --help` for the list\n";
                    return static_cast<int>(ExitCode::usage);
                }
                target = sub;
                command += " " + name;
            }
            // Not target->help(): that delegates to the parsed subcommand, which is `help`
            // itself when target is the root. The same text as `pgdr ... --help`.
            std::cout << target->get_formatter()->make_help(target, command,
                                                            CLI::AppFormatMode::Normal);
            return 0;
        };
    });
}

std::string suggest_subcommand(const CLI::App& app, const std::string& word) {
    std::string best;
    int best_d = 3;
    for (const auto* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
        int d = edit_distance(word, sub->get_name());
        if (d < best_d) {
            best_d = d;
            best = sub->get_name();
        }
    }
    return best;
}

// A command line CLI11 refused: an unknown subcommand (with the closest known one), or CLI11's
// message. Exit code 2.
int parse_error(const CLI::App& app, const CLI::ParseError& e, int argc, char** argv) {
    std::string msg = e.what();
    // The first word that is neither an option nor an option's value names the subcommand.
    std::string word;
    for (int k = 1; k < argc; ++k) {
        std::string a = argv[k];
        if (a == "-i" || a == "--inventory" || a == "--output") {
            ++k;
        } else if (!a.empty() && a[0] != '-') {
            word = a;
            break;
        }
    }
    bool known = false;
    for (const auto* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
        known = known || sub->get_name() == word;
    }
    if (!word.empty() && !known) {
        std::cerr << "pgdr: error: unknown subcommand '" << word << "'\n";
        auto guess = suggest_subcommand(app, word);
        if (!guess.empty()) {
            std::cerr << "  did you mean `pgdr " << guess << "`?\n";
        }
    } else {
        std::cerr << "pgdr: error: " << msg << '\n';
    }
    std::cerr << "  run `pgdr --help` (or `pgdr help SUBCOMMAND`) for usage\n";
    return static_cast<int>(ExitCode::usage);
}

// The parsed command's action, with the logger set up; a pgdr::Error becomes its message, hint
// and exit code.
int run_action(Context& ctx, const CLI::App& app, int argc, char** argv) {
    for (int k = 0; k < argc; ++k) {
        ctx.command_line += (k == 0 ? "pgdr" : " " + std::string(argv[k]));
    }
    if (std::getenv("NO_COLOR") != nullptr && std::getenv("NO_COLOR")[0] != '\0') {
        ctx.no_color = true;
    }
    bool err_color = !ctx.no_color && ::isatty(STDERR_FILENO) != 0;
    ctx.log = std::make_unique<Logger>(std::cerr, ctx.verbosity, err_color);

    if (!ctx.action) {
        std::cerr << app.help();
        return static_cast<int>(ExitCode::usage);
    }
    try {
        return ctx.action();
    } catch (const Error& e) {
        std::cerr << "pgdr: error: " << ctx.log->redact(e.what()) << '\n';
        if (!e.hint().empty()) {
            std::cerr << "  hint: " << ctx.log->redact(e.hint()) << '\n';
        }
        return static_cast<int>(e.code());
    } catch (const std::exception& e) {
        std::cerr << "pgdr: internal error: " << ctx.log->redact(e.what()) << '\n';
        return static_cast<int>(ExitCode::internal);
    }
}

}  // namespace

int run(int argc, char** argv) {
    Context ctx;
    CLI::App app{
        "pgdr builds a PostgreSQL high-availability cluster (Patroni, etcd, HAProxy) on OVHcloud "
        "or a local lab, and proves that it survives failures with timed drills.",
        "pgdr"};
    app.set_version_flag("--version", std::string("pgdr ") + PGDR_VERSION);
    app.require_subcommand(1);
    app.fallthrough();
    app.footer(
        "Exit codes: 0 ok, 1 internal, 2 usage, 3 invalid inventory, 4 cloud API, "
        "5 host unreachable, 6 PostgreSQL, 7 verification failed, 8 drill objectives "
        "missed, 130 interrupted. See pgdr(1).");

    app.add_option("-i,--inventory", ctx.inventory_path, "Inventory file (YAML or JSON)")
        ->envname("PGDR_INVENTORY");
    app.add_flag("-v,--verbose", ctx.verbosity, "More logging on stderr (repeat: -vv, -vvv)");
    std::map<std::string, OutputFormat> formats{{"text", OutputFormat::text},
                                                {"json", OutputFormat::json}};
    app.add_option("--output", ctx.output, "Result format on stdout")
        ->transform(CLI::CheckedTransformer(formats, CLI::ignore_case));
    app.add_flag("--no-color", ctx.no_color, "No colors (also when NO_COLOR is set)");
    app.add_flag("--accept-new-host-keys", ctx.accept_new_host_keys,
                 "Trust and record unknown SSH host keys (like OpenSSH accept-new); a changed "
                 "key is always refused");

    register_inventory_commands(app, ctx);
    register_ovh_commands(app, ctx);
    register_exec_commands(app, ctx);
    register_lab_commands(app, ctx);
    register_drill_commands(app, ctx);
    register_bootstrap_commands(app, ctx);
    register_status_commands(app, ctx);
    register_ha_commands(app, ctx);
    register_dr_commands(app, ctx);
    register_runbook_commands(app, ctx);
    register_certs_commands(app, ctx);
    register_guard_commands(app, ctx);
    register_backup_commands(app, ctx);
    register_restore_commands(app, ctx);
    register_completion_commands(app, ctx);
    add_help_command(app, ctx);

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        return parse_error(app, e, argc, argv);
    }

    return run_action(ctx, app, argc, argv);
}

}  // namespace pgdr::cmd

int main(int argc, char** argv) {
    std::signal(SIGPIPE, SIG_IGN);
    return pgdr::cmd::run(argc, argv);
}
