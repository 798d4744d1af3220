// Clock: steady time for measurement, wall time for display and OVH timestamps, and sleep.
#pragma once

#include <chrono>

namespace pgdr {

class Clock {
  public:
    virtual ~Clock() = default;
    virtual std::chrono::steady_clock::time_point steady_now() = 0;
    virtual std::chrono::system_clock::time_point wall_now() = 0;
    virtual void sleep_for(std::chrono::milliseconds duration) = 0;
};

class SystemClock final : public Clock {
  public:
    std::chrono::steady_clock::time_point steady_now() override {
        return std::chrono::steady_clock::now();
    }
    std::chrono::system_clock::time_point wall_now() override {
        return std::chrono::system_clock::now();
    }
    void sleep_for(std::chrono::milliseconds duration) override;
};

// Wall time as ISO 8601 UTC with milliseconds, e.g. 2026-11-25T21:34:26.123Z.
std::string format_utc(std::chrono::system_clock::time_point tp);

}  // namespace pgdr
