#include "pg/pgpass.hpp"

#include "core/error.hpp"

namespace pgdr::pg {

std::string pgpass_escape(const std::string& field) {
    std::string out;
    out.reserve(field.size());
    for (char c : field) {
        if (c == '\n' || c == '\r' || c == '\0') {
            throw config_error(
                "a passfile field holds a line break or NUL, which a PostgreSQL "
                "passfile cannot carry");
        }
        if (c == ':' || c == '\\') {
            out += '\\';
        }
        out += c;
    }
    return out;
}

std::string render_pgpass(const std::vector<PgpassEntry>& entries) {
    std::string out;
    for (const auto& e : entries) {
        out += pgpass_escape(e.host) + ':' + pgpass_escape(e.port) + ':' +
               pgpass_escape(e.database) + ':' + pgpass_escape(e.user) + ':' +
               pgpass_escape(e.password) + '\n';
    }
    return out;
}

}  // namespace pgdr::pg
