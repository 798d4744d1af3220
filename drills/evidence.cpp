#include "drills/evidence.hpp"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <nlohmann/json.hpp>

namespace pgdr::drills {

namespace {

// A line the journal stamped on receipt (no time of its own) was written up to this much
// earlier (a pipe to journald on a busy host).
constexpr WallMicros k_journal_lag_us = 5000;

bool contains(std::string_view text, std::string_view part) {
    return text.find(part) != std::string_view::npos;
}

std::optional<int> digits(std::string_view s, std::size_t pos, std::size_t n) {
    if (pos + n > s.size()) {
        return std::nullopt;
    }
    int v = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
        if (s[i] < '0' || s[i] > '9') {
            return std::nullopt;
        }
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

// Seconds since the epoch of a civil UTC date and time (no time zone database involved).
std::int64_t epoch_seconds(int y, int mo, int d, int h, int mi, int s) {
    std::tm tm{};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    return static_cast<std::int64_t>(timegm(&tm));
}

// "+HH", "+HHMM", "+HH:MM", "Z", "UTC", "GMT" at the start of `z`; seconds east of UTC.
std::optional<int> zone_seconds(std::string_view z) {
    if (z.rfind("UTC", 0) == 0 || z.rfind("GMT", 0) == 0 || z.rfind("Z", 0) == 0) {
        return 0;
    }
    if (z.empty() || (z[0] != '+' && z[0] != '-')) {
        return std::nullopt;
    }
    const int sign = z[0] == '-' ? -1 : 1;
    auto hh = digits(z, 1, 2);
    if (!hh) {
        return std::nullopt;
    }
    std::size_t m = z.size() > 3 && z[3] == ':' ? 4 : 3;
    int mm = digits(z, m, 2).value_or(0);
    return sign * (*hh * 3600 + mm * 60);
}

// "YYYY-MM-DD?HH:MM:SS" then an optional fraction ('.' or ','); returns the UTC-naive micros
// and sets `end` after the fraction.
std::optional<WallMicros> civil_micros(std::string_view t, std::size_t& end,
                                       WallMicros* resolution_us) {
    auto y = digits(t, 0, 4);
    auto mo = digits(t, 5, 2);
    auto d = digits(t, 8, 2);
    auto h = digits(t, 11, 2);
    auto mi = digits(t, 14, 2);
    auto s = digits(t, 17, 2);
    if (!y || !mo || !d || !h || !mi || !s || t[4] != '-' || t[7] != '-' || t[13] != ':' ||
        t[16] != ':' || (t[10] != ' ' && t[10] != 'T')) {
        return std::nullopt;
    }
    WallMicros us = epoch_seconds(*y, *mo, *d, *h, *mi, *s) * 1000000;
    WallMicros scale = 1000000;
    end = 19;
    if (end < t.size() && (t[end] == '.' || t[end] == ',')) {
        ++end;
        WallMicros frac = 0;
        while (end < t.size() && t[end] >= '0' && t[end] <= '9') {
            if (scale > 1) {
                scale /= 10;
                frac = frac * 10 + (t[end] - '0');
            }
            ++end;
        }
        us += frac * scale;
    }
    if (resolution_us != nullptr) {
        *resolution_us = scale;
    }
    return us;
}

// Patroni's "2026-12-05 05:14:03,123 INFO: text" (local time) as UTC micros: the zone is the
// difference to the journal's receive time rounded to a quarter hour.
struct PatroniLine {
    WallMicros at_us = 0;
    WallMicros resolution_us = 0;
    std::string text;
};
PatroniLine patroni_line(const JournalLine& line) {
    std::size_t end = 0;
    WallMicros res = 0;
    auto local = civil_micros(line.message, end, &res);
    if (!local) {
        return {line.received_us, k_journal_lag_us, line.message};
    }
    constexpr WallMicros quarter = 15LL * 60 * 1000000;
    const double diff = static_cast<double>(line.received_us - *local);
    const WallMicros zone = static_cast<WallMicros>(std::llround(diff / quarter)) * quarter;
    return {*local + zone, res, line.message.substr(std::min(end + 1, line.message.size()))};
}

ServerEvent event(const std::string& host, const char* source, const char* kind, WallMicros at_us,
                  WallMicros resolution_us, std::string text) {
    ServerEvent e;
    e.host = host;
    e.source = source;
    e.kind = kind;
    e.subject = host;
    e.at_us = at_us;
    e.resolution_us = resolution_us;
    e.text = std::move(text);
    return e;
}

struct Classified {
    const char* kind = nullptr;
    std::string subject;  // "" = the host itself
};

// "Lock owner: pg2; I am pg3" names the key's holder ("None": no leader key).
Classified lock_owner(std::string_view text) {
    const std::string_view tag = "Lock owner: ";
    auto at = text.find(tag);
    if (at == std::string_view::npos) {
        return {};
    }
    auto name = text.substr(at + tag.size());
    name = name.substr(0, name.find(';'));
    if (name == "None") {
        return {evidence::no_leader, ""};
    }
    return {evidence::lock_owner, std::string(name)};
}

Classified patroni_kind(std::string_view text) {
    if (contains(text, "promoted self to leader by acquiring session lock") ||
        contains(text, "promoted self to leader because I had the session lock") ||
        contains(text, "Cleaning up failover key after acquiring leader lock")) {
        return {evidence::lock_acquired, ""};
    }
    if (contains(text, "demoting myself") || contains(text, "Demoting self") ||
        contains(text, "demoted self because") || contains(text, "Leader key released")) {
        return {evidence::demoted, ""};
    }
    return lock_owner(text);
}

const char* postgres_kind(std::string_view text) {
    if (contains(text, "received promote request")) {
        return evidence::promote_requested;
    }
    if (contains(text, "selected new timeline ID")) {
        return evidence::new_timeline;
    }
    if (contains(text, "archive recovery complete")) {
        return evidence::recovery_ended;
    }
    if (contains(text, "database system is ready to accept connections")) {
        return evidence::accepting_connections;
    }
    return nullptr;
}

std::string trim(std::string_view s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) {
        s.remove_suffix(1);
    }
    return std::string(s);
}

}  // namespace

std::optional<WallMicros> parse_timestamp(std::string_view text, WallMicros* resolution_us) {
    std::size_t end = 0;
    auto us = civil_micros(text, end, resolution_us);
    if (!us) {
        return std::nullopt;
    }
    std::string_view zone = text.substr(end);
    if (!zone.empty() && zone[0] == ' ') {
        zone.remove_prefix(1);
    }
    auto z = zone_seconds(zone);
    if (!z) {
        return std::nullopt;
    }
    return *us - static_cast<WallMicros>(*z) * 1000000;
}

std::vector<JournalLine> parse_journal_json(std::string_view text) {
    std::vector<JournalLine> out;
    std::size_t pos = 0;
    while (pos < text.size()) {
        auto nl = text.find('\n', pos);
        auto line = text.substr(pos, nl == std::string_view::npos ? text.size() - pos : nl - pos);
        pos = nl == std::string_view::npos ? text.size() : nl + 1;
        auto j = nlohmann::json::parse(line, nullptr, false);
        if (!j.is_object() || !j.contains("__REALTIME_TIMESTAMP") || !j.contains("MESSAGE") ||
            !j["MESSAGE"].is_string() || !j["__REALTIME_TIMESTAMP"].is_string()) {
            continue;
        }
        JournalLine l;
        try {
            l.received_us = std::stoll(j["__REALTIME_TIMESTAMP"].get<std::string>());
        } catch (const std::exception&) {
            continue;
        }
        for (const char* key : {"_SYSTEMD_UNIT", "SYSLOG_IDENTIFIER"}) {
            if (l.unit.empty() && j.contains(key) && j[key].is_string()) {
                l.unit = j[key].get<std::string>();
            }
        }
        l.message = j["MESSAGE"].get<std::string>();
        out.push_back(std::move(l));
    }
    return out;
}

std::vector<ServerEvent> patroni_events(const std::string& host,
                                        const std::vector<JournalLine>& lines) {
    std::vector<ServerEvent> out;
    for (const auto& line : lines) {
        if (line.unit.rfind("patroni", 0) != 0) {
            continue;
        }
        auto p = patroni_line(line);
        auto c = patroni_kind(p.text);
        if (c.kind != nullptr) {
            out.push_back(
                event(host, source::patroni_log, c.kind, p.at_us, p.resolution_us, trim(p.text)));
            if (!c.subject.empty()) {
                out.back().subject = c.subject;
            }
        }
    }
    return out;
}

std::vector<ServerEvent> haproxy_events(const std::string& host,
                                        const std::vector<JournalLine>& lines) {
    std::vector<ServerEvent> out;
    for (const auto& line : lines) {
        if (line.unit.rfind("haproxy", 0) != 0) {
            continue;
        }
        const std::string& m = line.message;
        auto server = m.find("Server ");
        if (server == std::string::npos) {
            continue;
        }
        auto slash = m.find('/', server);
        auto is = m.find(" is ", server);
        if (slash == std::string::npos || is == std::string::npos || slash > is) {
            continue;
        }
        const std::string state = m.substr(is + 4, 4);
        const char* kind = state.rfind("UP", 0) == 0     ? evidence::server_up
                           : state.rfind("DOWN", 0) == 0 ? evidence::server_down
                                                         : nullptr;
        if (kind == nullptr) {
            continue;
        }
        // RFC 5424 ("<133>1 2026-12-05T05:14:03.123456+00:00 host haproxy pid - - text"):
        // HAProxy's own time; the journal's receive time otherwise.
        WallMicros at = line.received_us;
        WallMicros res = k_journal_lag_us;
        if (m.size() > 8 && m[0] == '<') {
            auto sp = m.find(' ');
            if (sp != std::string::npos) {
                WallMicros r = 0;
                if (auto t = parse_timestamp(std::string_view(m).substr(sp + 1), &r)) {
                    at = *t;
                    res = r;
                }
            }
        }
        auto e = event(host, source::haproxy_log, kind, at, res, trim(m.substr(server)));
        const std::string backend = m.substr(server + 7, slash - server - 7);
        e.subject = m.substr(slash + 1, is - slash - 1);
        e.port = backend == "primary" ? "write" : backend == "replicas" ? "read" : backend;
        out.push_back(std::move(e));
    }
    return out;
}

std::vector<ServerEvent> postgres_events(const std::string& host, std::string_view log) {
    std::vector<ServerEvent> out;
    std::size_t pos = 0;
    while (pos < log.size()) {
        auto nl = log.find('\n', pos);
        auto line = log.substr(pos, nl == std::string_view::npos ? log.size() - pos : nl - pos);
        pos = nl == std::string_view::npos ? log.size() : nl + 1;
        const char* kind = postgres_kind(line);
        if (kind == nullptr) {
            continue;
        }
        WallMicros res = 0;
        auto at = parse_timestamp(line, &res);
        if (!at) {
            continue;
        }
        auto bracket = line.find(" [");
        out.push_back(
            event(host, source::postgres_log, kind, *at, res,
                  trim(bracket == std::string_view::npos ? line : line.substr(bracket + 1))));
    }
    return out;
}

std::optional<ClockOffset> clock_offset(const std::string& host,
                                        const std::vector<OffsetSample>& samples) {
    const OffsetSample* best = nullptr;
    for (const auto& s : samples) {
        if (s.received_us < s.sent_us || s.remote_us <= 0) {
            continue;
        }
        if (best == nullptr || s.received_us - s.sent_us < best->received_us - best->sent_us) {
            best = &s;
        }
    }
    if (best == nullptr) {
        return std::nullopt;
    }
    const double mid =
        (static_cast<double>(best->sent_us) + static_cast<double>(best->received_us)) / 2.0;
    ClockOffset o;
    o.host = host;
    o.offset_ms = (static_cast<double>(best->remote_us) - mid) / 1000.0;
    o.bound_ms = static_cast<double>(best->received_us - best->sent_us) / 2000.0;
    return o;
}

std::vector<AlignedEvent> align(const std::vector<ServerEvent>& events,
                                const std::vector<ClockOffset>& offsets, WallMicros fault_wall_us) {
    std::vector<AlignedEvent> out;
    for (const auto& e : events) {
        auto o = std::find_if(offsets.begin(), offsets.end(),
                              [&](const ClockOffset& x) { return x.host == e.host; });
        const double offset = o == offsets.end() ? 0.0 : o->offset_ms;
        const double bound = o == offsets.end() ? k_unknown_offset_ms : o->bound_ms;
        AlignedEvent a;
        a.event = e;
        a.at_ms = static_cast<double>(e.at_us - fault_wall_us) / 1000.0 - offset;
        a.uncertainty_ms = bound + static_cast<double>(e.resolution_us) / 1000.0;
        out.push_back(std::move(a));
    }
    std::stable_sort(out.begin(), out.end(), [](const AlignedEvent& a, const AlignedEvent& b) {
        return a.at_ms < b.at_ms;
    });
    return out;
}

}  // namespace pgdr::drills
