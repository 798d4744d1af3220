// Transport: the seam through which pgdr acts on a host (DESIGN.md §3).
//
// A transport runs an argv vector on one host and reports exit status, stdout, stderr and
// elapsed time as data. Only "cannot reach the host" (connect, authentication, host key, lost
// connection) throws, as pgdr::Error with ExitCode::unreachable. A command that outlives its
// timeout is reported with timed_out = true and exit_status = -1.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace pgdr {

struct CommandResult {
    int exit_status = -1;  // -1 when the command was killed by a signal or timed out
    std::string out;
    std::string err;
    std::chrono::milliseconds elapsed{0};
    bool timed_out = false;

    bool ok() const { return exit_status == 0 && !timed_out; }
};

struct RunOptions {
    std::optional<std::string> stdin_data;  // fed to the command, then EOF
    std::chrono::milliseconds timeout{std::chrono::minutes(10)};
    bool sudo = false;  // run as root through `sudo -n` when the login user is not root
    // LocalTransport only. 0: at the timeout the command's process group gets SIGKILL. Longer:
    // it gets SIGTERM, then SIGKILL after this grace if it has not exited (a child pgdr drill
    // restores its fault on SIGTERM). With a grace and `cancel`, setting the flag sends the same
    // SIGTERM (then SIGKILL after the grace) before the timeout.
    std::chrono::milliseconds kill_grace{0};
    const std::atomic<bool>* cancel = nullptr;
};

// Metadata of a file written by put_file.
struct FileSpec {
    std::string mode = "0644";  // octal, as chmod takes it
    std::string owner;          // "user" or "user:group"; empty keeps the default (root)
};

class Transport {
  public:
    virtual ~Transport() = default;

    // The name this transport reaches (inventory host name), for messages.
    virtual const std::string& host_name() const = 0;

    // Runs argv on the host. Never throws for a command's failure; throws pgdr::Error
    // (ExitCode::unreachable) when the host cannot be reached or the connection is lost.
    virtual CommandResult run(const std::vector<std::string>& argv, const RunOptions& opts) = 0;

    // Forgets any connection to the host (the next run connects anew). Called after the host
    // was powered off or reset from outside: a connection from before would otherwise wait on
    // a peer that is gone, for as long as TCP retransmits.
    virtual void reset_connection() {}

    // Writes content to path atomically (a temporary file in the same directory, then rename),
    // with mode and owner applied before the rename, so readers never see a partial file; the
    // host verifies the size and sha256 of what it received before the rename, so a transfer
    // cut short (lost connection, killed pgdr) never installs a truncated file.
    // Returns false (and fills err) when the remote side failed.
    bool put_file(const std::string& path, const std::string& content, const FileSpec& spec,
                  std::string* err = nullptr);

    // Reads a file; std::nullopt when it does not exist or cannot be read.
    std::optional<std::string> read_file(const std::string& path, bool sudo = false);
};

// The most a command's stdout or stderr may hold in memory (64 MiB): more is an error, not an
// out-of-memory pgdr (a runaway `cat`, a log dumped by mistake).
inline constexpr std::size_t k_max_command_output = std::size_t{64} * 1024 * 1024;
// Appends n bytes to `to`; throws pgdr::Error (internal) naming the host and the stream when
// `to` would grow past `max`.
void append_capped(std::string& to, const char* data, std::size_t n, const std::string& host,
                   const char* stream, std::size_t max = k_max_command_output);

// The argv that put_file runs; exposed so that fakes and tests can recognise it. The host
// installs the file only when it received exactly content's byte count and sha256 (both are
// arguments); otherwise the command exits 3 and the old file stays.
std::vector<std::string> put_file_argv(const std::string& path, const FileSpec& spec,
                                       const std::string& content);

}  // namespace pgdr
