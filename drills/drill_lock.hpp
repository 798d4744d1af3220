// "No other drill running": an exclusive flock(2) on <state_dir>/drill.lock, held for the
// whole `pgdr drill` (every repeat). The kernel drops it when the process dies, so a crashed
// drill never leaves a stale lock. The file holds the holder's PID, for the message.
#pragma once

#include <string>

namespace pgdr::drills {

class DrillLock {
  public:
    // Throws pgdr::Error (verification_failed) when another process holds it, naming its PID;
    // pgdr::Error (internal) when the file cannot be created.
    explicit DrillLock(const std::string& state_dir);
    ~DrillLock();
    DrillLock(const DrillLock&) = delete;
    DrillLock& operator=(const DrillLock&) = delete;

    const std::string& path() const { return m_path; }

  private:
    std::string m_path;
    int m_fd = -1;
};

}  // namespace pgdr::drills
