#include "fakes/recording_transport.hpp"

#include "core/apply.hpp"
#include "core/error.hpp"

namespace pgdr::testing {

void CallLog::add(RecordedCall call) {
    std::lock_guard lock(m_mutex);
    m_calls.push_back(std::move(call));
}

std::vector<RecordedCall> CallLog::calls() const {
    std::lock_guard lock(m_mutex);
    return m_calls;
}

void CallLog::clear() {
    std::lock_guard lock(m_mutex);
    m_calls.clear();
}

bool starts_with(const std::vector<std::string>& argv, const std::vector<std::string>& prefix) {
    if (prefix.size() > argv.size()) {
        return false;
    }
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        if (argv[i] != prefix[i]) {
            return false;
        }
    }
    return true;
}

namespace {
CommandResult exited(int status, std::string out = {}, std::string err = {}) {
    CommandResult r;
    r.exit_status = status;
    r.out = std::move(out);
    r.err = std::move(err);
    return r;
}

// The fixed words of the argvs core builds (script text included), without the variable tail.
std::vector<std::string> put_prefix() {
    auto argv = put_file_argv("/x", FileSpec{}, "");
    return {argv.begin(), argv.begin() + 4};
}
std::vector<std::string> state_prefix() {
    auto argv = file_state_argv("/x");
    return {argv.begin(), argv.begin() + 4};
}
}  // namespace

RecordingTransport::RecordingTransport(std::string host, std::shared_ptr<CallLog> log)
    : m_host(std::move(host)), m_log(log ? std::move(log) : std::make_shared<CallLog>()) {}

void RecordingTransport::set_file(const std::string& path, FakeFile file) {
    std::lock_guard lock(m_mutex);
    m_files[path] = std::move(file);
}

std::optional<FakeFile> RecordingTransport::file(const std::string& path) const {
    std::lock_guard lock(m_mutex);
    auto it = m_files.find(path);
    if (it == m_files.end()) {
        return std::nullopt;
    }
    return it->second;
}

std::map<std::string, FakeFile> RecordingTransport::files() const {
    std::lock_guard lock(m_mutex);
    return m_files;
}

void RecordingTransport::on(std::vector<std::string> prefix, Handler handler) {
    std::lock_guard lock(m_mutex);
    m_handlers.emplace_back(std::move(prefix), std::move(handler));
}

void RecordingTransport::on(std::vector<std::string> prefix, int exit_status, std::string out,
                            std::string err) {
    on(std::move(prefix), [=](const std::vector<std::string>&, const RunOptions&) {
        return exited(exit_status, out, err);
    });
}

void RecordingTransport::set_unreachable(bool unreachable) {
    std::lock_guard lock(m_mutex);
    m_unreachable = unreachable;
}

std::vector<RecordedCall> RecordingTransport::calls() const {
    std::lock_guard lock(m_mutex);
    return m_calls;
}

std::vector<RecordedCall> RecordingTransport::writes(
    const std::vector<std::vector<std::string>>& read_only_prefixes) const {
    std::vector<RecordedCall> out;
    const auto state = state_prefix();
    for (const auto& c : calls()) {
        bool read_only = starts_with(c.argv, state) || starts_with(c.argv, {"cat"}) ||
                         starts_with(c.argv, {"test"});
        for (const auto& p : read_only_prefixes) {
            read_only = read_only || starts_with(c.argv, p);
        }
        if (!read_only) {
            out.push_back(c);
        }
    }
    return out;
}

std::optional<CommandResult> RecordingTransport::builtin(const std::vector<std::string>& argv,
                                                         const RunOptions& opts) {
    // Called with m_mutex held.
    if (starts_with(argv, put_prefix()) && argv.size() == 9) {
        FakeFile f;
        f.content = opts.stdin_data.value_or("");
        f.mode = argv[5];
        while (f.mode.size() > 1 && f.mode.front() == '0') {
            f.mode.erase(0, 1);
        }
        // chown user keeps the group of the temporary file, which root created.
        const std::string& owner = argv[6];
        f.owner = owner.empty()                          ? "root:root"
                  : owner.find(':') == std::string::npos ? owner + ":root"
                                                         : owner;
        m_files[argv[4]] = f;
        return exited(0);
    }
    if (starts_with(argv, state_prefix()) && argv.size() == 5) {
        auto it = m_files.find(argv[4]);
        if (it == m_files.end()) {
            return exited(0, "absent\n");
        }
        return exited(0, it->second.mode + " " + it->second.owner + "\n" + it->second.content);
    }
    if (argv.size() == 3 && argv[0] == "cat" && argv[1] == "--") {
        auto it = m_files.find(argv[2]);
        if (it == m_files.end()) {
            return exited(1, {}, "cat: " + argv[2] + ": No such file or directory\n");
        }
        return exited(0, it->second.content);
    }
    if (argv.size() == 3 && argv[0] == "test" && (argv[1] == "-e" || argv[1] == "-f")) {
        return exited(m_files.count(argv[2]) ? 0 : 1);
    }
    if (argv.size() == 2 && argv[0] == "touch") {
        m_files.try_emplace(argv[1]);
        return exited(0);
    }
    if (argv.size() == 3 && argv[0] == "rm" && argv[1] == "-f") {
        m_files.erase(argv[2]);
        return exited(0);
    }
    return std::nullopt;
}

CommandResult RecordingTransport::run(const std::vector<std::string>& argv,
                                      const RunOptions& opts) {
    Handler handler;
    {
        std::lock_guard lock(m_mutex);
        if (m_unreachable) {
            throw Error(ExitCode::unreachable, m_host + ": connection lost (simulated)");
        }
        RecordedCall call{m_host, argv, opts.sudo, opts.stdin_data};
        m_calls.push_back(call);
        m_log->add(std::move(call));
        for (const auto& [prefix, h] : m_handlers) {
            if (starts_with(argv, prefix)) {
                handler = h;
                break;
            }
        }
        if (!handler) {
            if (auto r = builtin(argv, opts)) {
                return *r;
            }
            return exited(0);
        }
    }
    // Handlers run unlocked: they may call back into set_file() or file().
    return handler(argv, opts);
}

}  // namespace pgdr::testing
