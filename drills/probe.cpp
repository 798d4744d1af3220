#include "drills/probe.hpp"

#include <exception>

#include "core/error.hpp"

namespace pgdr::drills {

PollingProbe::PollingProbe(std::string name, Clock& clock, std::chrono::milliseconds interval,
                           SampleFn sample)
    : m_name(std::move(name)), m_clock(clock), m_interval(interval), m_sample(std::move(sample)) {
    if (m_interval.count() <= 0) {
        throw Error(ExitCode::internal, "probe " + m_name + ": the interval must be positive");
    }
}

PollingProbe::~PollingProbe() {
    stop();
}

void PollingProbe::start(Timeline& timeline) {
    if (m_thread.joinable()) {
        throw Error(ExitCode::internal, "probe " + m_name + " started twice");
    }
    m_stop = false;
    m_thread = std::thread([this, &timeline] { run(timeline); });
}

void PollingProbe::stop() noexcept {
    m_stop = true;
    if (m_thread.joinable()) {
        m_thread.join();
    }
}

void PollingProbe::run(Timeline& timeline) {
    using namespace std::chrono;
    while (!m_stop) {
        auto began = m_clock.steady_now();
        try {
            m_sample(timeline);
        } catch (const std::exception& e) {
            timeline.record(Note{"probe " + m_name + " stopped: " + e.what()});
            return;
        } catch (...) {
            timeline.record(Note{"probe " + m_name + " stopped: unknown exception"});
            return;
        }
        ++m_samples;
        // Keep the cadence from the start of the sample: a sample that took longer than the
        // interval is followed at once, so a hung statement does not shift every later probe.
        auto spent = duration_cast<milliseconds>(m_clock.steady_now() - began);
        if (spent < m_interval && !m_stop) {
            m_clock.sleep_for(m_interval - spent);
        }
    }
}

void ProbeSet::start(Timeline& timeline) {
    try {
        for (; m_started < m_probes.size(); ++m_started) {
            m_probes[m_started]->start(timeline);
        }
    } catch (...) {
        stop();
        throw;
    }
}

void ProbeSet::stop() noexcept {
    while (m_started > 0) {
        --m_started;
        m_probes[m_started]->stop();
    }
}

}  // namespace pgdr::drills
