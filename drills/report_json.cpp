#include "drills/report_json.hpp"

#include <cmath>

namespace pgdr::drills {

namespace {

using Json = nlohmann::ordered_json;

template <class T>
Json or_null(const std::optional<T>& v) {
    return v ? Json(*v) : Json(nullptr);
}

Json stats_json(const std::optional<Stats>& s) {
    if (!s) {
        return nullptr;
    }
    return Json{{"count", s->count},
                {"min", s->min},
                {"median", s->median},
                {"p95", s->p95},
                {"max", s->max}};
}

Json cross_check_json(const CrossCheck& c) {
    return Json{{"persistent_probe_outage_ms", or_null(c.persistent_probe_outage_ms)},
                {"recovered", c.recovered},
                {"difference_ms", or_null(c.difference_ms)},
                {"tolerance_ms", c.tolerance_ms},
                {"resolution_ms", c.resolution_ms},
                {"agrees", c.agrees},
                {"last_ack_before_ms", or_null(c.last_ack_before_ms)},
                {"first_ack_after_ms", or_null(c.first_ack_after_ms)},
                {"writes", c.writes},
                {"acknowledged", c.acknowledged},
                {"failed", c.failed},
                {"reconnects", c.reconnects},
                {"persistent_recovery_attempt_ms", or_null(c.persistent_recovery_attempt_ms)},
                {"writer_recovery_attempt_ms", or_null(c.writer_recovery_attempt_ms)},
                {"first_failure_ms", or_null(c.first_failure_ms)},
                {"first_failure", c.first_failure},
                {"error", c.error}};
}

}  // namespace

nlohmann::ordered_json report_to_json(const Report& r) {
    Json j;
    j["drill"] = r.drill;
    j["cluster"] = r.cluster;
    j["started_at"] = r.started_at;
    j["fault_at"] = r.fault_at.empty() ? Json(nullptr) : Json(r.fault_at);
    j["fault_action"] = r.fault_action;
    j["old_primary"] = r.old_primary;
    j["new_primary"] = r.new_primary;
    j["leader_changed"] = r.leader_changed;
    j["new_leader_expected"] = r.new_leader_expected;
    j["rto_ms"] = or_null(r.rto_ms);
    j["write_outage_ms"] = or_null(r.write_outage_ms);
    j["write_outage_recovered"] = r.write_outage_recovered;
    j["cross_check"] = r.cross_check ? cross_check_json(*r.cross_check) : Json(nullptr);
    j["predicted_rto_ms"] = or_null(r.predicted_rto_ms);
    j["prediction_formula"] = r.prediction_formula;
    j["lost_acknowledged_writes"] = or_null(r.lost_acknowledged_writes);
    j["unacknowledged_applied_writes"] = or_null(r.unacknowledged_applied_writes);
    j["lag_at_fault_bytes"] = or_null(r.lag_at_fault_bytes);
    j["probe_vantage"] = r.probe_vantage.empty() ? "this machine" : r.probe_vantage;
    j["probe_write_latency_ms"] =
        r.probe_write_latency_ms ? Json(*r.probe_write_latency_ms) : Json(nullptr);
    Json phases = Json::array();
    for (const auto& p : r.phases) {
        phases.push_back(Json{{"name", p.name},
                              {"at_ms", p.at_ms},
                              {"detail", p.detail},
                              {"source", p.source},
                              {"uncertainty_ms", p.uncertainty_ms},
                              {"sampler_at_ms", or_null(p.sampler_at_ms)}});
    }
    j["phases"] = phases;
    if (!r.guard_phases.empty()) {
        Json guard = Json::array();
        for (const auto& g : r.guard_phases) {
            guard.push_back(Json{{"name", g.name}, {"at_ms", g.at_ms}, {"agent", g.agent}});
        }
        j["guard_phases"] = guard;
    }
    Json offsets = Json::array();
    for (const auto& o : r.clock_offsets) {
        offsets.push_back(Json{{"host", o.host},
                               {"offset_ms", std::round(o.offset_ms * 1000.0) / 1000.0},
                               {"bound_ms", std::round(o.bound_ms * 1000.0) / 1000.0}});
    }
    j["clock_offsets"] = offsets;
    j["sampler"] = Json{{"interval_ms", r.sampler.interval_ms}, {"lag_ms", r.sampler.lag_ms}};
    j["verdict"] = to_string(r.verdict);
    j["restored"] = r.restored;
    j["split_brain"] = r.split_brain;
    Json evidence = Json::array();
    for (const auto& e : r.split_brain_evidence) {
        evidence.push_back(
            Json{{"kind", e.kind}, {"at_ms", or_null(e.at_ms)}, {"detail", e.detail}});
    }
    j["split_brain_evidence"] = evidence;
    j["objectives"] = Json{{"max_rto_ms", or_null(r.objectives.max_rto_ms)},
                           {"max_lost", or_null(r.objectives.max_lost)},
                           {"max_time_to_alert_ms", or_null(r.objectives.max_time_to_alert_ms)}};
    Json checks = Json::array();
    for (const auto& c : r.checks) {
        checks.push_back(Json{{"name", c.name}, {"passed", c.passed}, {"detail", c.detail}});
    }
    j["checks"] = checks;
    if (r.alerts_watched) {  // a monitor host: the alerts Alertmanager listed, by name
        Json alerts = Json::array();
        for (const auto& a : r.alerts) {
            alerts.push_back(Json{{"name", a.name},
                                  {"expected", a.expected},
                                  {"fired_ms", or_null(a.fired_ms)},
                                  {"resolved_ms", or_null(a.resolved_ms)}});
        }
        j["alerts"] = alerts;
        j["time_to_alert_ms"] = or_null(r.time_to_alert_ms);
    }
    Json outages = Json::array();
    for (const auto& o : r.outages) {
        outages.push_back(Json{{"start_ms", o.start_ms},
                               {"end_ms", or_null(o.end_ms)},
                               {"length_ms", o.length_ms},
                               {"failed_writes", o.failed_writes}});
    }
    j["outages"] = outages;
    j["writes"] = Json{{"sent", r.writes.sent},
                       {"acknowledged", r.writes.acknowledged},
                       {"failed", r.writes.failed},
                       {"unanswered", r.writes.unanswered}};
    j["lost_sequence_numbers"] = r.lost_seqs;
    j["unacknowledged_applied_sequence_numbers"] = r.unacknowledged_applied_seqs;
    j["observed_from_ms"] = r.observed_from_ms;
    j["observed_until_ms"] = r.observed_until_ms;
    j["warnings"] = r.warnings;
    j["errors"] = r.errors;
    return j;
}

nlohmann::ordered_json summary_to_json(const RepeatSummary& s) {
    Json j;
    j["drill"] = s.drill;
    j["cluster"] = s.cluster;
    j["runs"] = s.runs;
    j["passed"] = s.passed;
    j["split_brain_runs"] = s.split_brain_runs;
    j["unrecovered_runs"] = s.unrecovered_runs;
    j["rto_ms"] = stats_json(s.rto_ms);
    j["write_outage_ms"] = stats_json(s.write_outage_ms);
    j["predicted_rto_ms"] = stats_json(s.predicted_rto_ms);
    j["lost_acknowledged_writes"] = stats_json(s.lost_acknowledged_writes);
    j["unacknowledged_applied_writes"] = stats_json(s.unacknowledged_applied_writes);
    j["lag_at_fault_bytes"] = stats_json(s.lag_at_fault_bytes);
    if (s.alerts_watched) {
        j["time_to_alert_ms"] = stats_json(s.time_to_alert_ms);
    }
    Json phases = Json::array();
    for (const auto& [name, st] : s.phases) {
        Json p = stats_json(st);
        p["name"] = name;
        phases.push_back(p);
    }
    j["phases"] = phases;
    j["verdict"] = to_string(s.verdict);
    return j;
}

std::string render_json(const Report& report) {
    return report_to_json(report).dump(2) + "\n";
}

std::string render_json(const std::vector<Report>& reports, const RepeatSummary& summary) {
    Json runs = Json::array();
    for (const auto& r : reports) {
        runs.push_back(report_to_json(r));
    }
    Json j;
    j["summary"] = summary_to_json(summary);
    j["runs"] = runs;
    return j.dump(2) + "\n";
}

}  // namespace pgdr::drills
