#include "pg/backup.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <ctime>
#include <regex>
#include <thread>

#include "core/backup_repo.hpp"
#include "core/strings.hpp"
#include "pg/pgbackrest_conf.hpp"
#include "pg/stage_backup.hpp"

namespace pgdr::pg {

namespace {

using nlohmann::json;

std::string str_at(const json& j, const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::int64_t int_at(const json& j, const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_number() ? it->get<std::int64_t>() : 0;
}

const json& obj_at(const json& j, const char* key) {
    static const json k_empty = json::object();
    auto it = j.find(key);
    return it != j.end() && it->is_object() ? *it : k_empty;
}

BackupRecord backup_record(const json& b) {
    BackupRecord r;
    r.label = str_at(b, "label");
    r.type = str_at(b, "type");
    const auto& ts = obj_at(b, "timestamp");
    r.start = int_at(ts, "start");
    r.stop = int_at(ts, "stop");
    const auto& info = obj_at(b, "info");
    r.size = int_at(info, "size");
    r.delta = int_at(info, "delta");
    const auto& repo = obj_at(info, "repository");
    r.repo_size = int_at(repo, "size");
    r.repo_delta = int_at(repo, "delta");
    const auto& archive = obj_at(b, "archive");
    r.wal_start = str_at(archive, "start");
    r.wal_stop = str_at(archive, "stop");
    const auto& lsn = obj_at(b, "lsn");
    r.lsn_start = str_at(lsn, "start");
    r.lsn_stop = str_at(lsn, "stop");
    r.prior = str_at(b, "prior");
    auto e = b.find("error");
    r.error = e != b.end() && e->is_boolean() && e->get<bool>();
    return r;
}

StanzaInfo stanza_info(const json& s) {
    StanzaInfo out;
    out.name = str_at(s, "name");
    const auto& status = obj_at(s, "status");
    out.status_code = status.contains("code") ? static_cast<int>(int_at(status, "code")) : -1;
    out.status_message = str_at(status, "message");
    const auto& lock = obj_at(obj_at(status, "lock"), "backup");
    auto held = lock.find("held");
    out.backup_running = held != lock.end() && held->is_boolean() && held->get<bool>();
    if (out.backup_running && int_at(lock, "size") > 0) {
        out.progress_bytes = int_at(lock, "size-cplt");
        out.progress_total = int_at(lock, "size");
        out.progress = std::clamp(static_cast<double>(int_at(lock, "size-cplt")) /
                                      static_cast<double>(int_at(lock, "size")),
                                  0.0, 1.0);
    }
    out.cipher = str_at(s, "cipher");
    if (auto repos = s.find("repo"); repos != s.end() && repos->is_array()) {
        for (const auto& r : *repos) {
            const auto& rs = obj_at(r, "status");
            if (int_at(rs, "code") != 0 && out.repo_message.empty()) {
                out.repo_message = str_at(rs, "message");
            }
        }
    }
    if (auto archives = s.find("archive"); archives != s.end() && archives->is_array()) {
        for (const auto& a : *archives) {
            // The newest database's archive (the last entry) is the one restores replay.
            out.archive_min = str_at(a, "min");
            out.archive_max = str_at(a, "max");
        }
    }
    if (auto backups = s.find("backup"); backups != s.end() && backups->is_array()) {
        for (const auto& b : *backups) {
            if (b.is_object()) {
                out.backups.push_back(backup_record(b));
            }
        }
    }
    return out;
}

std::string two(int v) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%02d", v);
    return buf;
}

std::string duration_text(std::int64_t s) {
    if (s < 0) {
        return "?";
    }
    if (s < 60) {
        return std::to_string(s) + "s";
    }
    if (s < 3600) {
        return std::to_string(s / 60) + "m" + two(static_cast<int>(s % 60)) + "s";
    }
    return std::to_string(s / 3600) + "h" + two(static_cast<int>((s % 3600) / 60)) + "m";
}

// The first "ERROR: [NNN]: message" line of pgBackRest's output.
bool error_line(const std::string& output, int& code, std::string& message) {
    static const std::regex k_error(R"(ERROR: \[(\d{3})\]: (.*))");
    for (const auto& line : lines(output)) {
        std::smatch m;
        if (std::regex_search(line, m, k_error)) {
            code = std::stoi(m[1].str());
            message = trim(m[2].str());
            return true;
        }
    }
    return false;
}

bool contains(const std::string& text, const char* what) {
    return text.find(what) != std::string::npos;
}

}  // namespace

// Bytes that are no UTF-8 (RFC 3629, no overlongs or surrogates) and raw control characters
// become '?': a repository read with a wrong passphrase yields decrypted garbage that
// pgBackRest quotes in its JSON status message, which a JSON parser refuses.
static std::size_t utf8_length(const std::string& t, std::size_t i) {
    const auto at = [&](std::size_t k) {
        return i + k < t.size() ? static_cast<unsigned char>(t[i + k]) : 0;
    };
    const auto in = [](unsigned c, unsigned lo, unsigned hi) { return c >= lo && c <= hi; };
    const unsigned c = at(0);
    if (c >= 0x20 && c < 0x7F) {
        return 1;
    }
    if (c == '\n' || c == '\r' || c == '\t') {
        return 1;
    }
    if (in(c, 0xC2, 0xDF)) {
        return in(at(1), 0x80, 0xBF) ? 2 : 0;
    }
    if (in(c, 0xE0, 0xEF)) {
        const unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
        return in(at(1), lo, hi) && in(at(2), 0x80, 0xBF) ? 3 : 0;
    }
    if (in(c, 0xF0, 0xF4)) {
        const unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
        return in(at(1), lo, hi) && in(at(2), 0x80, 0xBF) && in(at(3), 0x80, 0xBF) ? 4 : 0;
    }
    return 0;
}

static std::string valid_utf8(const std::string& text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        const std::size_t n = utf8_length(text, i);
        if (n == 0) {
            out += '?';
            ++i;
        } else {
            out.append(text, i, n);
            i += n;
        }
    }
    return out;
}

std::vector<StanzaInfo> parse_pgbackrest_info(const std::string& text) {
    json j;
    try {
        j = json::parse(valid_utf8(text));
    } catch (const json::exception&) {
        const auto all = lines(valid_utf8(text));
        throw Error(ExitCode::postgres,
                    "pgbackrest info did not print JSON" +
                        (all.empty() ? std::string() : ": " + trim(all.front()).substr(0, 200)),
                    "run `pgbackrest --stanza=CLUSTER info` as postgres on a member to see why");
    }
    if (!j.is_array()) {
        throw Error(ExitCode::postgres, "pgbackrest info printed JSON that is not a list");
    }
    std::vector<StanzaInfo> out;
    for (const auto& s : j) {
        if (s.is_object()) {
            out.push_back(stanza_info(s));
        }
    }
    return out;
}

const StanzaInfo& stanza_of(const std::vector<StanzaInfo>& stanzas, const std::string& cluster) {
    for (const auto& s : stanzas) {
        if (s.name == cluster) {
            return s;
        }
    }
    throw Error(ExitCode::postgres, "the repository has no stanza " + cluster,
                "`pgdr bootstrap --stage backup` creates it");
}

std::string format_bytes(std::int64_t bytes) {
    static const char* const k_units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = static_cast<double>(bytes);
    int unit = 0;
    while (v >= 1024 && unit < 5) {
        v /= 1024;
        ++unit;
    }
    char buf[32];
    if (unit == 0) {
        std::snprintf(buf, sizeof buf, "%lld B", static_cast<long long>(bytes));
    } else {
        std::snprintf(buf, sizeof buf, "%.1f %s", v, k_units[unit]);
    }
    return buf;
}

std::string format_utc(std::int64_t epoch_s) {
    std::time_t t = static_cast<std::time_t>(epoch_s);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

json backups_to_json(const StanzaInfo& s) {
    json backups = json::array();
    for (const auto& b : s.backups) {
        backups.push_back({{"label", b.label},
                           {"type", b.type},
                           {"start", format_utc(b.start)},
                           {"stop", format_utc(b.stop)},
                           {"start_epoch", b.start},
                           {"stop_epoch", b.stop},
                           {"duration_s", b.duration_s()},
                           {"size_bytes", b.size},
                           {"delta_bytes", b.delta},
                           {"repo_size_bytes", b.repo_size},
                           {"repo_delta_bytes", b.repo_delta},
                           {"wal_start", b.wal_start},
                           {"wal_stop", b.wal_stop},
                           {"lsn_start", b.lsn_start},
                           {"lsn_stop", b.lsn_stop},
                           {"prior", b.prior},
                           {"error", b.error}});
    }
    return {{"stanza", s.name},
            {"status", {{"code", s.status_code}, {"message", s.status_message}}},
            {"cipher", s.cipher},
            {"archive", {{"min", s.archive_min}, {"max", s.archive_max}}},
            {"backup_running", s.backup_running},
            {"backups", backups}};
}

std::string render_backup_table(const StanzaInfo& s) {
    const std::vector<std::string> header{"LABEL", "TYPE",      "START",     "STOP",    "DURATION",
                                          "SIZE",  "REPO SIZE", "WAL START", "WAL STOP"};
    std::vector<std::vector<std::string>> rows{header};
    for (const auto& b : s.backups) {
        rows.push_back({b.label, b.type, format_utc(b.start), format_utc(b.stop),
                        duration_text(b.duration_s()), format_bytes(b.size),
                        format_bytes(b.repo_size), b.wal_start, b.wal_stop});
    }
    std::vector<std::size_t> width(header.size(), 0);
    for (const auto& r : rows) {
        for (std::size_t i = 0; i < r.size(); ++i) {
            width[i] = std::max(width[i], r[i].size());
        }
    }
    std::string out;
    for (const auto& r : rows) {
        std::string line;
        for (std::size_t i = 0; i < r.size(); ++i) {
            line += r[i];
            if (i + 1 < r.size()) {
                line += std::string(width[i] - r[i].size() + 2, ' ');
            }
        }
        out += line + "\n";
    }
    out += "\nstanza " + s.name + ": " + s.status_message;
    if (s.backups.empty()) {
        out += " (no backup yet: `pgdr backup run --type full`)";
    }
    out += "\n";
    if (!s.archive_min.empty()) {
        out += "WAL archive: " + s.archive_min + " .. " + s.archive_max + "\n";
    }
    if (s.backup_running) {
        out += "a backup is running";
        if (s.progress) {
            char buf[16];
            std::snprintf(buf, sizeof buf, " (%.1f%%)", *s.progress * 100);
            out += buf;
        }
        out += "\n";
    }
    return out;
}

PgbackrestFailure classify_pgbackrest_failure(int exit_status, const std::string& output) {
    PgbackrestFailure f;
    if (!error_line(output, f.code, f.message)) {
        const auto all = lines(output);
        f.message = all.empty() ? "exit status " + std::to_string(exit_status) : trim(all.back());
        f.code = exit_status > 0 && exit_status < 256 ? exit_status : 0;
    }
    const std::string& m = f.message;
    const std::string& o = output;
    if (f.code == 95 && contains(o, "unable to verify certificate")) {
        f.kind = "tls_untrusted";
        f.exit = ExitCode::invalid_config;
        f.hint =
            "the repository's certificate is not trusted: set backup.repo.ca_file to the "
            "CA that signed it, then `pgdr bootstrap --stage backup`";
    } else if (f.code == 95 || contains(o, "is or was the repo encrypted") ||
               contains(o, "bad decrypt") || contains(o, "cipher header invalid")) {
        f.kind = "wrong_passphrase";
        f.exit = ExitCode::invalid_config;
        f.hint =
            "the repository cannot be decrypted with this cipher passphrase: restore "
            "secrets/pgbackrest-cipher in the state directory from your backup of it (a "
            "new passphrase cannot read an existing repository), then `pgdr bootstrap "
            "--stage backup`";
    } else if (f.code == 49 || contains(m, "unable to get address") ||
               contains(m, "timeout connecting") || contains(m, "unable to connect") ||
               contains(m, "Connection refused")) {
        f.kind = "repository_unreachable";
        f.exit = ExitCode::unreachable;
        f.hint =
            "the members cannot reach the repository's endpoint: check backup.repo.endpoint, "
            "DNS and the network from a member (`pgdr exec --service postgres -- curl -sI "
            "https://ENDPOINT`)";
    } else if (contains(m, "403") || contains(m, "InvalidAccessKeyId") ||
               contains(m, "SignatureDoesNotMatch") || contains(m, "AccessDenied") ||
               f.code == 105) {
        f.kind = "access_denied";
        f.exit = ExitCode::invalid_config;
        f.hint =
            "the object storage refuses the S3 credentials: check the credentials file "
            "(backup.repo.credentials_file) and the user's rights on the bucket, then "
            "`pgdr bootstrap --stage backup`";
    } else if (contains(m, "NoSuchBucket") || (contains(m, "404") && contains(m, "bucket"))) {
        f.kind = "bucket_missing";
        f.exit = ExitCode::invalid_config;
        f.hint = "the bucket does not exist: `pgdr provision` creates it on OVH and in the lab";
    } else if (contains(m, "does not exist") && contains(o, "stanza")) {
        f.kind = "stanza_missing";
        f.exit = ExitCode::postgres;
        f.hint = "`pgdr bootstrap --stage backup` creates the stanza";
    } else if (f.code == 82) {
        f.kind = "archive_timeout";
        f.exit = ExitCode::postgres;
        f.hint =
            "WAL does not reach the repository: archive_command fails (`pgdr status` shows "
            "the archiver; PostgreSQL's log on the leader says why)";
    } else {
        f.kind = "other";
        f.exit = ExitCode::postgres;
        f.hint = "pgBackRest's log on the member (/var/log/pgbackrest/) has the details";
    }
    return f;
}

namespace {

// With a repository host, "the repository" is its pgBackRest TLS server, not an endpoint.
std::string repo_host_hint(const Inventory& inv, const std::string& kind, const std::string& host) {
    const auto* repo = backup_repo_host(inv);
    if (repo == nullptr) {
        return "";
    }
    if (kind == "repository_unreachable") {
        return "the repository host " + repo->name + " (backup.repo.host): check that it runs " +
               k_pgbackrest_server_unit + " on port " + std::to_string(k_pgbackrest_tls_port) +
               " and that " + host + " reaches it (pgBackRest's log in /var/log/pgbackrest/)";
    }
    if (kind == "tls_untrusted") {
        return "a certificate does not chain to the cluster CA: `pgdr bootstrap` (its "
               "certificates stage) installs the cluster's certificates again";
    }
    return "";
}

}  // namespace

void throw_pgbackrest_failure(const std::string& what, const std::string& host,
                              const CommandResult& result, const Inventory* inv) {
    // info and check only read the repository: pgBackRest retries a refused or dropped
    // connection until its io-timeout, so a bound reached there means no answer from it.
    if (result.timed_out && (what == "pgbackrest info" || what == "pgbackrest check")) {
        const std::string posix =
            inv != nullptr ? repo_host_hint(*inv, "repository_unreachable", host) : "";
        throw Error(ExitCode::unreachable,
                    what + " on " + host +
                        " failed (repository_unreachable): the repository did not answer "
                        "before pgdr's bound",
                    !posix.empty() ? posix
                                   : "check backup.repo.endpoint and that " + host +
                                         " reaches it (pgBackRest's log in /var/log/pgbackrest/ "
                                         "names the address it tried)");
    }
    if (result.timed_out) {
        throw Error(ExitCode::postgres, what + " on " + host + " timed out",
                    "pgBackRest's log on the member (/var/log/pgbackrest/) shows how far it got");
    }
    const auto f = classify_pgbackrest_failure(result.exit_status, result.err + "\n" + result.out);
    std::string code;
    if (f.code > 0) {
        char buf[24];
        std::snprintf(buf, sizeof buf, "[%03d] ", f.code);
        code = buf;
    }
    const std::string posix = inv != nullptr ? repo_host_hint(*inv, f.kind, host) : "";
    throw Error(f.exit, what + " on " + host + " failed (" + f.kind + "): " + code + f.message,
                posix.empty() ? f.hint : posix);
}

std::vector<std::string> backup_info_argv(const Inventory& inv, const std::string& host) {
    return pgbackrest_argv_as(pgbackrest_user_on(inv, host), inv, {"--output=json", "info"});
}

std::vector<std::string> backup_check_argv(const Inventory& inv) {
    return pgbackrest_argv(inv, {"check"});
}

std::vector<std::string> backup_run_argv(const std::string& type, const std::string& user) {
    return {"runuser", "-u", user, "--", k_backup_script, type, "--manual"};
}

std::string backup_host(const Inventory& inv) {
    const auto* repo = backup_repo_host(inv);
    return repo == nullptr ? "" : repo->name;
}

void require_backup(const Inventory& inv) {
    if (!inv.backup) {
        throw usage_error("the inventory has no backup section: this cluster has no backups",
                          "add a `backup` section (pgdr-inventory(5)), then `pgdr bootstrap`");
    }
}

StanzaInfo read_backup_info(const Inventory& inv, Transport& member, std::chrono::seconds bound) {
    RunOptions o;
    o.sudo = true;
    o.timeout = bound;
    auto r = member.run(backup_info_argv(inv, member.host_name()), o);
    if (!r.ok()) {
        throw_pgbackrest_failure("pgbackrest info", member.host_name(), r, &inv);
    }
    auto s = stanza_of(parse_pgbackrest_info(r.out), inv.cluster);
    if (s.status_code == 99 || s.status_code == 1 || s.status_code == 3) {
        const std::string why = s.repo_message.empty() ? s.status_message : s.repo_message;
        CommandResult as_error;
        as_error.exit_status = s.status_code;
        as_error.err = why.find("ERROR: [") != std::string::npos ? why : "ERROR: [000]: " + why;
        // The repository's own message, e.g. "[CryptoError] ..." for a wrong passphrase.
        std::smatch m;
        static const std::regex k_kind(R"(\[(\w+)Error\])");
        // A wrong passphrase: CryptoError, or (2.55) the info file decrypted into garbage that
        // its parser refuses as FormatError.
        const bool garbage =
            why.find("[FormatError] unable to load info file") != std::string::npos &&
            s.cipher != "none" && !s.cipher.empty();
        if (garbage || (std::regex_search(why, m, k_kind) && m[1].str() == "Crypto")) {
            as_error.err = "ERROR: [095]: " + why;
        } else if (std::regex_search(why, m, k_kind) && m[1].str() == "HostConnect") {
            as_error.err = "ERROR: [049]: " + why;
        }
        throw_pgbackrest_failure("pgbackrest info", member.host_name(), as_error, &inv);
    }
    return s;
}

constexpr std::chrono::seconds k_repository_answer_bound{30};

BackupRecord run_backup(const Inventory& inv, Transport& leader, const BackupRunOptions& o) {
    if (o.type != "full" && o.type != "diff" && o.type != "incr") {
        throw usage_error("--type must be full, diff or incr, not '" + o.type + "'");
    }
    // The repository first, within 30 s (info answers in about a second): with its endpoint
    // refusing or silent, pgBackRest's backup retries for up to its protocol-timeout (30 min;
    // still retrying after 12 min on the lab), where pgdr stops at this bound with
    // repository_unreachable.
    read_backup_info(inv, leader, k_repository_answer_bound);
    std::atomic<bool> done{false};
    std::thread watcher;
    if (o.watch != nullptr && o.progress) {
        watcher = std::thread([&] {
            while (!done.load()) {
                for (auto waited = std::chrono::milliseconds(0); waited < o.interval && !done;
                     waited += std::chrono::milliseconds(100)) {
                    std::this_thread::sleep_for(std::chrono::milliseconds(100));
                }
                if (done) {
                    break;
                }
                try {
                    o.progress(read_backup_info(inv, *o.watch));
                } catch (const std::exception&) {
                    // Progress is best effort; the backup's own result decides.
                }
            }
        });
    }
    RunOptions ro;
    ro.sudo = true;
    ro.timeout = o.timeout;
    CommandResult r;
    try {
        r = leader.run(backup_run_argv(o.type, pgbackrest_user_on(inv, leader.host_name())), ro);
    } catch (...) {
        done = true;
        if (watcher.joinable()) {
            watcher.join();
        }
        throw;
    }
    done = true;
    if (watcher.joinable()) {
        watcher.join();
    }
    if (r.exit_status == 3 && contains(r.out, "is not the leader")) {
        throw Error(ExitCode::verification_failed,
                    leader.host_name() + " is no longer the leader: no backup was taken",
                    "run `pgdr backup run` again (a failover or switchover happened)");
    }
    if (!r.ok()) {
        throw_pgbackrest_failure("pgbackrest backup --type=" + o.type, leader.host_name(), r, &inv);
    }
    auto info = read_backup_info(inv, leader);
    if (info.backups.empty()) {
        throw Error(ExitCode::postgres,
                    "pgbackrest backup ended without error but `info` lists no backup");
    }
    return info.backups.back();
}

BackupCheck check_backup(const Inventory& inv, Transport& leader) {
    BackupCheck out;
    RunOptions ro;
    ro.sudo = true;
    ro.timeout = std::chrono::seconds(300);
    auto r = leader.run(backup_check_argv(inv), ro);
    out.output = r.out + r.err;
    if (!r.ok()) {
        throw_pgbackrest_failure("pgbackrest check", leader.host_name(), r, &inv);
    }
    out.ok = true;
    auto a = leader.run({"runuser", "-u", "postgres", "--", "psql", "-XAtq", "-F", "|", "-d",
                         "postgres", "-c", k_archiver_sql},
                        ro);
    if (!a.ok()) {
        out.archiver_error = trim(a.err.empty() ? a.out : a.err);
        return out;
    }
    QueryResult q;
    q.ok = true;
    for (const auto& line : lines(a.out)) {
        std::vector<std::optional<std::string>> row;
        for (const auto& v : split(line, '|')) {
            row.push_back(v.empty() ? std::nullopt : std::optional<std::string>(v));
        }
        q.rows.push_back(row);
    }
    out.archiver_read = parse_archiver(q, out.archiver);
    if (!out.archiver_read) {
        out.archiver_error = "unexpected pg_stat_archiver output";
    }
    return out;
}

}  // namespace pgdr::pg
