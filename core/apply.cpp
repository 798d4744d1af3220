#include "core/apply.hpp"

#include <algorithm>
#include <cctype>
#include <mutex>
#include <set>

#include "core/error.hpp"
#include "core/parallel.hpp"
#include "core/poll.hpp"
#include "core/quote.hpp"
#include "core/strings.hpp"

namespace pgdr {

std::string to_string(Outcome outcome) {
    switch (outcome) {
        case Outcome::unchanged:
            return "unchanged";
        case Outcome::changed:
            return "changed";
        case Outcome::failed:
            return "failed";
        case Outcome::skipped:
            return "skipped";
    }
    return "?";
}

std::size_t ApplyReport::count(Outcome outcome) const {
    return static_cast<std::size_t>(
        std::count_if(results.begin(), results.end(),
                      [&](const ActionResult& r) { return r.outcome == outcome; }));
}

std::vector<std::string> file_state_argv(const std::string& path) {
    if (path.empty() || path.front() != '/') {
        throw std::invalid_argument("file_state_argv needs an absolute path, got '" + path + "'");
    }
    // One round trip per file; the path reaches the constant script as $1, never parsed.
    static const std::string k_script =
        "if [ -e \"$1\" ]; then stat -c '%a %U:%G' -- \"$1\" && cat -- \"$1\"; "
        "else echo absent; fi";
    return {"sh", "-c", k_script, "pgdr-read", path};
}

namespace {

struct FileState {
    bool exists = false;
    std::string mode;   // octal without leading zeros, as stat %a prints it
    std::string owner;  // user:group
    std::string content;
};

std::optional<FileState> parse_file_state(const std::string& out) {
    auto nl = out.find('\n');
    if (nl == std::string::npos) {
        return std::nullopt;
    }
    std::string head = out.substr(0, nl);
    FileState st;
    if (head == "absent") {
        return st;
    }
    auto sp = head.find(' ');
    if (sp == std::string::npos) {
        return std::nullopt;
    }
    st.exists = true;
    st.mode = head.substr(0, sp);
    st.owner = head.substr(sp + 1);
    st.content = out.substr(nl + 1);
    return st;
}

std::string strip_mode(const std::string& mode) {
    auto pos = mode.find_first_not_of('0');
    return pos == std::string::npos ? "0" : mode.substr(pos);
}

// "user" compares the user only (chown user keeps the group); "user:group" both; "" is root.
bool owner_matches(const std::string& wanted, const std::string& actual) {
    std::string want = wanted.empty() ? "root" : wanted;
    if (want.find(':') != std::string::npos) {
        return want == actual;
    }
    return actual.substr(0, actual.find(':')) == want;
}

bool mentions_password(const std::string& line) {
    std::string lower(line);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    // "stats auth user:password" is HAProxy's; cipher-pass and s3-key(-secret) pgBackRest's.
    return lower.find("password") != std::string::npos ||
           lower.find("passwd") != std::string::npos ||
           lower.find("cipher-pass") != std::string::npos ||
           lower.find("s3-key") != std::string::npos ||
           lower.find("stats auth") != std::string::npos;
}

// The diff as the operator may see it, given the file's secrecy.
std::string shown_diff(const std::string& diff, Secrecy secrecy) {
    if (secrecy == Secrecy::none || diff.empty()) {
        return diff;
    }
    std::string out;
    std::size_t changed_lines = 0;
    std::size_t start = 0;
    while (start < diff.size()) {
        auto nl = diff.find('\n', start);
        std::string line = diff.substr(start, nl == std::string::npos ? nl : nl - start);
        start = nl == std::string::npos ? diff.size() : nl + 1;
        bool header = line.rfind("--- ", 0) == 0 || line.rfind("+++ ", 0) == 0 ||
                      line.rfind("@@", 0) == 0 || line.rfind("\\ ", 0) == 0;
        if (!header && !line.empty() && (line[0] == '+' || line[0] == '-')) {
            ++changed_lines;
        }
        if (secrecy == Secrecy::whole_file) {
            if (line.rfind("--- ", 0) == 0 || line.rfind("+++ ", 0) == 0) {
                out += line + "\n";
            }
            continue;
        }
        if (!header && mentions_password(line)) {
            out += line.substr(0, 1) + "[line hidden: it holds a secret]\n";
        } else {
            out += line + "\n";
        }
    }
    if (secrecy == Secrecy::whole_file) {
        out += "(" + std::to_string(changed_lines) +
               " changed lines not shown: the file holds secrets)\n";
    }
    return out;
}

std::string indent(const std::string& text, const std::string& prefix) {
    std::string out;
    std::size_t start = 0;
    while (start < text.size()) {
        auto nl = text.find('\n', start);
        auto end = nl == std::string::npos ? text.size() : nl;
        out += prefix + text.substr(start, end - start) + "\n";
        start = end + 1;
    }
    return out;
}

std::string first_line(const std::string& text) {
    auto s = text.substr(0, text.find('\n'));
    return s.size() > 300 ? s.substr(0, 300) + "..." : s;
}

std::string tail(const std::string& text, std::size_t max = 4000) {
    return text.size() > max ? "..." + text.substr(text.size() - max) : text;
}

std::string seconds(std::chrono::milliseconds ms) {
    auto s = std::to_string(ms.count() / 1000);
    auto frac = ms.count() % 1000;
    return frac == 0 ? s + "s" : s + "." + std::to_string(frac / 100) + "s";
}

// Executes one host's actions of one step. Holds no shared mutable state of its own: the
// changed-path set and the listing belong to this host alone while a step runs.
class HostRunner {
  public:
    HostRunner(Transport& transport, Logger& log, const ApplyOptions& options, Clock& clock,
               std::set<std::string>& changed_paths)
        : m_transport(transport),
          m_log(log),
          m_options(options),
          m_clock(clock),
          m_changed_paths(changed_paths) {}

    // Fills one result per action; returns false when an action failed (the rest are skipped).
    bool run(Stage stage, const Step& step, const HostActions& host,
             std::vector<ActionResult>& results) {
        bool ok = true;
        for (const auto& action : host.actions) {
            ActionResult r;
            r.stage = stage;
            r.step = step.name;
            r.host = host.host;
            r.description = describe(action);
            if (!ok) {
                r.outcome = Outcome::skipped;
                results.push_back(std::move(r));
                continue;
            }
            auto started = m_clock.steady_now();
            try {
                std::visit([&](const auto& a) { execute(a, r); }, action);
            } catch (const Error& e) {
                r.outcome = Outcome::failed;
                r.error = m_log.redact(e.what());
                if (e.code() == ExitCode::unreachable) {
                    m_unreachable = true;
                }
            } catch (const std::exception& e) {
                r.outcome = Outcome::failed;
                r.error = m_log.redact(e.what());
            }
            r.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(m_clock.steady_now() -
                                                                              started);
            if (r.outcome == Outcome::failed) {
                ok = false;
                m_log.error(host.host + ": " + r.description + ": " + r.error);
            } else if (r.outcome == Outcome::changed && !m_options.dry_run) {
                m_log.info(host.host + ": changed: " + r.description);
            } else {
                m_log.debug(host.host + ": " + to_string(r.outcome) + ": " + r.description);
            }
            results.push_back(std::move(r));
        }
        return ok;
    }

    const std::string& listing() const { return m_listing; }
    bool unreachable() const { return m_unreachable; }

  private:
    void say(const std::string& line) {
        m_listing += "[" + m_transport.host_name() + "] " + line + "\n";
    }

    CommandResult run_argv(const std::vector<std::string>& argv, bool sudo,
                           std::chrono::milliseconds timeout,
                           const std::optional<std::string>& stdin_data = std::nullopt) {
        RunOptions opts;
        opts.sudo = sudo;
        opts.timeout = timeout;
        opts.stdin_data = stdin_data;
        return m_transport.run(argv, opts);
    }

    void fail_with(ActionResult& r, const std::string& what, const CommandResult& res) {
        r.outcome = Outcome::failed;
        if (res.timed_out) {
            r.error = what + ": timed out after " + seconds(res.elapsed);
        } else {
            r.error = what + ": exit status " + std::to_string(res.exit_status);
            auto detail = first_line(res.err.empty() ? res.out : res.err);
            if (!detail.empty()) {
                r.error += ": " + detail;
            }
        }
        r.error = m_log.redact(r.error);
        r.output = m_log.redact(tail(res.err.empty() ? res.out : res.err + res.out));
    }

    void execute(const RunCommand& c, ActionResult& r) {
        const std::string cmdline = shell_join(c.argv);
        if (!c.when_changed.empty()) {
            bool triggered =
                std::any_of(c.when_changed.begin(), c.when_changed.end(),
                            [&](const std::string& p) { return m_changed_paths.count(p) != 0; });
            if (!triggered) {
                r.outcome = Outcome::unchanged;
                return;
            }
        }
        if (c.unless) {
            // An unless check answers a yes/no question; it gets a bounded time of its own.
            auto budget = std::min<std::chrono::milliseconds>(c.timeout, std::chrono::minutes(2));
            auto res = run_argv(*c.unless, c.sudo, budget);
            if (res.ok()) {
                r.outcome = Outcome::unchanged;
                return;
            }
        }
        if (m_options.dry_run) {
            say(std::string(c.check_only ? "would check: " : "would run: ") + cmdline +
                (c.description.empty() ? "" : "  # " + c.description));
            r.outcome = c.check_only ? Outcome::unchanged : Outcome::changed;
            return;
        }
        auto res = run_argv(c.argv, c.sudo, c.timeout, c.stdin_data);
        if (!res.ok()) {
            fail_with(r, cmdline, res);
            return;
        }
        r.outcome = c.check_only ? Outcome::unchanged : Outcome::changed;
    }

    void execute(const PutFile& f, ActionResult& r) {
        auto res = run_argv(file_state_argv(f.path), true, std::chrono::seconds(60));
        if (!res.ok()) {
            fail_with(r, "cannot read " + f.path, res);
            return;
        }
        auto state = parse_file_state(res.out);
        if (!state) {
            r.outcome = Outcome::failed;
            r.error = "cannot read " + f.path + ": unexpected answer from the host";
            return;
        }
        const bool same_content = state->exists && state->content == f.content;
        const bool same_mode = state->exists && strip_mode(state->mode) == strip_mode(f.spec.mode);
        const bool same_owner = state->exists && owner_matches(f.spec.owner, state->owner);
        if (same_content && same_mode && same_owner) {
            r.outcome = Outcome::unchanged;
            return;
        }
        std::string diff;
        if (!same_content) {
            diff = shown_diff(unified_diff(state->content, f.content,
                                           f.path + (state->exists ? " (on host)" : " (absent)"),
                                           f.path + " (planned)"),
                              f.secrecy);
        }
        if (state->exists && !same_mode) {
            diff += "mode " + state->mode + " -> " + strip_mode(f.spec.mode) + "\n";
        }
        if (state->exists && !same_owner) {
            diff += "owner " + state->owner + " -> " +
                    (f.spec.owner.empty() ? "root" : f.spec.owner) + "\n";
        }
        r.diff = m_log.redact(diff);
        if (m_options.dry_run) {
            say("would " + std::string(state->exists ? "update " : "create ") + f.path + " (" +
                f.spec.mode + " " + (f.spec.owner.empty() ? "root" : f.spec.owner) + ")");
            m_listing += indent(r.diff, "    ");
            r.outcome = Outcome::changed;
            m_changed_paths.insert(f.path);
            return;
        }
        std::string err;
        if (!m_transport.put_file(f.path, f.content, f.spec, &err)) {
            r.outcome = Outcome::failed;
            r.error = m_log.redact("cannot write " + f.path + ": " + first_line(err));
            return;
        }
        r.outcome = Outcome::changed;
        m_changed_paths.insert(f.path);
    }

    void execute(const WaitFor& w, ActionResult& r) {
        if (m_options.dry_run) {
            say("would wait (up to " + seconds(w.timeout) + "): " + shell_join(w.probe) +
                (w.description.empty() ? "" : "  # " + w.description));
            r.outcome = Outcome::unchanged;
            return;
        }
        const auto deadline = m_clock.steady_now() + w.timeout;
        CommandResult last;
        const auto outcome = poll_until(m_clock, w.timeout, w.interval, nullptr, [&] {
            auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - m_clock.steady_now());
            // Each probe gets the time left (at least one second), so a hung probe (ssh, curl
            // or etcdctl without a timeout of its own) cannot outlive the wait by more than
            // that.
            auto budget = std::max<std::chrono::milliseconds>(remaining, std::chrono::seconds(1));
            last = run_argv(w.probe, w.sudo, budget);
            return last.ok();
        });
        if (outcome == PollOutcome::holds) {
            r.outcome = Outcome::unchanged;
            return;
        }
        fail_with(r,
                  "gave up after " + seconds(w.timeout) + " waiting for " +
                      (w.description.empty() ? shell_join(w.probe) : w.description) +
                      "; last probe",
                  last);
    }

    // Judged in pgdr, not on the host: the host only places the wait in the plan's order.
    void execute(const WaitForCluster& w, ActionResult& r) {
        const std::string what = w.description.empty() ? cluster_condition(w) : w.description;
        if (m_options.dry_run) {
            say("would wait (up to " + seconds(w.timeout) + "): " + cluster_condition(w) +
                (w.description.empty() ? "" : "  # " + w.description));
            r.outcome = Outcome::unchanged;
            return;
        }
        std::vector<std::string> unmet;
        const auto outcome = poll_until(m_clock, w.timeout, w.interval, nullptr, [&] {
            try {
                unmet = m_options.cluster->unmet(w);
            } catch (const Error& e) {
                // Not read this time (no vantage answered SSH, say): no answer about the
                // cluster, and not this host's fault.
                unmet = {e.what()};
            }
            return unmet.empty();
        });
        if (outcome == PollOutcome::holds) {
            r.outcome = Outcome::unchanged;
            return;
        }
        r.outcome = Outcome::failed;
        r.error = m_log.redact("gave up after " + seconds(w.timeout) + " waiting for " + what +
                               ": " + join(unmet, "; "));
    }

    Transport& m_transport;
    Logger& m_log;
    const ApplyOptions& m_options;
    Clock& m_clock;
    std::set<std::string>& m_changed_paths;
    std::string m_listing;
    bool m_unreachable = false;
};

void mark_skipped(const StagePlan& sp, std::size_t first_step, ApplyReport& report) {
    for (std::size_t s = first_step; s < sp.steps.size(); ++s) {
        for (const auto& h : sp.steps[s].hosts) {
            for (const auto& a : h.actions) {
                ActionResult r;
                r.stage = sp.stage;
                r.step = sp.steps[s].name;
                r.host = h.host;
                r.description = describe(a);
                r.outcome = Outcome::skipped;
                report.results.push_back(std::move(r));
            }
        }
    }
}

bool waits_for_cluster(const Plan& plan) {
    for (const auto& sp : plan.stages) {
        for (const auto& step : sp.steps) {
            for (const auto& h : step.hosts) {
                for (const auto& a : h.actions) {
                    if (std::holds_alternative<WaitForCluster>(a)) {
                        return true;
                    }
                }
            }
        }
    }
    return false;
}

// Every host of the plan has a transport, and a real run that waits on the cluster can read it.
void check_connections(const Plan& plan, const TransportMap& transports,
                       const ApplyOptions& options) {
    for (const auto& host : plan.hosts()) {
        auto it = transports.find(host);
        if (it == transports.end() || it->second == nullptr) {
            throw Error(ExitCode::internal,
                        "the plan names host '" + host + "' but no connection to it was opened");
        }
    }
    if (!options.dry_run && options.cluster == nullptr && waits_for_cluster(plan)) {
        throw Error(ExitCode::internal,
                    "the plan waits for the cluster's assessment but no access to the cluster "
                    "was given");
    }
}

}  // namespace

ApplyReport apply(const Plan& plan, const TransportMap& transports, Logger& log,
                  const ApplyOptions& options) {
    check_connections(plan, transports, options);
    SystemClock system_clock;
    Clock& clock = options.clock != nullptr ? *options.clock : system_clock;

    ApplyReport report;
    report.dry_run = options.dry_run;
    // Per host, the files changed so far in this apply (for RunCommand::when_changed). Created
    // up front: worker threads then only touch their own host's set.
    std::map<std::string, std::set<std::string>> changed_paths;
    for (const auto& host : plan.hosts()) {
        changed_paths[host];
    }
    auto print = [&](const std::string& text) {
        if (options.dry_run && options.out != nullptr && !text.empty()) {
            *options.out << log.redact(text);
            options.out->flush();
        }
    };

    for (const auto& sp : plan.stages) {
        if (report.failed_stage) {
            mark_skipped(sp, 0, report);
            continue;
        }
        print("== stage " + to_string(sp.stage) + "\n");
        for (std::size_t s = 0; s < sp.steps.size(); ++s) {
            const Step& step = sp.steps[s];
            print("-- " + step.name +
                  (step.order == HostOrder::parallel ? " (hosts in parallel)\n"
                                                     : " (hosts in order)\n"));
            const std::size_t n = step.hosts.size();
            std::vector<std::vector<ActionResult>> results(n);
            std::vector<std::string> listings(n);
            std::vector<char> host_ok(n, 1);
            std::vector<char> host_unreachable(n, 0);
            auto run_host = [&](std::size_t i) {
                const auto& ha = step.hosts[i];
                HostRunner runner(*transports.at(ha.host), log, options, clock,
                                  changed_paths.at(ha.host));
                host_ok[i] = runner.run(sp.stage, step, ha, results[i]) ? 1 : 0;
                listings[i] = runner.listing();
                host_unreachable[i] = runner.unreachable() ? 1 : 0;
            };
            if (step.order == HostOrder::parallel) {
                parallel_for(n, options.max_parallel, run_host);
            } else {
                for (std::size_t i = 0; i < n; ++i) {
                    if (i > 0 && !host_ok[i - 1]) {
                        // A sequential step stops at the first failed host.
                        host_ok[i] = 0;
                        for (const auto& a : step.hosts[i].actions) {
                            ActionResult r;
                            r.stage = sp.stage;
                            r.step = step.name;
                            r.host = step.hosts[i].host;
                            r.description = describe(a);
                            r.outcome = Outcome::skipped;
                            results[i].push_back(std::move(r));
                        }
                        continue;
                    }
                    run_host(i);
                }
            }
            bool step_ok = true;
            for (std::size_t i = 0; i < n; ++i) {
                print(listings[i]);
                for (auto& r : results[i]) {
                    report.results.push_back(std::move(r));
                }
                step_ok = step_ok && host_ok[i];
                if (host_unreachable[i]) {
                    report.unreachable.push_back(step.hosts[i].host);
                }
            }
            if (!step_ok) {
                report.failed_stage = sp.stage;
                mark_skipped(sp, s + 1, report);
                break;
            }
        }
    }
    return report;
}

}  // namespace pgdr
