// An environment variable set for a scope: the destructor restores what was there before (the
// value, or its absence). pgdr's cluster lock sets PGDR_LOCK_LEASE for its child processes;
// a command that locks two clusters in turn (bootstrap of a pair) must give the variable back to
// what its parent set once the first lock is released, or the second cannot join the parent's.
#pragma once

#include <optional>
#include <string>

namespace pgdr {

class ScopedEnv {
  public:
    ScopedEnv(std::string name, const std::string& value);
    ~ScopedEnv();
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;

  private:
    std::string m_name;
    std::optional<std::string> m_previous;
};

}  // namespace pgdr
