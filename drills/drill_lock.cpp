#include "drills/drill_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/error.hpp"

namespace pgdr::drills {

DrillLock::DrillLock(const std::string& state_dir) : m_path(state_dir + "/drill.lock") {
    std::error_code ec;
    std::filesystem::create_directories(state_dir, ec);
    m_fd = ::open(m_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (m_fd < 0) {
        throw Error(ExitCode::internal, "cannot open " + m_path + ": " + std::strerror(errno));
    }
    if (::flock(m_fd, LOCK_EX | LOCK_NB) != 0) {
        char buf[32] = {};
        auto n = ::pread(m_fd, buf, sizeof buf - 1, 0);
        std::string holder = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "?";
        while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) {
            holder.pop_back();
        }
        ::close(m_fd);
        m_fd = -1;
        throw Error(ExitCode::verification_failed,
                    "another drill is running on this cluster (pid " + holder + ", " + m_path + ")",
                    "wait for it to finish; one drill at a time");
    }
    std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(m_fd, 0) == 0) {
        [[maybe_unused]] auto w = ::pwrite(m_fd, pid.data(), pid.size(), 0);
    }
}

DrillLock::~DrillLock() {
    if (m_fd >= 0) {
        ::flock(m_fd, LOCK_UN);
        ::close(m_fd);
    }
}

}  // namespace pgdr::drills
