#include "drills/region_drill.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <thread>
#include <tuple>
#include <utility>

#include "core/poll.hpp"

namespace pgdr::drills {

namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

struct Write {
    long long id = 0;
    long long at_ms = 0;  // when acknowledged, after the drill's start
};

// Two writers on their own threads (one per cluster), sharing the marker ids.
class Writers {
  public:
    Writers(const RegionDrillSeams& s, milliseconds interval, steady_clock::time_point start,
            long long first_id)
        : m_s(s), m_interval(interval), m_start(start), m_next(first_id - 1) {}
    ~Writers() { stop(); }

    void start() {
        for (bool dr : {false, true}) {
            m_threads.emplace_back([this, dr] { run(dr); });
        }
    }
    void stop() {
        m_stop = true;
        for (auto& t : m_threads) {
            if (t.joinable()) {
                t.join();
            }
        }
        m_threads.clear();
    }
    std::vector<Write> acked(bool dr) const {
        std::lock_guard lock(m_mutex);
        return dr ? m_dr : m_primary;
    }
    // Attempts and the last failure's reason of one writer.
    std::pair<long long, std::string> attempts(bool dr) const {
        std::lock_guard lock(m_mutex);
        return dr ? std::pair{m_attempts_dr, m_error_dr}
                  : std::pair{m_attempts_primary, m_error_primary};
    }
    std::optional<Write> first_dr_ack_after(long long ms) const {
        std::lock_guard lock(m_mutex);
        for (const auto& w : m_dr) {
            if (w.at_ms >= ms) {
                return w;
            }
        }
        return std::nullopt;
    }

  private:
    void run(bool dr) {
        while (!m_stop) {
            const auto begun = m_s.clock.steady_now();
            const long long id = ++m_next;
            std::string error;
            try {
                error = m_s.write(dr, id);
            } catch (const std::exception& e) {
                error = e.what();
            }
            const long long at =
                duration_cast<milliseconds>(m_s.clock.steady_now() - m_start).count();
            {
                std::lock_guard lock(m_mutex);
                ++(dr ? m_attempts_dr : m_attempts_primary);
                if (error.empty()) {
                    (dr ? m_dr : m_primary).push_back({id, at});
                } else {
                    (dr ? m_error_dr : m_error_primary) = error;
                }
            }
            const auto spent = duration_cast<milliseconds>(m_s.clock.steady_now() - begun);
            if (spent < m_interval) {
                m_s.clock.sleep_for(m_interval - spent);
            }
            std::this_thread::yield();
        }
    }

    const RegionDrillSeams& m_s;
    milliseconds m_interval;
    steady_clock::time_point m_start;
    std::atomic<bool> m_stop{false};
    std::atomic<long long> m_next{0};
    mutable std::mutex m_mutex;
    std::vector<Write> m_primary, m_dr;
    long long m_attempts_primary = 0, m_attempts_dr = 0;
    std::string m_error_primary, m_error_dr;
    std::vector<std::thread> m_threads;
};

struct Drill {
    const RegionDrillSeams& s;
    const RegionDrillRequest& req;
    RegionDrillReport& r;
    steady_clock::time_point start;
    long long fault_ms = 0;  // after start

    long long now_ms() const {
        return duration_cast<milliseconds>(s.clock.steady_now() - start).count();
    }
    void phase(const std::string& name, long long at_ms, const std::string& detail = {}) {
        r.phases.push_back({name, at_ms - fault_ms, detail});
        if (s.progress) {
            s.progress(name + (detail.empty() ? "" : ": " + detail));
        }
    }
    void check(const std::string& name, bool ok, const std::string& detail) {
        r.checks.push_back({name, ok, detail});
    }
};

std::vector<std::string> region_hosts(const std::vector<HostSpec>& hosts) {
    std::vector<std::string> out;
    for (const auto& h : hosts) {
        out.push_back(h.name);
    }
    return out;
}

// Nothing of the primary cluster answered for lost_after: the time of that decision, or none
// within the timeout.
std::optional<long long> detect(Drill& d) {
    std::optional<long long> silent_since;
    std::optional<long long> detected;
    poll_until(d.s.clock, d.req.timeout, milliseconds(250), nullptr, [&] {
        const long long at = d.now_ms();
        if (d.s.primary_answers()) {
            silent_since.reset();
            return false;
        }
        if (!silent_since) {
            silent_since = at;
        }
        if (at - *silent_since >= d.req.lost_after.count()) {
            detected = at;
            return true;
        }
        return false;
    });
    return detected;
}

// The primary writer's acknowledged rows missing on the promoted cluster.
void count_losses(Drill& d, const std::vector<Write>& primary_acks) {
    const auto rows = d.s.rows_on_dr();
    long long lost = 0;
    for (const auto& w : primary_acks) {
        if (!rows.count(w.id)) {
            ++lost;
            d.r.lost_ids.push_back(w.id);
            const long long before = d.fault_ms - w.at_ms;
            d.r.oldest_lost_before_fault_ms =
                std::max(d.r.oldest_lost_before_fault_ms.value_or(before), before);
        }
    }
    d.r.lost_acknowledged_writes = lost;
    if (!d.r.expected_loss_window_ms) {
        d.check("loss within the expected window", lost == 0,
                std::to_string(lost) + " lost; the window is unknown (no lag at the fault)");
        return;
    }
    const bool within =
        lost == 0 || d.r.oldest_lost_before_fault_ms.value_or(0) <= *d.r.expected_loss_window_ms;
    d.check("loss within the expected window", within,
            std::to_string(lost) + " acknowledged write(s) lost" +
                (lost == 0 ? ""
                           : ", the oldest acknowledged " +
                                 std::to_string(*d.r.oldest_lost_before_fault_ms) +
                                 " ms before the fault") +
                "; window " + std::to_string(*d.r.expected_loss_window_ms) + " ms");
}

void baseline(Drill& d) {
    const auto link = d.s.dr_link();
    d.r.dr_lag_at_fault_bytes = link.lag_bytes;
    d.r.dr_lag_at_fault_seconds = link.lag_seconds;
    if (link.lag_seconds) {
        d.r.expected_loss_window_ms =
            static_cast<long long>(std::ceil(*link.lag_seconds * 1000.0)) +
            d.req.write_interval.count();
    }
    d.check("the DR cluster streams before the fault", link.streaming(), pg::dr_link_text(link));
}

void lose_primary_region(Drill& d, Writers& writers) {
    const auto detected = detect(d);
    if (!detected) {
        d.r.error = "the primary cluster still answers " +
                    std::to_string(d.req.timeout.count() / 1000) + " s after the cut";
        return;
    }
    d.phase("primary region unreachable (detected)", *detected,
            "nothing of " + d.r.primary_cluster + " answered for " +
                std::to_string(d.req.lost_after.count()) + " ms");
    if (!d.req.promote) {
        d.phase("decision: waiting for the operator (no --promote)", d.now_ms());
        return;
    }
    d.phase("decision: promote " + d.r.dr_cluster, d.now_ms());
    const long long promote_start = d.now_ms();
    d.r.promotion = d.s.promote();
    for (const auto& p : d.r.promotion.phases) {
        d.phase("dr promote: " + p.name, promote_start + p.after_ms, p.detail);
    }
    if (!d.r.promotion.ok) {
        d.r.error = "dr promote failed: " + d.r.promotion.error;
        return;
    }
    d.r.promoted = true;
    std::optional<Write> first;
    poll_until(d.s.clock, d.req.timeout, milliseconds(50), nullptr, [&] {
        first = writers.first_dr_ack_after(d.fault_ms);
        return first.has_value();
    });
    if (!first) {
        d.r.error = "no write acknowledged through " + d.r.dr_cluster + "'s HAProxy";
        return;
    }
    d.r.rto_ms = first->at_ms - d.fault_ms;
    d.phase("first write acknowledged on " + d.r.dr_cluster + " (client re-routed)", first->at_ms);
}

}  // namespace

RegionDrillReport run_region_drill(const RegionDrillSeams& s, const RegionDrillRequest& req) {
    RegionDrillReport r;
    r.region = req.region;
    r.primary_cluster = s.pair.cluster;
    r.dr_cluster = s.pair.dr ? s.pair.dr->cluster : "";
    if (!s.pair.dr) {
        r.error = "the inventory has no dr section: no second region";
        r.verdict = "fail";
        return r;
    }
    std::vector<std::string> hosts;
    for (const auto& h : s.pair.hosts) {
        if (h.region == req.region) {
            hosts.push_back(h.name);
        }
    }
    r.losing_primary = !hosts.empty();
    if (!r.losing_primary && s.pair.dr->region == req.region) {
        hosts = region_hosts(s.pair.dr->hosts);
    }
    if (hosts.empty()) {
        r.error = "no host of the pair is in region " + req.region;
        r.verdict = "fail";
        return r;
    }
    if (req.promote && !r.losing_primary) {
        r.error = "--promote goes with the loss of the primary cluster's region";
        r.verdict = "fail";
        return r;
    }
    Drill d{s, req, r, s.clock.steady_now()};
    baseline(d);
    if (!r.checks.back().ok) {
        r.error = "the DR cluster does not stream: no drill";
        r.verdict = "fail";
        return r;
    }
    Writers writers(s, req.write_interval, d.start, req.first_id);
    writers.start();
    s.clock.sleep_for(req.settle);
    d.fault_ms = d.now_ms();
    s.cut(hosts);
    d.phase("region " + req.region + " cut", d.now_ms(), std::to_string(hosts.size()) + " hosts");
    if (r.losing_primary) {
        lose_primary_region(d, writers);
    } else {
        s.clock.sleep_for(req.lost_after);
    }
    s.clock.sleep_for(milliseconds(1000));  // writes after the re-routing
    writers.stop();
    const auto primary_acks = writers.acked(false);
    r.writes_acknowledged_primary = static_cast<long long>(primary_acks.size());
    r.writes_acknowledged_dr = static_cast<long long>(writers.acked(true).size());
    std::tie(r.write_attempts_primary, r.last_write_error_primary) = writers.attempts(false);
    std::tie(r.write_attempts_dr, r.last_write_error_dr) = writers.attempts(true);
    if (r.promoted) {
        count_losses(d, primary_acks);
    } else if (!r.losing_primary) {
        long long after = 0;
        for (const auto& w : primary_acks) {
            after += w.at_ms > d.fault_ms ? 1 : 0;
        }
        d.check("the primary cluster takes writes while the DR region is away", after > 0,
                std::to_string(after) + " write(s) acknowledged after the cut");
    }
    s.heal(hosts);
    if (r.promoted) {
        s.fence(hosts);  // before the old primary cluster elects a leader again
    }
    d.phase("region " + req.region + " back" + (r.promoted ? ", its old cluster fenced" : ""),
            d.now_ms());
    if (r.rto_ms && req.max_rto_ms) {
        d.check("RTO objective", *r.rto_ms <= *req.max_rto_ms,
                std::to_string(*r.rto_ms) + " ms, objective " + std::to_string(*req.max_rto_ms) +
                    " ms");
    }
    // In time order: a writer may see the promoted cluster before the promotion's own write.
    std::stable_sort(r.phases.begin(), r.phases.end(),
                     [](const RegionPhase& a, const RegionPhase& b) { return a.at_ms < b.at_ms; });
    const bool checks_ok =
        std::all_of(r.checks.begin(), r.checks.end(), [](const RegionCheck& c) { return c.ok; });
    const bool complete = r.error.empty() && (!r.losing_primary || !req.promote || r.rto_ms);
    r.verdict = !complete ? "fail" : checks_ok ? "pass" : "objectives_missed";
    return r;
}

nlohmann::json region_report_json(const RegionDrillReport& r) {
    auto opt = [](const auto& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
    nlohmann::json phases = nlohmann::json::array();
    for (const auto& p : r.phases) {
        phases.push_back({{"name", p.name}, {"at_ms", p.at_ms}, {"detail", p.detail}});
    }
    nlohmann::json checks = nlohmann::json::array();
    for (const auto& c : r.checks) {
        checks.push_back({{"name", c.name}, {"ok", c.ok}, {"detail", c.detail}});
    }
    return {{"fault", "lose-region"},
            {"region", r.region},
            {"primary_cluster", r.primary_cluster},
            {"dr_cluster", r.dr_cluster},
            {"losing_primary", r.losing_primary},
            {"promoted", r.promoted},
            {"rto_ms", opt(r.rto_ms)},
            {"lost_acknowledged_writes", opt(r.lost_acknowledged_writes)},
            {"lost_ids", r.lost_ids},
            {"expected_loss_window_ms", opt(r.expected_loss_window_ms)},
            {"dr_lag_at_fault_bytes", opt(r.dr_lag_at_fault_bytes)},
            {"dr_lag_at_fault_seconds", opt(r.dr_lag_at_fault_seconds)},
            {"writes_acknowledged_primary", r.writes_acknowledged_primary},
            {"writes_acknowledged_dr", r.writes_acknowledged_dr},
            {"write_attempts_primary", r.write_attempts_primary},
            {"write_attempts_dr", r.write_attempts_dr},
            {"last_write_error_primary", r.last_write_error_primary},
            {"last_write_error_dr", r.last_write_error_dr},
            {"phases", phases},
            {"checks", checks},
            {"promotion", pg::dr_promote_to_json(r.promotion)},
            {"verdict", r.verdict},
            {"error", r.error}};
}

std::string region_report_text(const RegionDrillReport& r) {
    std::string out = "drill: lose region " + r.region + " (" +
                      (r.losing_primary ? "the primary cluster " + r.primary_cluster
                                        : "the DR cluster " + r.dr_cluster) +
                      ")\n\n";
    for (const auto& p : r.phases) {
        char at[32];
        std::snprintf(at, sizeof at, "%+9.2f s", static_cast<double>(p.at_ms) / 1000.0);
        out += std::string("  ") + at + "  " + p.name + (p.detail.empty() ? "" : ": " + p.detail) +
               "\n";
    }
    auto num = [](const auto& v, const char* unit) {
        return v ? std::to_string(*v) + unit : std::string("-");
    };
    out += "\n  RTO (fault to the first write on " + r.dr_cluster + "): " + num(r.rto_ms, " ms") +
           "\n";
    out += "  DR lag at the fault: " + num(r.dr_lag_at_fault_bytes, " B") +
           "; expected loss window " + num(r.expected_loss_window_ms, " ms") + "\n";
    out += "  lost acknowledged writes: " + num(r.lost_acknowledged_writes, "") + " of " +
           std::to_string(r.writes_acknowledged_primary) + " acknowledged by " + r.primary_cluster +
           "\n";
    out += "  writers: " + std::to_string(r.write_attempts_primary) + " attempts through " +
           r.primary_cluster + "'s HAProxy (last failure: " +
           (r.last_write_error_primary.empty() ? "none" : r.last_write_error_primary) + "), " +
           std::to_string(r.write_attempts_dr) + " through " + r.dr_cluster +
           "'s (last failure: " + (r.last_write_error_dr.empty() ? "none" : r.last_write_error_dr) +
           ")\n\n";
    for (const auto& c : r.checks) {
        out += std::string("  ") + (c.ok ? "ok    " : "FAIL  ") + c.name + ": " + c.detail + "\n";
    }
    if (!r.error.empty()) {
        out += "  error: " + r.error + "\n";
    }
    out += "\nverdict: " + r.verdict + "\n";
    return out;
}

}  // namespace pgdr::drills
