#include "drills/faults.hpp"

#include "core/error.hpp"
#include "core/poll.hpp"
#include "core/strings.hpp"
#include "pg/patroni_api.hpp"

namespace pgdr::drills {

namespace {

constexpr std::chrono::seconds k_command_timeout{60};

}  // namespace

std::vector<std::string> kill_unit_argv(const std::string& unit) {
    return {"systemctl", "kill", "-s", "SIGKILL", unit};
}
std::vector<std::string> start_unit_argv(const std::string& unit) {
    return {"systemctl", "start", unit};
}
std::vector<std::string> stop_unit_argv(const std::string& unit) {
    return {"systemctl", "stop", unit};
}

std::string hold_drop_in(const std::string& unit) {
    return "/run/systemd/system/" + unit + ".service.d/pgdr-drill-hold.conf";
}
std::vector<std::string> hold_unit_argv(const std::string& unit) {
    // Debian's etcd (Restart=on-abnormal) and HAProxy (Restart=always) units restart 100 ms
    // after a SIGKILL, so without this the fault is a blip no check or alert sees. A runtime
    // drop-in (/run: gone with a reboot) keeps the unit down until the restore removes it.
    const auto path = hold_drop_in(unit);
    return {"/bin/sh", "-c",
            "mkdir -p \"${0%/*}\" && printf '[Service]\\nRestart=no\\n' >\"$0\" && "
            "systemctl daemon-reload",
            path};
}
std::vector<std::string> release_unit_argv(const std::string& unit) {
    return {"/bin/sh", "-c", "rm -f \"$0\" && systemctl daemon-reload && systemctl start \"$1\"",
            hold_drop_in(unit), unit};
}

std::string partition_ruleset(int ssh_port) {
    // "table ...; delete table ..." first: nft applies the file as one transaction, so the
    // table is replaced atomically whether or not it existed. Drops, not rejects: peers must
    // see timeouts, as in a real network failure. Priority -10 runs before other filter
    // chains, so an `accept` elsewhere cannot let a packet through.
    const std::string port = std::to_string(ssh_port);
    return std::string("table inet ") + k_partition_table + "\n" + "delete table inet " +
           k_partition_table + "\n" + "table inet " + k_partition_table +
           " {\n"
           "\tchain input {\n"
           "\t\ttype filter hook input priority -10; policy accept;\n"
           "\t\tiifname \"lo\" accept\n"
           "\t\ttcp dport " +
           port +
           " accept\n"
           "\t\tdrop\n"
           "\t}\n"
           "\tchain output {\n"
           "\t\ttype filter hook output priority -10; policy accept;\n"
           "\t\toifname \"lo\" accept\n"
           "\t\ttcp sport " +
           port +
           " accept\n"
           "\t\tdrop\n"
           "\t}\n"
           "}\n";
}

std::vector<std::string> partition_safety_argv(std::chrono::seconds after) {
    return self_heal_argv(k_partition_heal_unit, after,
                          {"/usr/sbin/nft", "delete", "table", "inet", k_partition_table});
}

std::vector<std::string> self_heal_argv(const std::string& unit, std::chrono::seconds after,
                                        const std::vector<std::string>& command) {
    std::vector<std::string> argv{"systemd-run", "--unit=" + unit,
                                  "--on-active=" + std::to_string(after.count()) + "s",
                                  "--timer-property=AccuracySec=1s"};
    argv.insert(argv.end(), command.begin(), command.end());
    return argv;
}

std::vector<std::string> fault_heal_command(FaultKind kind, const DrillTopology& topology) {
    switch (kind) {
        case FaultKind::kill_primary:
        case FaultKind::kill_postmaster:
        case FaultKind::stop_primary:
            return {"/bin/systemctl", "start", topology.patroni_unit};
        case FaultKind::kill_etcd_member:
            return release_unit_argv("etcd");
        case FaultKind::kill_haproxy:
            return release_unit_argv("haproxy");
        default:
            return {};
    }
}

std::vector<std::string> partition_heal_argv() {
    return {"nft", "delete", "table", "inet", k_partition_table};
}

std::string fault_target(FaultKind kind, const DrillTopology& topology, const std::string& leader) {
    switch (kind) {
        case FaultKind::kill_primary:
        case FaultKind::kill_postmaster:
        case FaultKind::stop_primary:
        case FaultKind::switchover:
        case FaultKind::partition_primary:
        case FaultKind::reboot_primary:
        case FaultKind::lose_primary_host:
            return leader;
        case FaultKind::kill_etcd_member: {
            if (topology.etcd.size() < 3) {
                throw usage_error(
                    "--kill-etcd-member needs at least 3 etcd members; the "
                    "inventory has " +
                    std::to_string(topology.etcd.size()));
            }
            for (const auto& n : topology.etcd) {
                if (n.name != leader) {
                    return n.name;
                }
            }
            return topology.etcd.front().name;
        }
        case FaultKind::kill_haproxy:
            return topology.probe_haproxy().name;
    }
    throw Error(ExitCode::internal, "unknown fault kind");
}

FaultInjector::FaultInjector(FaultSeams seams) : m_seams(std::move(seams)) {}

CommandResult FaultInjector::run(const std::string& host, const std::vector<std::string>& argv,
                                 const std::optional<std::string>& stdin_data) {
    RunOptions o;
    o.sudo = true;
    o.timeout = k_command_timeout;
    o.stdin_data = stdin_data;
    return m_seams.transport(host).run(argv, o);
}

std::string FaultInjector::must(const std::string& host, const std::vector<std::string>& argv,
                                const std::optional<std::string>& stdin_data) {
    auto r = run(host, argv, stdin_data);
    if (!r.ok()) {
        throw Error(
            ExitCode::unreachable,
            host + ": `" + join(argv, " ") + "` failed" +
                (r.timed_out ? " (timed out)" : " (exit " + std::to_string(r.exit_status) + ")") +
                (r.err.empty() ? "" : ": " + first_line(r.err)));
    }
    return host + ": " + join(argv, " ");
}

void FaultInjector::arm_self_heal(const std::string& host, const std::string& unit,
                                  const std::vector<std::string>& argv) {
    // A leftover timer from an earlier drill would make systemd-run refuse the unit name.
    disarm_self_heal(host, unit);
    run(host, {"systemctl", "reset-failed", unit + ".service"});
    must(host, argv);
}

void FaultInjector::disarm_self_heal(const std::string& host, const std::string& unit) {
    run(host, {"systemctl", "stop", unit + ".timer"});
}

std::string FaultInjector::kill_postmaster(const std::string& host) {
    const std::string pid_file = m_seams.topology.data_dir + "/postmaster.pid";
    auto content = m_seams.transport(host).read_file(pid_file, true);
    std::string pid = content ? first_line(*content) : "";
    bool numeric = !pid.empty() && pid.find_first_not_of("0123456789") == std::string::npos;
    if (!numeric || pid == "0" || pid == "1") {
        throw Error(ExitCode::postgres, host + ": no postmaster PID in " + pid_file,
                    "is PostgreSQL running on the leader?");
    }
    return must(host, {"kill", "-s", "KILL", pid});
}

std::string FaultInjector::partition(const FaultPlan& plan) {
    if (plan.use_host_control) {
        m_seams.host_control->partition_host(plan.target);
        return plan.target + ": lab link cut (HostControl::partition_host)";
    }
    // Its safety timer is armed before (arm()); inject() stops it when this throws.
    must(plan.target, {"nft", "-f", "-"}, partition_ruleset(m_seams.topology.ssh_port));
    return plan.target + ": nft table inet " + k_partition_table +
           " drops all but SSH (self-heals after " +
           std::to_string(m_seams.partition_safety.count()) + " s)";
}

std::string FaultInjector::heal(const FaultPlan& plan) {
    if (plan.use_host_control) {
        m_seams.host_control->heal_host(plan.target);
        return plan.target + ": lab link restored";
    }
    auto r = run(plan.target, partition_heal_argv());
    // The table may already be gone (the safety timer fired): check, do not guess.
    if (!r.ok()) {
        auto listed = run(plan.target, {"nft", "list", "table", "inet", k_partition_table});
        if (listed.ok()) {
            throw Error(ExitCode::unreachable, plan.target + ": cannot delete nft table " +
                                                   k_partition_table + ": " + first_line(r.err));
        }
    }
    disarm_self_heal(plan.target, k_partition_heal_unit);
    return plan.target + ": nft table inet " + k_partition_table + " deleted";
}

std::optional<std::string> FaultInjector::boot_id(const std::string& host) {
    RunOptions o;
    o.timeout = std::chrono::seconds(15);
    try {
        auto r = m_seams.transport(host).run({"cat", "--", k_boot_id_path}, o);
        if (r.ok()) {
            return first_line(r.out);
        }
    } catch (const Error&) {
        // Not reachable (yet): the caller polls.
    }
    return std::nullopt;
}

std::string FaultInjector::reboot(const FaultPlan& plan) {
    if (m_seams.host_control == nullptr) {
        throw usage_error("--reboot-primary needs the lab or OVH to reset the host");
    }
    m_boot_id = boot_id(plan.target).value_or("");
    m_seams.host_control->reboot_host(plan.target);
    m_reboot_issued = true;
    m_seams.transport(plan.target).reset_connection();
    m_reset_at = m_seams.clock.steady_now();
    return plan.target + ": hard reset (HostControl::reboot_host)" +
           (m_boot_id.empty() ? std::string(", boot id unknown") : ", boot id was " + m_boot_id);
}

std::string FaultInjector::power_off(const FaultPlan& plan) {
    if (m_seams.host_control == nullptr) {
        throw usage_error("--lose-primary-host needs the lab or OVH to power the host off");
    }
    m_boot_id = boot_id(plan.target).value_or("");
    const auto asked = m_seams.clock.steady_now();
    m_seams.host_control->kill_host(plan.target);
    m_powered_off = true;
    m_seams.transport(plan.target).reset_connection();
    // How long the provider takes until the machine is really off (a cloud API answers before
    // the instance stops); bounded, the drill goes on either way.
    const auto off = poll_until(
        m_seams.clock, m_seams.boot_timeout, m_seams.boot_poll, nullptr,
        [&] { return m_seams.host_control->state(plan.target) == MachineState::stopped; });
    if (off != PollOutcome::holds) {
        return plan.target +
               ": power-off requested (HostControl::kill_host); not reported off within the "
               "boot timeout";
    }
    const auto took =
        std::chrono::duration_cast<std::chrono::milliseconds>(m_seams.clock.steady_now() - asked);
    return plan.target + ": powered off (HostControl::kill_host), off after " +
           std::to_string(took.count()) + " ms";
}

std::string FaultInjector::power_on(const FaultPlan& plan) {
    if (!m_powered_off) {
        return after_reboot(plan);  // never powered off: start it if it is stopped anyway
    }
    m_seams.host_control->start_host(plan.target);
    m_reboot_issued = true;
    m_reset_at = m_seams.clock.steady_now();
    return after_reboot(plan);
}

std::string FaultInjector::start_patroni(const std::string& host) {
    const auto& unit = m_seams.topology.patroni_unit;
    try {
        return must(host, start_unit_argv(unit));
    } catch (const std::exception& first) {
        // The machine may have been reset meanwhile (pgdr-guard fences a dead leader's
        // machine): wait until it answers again, then start Patroni (enabled at boot: it may
        // run already, and start is then a no-op).
        if (poll_until(m_seams.clock, m_seams.boot_timeout, m_seams.boot_poll, nullptr,
                       [&] { return boot_id(host).has_value(); }) != PollOutcome::holds) {
            throw;
        }
        return must(host, start_unit_argv(unit)) +
               " (once the host answered again; first try: " + first.what() + ")";
    }
}

std::string FaultInjector::after_reboot(const FaultPlan& plan) {
    const auto& host = plan.target;
    std::string done;
    if (!m_reboot_issued) {
        // The reset was refused or failed half-way: a host left stopped is booted again.
        if (m_seams.host_control != nullptr &&
            m_seams.host_control->state(host) == MachineState::stopped) {
            m_seams.host_control->start_host(host);
            done = host + ": was stopped, started again (HostControl::start_host)";
        } else {
            done = host + ": not reset";
        }
    } else {
        // Not interruptible: the host must be back before pgdr leaves. A cloud API resets
        // asynchronously, so an answer with the old boot id is the host before its reset.
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            m_reset_at + m_seams.boot_timeout - m_seams.clock.steady_now());
        std::optional<std::string> id;
        const auto back = poll_until(m_seams.clock, left, m_seams.boot_poll, nullptr, [&] {
            id = boot_id(host);
            return id && (m_boot_id.empty() || *id != m_boot_id);
        });
        if (back != PollOutcome::holds) {
            throw Error(ExitCode::unreachable,
                        host + " is not back " +
                            std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                               m_seams.boot_timeout)
                                               .count()) +
                            " s after its hard reset" +
                            (id ? ": it still answers with the boot id from before the reset"
                                : ": SSH does not answer"),
                        "check the host (`pgdr lab status`, or its console in the OVHcloud Control "
                        "Panel), then `pgdr status`");
        }
        const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
            m_seams.clock.steady_now() - m_reset_at);
        done = host + ": back " + std::to_string(took.count()) + " ms after the reset";
    }
    // Patroni is enabled at boot; it may also have been left stopped.
    const auto& unit = m_seams.topology.patroni_unit;
    if (run(host, {"systemctl", "is-active", "--quiet", unit}).ok()) {
        return done + "; Patroni runs";
    }
    must(host, start_unit_argv(unit));
    return done + "; Patroni was not active: started";
}

void FaultInjector::arm(const FaultPlan& plan) {
    // Armed first: a drill that dies with the fault in place (kill -9, a lost machine) has the
    // host undo it by itself after partition_safety.
    const auto heal = fault_heal_command(plan.kind, m_seams.topology);
    if (!heal.empty()) {
        arm_self_heal(plan.target, k_fault_heal_unit,
                      self_heal_argv(k_fault_heal_unit, m_seams.partition_safety, heal));
        m_armed_unit = k_fault_heal_unit;
    } else if (plan.kind == FaultKind::partition_primary && !plan.use_host_control) {
        arm_self_heal(plan.target, k_partition_heal_unit,
                      partition_safety_argv(m_seams.partition_safety));
        m_armed_unit = k_partition_heal_unit;
    }
}

std::string FaultInjector::inject(const FaultPlan& plan) {
    if (m_armed_unit.empty()) {
        arm(plan);
    }
    try {
        const std::string done = inject_fault(plan);
        return m_armed_unit == k_fault_heal_unit
                   ? done + " (self-heals after " +
                         std::to_string(m_seams.partition_safety.count()) + " s)"
                   : done;
    } catch (...) {
        if (!m_armed_unit.empty()) {
            disarm_self_heal(plan.target, m_armed_unit);
        }
        throw;
    }
}

std::string FaultInjector::inject_fault(const FaultPlan& plan) {
    const auto& unit = m_seams.topology.patroni_unit;
    switch (plan.kind) {
        case FaultKind::kill_primary:
            return must(plan.target, kill_unit_argv(unit));
        case FaultKind::kill_postmaster:
            return kill_postmaster(plan.target);
        case FaultKind::stop_primary:
            return must(plan.target, stop_unit_argv(unit));
        case FaultKind::switchover: {
            pg::PatroniApi api(m_seams.http);
            const auto* leader = m_seams.topology.find(plan.leader);
            if (leader == nullptr) {
                throw Error(ExitCode::internal, "no member " + plan.leader);
            }
            const auto url =
                m_seams.reach.inside(leader->address, m_seams.topology.rest_port).url("https");
            auto r = api.switchover(url, plan.leader, plan.candidate, m_seams.rest_user,
                                    m_seams.rest_password);
            if (!r.ok) {
                throw Error(
                    ExitCode::verification_failed,
                    "switchover " + plan.leader + " -> " + plan.candidate + " refused: " +
                        (r.status != 0 ? "HTTP " + std::to_string(r.status) + ": " : "") +
                        r.message,
                    "Patroni refuses a switchover while a member is behind the leader's timeline "
                    "(as right after a rejoin): wait until every member reports it, then retry");
            }
            return "POST " + url + "/switchover leader=" + plan.leader +
                   " candidate=" + plan.candidate + ": " + r.message;
        }
        case FaultKind::partition_primary:
            return partition(plan);
        case FaultKind::kill_etcd_member:
            must(plan.target, hold_unit_argv("etcd"));
            return must(plan.target, kill_unit_argv("etcd"));
        case FaultKind::kill_haproxy:
            must(plan.target, hold_unit_argv("haproxy"));
            return must(plan.target, kill_unit_argv("haproxy"));
        case FaultKind::reboot_primary:
            return reboot(plan);
        case FaultKind::lose_primary_host:
            return power_off(plan);
    }
    throw Error(ExitCode::internal, "unknown fault kind");
}

FaultRestored FaultInjector::restore(const FaultPlan& plan) {
    FaultRestored out;
    out.fault = fault_info(plan.kind).name;
    out.target = plan.target;
    const auto& unit = m_seams.topology.patroni_unit;
    try {
        switch (plan.kind) {
            case FaultKind::kill_primary:
            case FaultKind::stop_primary:
                out.detail = start_patroni(plan.target);
                break;
            case FaultKind::kill_postmaster: {
                auto active = run(plan.target, {"systemctl", "is-active", "--quiet", unit});
                out.detail = active.ok() ? plan.target + ": nothing to restore (Patroni runs)"
                                         : must(plan.target, start_unit_argv(unit));
                break;
            }
            case FaultKind::switchover:
                out.detail = "nothing to restore";
                break;
            case FaultKind::reboot_primary:
                out.detail = after_reboot(plan);
                break;
            case FaultKind::lose_primary_host:
                out.detail = power_on(plan);
                break;
            case FaultKind::partition_primary:
                out.detail = heal(plan);
                break;
            case FaultKind::kill_etcd_member:
                out.detail = must(plan.target, release_unit_argv("etcd"));
                break;
            case FaultKind::kill_haproxy:
                out.detail = must(plan.target, release_unit_argv("haproxy"));
                break;
        }
        if (!fault_heal_command(plan.kind, m_seams.topology).empty()) {
            disarm_self_heal(plan.target, k_fault_heal_unit);
        }
        out.ok = true;
    } catch (const std::exception& e) {
        out.ok = false;
        out.detail = e.what();
    }
    return out;
}

}  // namespace pgdr::drills
