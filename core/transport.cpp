#include "core/transport.hpp"

#include <stdexcept>

#include "core/error.hpp"
#include "core/sha256.hpp"

namespace pgdr {

void append_capped(std::string& to, const char* data, std::size_t n, const std::string& host,
                   const char* stream, std::size_t max) {
    if (to.size() + n > max) {
        throw Error(ExitCode::internal,
                    host + ": the command's " + stream + " exceeds " +
                        std::to_string(max / (1024 * 1024)) + " MiB; pgdr stopped reading it",
                    "a command pgdr runs should print little; check what the host printed");
    }
    to.append(data, n);
}

std::vector<std::string> put_file_argv(const std::string& path, const FileSpec& spec,
                                       const std::string& content) {
    if (path.empty() || path.front() != '/') {
        throw std::invalid_argument("put_file needs an absolute path, got '" + path + "'");
    }
    for (char c : spec.mode) {
        if (c < '0' || c > '7') {
            throw std::invalid_argument("bad file mode '" + spec.mode + "'");
        }
    }
    // The script is a constant; every variable part reaches it as a positional parameter, so
    // nothing of the path or the owner is ever parsed by the shell. Missing parent directories
    // get the default mode (readable by the file's owner); umask 077 then keeps the temporary
    // file private until its final mode is set.
    //
    // A cut connection or a killed pgdr ends stdin early, and `cat` cannot tell that from the
    // end of the file: the host therefore checks the byte count ($4) and the sha256 ($5) of
    // what it received before the rename, and a short or corrupt transfer leaves the old file
    // in place (exit 3, the temporary file removed).
    static const std::string k_script =
        "set -e; dir=$(dirname -- \"$1\"); mkdir -p -- \"$dir\"; umask 077; "
        "tmp=$(mktemp \"$1.pgdr.XXXXXX\"); trap 'rm -f -- \"$tmp\"' EXIT; cat > \"$tmp\"; "
        "size=$(wc -c < \"$tmp\"); if [ \"$size\" -ne \"$4\" ]; then "
        "echo \"pgdr-put: $1: received $size of $4 bytes; the file was not replaced\" >&2; "
        "exit 3; fi; "
        "sum=$(sha256sum < \"$tmp\"); sum=${sum%% *}; if [ \"$sum\" != \"$5\" ]; then "
        "echo \"pgdr-put: $1: sha256 of the received bytes does not match; the file was not "
        "replaced\" >&2; exit 3; fi; "
        "chmod \"$2\" \"$tmp\"; if [ -n \"$3\" ]; then chown \"$3\" \"$tmp\"; fi; "
        "mv -f -- \"$tmp\" \"$1\"; trap - EXIT";
    return {"sh",
            "-c",
            k_script,
            "pgdr-put",
            path,
            spec.mode,
            spec.owner,
            std::to_string(content.size()),
            sha256_hex(content)};
}

bool Transport::put_file(const std::string& path, const std::string& content, const FileSpec& spec,
                         std::string* err) {
    RunOptions opts;
    opts.stdin_data = content;
    opts.sudo = true;
    opts.timeout = std::chrono::seconds(60);
    auto res = run(put_file_argv(path, spec, content), opts);
    if (!res.ok() && err != nullptr) {
        *err = res.timed_out ? "timed out writing " + path : res.err;
    }
    return res.ok();
}

std::optional<std::string> Transport::read_file(const std::string& path, bool sudo) {
    RunOptions opts;
    opts.sudo = sudo;
    opts.timeout = std::chrono::seconds(60);
    auto res = run({"cat", "--", path}, opts);
    if (!res.ok()) {
        return std::nullopt;
    }
    return res.out;
}

}  // namespace pgdr
