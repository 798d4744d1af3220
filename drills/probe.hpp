// Probe: a sampler that appends events to the timeline (DESIGN.md §3, the drills' one seam).
//
// The drill engine starts every probe before the fault and stops them all after the
// post-checks. Real probes (the libpq writer and reader through HAProxy, the Patroni REST +
// SQL sampler per node, the HAProxy stats sampler) own their connections and run on their own
// thread; tests use scripted ones.
//
// PollingProbe is the common shape: a thread that calls one sample function every interval
// until stopped. A writer probe is a PollingProbe whose sample function sends the next
// sequence number (WriteSent, then WriteAcked or WriteFailed); a node sampler is one whose
// function records one NodeSample per node.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.hpp"
#include "drills/timeline.hpp"

namespace pgdr::drills {

class Probe {
  public:
    virtual ~Probe() = default;
    virtual std::string name() const = 0;
    // Starts sampling into `timeline` and returns at once. The timeline outlives the probe's
    // activity (until stop() returns). Throws pgdr::Error when the probe cannot start at all
    // (e.g. no route to HAProxy); failures of single samples are events, not exceptions.
    virtual void start(Timeline& timeline) = 0;
    // Stops sampling and waits for the sampler to finish; after it returns the probe appends
    // nothing more. Idempotent; never throws; safe to call without start().
    virtual void stop() noexcept = 0;
};

// Calls `sample(timeline)` every `interval` (measured from the start of one call to the start
// of the next, so a slow sample is followed at once by the next one) on its own thread.
// `sample` must not throw: it records failures as events. Exceptions that escape anyway are
// recorded as a Note and end the probe, so one broken probe never takes the drill down.
class PollingProbe final : public Probe {
  public:
    using SampleFn = std::function<void(Timeline&)>;

    PollingProbe(std::string name, Clock& clock, std::chrono::milliseconds interval,
                 SampleFn sample);
    ~PollingProbe() override;

    std::string name() const override { return m_name; }
    void start(Timeline& timeline) override;
    void stop() noexcept override;

    // Number of completed calls to the sample function (for tests and progress output).
    std::size_t samples() const { return m_samples.load(); }

  private:
    void run(Timeline& timeline);

    std::string m_name;
    Clock& m_clock;
    std::chrono::milliseconds m_interval;
    SampleFn m_sample;
    std::atomic<bool> m_stop{false};
    std::atomic<std::size_t> m_samples{0};
    std::thread m_thread;
};

// Owns a set of probes; stops them all (in reverse start order) on stop() or destruction, so an
// exception or Ctrl-C between start and stop cannot leave a sampler running.
class ProbeSet {
  public:
    ProbeSet() = default;
    ProbeSet(const ProbeSet&) = delete;
    ProbeSet& operator=(const ProbeSet&) = delete;
    ~ProbeSet() { stop(); }

    void add(std::unique_ptr<Probe> probe) { m_probes.push_back(std::move(probe)); }
    // Starts every probe in order; if one throws, the ones started are stopped and the
    // exception propagates.
    void start(Timeline& timeline);
    void stop() noexcept;
    std::size_t size() const { return m_probes.size(); }

  private:
    std::vector<std::unique_ptr<Probe>> m_probes;
    std::size_t m_started = 0;
};

}  // namespace pgdr::drills
