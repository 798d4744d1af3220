// ${param} substitution in runbook strings (man/pgdr-runbook.5, "Parameters").
//
// "${name}" is replaced by the parameter's value; "$${" writes a literal "${". Values are
// inserted as they are: in a `run` command each argv word stays one word whatever the value
// holds; in SQL prefer psql variables (:'name'), which pgdr also sets for every parameter.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "runbook/model.hpp"

namespace pgdr::runbook {

// Parameters every runbook may use without declaring them.
inline constexpr const char* k_builtin_cluster = "cluster";      // the inventory's cluster name
inline constexpr const char* k_builtin_inventory = "inventory";  // the inventory's path
bool is_builtin_parameter(const std::string& name);

// The names referenced by `text`, in order; std::nullopt and `error` when a reference is
// malformed (unterminated "${", an empty or invalid name).
std::optional<std::vector<std::string>> references(const std::string& text, std::string& error);

// `text` with every reference replaced; throws pgdr::Error (usage) for an unknown name or a
// malformed reference.
std::string substitute(const std::string& text, const std::map<std::string, std::string>& values);

// An sql step's query with every reference replaced by SQL, never by raw text: '${x}' (inside
// a literal) and "${x}" (inside a quoted identifier) get the value with its quote character
// doubled; a bare ${x} becomes the literal 'value'. A reference half inside quotes, or a value
// with a NUL byte or '$$', is refused (usage error), like an unknown or malformed reference.
std::string substitute_sql_query(const std::string& text,
                                 const std::map<std::string, std::string>& values);

// The values of every parameter: `given` (from --param) over the defaults, plus the builtins.
// Throws a usage error (exit 2) for an unknown parameter or a required one left unset.
std::map<std::string, std::string> resolve_parameters(
    const Runbook& runbook, const std::map<std::string, std::string>& given,
    const std::map<std::string, std::string>& builtins);

// A copy of `runbook` with every string of every step substituted.
Runbook instantiate(const Runbook& runbook, const std::map<std::string, std::string>& values);

// "k=v" as given to --param; throws a usage error when there is no '=' or the key is empty.
std::pair<std::string, std::string> parse_param_assignment(const std::string& text);

}  // namespace pgdr::runbook
