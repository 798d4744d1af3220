#include "runbook/parser.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "core/duration.hpp"
#include "core/files.hpp"
#include "runbook/substitute.hpp"

namespace pgdr::runbook {

namespace {

const std::vector<std::string> k_kinds = {"pgdr", "run", "sql", "wait_until", "confirm", "assert"};

std::string summarize(const std::vector<Diagnostic>& d) {
    std::string out = "invalid runbook: " + std::to_string(d.size()) + " problem(s)";
    for (const auto& x : d) {
        out += "\n  " + x.format();
    }
    return out;
}

std::string suggestion(const std::string& word, const std::vector<std::string>& known) {
    std::string best;
    int best_d = 1 + static_cast<int>(std::max<size_t>(2, word.size() / 3));
    for (const auto& k : known) {
        int d = edit_distance(word, k);
        if (d < best_d) {
            best_d = d;
            best = k;
        }
    }
    return best;
}

std::string list(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) {
        out += (out.empty() ? "" : ", ") + s;
    }
    return out;
}

std::chrono::milliseconds default_timeout(const std::string& kind) {
    using namespace std::chrono;
    if (kind == "pgdr") {
        return minutes(30);
    }
    if (kind == "confirm") {
        return hours(1);
    }
    if (kind == "sql" || kind == "assert") {
        return minutes(1);
    }
    return minutes(5);
}

class Parser {
  public:
    explicit Parser(std::string file) : m_file(std::move(file)) {}

    Runbook parse(const std::string& text) {
        Runbook rb;
        rb.file = m_file;
        YAML::Node loaded;
        try {
            loaded = YAML::Load(text);
        } catch (const YAML::ParserException& e) {
            m_diags.push_back(
                {m_file, e.mark.line + 1, e.mark.column + 1, "YAML syntax error: " + e.msg});
            throw RunbookError(m_diags);
        }
        // const: operator[] on a mutable node would add the keys it looks up.
        const YAML::Node& root = loaded;
        if (!root.IsMap()) {
            m_diags.push_back(
                {m_file, 1, 1, "a runbook is a mapping with name, description, parameters, steps"});
            throw RunbookError(m_diags);
        }
        check_keys(root, {"name", "description", "parameters", "steps"}, "the runbook");
        if (root["parameters"]) {
            parse_parameters(root["parameters"], rb);
        }
        if (!root["name"]) {
            error(root, "missing key 'name' (the runbook's name)");
        } else {
            rb.name = scalar(root["name"], "name");
            if (rb.name.empty() && root["name"].IsScalar()) {
                error(root["name"], "'name' must not be empty");
            }
        }
        if (root["description"]) {
            rb.description = scalar(root["description"], "description");
        }
        const auto steps = root["steps"];
        if (!steps) {
            error(root, "missing key 'steps' (the list of steps)");
        } else if (!steps.IsSequence() || steps.size() == 0) {
            error(steps, "'steps' must be a non-empty list of steps");
        } else {
            for (const auto& s : steps) {
                parse_step(s, rb);
            }
            check_gotos(rb);
        }
        if (!m_diags.empty()) {
            std::stable_sort(m_diags.begin(), m_diags.end(), [](const auto& a, const auto& b) {
                return std::tie(a.line, a.column) < std::tie(b.line, b.column);
            });
            throw RunbookError(m_diags);
        }
        return rb;
    }

  private:
    void error(const YAML::Node& at, const std::string& message) {
        auto m = at.Mark();
        m_diags.push_back({m_file, m.line + 1, m.column + 1, message});
    }

    void check_keys(const YAML::Node& map, const std::vector<std::string>& allowed,
                    const std::string& where) {
        for (auto it = map.begin(); it != map.end(); ++it) {
            if (!it->first.IsScalar()) {
                error(it->first, "keys of " + where + " must be strings");
                continue;
            }
            const auto key = it->first.as<std::string>();
            if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
                auto guess = suggestion(key, allowed);
                error(it->first, "unknown key '" + key + "' in " + where +
                                     (guess.empty() ? " (keys: " + list(allowed) + ")"
                                                    : " (did you mean '" + guess + "'?)"));
            }
        }
    }

    // A string value, its ${...} references checked against the declared parameters.
    std::string scalar(const YAML::Node& n, const std::string& what) {
        if (!n.IsScalar()) {
            error(n, "'" + what + "' must be a string");
            return "";
        }
        const auto text = n.as<std::string>();
        std::string err;
        auto refs = references(text, err);
        if (!refs) {
            error(n, "'" + what + "': " + err);
            return text;
        }
        for (const auto& r : *refs) {
            if (m_params.count(r) == 0 && !is_builtin_parameter(r)) {
                std::vector<std::string> known(m_params.begin(), m_params.end());
                known.push_back(k_builtin_cluster);
                known.push_back(k_builtin_inventory);
                auto guess = suggestion(r, known);
                error(n, "unknown parameter '${" + r + "}' in '" + what + "'" +
                             (guess.empty() ? "" : " (did you mean '${" + guess + "}'?)"));
            }
        }
        return text;
    }

    std::optional<std::chrono::milliseconds> duration(const YAML::Node& n,
                                                      const std::string& what) {
        if (!n.IsScalar()) {
            error(n, "'" + what + "' must be a duration such as 30s, 5m or 1h");
            return std::nullopt;
        }
        auto d = parse_duration(n.as<std::string>());
        if (!d) {
            error(n, "invalid duration '" + n.as<std::string>() + "' for '" + what +
                         "' (use 500ms, 30s, 5m, 1h or a number of seconds)");
        } else if (*d > k_max_runbook_duration) {
            error(n, "duration '" + n.as<std::string>() + "' for '" + what +
                         "' is longer than the 24h a runbook step may take");
            return std::nullopt;
        }
        return d;
    }

    std::optional<bool> boolean(const YAML::Node& n, const std::string& what) {
        bool b = false;
        if (!n.IsScalar() || !YAML::convert<bool>::decode(n, b)) {
            error(n, "'" + what + "' must be true or false");
            return std::nullopt;
        }
        return b;
    }

    void parse_parameters(const YAML::Node& node, Runbook& rb) {
        if (!node.IsMap()) {
            error(node, "'parameters' must be a mapping NAME: {description, default}");
            return;
        }
        // Declare every name first: a default may refer to another parameter.
        for (auto it = node.begin(); it != node.end(); ++it) {
            if (it->first.IsScalar()) {
                m_params.insert(it->first.as<std::string>());
            }
        }
        for (auto it = node.begin(); it != node.end(); ++it) {
            Parameter p;
            p.name = it->first.IsScalar() ? it->first.as<std::string>() : "";
            p.where = {it->first.Mark().line + 1, it->first.Mark().column + 1};
            std::string err;
            auto refs = references("${" + p.name + "}", err);
            if (!refs || p.name.find('}') != std::string::npos) {
                error(it->first, "invalid parameter name '" + p.name +
                                     "' (lower case letters, digits and '_', not first a digit)");
                continue;
            }
            if (is_builtin_parameter(p.name)) {
                error(it->first, "parameter '" + p.name + "' is built in; choose another name");
                continue;
            }
            // A copy: yaml-cpp's iterator-> returns a proxy that dies with this statement, so a
            // reference would dangle (found by fuzz_parsers under ASan).
            const YAML::Node v = it->second;
            if (v.IsMap()) {
                check_keys(v, {"description", "default"}, "parameter '" + p.name + "'");
                if (v["description"]) {
                    p.description = scalar(v["description"], "description");
                }
                if (v["default"]) {
                    p.default_value = v["default"].IsNull() ? "" : scalar(v["default"], "default");
                }
            } else if (!v.IsNull()) {
                error(v, "parameter '" + p.name +
                             "' must be a mapping {description, default} (or empty: required)");
                continue;
            }
            rb.parameters.push_back(p);
        }
    }

    HostSelector selector(const YAML::Node& n, const std::string& where, bool role_default) {
        HostSelector sel;
        int given = 0;
        if (n["hosts"]) {
            ++given;
            const auto& h = n["hosts"];
            if (h.IsSequence()) {
                for (const auto& x : h) {
                    sel.hosts.push_back(scalar(x, "hosts"));
                }
            } else if (h.IsScalar()) {
                std::string csv = scalar(h, "hosts");
                size_t start = 0;
                while (start <= csv.size()) {
                    auto comma = csv.find(',', start);
                    auto word = csv.substr(
                        start, comma == std::string::npos ? std::string::npos : comma - start);
                    if (!word.empty()) {
                        sel.hosts.push_back(word);
                    }
                    if (comma == std::string::npos) {
                        break;
                    }
                    start = comma + 1;
                }
            }
            if (sel.hosts.empty()) {
                error(h, "'hosts' in " + where + " must name at least one host");
            }
        }
        if (n["service"]) {
            ++given;
            sel.service = scalar(n["service"], "service");
            if (sel.service != "postgres" && sel.service != "etcd" && sel.service != "haproxy" &&
                sel.service.find("${") == std::string::npos) {
                error(n["service"], "unknown service '" + sel.service + "' in " + where +
                                        " (postgres, etcd or haproxy)");
            }
        }
        if (n["role"]) {
            ++given;
            sel.role = role(n["role"], where);
        }
        if (given > 1) {
            error(n, where + " takes one of 'hosts', 'service' or 'role', not several");
        } else if (given == 0) {
            if (role_default) {
                sel.role = Role::leader;
            } else {
                error(n, where + " needs one of 'hosts', 'service' or 'role'");
            }
        }
        return sel;
    }

    Role role(const YAML::Node& n, const std::string& where) {
        const auto r = n.IsScalar() ? n.as<std::string>() : "";
        if (r == "leader") {
            return Role::leader;
        }
        if (r == "replica") {
            return Role::replica;
        }
        error(n, "'role' in " + where + " must be leader or replica, not '" + r + "'");
        return Role::leader;
    }

    RunStep run_body(const YAML::Node& n, const std::string& where, bool role_default) {
        RunStep r;
        if (!n.IsMap()) {
            error(n, where + " must be a mapping {hosts|service|role, command}");
            return r;
        }
        r.target = selector(n, where, role_default);
        const auto& c = n["command"];
        if (!c) {
            error(n, where + " needs 'command' (an argv list)");
        } else if (!c.IsSequence() || c.size() == 0) {
            error(c, "'command' in " + where +
                         " must be a non-empty list of words, e.g. [systemctl, status, etcd]");
        } else {
            for (const auto& w : c) {
                r.command.push_back(scalar(w, "command"));
            }
        }
        if (n["sudo"]) {
            r.sudo = boolean(n["sudo"], "sudo").value_or(false);
        }
        return r;
    }

    SqlStep sql_body(const YAML::Node& n, const std::string& where, const std::string& query_key,
                     bool need_expect) {
        SqlStep s;
        if (!n.IsMap()) {
            error(n, where + " must be a mapping {role, database, " + query_key + "}");
            return s;
        }
        if (n["role"]) {
            s.role = role(n["role"], where);
        }
        if (n["database"]) {
            s.database = scalar(n["database"], "database");
        }
        if (!n[query_key]) {
            error(n, where + " needs '" + query_key + "' (the SQL)");
        } else {
            s.query = scalar(n[query_key], query_key);
            if (s.query.empty()) {
                error(n[query_key], "'" + query_key + "' in " + where + " is empty");
            }
        }
        if (n["expect"]) {
            s.expect = scalar(n["expect"], "expect");
        } else if (need_expect) {
            error(n, where + " needs 'expect' (the output the query must return)");
        }
        return s;
    }

    Condition condition(const YAML::Node& n, const std::string& where) {
        Condition c;
        if (n.IsMap()) {
            if (n["command"]) {
                check_keys(n, {"command", "hosts", "service", "role", "sudo"}, where);
                c.kind = ConditionKind::command;
                c.command = run_body(n, where, false);
            } else if (n["sql"]) {
                check_keys(n, {"sql", "role", "database", "expect"}, where);
                c.kind = ConditionKind::sql;
                c.sql = sql_body(n, where, "sql", true);
            } else {
                error(n, where + " as a mapping needs 'command' or 'sql'");
            }
            return c;
        }
        if (!n.IsScalar()) {
            error(n, where + " must be a condition such as 'leader_is pg2' or 'all_streaming'");
            return c;
        }
        const auto text = scalar(n, "condition");
        std::vector<std::string> words;
        for (size_t i = 0; i < text.size();) {
            auto j = text.find_first_of(" \t", i);
            if (j != i) {
                words.push_back(text.substr(i, j == std::string::npos ? std::string::npos : j - i));
            }
            if (j == std::string::npos) {
                break;
            }
            i = j + 1;
        }
        static const std::vector<std::pair<std::string, ConditionKind>> k_named = {
            {"leader_is", ConditionKind::leader_is},
            {"leader_is_not", ConditionKind::leader_is_not},
            {"no_leader", ConditionKind::no_leader},
            {"streaming", ConditionKind::streaming},
            {"all_streaming", ConditionKind::all_streaming},
            {"healthy", ConditionKind::healthy}};
        if (words.empty()) {
            error(n, where + " is empty");
            return c;
        }
        auto it = std::find_if(k_named.begin(), k_named.end(),
                               [&](const auto& p) { return p.first == words[0]; });
        if (it == k_named.end()) {
            std::vector<std::string> names;
            for (const auto& p : k_named) {
                names.push_back(p.first);
            }
            auto guess = suggestion(words[0], names);
            error(n, "unknown condition '" + words[0] + "' in " + where +
                         (guess.empty() ? " (conditions: " + list(names) +
                                              ", or a mapping with command or sql)"
                                        : " (did you mean '" + guess + "'?)"));
            return c;
        }
        c.kind = it->second;
        const bool takes_member = c.kind == ConditionKind::leader_is ||
                                  c.kind == ConditionKind::leader_is_not ||
                                  c.kind == ConditionKind::streaming;
        if (takes_member && words.size() != 2) {
            error(n, "condition '" + words[0] + "' in " + where + " needs one member name, e.g. '" +
                         words[0] + " pg2'");
        } else if (!takes_member && words.size() != 1) {
            error(n, "condition '" + words[0] + "' in " + where + " takes no argument");
        } else if (takes_member) {
            c.member = words[1];
        }
        return c;
    }

    PgdrStep pgdr_body(const YAML::Node& n, const std::string& where) {
        PgdrStep p;
        if (!n.IsMap()) {
            error(n, where + " must be a mapping {action, args}");
            return p;
        }
        check_keys(n, {"action", "args"}, where);
        if (!n["action"]) {
            error(n, where + " needs 'action'");
            return p;
        }
        p.action = n["action"].IsScalar() ? n["action"].as<std::string>() : "";
        const auto& specs = action_specs();
        auto spec = std::find_if(specs.begin(), specs.end(),
                                 [&](const ActionSpec& s) { return s.name == p.action; });
        if (spec == specs.end()) {
            std::vector<std::string> names;
            for (const auto& s : specs) {
                names.push_back(s.name);
            }
            auto guess = suggestion(p.action, names);
            error(n["action"], "unknown pgdr action '" + p.action + "'" +
                                   (guess.empty() ? " (actions: " + list(names) + ")"
                                                  : " (did you mean '" + guess + "'?)"));
            return p;
        }
        const auto& args = n["args"];
        if (args && !args.IsMap() && !args.IsNull()) {
            error(args, "'args' in " + where + " must be a mapping NAME: VALUE");
        } else if (args && args.IsMap()) {
            for (auto it = args.begin(); it != args.end(); ++it) {
                const auto key = it->first.as<std::string>();
                if (std::find(spec->arguments.begin(), spec->arguments.end(), key) ==
                    spec->arguments.end()) {
                    error(it->first, "pgdr " + p.action + " takes no argument '" + key + "'" +
                                         (spec->arguments.empty()
                                              ? " (it takes none)"
                                              : " (arguments: " + list(spec->arguments) + ")"));
                    continue;
                }
                p.args[key] = scalar(it->second, key);
            }
        }
        for (const auto& r : spec->required) {
            if (p.args.count(r) == 0) {
                error(n, "pgdr " + p.action + " needs argument '" + r + "'");
            }
        }
        return p;
    }

    void parse_step(const YAML::Node& s, Runbook& rb) {
        if (!s.IsMap()) {
            error(s, "a step must be a mapping with id and one of " + list(k_kinds));
            return;
        }
        Step step;
        step.where = {s.Mark().line + 1, s.Mark().column + 1};
        const std::string label = step_id(s, rb, step);
        std::vector<std::string> allowed = {"id", "description", "timeout", "on_failure"};
        allowed.insert(allowed.end(), k_kinds.begin(), k_kinds.end());
        check_keys(s, allowed, label);
        if (s["description"]) {
            step.description = scalar(s["description"], "description");
        }
        const auto kind = step_kind(s, label);
        if (!kind) {
            return;
        }
        step.timeout = default_timeout(*kind);
        if (s["timeout"]) {
            step.timeout = duration(s["timeout"], "timeout").value_or(step.timeout);
        }
        step.body = step_body(*kind, s[*kind], label, step.timeout);
        if (s["on_failure"]) {
            step.on_failure = on_failure(s["on_failure"], label, rb.steps.size());
        }
        rb.steps.push_back(step);
    }

    // Reads and checks the step's id (well formed, unique) into step.id; the step's label for
    // messages: "step 'ID'", or "step N" without a valid id.
    std::string step_id(const YAML::Node& s, const Runbook& rb, Step& step) {
        const std::string label = "step " + std::to_string(rb.steps.size() + 1);
        if (!s["id"]) {
            error(s, label + " has no 'id'");
            return label;
        }
        step.id = s["id"].IsScalar() ? s["id"].as<std::string>() : "";
        static const std::string k_id_chars = "abcdefghijklmnopqrstuvwxyz0123456789-_";
        if (step.id.empty() || step.id.find_first_not_of(k_id_chars) != std::string::npos ||
            step.id[0] == '-' || step.id[0] == '_') {
            error(s["id"], "step id '" + step.id +
                               "' must be lower case letters, digits, '-' and '_', starting "
                               "with a letter or digit");
            return label;
        }
        if (auto prev = m_ids.find(step.id); prev != m_ids.end()) {
            error(s["id"], "duplicate step id '" + step.id + "' (first at line " +
                               std::to_string(prev->second) + ")");
            return label;
        }
        m_ids[step.id] = s["id"].Mark().line + 1;
        return "step '" + step.id + "'";
    }

    // The step's one kind of action (k_kinds); std::nullopt, after an error, for none or two.
    std::optional<std::string> step_kind(const YAML::Node& s, const std::string& label) {
        std::vector<std::string> kinds;
        for (const auto& k : k_kinds) {
            if (s[k]) {
                kinds.push_back(k);
            }
        }
        if (kinds.empty()) {
            error(s, label + " has no action: give exactly one of " + list(k_kinds));
            return std::nullopt;
        }
        if (kinds.size() > 1) {
            error(s[kinds[1]], label + " has both '" + kinds[0] + "' and '" + kinds[1] +
                                   "': a step has exactly one of " + list(k_kinds));
            return std::nullopt;
        }
        return kinds.front();
    }

    // The action of kind `kind` from its node b; a wait_until's own timeout replaces `timeout`.
    StepBody step_body(const std::string& kind, const YAML::Node& b, const std::string& label,
                       std::chrono::milliseconds& timeout) {
        if (kind == "pgdr") {
            return pgdr_body(b, label + " pgdr");
        }
        if (kind == "run") {
            if (b.IsMap()) {
                check_keys(b, {"hosts", "service", "role", "command", "sudo"}, label + " run");
            }
            return run_body(b, label + " run", false);
        }
        if (kind == "sql") {
            if (b.IsMap()) {
                check_keys(b, {"role", "database", "query", "expect"}, label + " sql");
            }
            return sql_body(b, label + " sql", "query", false);
        }
        if (kind == "wait_until") {
            return wait_body(b, label, timeout);
        }
        if (kind == "confirm") {
            return confirm_body(b, label);
        }
        return assert_body(b, label);
    }

    WaitStep wait_body(const YAML::Node& b, const std::string& label,
                       std::chrono::milliseconds& timeout) {
        WaitStep w;
        if (!b.IsMap()) {
            error(b, label + " wait_until must be a mapping {condition, timeout}");
            return w;
        }
        check_keys(b, {"condition", "timeout", "interval"}, label + " wait_until");
        if (!b["condition"]) {
            error(b, label + " wait_until needs 'condition'");
        } else {
            w.condition = condition(b["condition"], label + " wait_until");
        }
        if (b["timeout"]) {
            timeout = duration(b["timeout"], "timeout").value_or(timeout);
        }
        if (b["interval"]) {
            w.interval = duration(b["interval"], "interval").value_or(w.interval);
        }
        return w;
    }

    ConfirmStep confirm_body(const YAML::Node& b, const std::string& label) {
        ConfirmStep c;
        if (!b.IsScalar() || b.as<std::string>().empty()) {
            error(b, label + " confirm must be the question to ask, as a string");
        } else {
            c.text = scalar(b, "confirm");
        }
        return c;
    }

    AssertStep assert_body(const YAML::Node& b, const std::string& label) {
        AssertStep a;
        if (!b.IsMap()) {
            error(b, label + " assert must be a mapping {condition, message}");
            return a;
        }
        check_keys(b, {"condition", "message"}, label + " assert");
        if (!b["condition"]) {
            error(b, label + " assert needs 'condition'");
        } else {
            a.condition = condition(b["condition"], label + " assert");
        }
        if (b["message"]) {
            a.message = scalar(b["message"], "message");
        }
        return a;
    }

    // on_failure: abort, continue or "goto STEP" (checked once every step is known, check_gotos).
    OnFailure on_failure(const YAML::Node& f, const std::string& label, size_t index) {
        OnFailure out;
        const auto text = f.IsScalar() ? f.as<std::string>() : "";
        if (text == "abort") {
            out.policy = FailurePolicy::abort;
        } else if (text == "continue") {
            out.policy = FailurePolicy::continue_run;
        } else if (text.rfind("goto ", 0) == 0 &&
                   text.find_first_not_of(' ', 5) != std::string::npos) {
            out.policy = FailurePolicy::go_to;
            out.target = text.substr(text.find_first_not_of(' ', 5));
            m_gotos.push_back({index, f.Mark()});
        } else {
            error(f, label + ": on_failure must be abort, continue or 'goto STEP', not '" + text +
                         "'");
        }
        return out;
    }

    void check_gotos(const Runbook& rb) {
        for (const auto& [index, mark] : m_gotos) {
            const auto& step = rb.steps[index];
            if (rb.index_of(step.on_failure.target) < 0) {
                std::vector<std::string> ids;
                for (const auto& s : rb.steps) {
                    ids.push_back(s.id);
                }
                auto guess = suggestion(step.on_failure.target, ids);
                m_diags.push_back({m_file, mark.line + 1, mark.column + 1,
                                   "step '" + step.id + "': on_failure goto '" +
                                       step.on_failure.target + "': no such step" +
                                       (guess.empty() ? "" : " (did you mean '" + guess + "'?)")});
            }
        }
    }

    std::string m_file;
    std::vector<Diagnostic> m_diags;
    std::set<std::string> m_params;
    std::map<std::string, int> m_ids;  // id -> line
    std::vector<std::pair<size_t, YAML::Mark>> m_gotos;
};

}  // namespace

RunbookError::RunbookError(std::vector<Diagnostic> diagnostics)
    : Error(ExitCode::invalid_config, summarize(diagnostics),
            "fix the runbook (see pgdr-runbook(5)), then run `pgdr runbook validate FILE`"),
      m_diagnostics(std::move(diagnostics)) {}

const std::vector<ActionSpec>& action_specs() {
    static const std::vector<ActionSpec> k_specs = {
        {"switchover", {"to", "at", "timeout"}, {}},
        {"failover", {"to", "timeout"}, {"to"}},
        {"reinit", {"member", "timeout"}, {"member"}},
        {"status", {}, {}},
        {"verify", {}, {}},
        {"drill",
         {"fault", "candidate", "max_rto", "max_lost", "repeat", "report", "baseline", "timeout",
          "to", "region", "promote"},
         {"fault"}},
        {"dr_promote", {"force", "timeout"}, {}},
        {"dr_rebuild", {"timeout"}, {}},
        {"dr_switchover", {"timeout", "catch_up"}, {}},
        {"bootstrap", {"stage"}, {}},
        {"certs_status", {"warn_days"}, {}},
        {"certs_rotate", {}, {}},
        {"backup_list", {}, {}},
        {"backup_check", {}, {}},
        {"restore_cluster", {"to", "target"}, {"to"}},
    };
    return k_specs;
}

Runbook parse_runbook(const std::string& text, const std::string& file) {
    return Parser(file).parse(text);
}

Runbook load_runbook(const std::string& path) {
    std::optional<std::string> text;
    try {
        text = read_text_file(path);
    } catch (const Error& e) {
        throw RunbookError({{path, 0, 0, std::string("cannot read the file: ") + e.what()}});
    }
    if (!text) {
        throw RunbookError({{path, 0, 0, "no such file"}});
    }
    return parse_runbook(*text, path);
}

}  // namespace pgdr::runbook
