#include "runbook/substitute.hpp"

#include "core/error.hpp"

namespace pgdr::runbook {

namespace {

bool valid_name(const std::string& name) {
    if (name.empty() || !((name[0] >= 'a' && name[0] <= 'z') || name[0] == '_')) {
        return false;
    }
    for (char c : name) {
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
            return false;
        }
    }
    return true;
}

// Walks `text`: calls on_text for literal pieces and on_ref for references; false (and error)
// for a malformed reference.
template <typename OnText, typename OnRef>
bool scan(const std::string& text, std::string& error, OnText on_text, OnRef on_ref) {
    size_t i = 0;
    while (i < text.size()) {
        if (text.compare(i, 3, "$${") == 0) {
            on_text("${");
            i += 3;
            continue;
        }
        if (text.compare(i, 2, "${") == 0) {
            auto close = text.find('}', i + 2);
            if (close == std::string::npos) {
                error = "unterminated '${' (write '$${' for a literal '${')";
                return false;
            }
            std::string name = text.substr(i + 2, close - i - 2);
            if (!valid_name(name)) {
                error = "invalid parameter reference '${" + name +
                        "}' (names are lower case letters, digits and '_')";
                return false;
            }
            i = close + 1;
            on_ref(name, i);
            continue;
        }
        on_text(std::string(1, text[i]));
        ++i;
    }
    return true;
}

void substitute_condition(Condition& c, const std::map<std::string, std::string>& v);

void substitute_run(RunStep& r, const std::map<std::string, std::string>& v) {
    for (auto& h : r.target.hosts) {
        h = substitute(h, v);
    }
    r.target.service = substitute(r.target.service, v);
    for (auto& w : r.command) {
        w = substitute(w, v);
    }
}

void substitute_sql(SqlStep& s, const std::map<std::string, std::string>& v) {
    s.database = substitute(s.database, v);
    s.query = substitute_sql_query(s.query, v);
    if (s.expect) {
        s.expect = substitute(*s.expect, v);
    }
}

void substitute_condition(Condition& c, const std::map<std::string, std::string>& v) {
    c.member = substitute(c.member, v);
    substitute_run(c.command, v);
    substitute_sql(c.sql, v);
}

}  // namespace

bool is_builtin_parameter(const std::string& name) {
    return name == k_builtin_cluster || name == k_builtin_inventory;
}

std::optional<std::vector<std::string>> references(const std::string& text, std::string& error) {
    std::vector<std::string> names;
    if (!scan(
            text, error, [](const std::string&) {},
            [&names](const std::string& n, size_t) { names.push_back(n); })) {
        return std::nullopt;
    }
    return names;
}

std::string substitute(const std::string& text, const std::map<std::string, std::string>& values) {
    std::string out;
    std::string error;
    bool ok = scan(
        text, error, [&out](const std::string& t) { out += t; },
        [&](const std::string& n, size_t) {
            auto it = values.find(n);
            if (it == values.end()) {
                throw usage_error("unknown parameter '${" + n + "}' in \"" + text + "\"");
            }
            out += it->second;
        });
    if (!ok) {
        throw usage_error(error + " in \"" + text + "\"");
    }
    return out;
}

namespace {

std::string doubled(const std::string& value, char quote) {
    std::string out;
    for (char c : value) {
        out += c;
        if (c == quote) {
            out += c;
        }
    }
    return out;
}

}  // namespace

std::string substitute_sql_query(const std::string& text,
                                 const std::map<std::string, std::string>& values) {
    std::string out;
    std::string error;
    bool ok = scan(
        text, error, [&out](const std::string& t) { out += t; },
        [&](const std::string& n, size_t next) {
            auto it = values.find(n);
            if (it == values.end()) {
                throw usage_error("unknown parameter '${" + n + "}' in \"" + text + "\"");
            }
            const std::string& v = it->second;
            if (v.find('\0') != std::string::npos || v.find("$$") != std::string::npos) {
                throw usage_error("parameter " + n +
                                  " holds a NUL byte or '$$', which pgdr does not put in SQL");
            }
            const char before = out.empty() ? '\0' : out.back();
            const char after = next < text.size() ? text[next] : '\0';
            if (before == '\'' && after == '\'') {
                out += doubled(v, '\'');  // '${x}': inside a literal the query already opened
            } else if (before == '"' && after == '"') {
                out += doubled(v, '"');  // "${x}": inside a quoted identifier
            } else if (before == '\'' || after == '\'' || before == '"' || after == '"' ||
                       before == '$' || before == '\\') {
                throw usage_error("parameter reference '${" + n + "}' in \"" + text +
                                      "\" is half inside a quoted string",
                                  "write '${" + n + "}' (a literal), \"${" + n +
                                      "}\" (an identifier) or ${" + n +
                                      "} alone (quoted as a literal by pgdr)");
            } else {
                out += "'" + doubled(v, '\'') + "'";  // bare: always a literal, never SQL text
            }
        });
    if (!ok) {
        throw usage_error(error + " in \"" + text + "\"");
    }
    return out;
}

std::map<std::string, std::string> resolve_parameters(
    const Runbook& runbook, const std::map<std::string, std::string>& given,
    const std::map<std::string, std::string>& builtins) {
    std::map<std::string, std::string> values = builtins;
    for (const auto& [k, v] : given) {
        bool declared = false;
        for (const auto& p : runbook.parameters) {
            declared = declared || p.name == k;
        }
        if (!declared) {
            std::string names;
            for (const auto& p : runbook.parameters) {
                names += (names.empty() ? "" : ", ") + p.name;
            }
            throw usage_error("runbook " + runbook.name + " has no parameter '" + k + "'",
                              names.empty() ? "it takes no parameter" : "its parameters: " + names);
        }
    }
    std::string missing;
    for (const auto& p : runbook.parameters) {
        auto it = given.find(p.name);
        if (it != given.end()) {
            values[p.name] = it->second;
        } else if (p.default_value) {
            values[p.name] = *p.default_value;
        } else {
            missing += (missing.empty() ? "" : ", ") + p.name;
        }
    }
    if (!missing.empty()) {
        throw usage_error("runbook " + runbook.name + " needs a value for: " + missing,
                          "pass --param NAME=VALUE for each");
    }
    // A default may refer to another parameter or a builtin (e.g. "${cluster}-backup").
    for (const auto& p : runbook.parameters) {
        values[p.name] = substitute(values[p.name], values);
    }
    return values;
}

Runbook instantiate(const Runbook& runbook, const std::map<std::string, std::string>& values) {
    Runbook out = runbook;
    for (auto& step : out.steps) {
        step.description = substitute(step.description, values);
        std::visit(
            [&values](auto& b) {
                using T = std::decay_t<decltype(b)>;
                if constexpr (std::is_same_v<T, PgdrStep>) {
                    for (auto& [k, v] : b.args) {
                        v = substitute(v, values);
                    }
                } else if constexpr (std::is_same_v<T, RunStep>) {
                    substitute_run(b, values);
                } else if constexpr (std::is_same_v<T, SqlStep>) {
                    substitute_sql(b, values);
                } else if constexpr (std::is_same_v<T, WaitStep>) {
                    substitute_condition(b.condition, values);
                } else if constexpr (std::is_same_v<T, ConfirmStep>) {
                    b.text = substitute(b.text, values);
                } else {
                    substitute_condition(b.condition, values);
                    b.message = substitute(b.message, values);
                }
            },
            step.body);
    }
    return out;
}

std::pair<std::string, std::string> parse_param_assignment(const std::string& text) {
    auto eq = text.find('=');
    if (eq == std::string::npos || eq == 0) {
        throw usage_error("--param " + text + ": expected NAME=VALUE");
    }
    return {text.substr(0, eq), text.substr(eq + 1)};
}

}  // namespace pgdr::runbook
