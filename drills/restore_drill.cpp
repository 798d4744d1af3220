#include "drills/restore_drill.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <map>
#include <regex>

#include "core/strings.hpp"

namespace pgdr::drills {

namespace {

constexpr std::int64_t k_us_per_s = 1000000;

// Floor division, so that times before 1970 (never, but tests) split right.
std::pair<std::int64_t, std::int64_t> split_us(std::int64_t us) {
    std::int64_t s = us / k_us_per_s;
    std::int64_t frac = us % k_us_per_s;
    if (frac < 0) {
        frac += k_us_per_s;
        --s;
    }
    return {s, frac};
}

std::string format_date_time(std::int64_t epoch_s, char separator) {
    const std::time_t t = static_cast<std::time_t>(epoch_s);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char buf[96];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02d%c%02d:%02d:%02d", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, separator, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return buf;
}

void push_limited(std::vector<std::int64_t>& list, std::int64_t id) {
    if (list.size() < k_max_listed_markers) {
        list.push_back(id);
    }
}

}  // namespace

MarkerComparison compare_markers(const std::vector<MarkerAck>& acks,
                                 const std::vector<MarkerRow>& rows, std::int64_t target_us) {
    MarkerComparison c;
    std::map<std::int64_t, const MarkerRow*> by_id;
    for (const auto& r : rows) {
        by_id[r.id] = &r;
        ++c.rows;
        if (r.committed_at_us > target_us) {
            ++c.after_target;
            push_limited(c.after_target_ids, r.id);
        }
    }
    std::vector<MarkerAck> sorted = acks;
    std::sort(sorted.begin(), sorted.end(),
              [](const MarkerAck& a, const MarkerAck& b) { return a.id < b.id; });
    for (const auto& a : sorted) {
        ++c.acknowledged;
        const std::int64_t latest_commit =
            a.committed_at_us + std::max<std::int64_t>(0, a.round_trip_us);
        if (latest_commit <= target_us) {
            ++c.expected;
            if (by_id.count(a.id) != 0) {
                ++c.found;
            } else {
                push_limited(c.missing, a.id);
            }
        } else if (a.committed_at_us <= target_us) {
            ++c.uncertain;
        }
    }
    return c;
}

std::vector<MarkerRow> parse_marker_rows(const std::string& out) {
    static const std::regex k_row(R"(^(-?\d{1,18})\|(-?\d{1,19})$)");
    std::vector<MarkerRow> rows;
    for (const auto& raw : lines(out)) {
        const std::string line = trim(raw);
        if (line.empty()) {
            continue;
        }
        std::smatch m;
        if (!std::regex_match(line, m, k_row)) {
            throw Error(ExitCode::postgres,
                        "unexpected marker row from the restored server: '" + line + "'");
        }
        rows.push_back({std::stoll(m[1].str()), std::stoll(m[2].str())});
    }
    return rows;
}

std::string format_target_time(std::int64_t epoch_us) {
    const auto [s, frac] = split_us(epoch_us);
    char buf[48];
    std::snprintf(buf, sizeof buf, ".%06lld", static_cast<long long>(frac));
    return format_date_time(s, ' ') + buf + "+00";
}

std::string format_iso_us(std::int64_t epoch_us) {
    const auto [s, frac] = split_us(epoch_us);
    char buf[48];
    std::snprintf(buf, sizeof buf, ".%03lldZ", static_cast<long long>(frac / 1000));
    return format_date_time(s, 'T') + buf;
}

std::optional<std::int64_t> parse_target_time(const std::string& text) {
    static const std::regex k_time(
        R"(^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(\.(\d{1,6}))?(Z|([+-])(\d{2})(:?(\d{2}))?)$)");
    std::smatch m;
    if (text.size() > 64 || !std::regex_match(text, m, k_time)) {
        return std::nullopt;
    }
    std::tm tm{};
    tm.tm_year = std::stoi(m[1].str()) - 1900;
    tm.tm_mon = std::stoi(m[2].str()) - 1;
    tm.tm_mday = std::stoi(m[3].str());
    tm.tm_hour = std::stoi(m[4].str());
    tm.tm_min = std::stoi(m[5].str());
    tm.tm_sec = std::stoi(m[6].str());
    if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
        tm.tm_sec > 60) {
        return std::nullopt;
    }
    std::int64_t s = static_cast<std::int64_t>(::timegm(&tm));
    if (m[9].str() != "Z") {
        const std::int64_t hours = std::stoll(m[11].str());
        const std::int64_t minutes = m[13].matched ? std::stoll(m[13].str()) : 0;
        const std::int64_t offset = hours * 3600 + minutes * 60;
        s -= m[10].str() == "+" ? offset : -offset;
    }
    std::string frac = m[8].matched ? m[8].str() : "";
    frac.resize(6, '0');
    return s * k_us_per_s + std::stoll(frac);
}

const pg::BackupRecord* backup_for_target(const pg::StanzaInfo& stanza, std::int64_t target_us) {
    const pg::BackupRecord* best = nullptr;
    for (const auto& b : stanza.backups) {
        if (b.error || b.stop * k_us_per_s > target_us) {
            continue;
        }
        if (best == nullptr || b.stop > best->stop) {
            best = &b;
        }
    }
    return best;
}

bool wal_archived_past(const std::string& archived, const std::string& needed) {
    static const std::regex k_wal("^[0-9A-F]{24}$");
    if (!std::regex_match(archived, k_wal) || !std::regex_match(needed, k_wal)) {
        return false;
    }
    // A later timeline's file is past every file of an earlier one it was forked from.
    return archived >= needed;
}

const Check* RestoreDrillReport::find_check(const std::string& name) const {
    for (const auto& c : checks) {
        if (c.name == name) {
            return &c;
        }
    }
    return nullptr;
}

void apply_comparison(RestoreDrillReport& r, const MarkerComparison& c) {
    r.markers_expected = c.expected;
    r.markers_found = c.found;
    r.markers_after_target = c.after_target;
    r.markers_acknowledged = c.acknowledged;
    r.markers_uncertain = c.uncertain;
    r.missing_markers = c.missing;
    r.markers_after_target_ids = c.after_target_ids;
}

namespace {

std::string ids_text(const std::vector<std::int64_t>& ids, std::int64_t total) {
    std::vector<std::string> parts;
    for (std::size_t i = 0; i < ids.size() && i < 10; ++i) {
        parts.push_back(std::to_string(ids[i]));
    }
    std::string out = join(parts, ", ");
    if (total > static_cast<std::int64_t>(parts.size())) {
        out += ", ...";
    }
    return out;
}

std::vector<Check> marker_checks(const RestoreDrillReport& r) {
    std::vector<Check> out;
    if (!r.markers_expected) {
        out.push_back({"markers_verified", false, "the restored server's markers were not read"});
        return out;
    }
    const std::int64_t expected = *r.markers_expected;
    const std::int64_t found = r.markers_found.value_or(0);
    const std::int64_t after = r.markers_after_target.value_or(0);
    // A --to before every marker of the drill still verifies that none of them came back.
    const bool before_all =
        expected == 0 && r.target_source == "--to" && r.markers_acknowledged > 0;
    out.push_back(
        {"markers_verified", expected > 0 || before_all,
         before_all
             ? "the target precedes all " + std::to_string(r.markers_acknowledged) +
                   " acknowledged markers: none may come back"
             : std::to_string(expected) + " of " + std::to_string(r.markers_acknowledged) +
                   " acknowledged markers committed at or before the target" +
                   (r.markers_uncertain > 0 ? " (" + std::to_string(r.markers_uncertain) +
                                                  " within their round trip of it: not judged)"
                                            : std::string())});
    out.push_back({"all_markers_found", found == expected,
                   found == expected
                       ? "all " + std::to_string(expected) + " present on the restored server"
                       : std::to_string(expected - found) +
                             " missing: " + ids_text(r.missing_markers, expected - found)});
    out.push_back({"none_after_target", after == 0,
                   after == 0 ? "no row committed after the target"
                              : std::to_string(after) + " row(s) committed after the target: " +
                                    ids_text(r.markers_after_target_ids, after)});
    return out;
}

}  // namespace

void judge_restore_drill(RestoreDrillReport& r) {
    r.checks.clear();
    r.checks.push_back({"target_covered", r.target_covered,
                        r.target_covered ? "WAL " + r.switched_wal + " reached the repository"
                                         : "the WAL past the target did not reach the repository"});
    r.checks.push_back({"restore_completed", r.restore_rto_ms.has_value(),
                        r.restore_rto_ms ? "consistent and accepting queries on " + r.scratch_host
                                         : "the restored server did not accept queries"});
    for (auto& c : marker_checks(r)) {
        r.checks.push_back(std::move(c));
    }
    if (r.objectives.max_rto_ms) {
        const bool ok = r.restore_rto_ms && *r.restore_rto_ms <= *r.objectives.max_rto_ms;
        r.checks.push_back(
            {"max_rto", ok,
             (r.restore_rto_ms ? std::to_string(*r.restore_rto_ms) + " ms" : std::string("none")) +
                 " against at most " + std::to_string(*r.objectives.max_rto_ms) + " ms"});
    }
    // No name: the drill stopped before a scratch host was ready (one being made is deleted by
    // the provider's seam, ovh/scratch_instance.hpp).
    const std::string scratch =
        "the scratch host" + (r.scratch_host.empty() ? "" : " " + r.scratch_host);
    r.checks.push_back({"scratch_removed", r.restored,
                        r.restored ? (r.scratch_host.empty() ? "nothing left of the scratch host"
                                                             : r.scratch_host + " removed")
                                   : scratch + " was not removed"});
    bool pass = r.errors.empty();
    for (const auto& c : r.checks) {
        pass = pass && c.passed;
    }
    r.verdict = pass ? Verdict::pass : Verdict::fail;
}

ExitCode exit_code(const RestoreDrillReport& r) {
    return r.verdict == Verdict::pass ? ExitCode::ok : ExitCode::objectives_missed;
}

}  // namespace pgdr::drills
