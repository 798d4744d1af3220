// The fault journal (issue 13 item 5): <state_dir>/fault-journal.json says which fault a drill
// has in place. It is written before the fault is injected and removed once the restore
// succeeded, so a drill killed in between (SIGKILL, a lost bastion session, a crash) leaves a
// record; the next `pgdr drill` restores from it before anything else, and `pgdr status` shows
// it. A restore that fails keeps the journal.
#pragma once

#include <optional>
#include <string>

#include "drills/faults.hpp"

namespace pgdr::drills {

struct FaultJournal {
    FaultPlan plan;
    std::string started;        // UTC, ISO 8601
    std::string operator_host;  // the machine pgdr ran on
    long pid = 0;
};

std::string fault_journal_path(const std::string& state_dir);

// Writes the journal atomically (mode 0600). Throws pgdr::Error when it cannot be written: a
// fault that could not be recorded is not injected.
void write_fault_journal(const std::string& state_dir, const FaultJournal& journal);
// std::nullopt when there is none; throws pgdr::Error (invalid_config) for an unreadable one,
// naming the file.
std::optional<FaultJournal> read_fault_journal(const std::string& state_dir);
void clear_fault_journal(const std::string& state_dir);

// "kill-primary on pg1 (since 2026-12-04T16:00:00Z, pid 123 on bastion)"
std::string describe(const FaultJournal& journal);

}  // namespace pgdr::drills
