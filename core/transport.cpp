#include "core/transport.hpp"

#include <stdexcept>

namespace pgdr {

std::vector<std::string> put_file_argv(const std::string& path, const FileSpec& spec) {
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
    static const std::string k_script =
        "set -e; dir=$(dirname -- \"$1\"); mkdir -p -- \"$dir\"; umask 077; "
        "tmp=$(mktemp \"$1.pgdr.XXXXXX\"); trap 'rm -f -- \"$tmp\"' EXIT; cat > \"$tmp\"; "
        "chmod \"$2\" \"$tmp\"; if [ -n \"$3\" ]; then chown \"$3\" \"$tmp\"; fi; "
        "mv -f -- \"$tmp\" \"$1\"; trap - EXIT";
    return {"sh", "-c", k_script, "pgdr-put", path, spec.mode, spec.owner};
}

bool Transport::put_file(const std::string& path, const std::string& content, const FileSpec& spec,
                         std::string* err) {
    RunOptions opts;
    opts.stdin_data = content;
    opts.sudo = true;
    opts.timeout = std::chrono::seconds(60);
    auto res = run(put_file_argv(path, spec), opts);
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
