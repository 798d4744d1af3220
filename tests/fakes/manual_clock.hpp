// A Clock that only moves when told to (or when slept on): tests of retries and timestamps run
// instantly and assert on the sleeps that were requested.
#pragma once

#include <chrono>
#include <mutex>
#include <vector>

#include "core/clock.hpp"

namespace pgdr::fakes {

class ManualClock final : public Clock {
  public:
    explicit ManualClock(
        std::chrono::system_clock::time_point wall =
            std::chrono::system_clock::time_point(std::chrono::seconds(1457018875)))
        : m_wall(wall) {}

    std::chrono::steady_clock::time_point steady_now() override {
        std::lock_guard lock(m_mutex);
        return m_steady;
    }
    std::chrono::system_clock::time_point wall_now() override {
        std::lock_guard lock(m_mutex);
        return m_wall;
    }
    void sleep_for(std::chrono::milliseconds d) override {
        std::lock_guard lock(m_mutex);
        m_sleeps.push_back(d);
        m_steady += d;
        m_wall += d;
    }
    void advance(std::chrono::milliseconds d) {
        std::lock_guard lock(m_mutex);
        m_steady += d;
        m_wall += d;
    }
    std::vector<std::chrono::milliseconds> sleeps() const {
        std::lock_guard lock(m_mutex);
        return m_sleeps;
    }

  private:
    mutable std::mutex m_mutex;
    std::chrono::steady_clock::time_point m_steady{};
    std::chrono::system_clock::time_point m_wall;
    std::vector<std::chrono::milliseconds> m_sleeps;
};

}  // namespace pgdr::fakes
