// The fault journal (issue 13 item 5): <state_dir>/fault-journal.json says which fault a drill
// has in place. It is written before the fault is injected and removed once the restore
// succeeded, so a drill killed in between (SIGKILL, a lost bastion session, a crash) leaves a
// record; the next `pgdr drill` (or `pgdr drill --heal`) restores from it before anything
// else, switchover/failover/reinit, bootstrap and `runbook run` refuse with that command, and
// `pgdr status` shows it. A copy is kept on a neighbour member (k_host_journal_path), found by
// the next command from any operator machine. A restore that fails keeps the journal.
#pragma once

#include <optional>
#include <string>

#include "drills/faults.hpp"
#include "drills/topology.hpp"

namespace pgdr::drills {

struct FaultJournal {
    FaultPlan plan;
    std::string started;        // UTC, ISO 8601
    std::string operator_host;  // the machine pgdr ran on
    long pid = 0;
    std::string neighbour;  // the member holding the copy (k_host_journal_path); "" = none
};

// The copy on a member other than the faulted host, so that a drill whose operator machine is
// lost can be restored from another one.
inline constexpr const char* k_host_journal_dir = "/var/lib/pgdr";
inline constexpr const char* k_host_journal_path = "/var/lib/pgdr/fault-journal.json";

// Where a journal was found: the state directory's file or "HOST:/var/lib/pgdr/...".
struct FoundJournal {
    FaultJournal journal;
    std::string where;
};

std::string fault_journal_path(const std::string& state_dir);

// Writes the journal atomically (mode 0600). Throws pgdr::Error when it cannot be written: a
// fault that could not be recorded is not injected.
void write_fault_journal(const std::string& state_dir, const FaultJournal& journal);
// std::nullopt when there is none; throws pgdr::Error (invalid_config) for an unreadable one,
// naming the file.
std::optional<FaultJournal> read_fault_journal(const std::string& state_dir);
void clear_fault_journal(const std::string& state_dir);

std::string render_fault_journal(const FaultJournal& journal);
// Throws pgdr::Error (invalid_config) naming `path` for an unreadable journal.
FaultJournal parse_fault_journal(const std::string& text, const std::string& path);

// The PostgreSQL member that keeps the copy: the first one that is not the fault's target.
std::string journal_neighbour(const DrillTopology& topology, const std::string& target);
// Writes the copy (mode 0600, as root); returns "" or why it could not.
std::string copy_fault_journal(Transport& host, const FaultJournal& journal);
void clear_host_fault_journal(Transport& host);
// The state directory's journal, else the first copy on a PostgreSQL member (unreachable
// members skipped); std::nullopt when there is none. Throws for an unreadable one.
std::optional<FoundJournal> find_fault_journal(const std::string& state_dir,
                                               const DrillTopology& topology,
                                               const TransportFor& transport);

// "kill-primary on pg1 (since 2026-12-04T16:00:00Z, pid 123 on bastion)"
std::string describe(const FaultJournal& journal);

}  // namespace pgdr::drills
