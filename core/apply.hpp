// apply(): executes a Plan (core/plan.hpp) through one Transport per host.
//
// Every action ends as one ActionResult:
//   unchanged  the host already matched (file equal, "unless" succeeded, check passed, trigger
//              files unchanged, wait condition already true);
//   changed    pgdr changed the host (with --dry-run: would change it);
//   failed     the command failed, the file could not be read or written, the wait timed out,
//              or the host could not be reached;
//   skipped    not attempted because an earlier action failed.
// A failure stops the rest of its host's actions in the step, the hosts after it in a sequential
// step, the remaining steps of its stage and every later stage (each stage needs the previous
// ones: Patroni needs etcd). Results are in plan order, whatever the parallelism.
//
// Dry run (--dry-run): reads only. Files are read and diffed, "unless" checks are run (they are
// read-only by contract), nothing is written, no command runs, no wait polls. Every file diff
// and every command is printed to ApplyOptions::out, through the logger's redaction; files with
// Secrecy other than none show less (see plan.hpp). A WaitForCluster is listed with its
// condition and not judged.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "core/plan.hpp"
#include "core/transport.hpp"

namespace pgdr {

enum class Outcome { unchanged, changed, failed, skipped };
std::string to_string(Outcome outcome);

struct ActionResult {
    Stage stage = Stage::packages;
    std::string step;
    std::string host;
    std::string description;  // describe(action)
    Outcome outcome = Outcome::skipped;
    std::string diff;    // PutFile that changed: the diff as shown to the operator
    std::string output;  // a failed command's stderr/stdout (redacted), for the error report
    std::string error;   // why it failed, one line
    std::chrono::milliseconds elapsed{0};
};

struct ApplyReport {
    bool dry_run = false;
    std::vector<ActionResult> results;
    std::optional<Stage> failed_stage;     // the first stage that failed
    std::vector<std::string> unreachable;  // hosts whose transport threw (exit code 5)

    std::size_t count(Outcome outcome) const;
    bool ok() const { return !failed_stage.has_value(); }
};

// Judges WaitForCluster conditions: the cluster as pgdr sees it through its ClusterReach
// (pg::AssessedConditions, pg/cluster_conditions.hpp, is the real one; tests script one).
// Called from the threads of a parallel step at once.
class ClusterConditions {
  public:
    virtual ~ClusterConditions() = default;
    // The findings that keep `wait` from holding now, one sentence each; empty when it holds.
    // May throw pgdr::Error when the cluster cannot be read at all: the wait then polls again.
    virtual std::vector<std::string> unmet(const WaitForCluster& wait) = 0;
};

struct ApplyOptions {
    bool dry_run = false;
    std::ostream* out = nullptr;  // dry-run listing (stdout); nullptr prints nothing
    Clock* clock = nullptr;       // for WaitFor; nullptr uses the system clock
    // For WaitForCluster; may be nullptr for a dry run or a plan without one.
    ClusterConditions* cluster = nullptr;
    std::size_t max_parallel = 16;
};

// Transports by inventory host name; not owned.
using TransportMap = std::map<std::string, Transport*>;

// Runs the plan. Throws pgdr::Error (ExitCode::internal) before doing anything when a host of
// the plan has no transport, or when the plan waits for the cluster and a real run has no
// ClusterConditions; everything else is reported in the ApplyReport.
ApplyReport apply(const Plan& plan, const TransportMap& transports, Logger& log,
                  const ApplyOptions& options = {});

// The argv PutFile uses to read a file's mode, owner and content in one round trip. Its output
// is "absent\n" when the path does not exist, else "<octal mode> <user>:<group>\n<content>".
// Exposed so that fakes and tests can recognise it.
std::vector<std::string> file_state_argv(const std::string& path);

}  // namespace pgdr
