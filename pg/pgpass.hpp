// PostgreSQL passfiles (~/.pgpass format): host:port:database:username:password per line.
#pragma once

#include <string>
#include <vector>

namespace pgdr::pg {

struct PgpassEntry {
    std::string host = "*";
    std::string port = "*";
    std::string database = "*";
    std::string user;
    std::string password;
};

// One field with ':' and '\' escaped by a backslash, as libpq reads it. Throws pgdr::Error
// (invalid_config) for a line break or NUL, which the format cannot carry; the message does not
// include the value (it may be a password).
std::string pgpass_escape(const std::string& field);

// The file: one line per entry, each ending in '\n'. Install it 0600, owned by its user: libpq
// ignores a passfile that others can read.
std::string render_pgpass(const std::vector<PgpassEntry>& entries);

}  // namespace pgdr::pg
