#include "drills/evidence_collect.hpp"

#include <algorithm>

#include "core/strings.hpp"
#include "core/timeouts.hpp"

namespace pgdr::drills {

namespace {

// What evidence.hpp reads, so that the transfer stays small (Patroni logs a traceback for
// every REST request cut short during a drill).
const char* const k_journal_pattern =
    "promoted self to leader|Cleaning up failover key|demoting myself|Demoting self|"
    "demoted self|Leader key released|Lock owner: |Server [^ ]+/[^ ]+ is (UP|DOWN)";
const char* const k_postgres_pattern =
    "received promote request|selected new timeline ID|archive recovery complete|"
    "ready to accept connections";

WallMicros micros(std::chrono::system_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

RunOptions root_quick() {
    RunOptions o;
    o.sudo = true;
    o.timeout = k_quick_command_timeout;
    return o;
}

std::optional<OffsetSample> offset_sample(Transport& t, Clock& clock) {
    RunOptions o;
    o.timeout = k_quick_command_timeout;
    OffsetSample s;
    s.sent_us = micros(clock.wall_now());
    auto r = t.run({"date", "+%s%N"}, o);
    s.received_us = micros(clock.wall_now());
    if (!r.ok()) {
        return std::nullopt;
    }
    try {
        s.remote_us = std::stoll(trim(r.out)) / 1000;
    } catch (const std::exception&) {
        return std::nullopt;
    }
    return s;
}

}  // namespace

std::vector<std::string> journal_argv(const std::string& patroni_unit, WallMicros since_us,
                                      bool with_grep) {
    std::vector<std::string> argv{
        "journalctl", "-o",
        "json",       "--output-fields=MESSAGE,_SYSTEMD_UNIT,SYSLOG_IDENTIFIER",
        "-u",         patroni_unit,
        "-u",         "haproxy",
        "--since",    "@" + std::to_string(since_us / 1000000),
        "--no-pager"};
    if (with_grep) {
        argv.push_back("--grep");
        argv.push_back(k_journal_pattern);
    }
    return argv;
}

std::vector<std::string> postgres_log_argv(const std::string& log_file) {
    return {"grep", "-E", k_postgres_pattern, log_file};
}

std::vector<std::string> evidence_hosts(const DrillTopology& topology) {
    std::vector<std::string> hosts;
    for (const auto& n : topology.postgres) {
        hosts.push_back(n.name);
    }
    if (!topology.haproxy.empty()) {
        const auto& h = topology.probe_haproxy().name;
        if (std::find(hosts.begin(), hosts.end(), h) == hosts.end()) {
            hosts.push_back(h);
        }
    }
    return hosts;
}

std::vector<ClockOffset> measure_clock_offsets(const std::vector<std::string>& hosts,
                                               const TransportFor& transport, Clock& clock,
                                               std::vector<std::string>& errors) {
    std::vector<ClockOffset> out;
    for (const auto& host : hosts) {
        std::vector<OffsetSample> samples;
        try {
            for (int i = 0; i < 3; ++i) {
                if (auto s = offset_sample(transport(host), clock)) {
                    samples.push_back(*s);
                }
            }
        } catch (const std::exception& e) {
            errors.push_back("clock offset of " + host + ": " + e.what());
            continue;
        }
        if (auto o = clock_offset(host, samples)) {
            out.push_back(*o);
        } else {
            errors.push_back("clock offset of " + host + ": `date +%s%N` gave no time");
        }
    }
    return out;
}

std::vector<ServerEvent> collect_log_events(const DrillTopology& topology,
                                            const TransportFor& transport, WallMicros since_us,
                                            std::vector<std::string>& errors) {
    std::vector<ServerEvent> out;
    auto add = [&](std::vector<ServerEvent> events) {
        out.insert(out.end(), events.begin(), events.end());
    };
    for (const auto& host : evidence_hosts(topology)) {
        try {
            auto& t = transport(host);
            auto j = t.run(journal_argv(topology.patroni_unit, since_us, true), root_quick());
            if (!j.ok()) {
                j = t.run(journal_argv(topology.patroni_unit, since_us, false), root_quick());
            }
            if (!j.ok()) {
                errors.push_back("journal of " + host + ": " + trim(j.err));
            }
            const auto lines = parse_journal_json(j.out);
            add(patroni_events(host, lines));
            add(haproxy_events(host, lines));
            const bool postgres = std::any_of(topology.postgres.begin(), topology.postgres.end(),
                                              [&](const DrillNode& n) { return n.name == host; });
            if (postgres && !topology.postgres_log.empty()) {
                // grep exits 1 when nothing matches; only the output counts.
                auto p = t.run(postgres_log_argv(topology.postgres_log), root_quick());
                add(postgres_events(host, p.out));
            }
        } catch (const std::exception& e) {
            errors.push_back("server evidence of " + host + ": " + e.what());
        }
    }
    return out;
}

}  // namespace pgdr::drills
