#include "drills/analysis.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "drills/alert_watch.hpp"
#include "drills/analysis_facts.hpp"
#include "drills/display.hpp"
#include "drills/persistent_probe.hpp"

namespace pgdr::drills {

namespace {

// From the last acknowledged write (or the fault, when none came before it) to the next one.
struct Gap {
    Millis start = 0;
    std::optional<Millis> end;  // empty: no acknowledged write until the end of the observation
};

std::int64_t failures_between(const Facts& f, Millis from, Millis to) {
    return std::count_if(f.failures.begin(), f.failures.end(),
                         [&](const FailFact& x) { return x.at >= from && x.at <= to; });
}

// Gaps between consecutive acknowledged writes that end after the fault, plus the open gap
// after the last acknowledged write when the observation ends in failures or silence.
std::vector<Gap> gaps_after_fault(const Facts& f, Millis threshold) {
    std::vector<Gap> gaps;
    const auto& acks = f.acks;
    auto first_after = std::find_if(acks.begin(), acks.end(), [](auto& a) { return a.at > 0; });
    if (first_after == acks.begin() && first_after != acks.end()) {
        gaps.push_back({0, first_after->at});
    }
    for (std::size_t i = 0; i + 1 < acks.size(); ++i) {
        if (acks[i + 1].at > 0) {
            gaps.push_back({acks[i].at, acks[i + 1].at});
        }
    }
    bool any = !acks.empty();
    Millis last = any ? acks.back().at : 0;
    Millis until = std::max(f.last_at, last);
    if (failures_between(f, last + (any ? 1 : 0), until) > 0 || until - last > threshold) {
        gaps.push_back({last, std::nullopt});
    }
    return gaps;
}

void analyze_writes(const Facts& f, const AnalysisInput& in, Report& r,
                    std::vector<Phase>& phases) {
    std::set<std::int64_t> answered;
    for (const auto& a : f.acks) {
        answered.insert(a.seq);
        r.write_ticks.push_back({a.at, true});
    }
    for (const auto& x : f.failures) {
        answered.insert(x.seq);
        r.write_ticks.push_back({x.at, false});
    }
    std::stable_sort(r.write_ticks.begin(), r.write_ticks.end(),
                     [](const WriteTick& a, const WriteTick& b) { return a.at_ms < b.at_ms; });
    r.writes.sent = static_cast<std::int64_t>(f.sent.size());
    r.writes.acknowledged = static_cast<std::int64_t>(f.acks.size());
    r.writes.failed = static_cast<std::int64_t>(f.failures.size());
    for (const auto& [seq, at] : f.sent) {
        if (answered.count(seq) == 0) {
            ++r.writes.unanswered;
        }
    }
    if (f.sent.empty() && f.acks.empty() && f.failures.empty()) {
        r.errors.push_back("the write probe recorded no writes; RTO and outage are unknown");
        return;
    }
    auto before = std::count_if(f.failures.begin(), f.failures.end(),
                                [](const FailFact& x) { return x.at < 0; });
    if (before > 0) {
        r.warnings.push_back(std::to_string(before) + " write(s) failed before the fault");
    }
    auto first_fail = std::find_if(f.failures.begin(), f.failures.end(),
                                   [](const FailFact& x) { return x.at >= 0; });
    if (first_fail != f.failures.end()) {
        phases.push_back({phase::first_write_failure, first_fail->at, first_fail->message});
    }
    if (std::none_of(f.acks.begin(), f.acks.end(), [](const AckFact& a) { return a.at <= 0; })) {
        r.warnings.push_back("no write was acknowledged before the fault");
    }

    const Millis until = f.last_at;
    std::vector<Gap> gaps = gaps_after_fault(f, in.outage_threshold_ms);
    auto length = [&](const Gap& g) { return g.end.value_or(std::max(until, g.start)) - g.start; };
    for (const auto& g : gaps) {
        auto failed = failures_between(f, g.start, g.end.value_or(until));
        if (failed > 0 || length(g) > in.outage_threshold_ms || !g.end) {
            r.outages.push_back({g.start, g.end, failed, length(g)});
        }
    }
    if (r.outages.empty()) {
        // No outage: the literal definitions still hold and show how smooth it was.
        auto first_after =
            std::find_if(f.acks.begin(), f.acks.end(), [](const AckFact& a) { return a.at > 0; });
        if (first_after != f.acks.end()) {
            r.rto_ms = first_after->at;
        }
        Millis longest = 0;
        for (const auto& g : gaps) {
            longest = std::max(longest, length(g));
        }
        r.write_outage_ms = longest;
        return;
    }
    const Outage* main = &r.outages.front();
    for (const auto& o : r.outages) {
        if (o.length_ms > main->length_ms) {
            main = &o;
        }
    }
    r.write_outage_ms = main->length_ms;
    r.write_outage_recovered = main->end_ms.has_value();
    r.rto_ms = main->end_ms;
    bool start_is_ack = std::any_of(f.acks.begin(), f.acks.end(),
                                    [&](const AckFact& a) { return a.at == main->start_ms; });
    if (start_is_ack) {
        phases.push_back({phase::last_ack_before_outage, main->start_ms, ""});
    }
    if (main->end_ms) {
        phases.push_back({phase::first_ack_after_outage, *main->end_ms, ""});
    }
    if (r.outages.size() > 1) {
        r.warnings.push_back(std::to_string(r.outages.size()) +
                             " write outages after the fault; the longest is reported");
    }
}

// How long the writer's write that ended its (reported) outage took from being sent to its
// acknowledgement; empty when the outage did not end or the send is unknown.
std::optional<Millis> writer_recovery_attempt(const Facts& f, const Report& r) {
    if (r.outages.empty() || !r.write_outage_recovered) {
        return std::nullopt;
    }
    std::optional<Millis> end;
    for (const auto& o : r.outages) {
        if (o.length_ms == *r.write_outage_ms && o.end_ms) {
            end = o.end_ms;
            break;
        }
    }
    if (!end) {
        return std::nullopt;
    }
    for (const auto& a : f.acks) {
        if (a.at == *end) {
            auto s = f.sent.find(a.seq);
            return s == f.sent.end() ? std::nullopt : std::optional<Millis>(a.at - s->second);
        }
    }
    return std::nullopt;
}

// The writer's outage against the persistent-connection probe's: a warning, never a failure.
void cross_check_outage(const std::vector<Event>& events, const Facts& f, Report& r) {
    r.cross_check =
        cross_check(events, f.fault_at_abs,
                    {r.write_outage_ms, r.write_outage_recovered, writer_recovery_attempt(f, r)});
    if (!r.cross_check) {
        return;
    }
    const auto& c = *r.cross_check;
    if (!c.error.empty()) {
        r.warnings.push_back("outage cross-check: " + c.error);
    } else if (!c.agrees) {
        std::string why;
        if (c.persistent_recovery_attempt_ms && c.writer_recovery_attempt_ms) {
            why = "; the attempts that ended the outages took " +
                  std::to_string(*c.persistent_recovery_attempt_ms) + " and " +
                  std::to_string(*c.writer_recovery_attempt_ms) + " ms";
        }
        if (c.first_failure_ms) {
            why += "; the persistent probe's first failure at " +
                   std::to_string(*c.first_failure_ms) + " ms: " + c.first_failure;
        }
        r.warnings.push_back("outage cross-check: the persistent-connection probe measured " +
                             std::to_string(*c.persistent_probe_outage_ms) + " ms" +
                             (c.recovered ? "" : " (not recovered)") + ", the writer " +
                             std::to_string(*r.write_outage_ms) + " ms" +
                             (r.write_outage_recovered ? "" : " (not recovered)") +
                             ": more than ±" + std::to_string(c.tolerance_ms) + " ms apart" +
                             (c.resolution_ms > 0
                                  ? " beyond the " + std::to_string(c.resolution_ms) +
                                        " ms of the attempt that ended an outage"
                                  : "") +
                             why);
    }
}

bool is_primary_sample(const NodeSample& s) {
    return s.in_recovery ? !*s.in_recovery : s.role == NodeRole::primary;
}

struct LeaderFindings {
    std::string elected;
    std::optional<Millis> promoted_at;
};

// The elected node's last known timeline at or before `at`.
std::optional<int> timeline_of(const Facts& f, const std::string& node, Millis at) {
    std::optional<int> tl;
    auto it = f.samples.find(node);
    if (it == f.samples.end()) {
        return tl;
    }
    for (const auto& s : it->second) {
        if (s.at > at) {
            break;
        }
        if (s.sample.timeline) {
            tl = s.sample.timeline;
        }
    }
    return tl;
}

// What the samples after the fault say about leadership: when the old leader was first seen
// gone, who was first seen elected, and who was last seen primary.
struct LeaderEvents {
    std::optional<Millis> gone;
    std::optional<std::pair<Millis, std::string>> elected;
    std::optional<std::pair<Millis, std::string>> last_primary;
};

LeaderEvents leader_events(const Facts& f, const std::string& old) {
    LeaderEvents e;
    for (const auto& [node, samples] : f.samples) {
        for (const auto& s : samples) {
            if (s.at < 0) {
                continue;
            }
            const auto& x = s.sample;
            bool says_gone = node == old
                                 ? ((x.role != NodeRole::unknown && x.role != NodeRole::primary) ||
                                    (x.in_recovery && *x.in_recovery))
                                 : (x.leader_seen && *x.leader_seen != old);
            if (says_gone && (!e.gone || s.at < *e.gone)) {
                e.gone = s.at;
            }
            std::string candidate;
            if (node != old && x.role == NodeRole::primary) {
                candidate = node;
            } else if (x.leader_seen && !x.leader_seen->empty() && *x.leader_seen != old) {
                candidate = *x.leader_seen;
            }
            if (!candidate.empty() && (!e.elected || s.at < e.elected->first)) {
                e.elected = {s.at, candidate};
            }
            if (x.role == NodeRole::primary && (!e.last_primary || s.at >= e.last_primary->first)) {
                e.last_primary = {s.at, node};
            }
        }
    }
    return e;
}

// The leader at the end: the post-check's, else the last one sampled, else the elected one.
void conclude_new_primary(const AnalysisInput& in, const LeaderEvents& e,
                          const std::string& elected, const std::string& old, Report& r) {
    if (in.post_check && !in.post_check->leader.empty()) {
        r.new_primary = in.post_check->leader;
    } else if (e.last_primary) {
        r.new_primary = e.last_primary->second;
    } else {
        r.new_primary = elected;
    }
    r.leader_changed = !r.new_primary.empty() && !old.empty() && r.new_primary != old;
    if (!elected.empty() && !r.new_primary.empty() && elected != r.new_primary) {
        r.warnings.push_back("leadership moved again after the election: " + elected +
                             " was elected, " + r.new_primary + " leads at the end");
    }
}

// The elected node's promotion (out of recovery) and HAProxy's first UP for it on the write
// port.
void elected_phases(const Facts& f, LeaderFindings& out, std::vector<Phase>& phases) {
    auto it = f.samples.find(out.elected);
    if (it != f.samples.end()) {
        for (const auto& s : it->second) {
            if (s.at >= 0 && s.sample.in_recovery && !*s.sample.in_recovery) {
                out.promoted_at = s.at;
                phases.push_back({phase::promoted, s.at, out.elected});
                break;
            }
        }
    }
    for (const auto& h : f.haproxy) {
        if (h.at >= 0 && h.state.port == HaproxyPort::write && h.state.server == out.elected &&
            h.state.up()) {
            phases.push_back({phase::haproxy_switched, h.at, out.elected});
            break;
        }
    }
}

// The old leader back as a running or streaming replica on the new leader's timeline.
void old_primary_rejoined(const Facts& f, const LeaderFindings& out, const std::string& old,
                          const std::vector<SampleFact>& old_samples, std::vector<Phase>& phases) {
    Millis from = out.promoted_at.value_or(0);
    for (const auto& s : old_samples) {
        const auto& x = s.sample;
        if (s.at < from || !x.in_recovery || !*x.in_recovery || x.role != NodeRole::replica ||
            (x.patroni_state != "running" && x.patroni_state != "streaming")) {
            continue;
        }
        auto leader_tl = timeline_of(f, out.elected, s.at);
        if (leader_tl && x.timeline && *leader_tl != *x.timeline) {
            continue;  // still on the old timeline: not yet a replica of the new leader
        }
        phases.push_back({phase::old_primary_rejoined, s.at, old});
        break;
    }
}

// No election: the old leader writable again after it was seen down.
void primary_back(const std::string& old, const std::vector<SampleFact>& old_samples,
                  std::vector<Phase>& phases) {
    bool was_down = false;
    for (const auto& s : old_samples) {
        if (s.at < 0) {
            continue;
        }
        bool writable = is_primary_sample(s.sample) && s.sample.in_recovery.has_value();
        if (!writable) {
            was_down = true;
        } else if (was_down) {
            phases.push_back({phase::primary_back, s.at, old});
            break;
        }
    }
}

LeaderFindings analyze_leader(const Facts& f, const AnalysisInput& in, Report& r,
                              std::vector<Phase>& phases) {
    LeaderFindings out;
    const std::string old = in.old_primary.empty() ? primary_before(f, 0) : in.old_primary;
    r.old_primary = old;
    if (old.empty()) {
        r.errors.push_back("no leader known before the fault (no pre-check leader, no sample)");
    }
    const LeaderEvents events = leader_events(f, old);
    if (events.gone && !old.empty()) {
        phases.push_back({phase::old_leader_gone, *events.gone, old});
    }
    if (events.elected) {
        out.elected = events.elected->second;
        phases.push_back({phase::new_leader_elected, events.elected->first, out.elected});
    }
    conclude_new_primary(in, events, out.elected, old, r);
    if (!out.elected.empty()) {
        elected_phases(f, out, phases);
    }
    auto old_samples = f.samples.find(old);
    if (old.empty() || old_samples == f.samples.end()) {
        return out;
    }
    if (!out.elected.empty() && out.elected != old) {
        old_primary_rejoined(f, out, old, old_samples->second, phases);
    } else if (!r.leader_changed) {
        primary_back(old, old_samples->second, phases);
    }
    return out;
}

std::optional<std::uint64_t> lsn_at_fault(const Facts& f, const std::string& node) {
    std::optional<std::uint64_t> lsn;
    auto it = f.samples.find(node);
    if (it == f.samples.end()) {
        return lsn;
    }
    for (const auto& s : it->second) {
        if (s.at > 0) {
            break;
        }
        if (s.sample.lsn) {
            lsn = s.sample.lsn;
        }
    }
    return lsn;
}

void analyze_lag(const Facts& f, const std::string& old, const std::string& elected, Report& r) {
    auto old_lsn = lsn_at_fault(f, old);
    if (old.empty() || !old_lsn) {
        return;
    }
    auto lag_to = [&](const std::string& node) -> std::optional<std::int64_t> {
        auto lsn = lsn_at_fault(f, node);
        if (!lsn) {
            return std::nullopt;
        }
        return *lsn >= *old_lsn ? 0 : static_cast<std::int64_t>(*old_lsn - *lsn);
    };
    if (!elected.empty() && elected != old) {
        r.lag_at_fault_bytes = lag_to(elected);
        return;
    }
    for (const auto& [node, samples] : f.samples) {
        if (node == old) {
            continue;
        }
        auto lag = lag_to(node);
        if (lag && (!r.lag_at_fault_bytes || *lag > *r.lag_at_fault_bytes)) {
            r.lag_at_fault_bytes = lag;
        }
    }
}

void analyze_lost(const Facts& f, const AnalysisInput& in, Report& r) {
    if (!in.seqs_on_new_primary) {
        r.warnings.push_back(
            "the drill table was not read on the new primary: lost writes are unknown");
        return;
    }
    const std::set<std::int64_t> found(in.seqs_on_new_primary->begin(),
                                       in.seqs_on_new_primary->end());
    std::set<std::int64_t> acked;
    for (const auto& a : f.acks) {
        acked.insert(a.seq);
    }
    std::set<std::int64_t> attempted = acked;
    for (const auto& [seq, at] : f.sent) {
        attempted.insert(seq);
    }
    for (const auto& x : f.failures) {
        attempted.insert(x.seq);
    }
    std::int64_t lost = 0;
    std::int64_t unacked = 0;
    for (auto seq : acked) {
        if (found.count(seq) == 0 && lost++ < static_cast<std::int64_t>(k_max_listed_seqs)) {
            r.lost_seqs.push_back(seq);
        }
    }
    std::int64_t foreign = 0;
    for (auto seq : found) {
        if (attempted.count(seq) == 0) {
            ++foreign;
        } else if (acked.count(seq) == 0 &&
                   unacked++ < static_cast<std::int64_t>(k_max_listed_seqs)) {
            r.unacknowledged_applied_seqs.push_back(seq);
        }
    }
    r.lost_acknowledged_writes = lost;
    r.unacknowledged_applied_writes = unacked;
    if (foreign > 0) {
        r.warnings.push_back(std::to_string(foreign) +
                             " row(s) on the new primary were never sent by this drill's writer");
    }
}

void analyze_restore(const Facts& f, Report& r, std::vector<Phase>& phases) {
    if (f.restores.empty()) {
        r.restored = false;
        return;
    }
    r.restored = std::all_of(f.restores.begin(), f.restores.end(),
                             [](const RestoreFact& x) { return x.restored.ok; });
    phases.push_back(
        {phase::fault_restored, f.restores.back().at, f.restores.back().restored.target});
}

std::string leader_detail(const Report& r) {
    if (r.new_primary.empty()) {
        return "no leader observed after the fault (was " + r.old_primary + ")";
    }
    if (r.leader_changed) {
        return "new leader " + r.new_primary + " (was " + r.old_primary + ")";
    }
    return "leader unchanged: " + r.new_primary;
}

void add_checks(const Facts& f, Report& r) {
    auto add = [&](std::string name, bool ok, std::string detail) {
        r.checks.push_back({std::move(name), ok, std::move(detail)});
    };
    add("fault_injected", f.fault_at_abs.has_value(),
        f.fault_at_abs ? "fault on " + f.fault_target + " at " + r.fault_at
                       : "no fault marker on the timeline");
    const auto* info = find_fault(r.drill);
    const bool any = info != nullptr && info->leader == LeaderExpectation::any_leader;
    bool leader_ok = r.new_leader_expected ? r.leader_changed
                     : any                 ? !r.new_primary.empty()
                                           : (!r.new_primary.empty() && !r.leader_changed);
    add("leader_expectation", leader_ok,
        std::string(r.new_leader_expected ? "expected a new leader: "
                    : any                 ? "expected a leader, new or the same host back: "
                                          : "expected no failover: ") +
            leader_detail(r));
    add("writes_recovered", r.rto_ms.has_value(),
        r.rto_ms
            ? "writes acknowledged again at " + format_offset(*r.rto_ms)
            : (r.write_outage_ms ? "no acknowledged write for the last " +
                                       format_duration(*r.write_outage_ms) + " of the observation"
                                 : "no acknowledged write after the fault"));
    add("no_split_brain", !r.split_brain,
        r.split_brain
            ? std::to_string(r.split_brain_evidence.size()) +
                  " piece(s) of split-brain evidence: " + r.split_brain_evidence.front().detail
            : "no evidence of a second primary");
    if (r.objectives.max_rto_ms) {
        add("max_rto", r.rto_ms && *r.rto_ms <= *r.objectives.max_rto_ms,
            "RTO " + or_dash(r.rto_ms) + ", objective " +
                format_duration(*r.objectives.max_rto_ms));
    }
    if (r.objectives.max_lost) {
        add("max_lost",
            r.lost_acknowledged_writes && *r.lost_acknowledged_writes <= *r.objectives.max_lost,
            "lost acknowledged writes " + or_dash_count(r.lost_acknowledged_writes) +
                ", objective " + std::to_string(*r.objectives.max_lost));
    }
    std::string restore_detail = "restore step done";
    if (f.restores.empty()) {
        restore_detail = "no restore step recorded";
    }
    for (const auto& x : f.restores) {
        if (!x.restored.ok) {
            restore_detail =
                "restore step failed on " + x.restored.target + ": " + x.restored.detail;
        }
    }
    add("restored", r.restored, restore_detail);
}

}  // namespace

namespace {

// Median of (acknowledged - sent) over the writes acknowledged before the fault (all writes
// when there was none).
std::optional<double> median_write_latency(const std::vector<Event>& events,
                                           std::optional<Millis> fault_at) {
    std::map<std::int64_t, Millis> sent;
    std::vector<Millis> latencies;
    for (const auto& e : events) {
        if (fault_at && e.at_ms >= *fault_at) {
            break;
        }
        if (const auto* s = std::get_if<WriteSent>(&e.data)) {
            sent[s->seq] = e.at_ms;
        } else if (const auto* a = std::get_if<WriteAcked>(&e.data)) {
            if (auto it = sent.find(a->seq); it != sent.end()) {
                latencies.push_back(e.at_ms - it->second);
            }
        }
    }
    if (latencies.empty()) {
        return std::nullopt;
    }
    std::sort(latencies.begin(), latencies.end());
    const auto n = latencies.size();
    return n % 2 == 1 ? static_cast<double>(latencies[n / 2])
                      : (static_cast<double>(latencies[n / 2 - 1]) +
                         static_cast<double>(latencies[n / 2])) /
                            2.0;
}

// The median time a node sample took (the samplers' lag behind what they report).
Millis median_sample_lag(const Facts& f) {
    std::vector<Millis> took;
    for (const auto& [node, samples] : f.samples) {
        for (const auto& s : samples) {
            took.push_back(s.sample.took_ms);
        }
    }
    if (took.empty()) {
        return 0;
    }
    std::nth_element(took.begin(), took.begin() + static_cast<std::ptrdiff_t>(took.size() / 2),
                     took.end());
    return took[took.size() / 2];
}

// The longest of the nodes' median spacing between two samples.
Millis sample_gap(const Facts& f) {
    Millis longest = 0;
    for (const auto& [node, samples] : f.samples) {
        std::vector<Millis> gaps;
        for (std::size_t i = 1; i < samples.size(); ++i) {
            gaps.push_back(samples[i].at - samples[i - 1].at);
        }
        if (!gaps.empty()) {
            auto mid = gaps.begin() + static_cast<std::ptrdiff_t>(gaps.size() / 2);
            std::nth_element(gaps.begin(), mid, gaps.end());
            longest = std::max(longest, *mid);
        }
    }
    return longest;
}

// The report's alerts and the check alerts_fired (drills/alert_watch.hpp).
void analyze_alerts(const std::vector<Event>& events, std::chrono::system_clock::time_point started,
                    const Facts& f, const FaultInfo& info, Report& r) {
    r.alerts_watched = true;
    if (!f.fault_at_abs) {
        r.checks.push_back({"alerts_fired", info.alerts.empty(), "no fault, no alert to time"});
        return;
    }
    const AlertFindings found = find_alerts(events, started, *f.fault_at_abs, info.alerts);
    r.alerts = found.timings;
    for (const auto& a : r.alerts) {
        if (a.expected && a.fired_ms &&
            (!r.time_to_alert_ms || *a.fired_ms < *r.time_to_alert_ms)) {
            r.time_to_alert_ms = *a.fired_ms;
        }
    }
    r.checks.push_back(alerts_check(found, info.name, r.objectives.max_time_to_alert_ms));
    const auto warnings = alert_warnings(found);
    r.warnings.insert(r.warnings.end(), warnings.begin(), warnings.end());
}

PhaseContext phase_context(const Facts& f, std::chrono::system_clock::time_point started,
                           const Report& r, const std::string& elected) {
    PhaseContext c;
    c.old_primary = r.old_primary;
    c.elected = elected == r.old_primary ? "" : elected;
    if (r.rto_ms) {
        for (const auto& a : f.acks) {
            if (a.at == *r.rto_ms) {
                c.first_ack_seq = a.seq;
                c.first_ack_backend = a.backend;
                break;
            }
        }
    }
    c.sampler_lag_ms = median_sample_lag(f);
    c.sample_gap_ms = sample_gap(f);
    const auto started_us =
        std::chrono::duration_cast<std::chrono::microseconds>(started.time_since_epoch()).count();
    c.fault_wall_us = started_us + f.fault_at_abs.value_or(0) * 1000;
    return c;
}

}  // namespace

Report analyze(const Timeline& timeline, const AnalysisInput& input) {
    return analyze(timeline.events(), timeline.started_wall(), input);
}

Report analyze(const std::vector<Event>& events, std::chrono::system_clock::time_point started,
               const AnalysisInput& input) {
    const FaultInfo& info = fault_info(input.fault);
    const Facts facts = collect_facts(events);
    Report r;
    r.drill = info.name;
    r.cluster = input.cluster;
    r.started_at = format_utc(started);
    r.objectives = input.objectives;
    r.errors = input.errors;
    r.new_leader_expected = info.leader == LeaderExpectation::new_leader;
    const Prediction prediction = predict_rto(input.fault, input.settings);
    r.predicted_rto_ms = prediction.rto_ms;
    r.prediction_formula = prediction.formula;
    r.warnings = settings_warnings(input.settings);
    r.observed_from_ms = facts.first_at;
    r.observed_until_ms = facts.last_at;
    r.probe_vantage = input.probe_vantage;
    r.probe_write_latency_ms = median_write_latency(events, facts.fault_at_abs);

    std::vector<Phase> phases;
    if (facts.fault_at_abs) {
        r.fault_at = format_utc(started + std::chrono::milliseconds(*facts.fault_at_abs));
        phases.push_back({phase::fault_injected, 0, facts.fault_target});
        if (facts.fault_name != info.name) {
            r.warnings.push_back("the fault marker says '" + facts.fault_name +
                                 "', the drill is '" + info.name + "'");
        }
    } else {
        r.errors.push_back(
            "no fault was injected (no fault marker); times are relative to the drill's start");
    }

    for (const auto& note : facts.notes) {
        if (note.rfind("fault: ", 0) == 0 && r.fault_action.empty()) {
            r.fault_action = note.substr(7);
        }
    }
    analyze_writes(facts, input, r, phases);
    cross_check_outage(events, facts, r);
    const LeaderFindings leader = analyze_leader(facts, input, r, phases);
    analyze_lag(facts, r.old_primary, leader.elected, r);
    analyze_lost(facts, input, r);
    analyze_restore(facts, r, phases);

    const SplitBrainFindings sb =
        find_split_brain(facts, leader.promoted_at, input.post_check ? &*input.post_check : nullptr,
                         input.sample_validity_ms);
    r.split_brain_evidence = sb.evidence;
    r.split_brain = !sb.evidence.empty();
    r.warnings.insert(r.warnings.end(), sb.warnings.begin(), sb.warnings.end());

    const PhaseContext context = phase_context(facts, started, r, leader.elected);
    apply_evidence(phases, input.evidence, context, input.cadence);
    r.clock_offsets = input.evidence.offsets;
    r.sampler = {input.cadence.sample_interval_ms, context.sampler_lag_ms};
    r.warnings.insert(r.warnings.end(), input.evidence.errors.begin(), input.evidence.errors.end());
    const auto& order = phase_names();
    auto rank = [&](const std::string& name) {
        return std::find(order.begin(), order.end(), name) - order.begin();
    };
    std::stable_sort(phases.begin(), phases.end(), [&](const Phase& a, const Phase& b) {
        return a.at_ms != b.at_ms ? a.at_ms < b.at_ms : rank(a.name) < rank(b.name);
    });
    r.phases = std::move(phases);

    add_checks(facts, r);
    if (input.alerts_watched) {
        analyze_alerts(events, started, facts, info, r);
    }
    r.checks.push_back(causal_order(r.phases, context));
    if (input.post_check) {
        const auto& pc = *input.post_check;
        r.checks.push_back({"cluster_whole",
                            !pc.leader.empty() && pc.streaming_replicas >= pc.expected_replicas,
                            "leader " + (pc.leader.empty() ? std::string("none") : pc.leader) +
                                ", " + std::to_string(pc.streaming_replicas) + " of " +
                                std::to_string(pc.expected_replicas) + " replicas streaming"});
    }
    std::string errors;
    for (const auto& e : r.errors) {
        errors += (errors.empty() ? "" : "; ") + e;
    }
    r.checks.push_back({"completed", r.errors.empty(), r.errors.empty() ? "no errors" : errors});
    bool all =
        std::all_of(r.checks.begin(), r.checks.end(), [](const Check& c) { return c.passed; });
    r.verdict = all ? Verdict::pass : Verdict::fail;
    return r;
}

}  // namespace pgdr::drills
