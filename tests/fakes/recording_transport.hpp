// RecordingTransport: a fake host for planner and apply tests.
//
// It records every argv it is asked to run (in a CallLog that several hosts may share, so tests
// can assert on the order across hosts) and simulates a small filesystem, enough for the
// commands pgdr's core issues itself:
//   put_file_argv(...)      (core/transport.hpp) writes stdin to the path with mode and owner;
//   file_state_argv(path)   (core/apply.hpp) answers "absent" or "<mode> <user:group>\n<content>";
//   cat -- PATH, test -e|-f PATH, touch PATH, rm -f PATH.
// Anything else is answered by the first handler registered with on() whose prefix matches the
// argv, or exits 0 with no output. A host can be made unreachable (run() throws ExitCode 5).
// Thread-safe: apply() runs hosts in parallel.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/transport.hpp"

namespace pgdr::testing {

struct FakeFile {
    std::string content;
    std::string mode = "644";         // as stat %a prints it
    std::string owner = "root:root";  // user:group
};

struct RecordedCall {
    std::string host;
    std::vector<std::string> argv;
    bool sudo = false;
    std::optional<std::string> stdin_data;
};

// The calls of one or more hosts, in the order they happened.
class CallLog {
  public:
    void add(RecordedCall call);
    std::vector<RecordedCall> calls() const;
    void clear();

  private:
    mutable std::mutex m_mutex;
    std::vector<RecordedCall> m_calls;
};

class RecordingTransport : public Transport {
  public:
    using Handler =
        std::function<CommandResult(const std::vector<std::string>& argv, const RunOptions& opts)>;

    explicit RecordingTransport(std::string host, std::shared_ptr<CallLog> log = nullptr);

    const std::string& host_name() const override { return m_host; }
    CommandResult run(const std::vector<std::string>& argv, const RunOptions& opts) override;

    // The simulated filesystem.
    void set_file(const std::string& path, FakeFile file);
    std::optional<FakeFile> file(const std::string& path) const;
    std::map<std::string, FakeFile> files() const;

    // Answers argv starting with `prefix` (first registered match wins).
    void on(std::vector<std::string> prefix, Handler handler);
    void on(std::vector<std::string> prefix, int exit_status, std::string out = {},
            std::string err = {});

    void set_unreachable(bool unreachable);

    // This host's calls, and the shared log (every host using it).
    std::vector<RecordedCall> calls() const;
    const std::shared_ptr<CallLog>& log() const { return m_log; }

    // Calls that can change the host: everything except file reads, `test`, `cat` and the
    // argvs given as read-only. Used to assert that a dry run or a converged apply wrote nothing.
    std::vector<RecordedCall> writes(
        const std::vector<std::vector<std::string>>& read_only_prefixes = {}) const;

  private:
    std::optional<CommandResult> builtin(const std::vector<std::string>& argv,
                                         const RunOptions& opts);

    std::string m_host;
    std::shared_ptr<CallLog> m_log;
    mutable std::mutex m_mutex;
    std::vector<RecordedCall> m_calls;
    std::map<std::string, FakeFile> m_files;
    std::vector<std::pair<std::vector<std::string>, Handler>> m_handlers;
    bool m_unreachable = false;
};

// True when argv starts with prefix.
bool starts_with(const std::vector<std::string>& argv, const std::vector<std::string>& prefix);

}  // namespace pgdr::testing
