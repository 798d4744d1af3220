// Reading a runbook file (man/pgdr-runbook.5). Every problem is reported at once, each with
// file:line:column and what is expected; unknown keys and names get a did-you-mean.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/inventory.hpp"
#include "runbook/model.hpp"

namespace pgdr::runbook {

// The longest duration a runbook may give (a wait, a timeout, a confirmation's): longer ones
// are typos (999999h) that would hang a runbook for ever.
inline constexpr std::chrono::hours k_max_runbook_duration{24};

// Thrown with every diagnostic found; exit code 3.
class RunbookError : public Error {
  public:
    explicit RunbookError(std::vector<Diagnostic> diagnostics);
    const std::vector<Diagnostic>& diagnostics() const { return m_diagnostics; }

  private:
    std::vector<Diagnostic> m_diagnostics;
};

// Parses and validates; throws RunbookError. `file` names the source in diagnostics.
Runbook parse_runbook(const std::string& text, const std::string& file);
// Reads the file (a RunbookError when it cannot be read), then parse_runbook().
Runbook load_runbook(const std::string& path);

// The actions a `pgdr` step may name, and the arguments each takes.
struct ActionSpec {
    std::string name;
    std::vector<std::string> arguments;
    std::vector<std::string> required;
};
const std::vector<ActionSpec>& action_specs();

}  // namespace pgdr::runbook
