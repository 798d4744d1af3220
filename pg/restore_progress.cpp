#include "pg/restore_progress.hpp"

#include <algorithm>
#include <cstdio>
#include <regex>

#include "core/strings.hpp"
#include "pg/backup.hpp"

namespace pgdr::pg {

std::string restore_log_path(const Inventory& inv) {
    return "/var/log/pgbackrest/" + inv.cluster + "-restore.log";
}

std::vector<std::string> restore_log_size_argv(const Inventory& inv) {
    return {"sh", "-c", "stat -c %s \"$1\" 2>/dev/null || echo 0", "pgdr-restore-log-size",
            restore_log_path(inv)};
}

std::vector<std::string> restore_log_tail_argv(const Inventory& inv, std::int64_t offset) {
    // tail -c +N starts at byte N (1-based); grep keeps the lines the parser reads, and only the
    // newest few cross the connection.
    return {"sh",
            "-c",
            "tail -c +\"$2\" \"$1\" 2>/dev/null | grep -E 'restore backup set|restore file|"
            "restore size' | tail -n 4",
            "pgdr-restore-log-tail",
            restore_log_path(inv),
            std::to_string(offset + 1)};
}

std::int64_t parse_pgbackrest_size(const std::string& text) {
    static const std::regex k_size(R"(^(\d+(?:\.\d+)?)(B|KB|MB|GB|TB|PB)$)");
    std::smatch m;
    if (!std::regex_match(text, m, k_size)) {
        return -1;
    }
    static const std::vector<std::string> k_units{"B", "KB", "MB", "GB", "TB", "PB"};
    double v = std::stod(m[1].str());
    for (const auto& u : k_units) {
        if (u == m[2].str()) {
            break;
        }
        v *= 1024;
    }
    return static_cast<std::int64_t>(v + 0.5);
}

std::optional<RestoreProgress> parse_restore_progress(const std::string& log_lines) {
    static const std::regex k_set(R"(restore backup set ([0-9A-Za-z_-]+))");
    static const std::regex k_file(
        R"(DETAIL: restore file (\S+).*\((?:[^()]*, )?(\S+), ([0-9.]+)%\))");
    std::optional<RestoreProgress> out;
    for (const auto& line : lines(log_lines)) {
        std::smatch m;
        if (std::regex_search(line, m, k_set)) {
            out = out.value_or(RestoreProgress{});
            out->backup_set = m[1].str();
        } else if (std::regex_search(line, m, k_file)) {
            out = out.value_or(RestoreProgress{});
            out->last_file = m[1].str();
            out->fraction = std::min(1.0, std::stod(m[3].str()) / 100.0);
        } else if (line.find("restore size = ") != std::string::npos && out) {
            out->fraction = 1.0;
            out->files_done = true;
        }
    }
    return out;
}

std::string render_restore_progress(const RestoreProgress& p, std::int64_t total_bytes,
                                    double elapsed_s) {
    char buf[200];
    if (p.files_done) {
        std::snprintf(buf, sizeof buf, "restore: files restored in %.0fs; PostgreSQL next",
                      elapsed_s);
        return buf;
    }
    const double pct = p.fraction * 100;
    if (total_bytes <= 0) {
        std::snprintf(buf, sizeof buf, "restore: %5.1f%%  %.0fs", pct, elapsed_s);
        return buf;
    }
    const auto done = static_cast<std::int64_t>(p.fraction * static_cast<double>(total_bytes));
    const double rate = elapsed_s > 0 ? static_cast<double>(done) / elapsed_s : 0;
    const double left = rate > 0 ? static_cast<double>(total_bytes - done) / rate : 0;
    std::snprintf(buf, sizeof buf, "restore: %5.1f%%  %s of %s  %s/s  ETA %.0fs", pct,
                  format_bytes(done).c_str(), format_bytes(total_bytes).c_str(),
                  format_bytes(static_cast<std::int64_t>(rate)).c_str(), left);
    return buf;
}

}  // namespace pgdr::pg
