#include "core/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.hpp"

namespace pgdr {

std::optional<std::string> read_text_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        if (errno == ENOENT) {
            return std::nullopt;
        }
        throw Error(ExitCode::internal, "cannot read " + path + ": " + std::strerror(errno));
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void ensure_directory(const std::string& path, unsigned mode) {
    std::filesystem::path p(path);
    std::filesystem::path cur;
    for (const auto& part : p) {
        cur /= part;
        if (cur.empty() || std::filesystem::exists(cur)) {
            continue;
        }
        if (::mkdir(cur.c_str(), mode) != 0 && errno != EEXIST) {
            throw Error(ExitCode::internal,
                        "cannot create directory " + cur.string() + ": " + std::strerror(errno));
        }
    }
}

bool restrict_directory(const std::string& path, unsigned mode) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) ||
        (st.st_mode & 0777 & ~mode) == 0) {
        return false;
    }
    if (::chmod(path.c_str(), mode) != 0) {
        throw Error(
            ExitCode::internal,
            path + " is open to other users and cannot be restricted: " + std::strerror(errno),
            "chmod 700 " + path);
    }
    return true;
}

void write_file_atomic(const std::string& path, const std::string& content, unsigned mode) {
    auto parent = std::filesystem::path(path).parent_path();
    if (!parent.empty()) {
        ensure_directory(parent.string(), 0755);
    }
    std::string tmpl = path + ".tmp.XXXXXX";
    int fd = ::mkstemp(tmpl.data());
    if (fd < 0) {
        throw Error(ExitCode::internal, "cannot write " + path + ": " + std::strerror(errno));
    }
    auto fail = [&](const char* what) {
        int e = errno;
        ::close(fd);
        ::unlink(tmpl.c_str());
        throw Error(ExitCode::internal,
                    std::string("cannot write ") + path + " (" + what + "): " + std::strerror(e));
    };
    if (::fchmod(fd, mode) != 0) {
        fail("chmod");
    }
    size_t off = 0;
    while (off < content.size()) {
        ssize_t n = ::write(fd, content.data() + off, content.size() - off);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            fail("write");
        }
        off += static_cast<size_t>(n);
    }
    if (::fsync(fd) != 0) {
        fail("fsync");
    }
    ::close(fd);
    if (::rename(tmpl.c_str(), path.c_str()) != 0) {
        int e = errno;
        ::unlink(tmpl.c_str());
        throw Error(ExitCode::internal, "cannot write " + path + ": " + std::strerror(e));
    }
}

std::string read_private_file(const std::string& path, const std::string& what,
                              const std::string& missing_hint) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        throw config_error("cannot read " + what + " " + path, missing_hint);
    }
    if ((st.st_mode & 077) != 0) {
        throw config_error(what + " " + path + " may be read by others (mode " +
                               std::to_string((st.st_mode >> 6) & 7) +
                               std::to_string((st.st_mode >> 3) & 7) +
                               std::to_string(st.st_mode & 7) + ")",
                           "chmod 600 " + path);
    }
    auto text = read_text_file(path);
    if (!text) {
        throw config_error("cannot read " + what + " " + path, missing_hint);
    }
    return *text;
}

}  // namespace pgdr
