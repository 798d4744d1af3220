#include "core/tcp.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace pgdr {

bool tcp_probe(const std::string& address, int port, std::chrono::milliseconds timeout,
               std::string* greeting, std::size_t max) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<uint16_t>(port));
    if (::inet_pton(AF_INET, address.c_str(), &sa.sin_addr) != 1) {
        return false;
    }
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        return false;
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    auto remaining = [&] {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        return static_cast<int>(std::max<long long>(0, left.count()));
    };
    bool ok = false;
    int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    if (rc == 0 || errno == EINPROGRESS) {
        pollfd p{fd, POLLOUT, 0};
        if (rc == 0 || ::poll(&p, 1, remaining()) == 1) {
            int err = 0;
            socklen_t len = sizeof err;
            ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
            ok = err == 0;
        }
    }
    if (ok && greeting != nullptr) {
        greeting->clear();
        char buf[256];
        while (greeting->size() < max) {
            pollfd p{fd, POLLIN, 0};
            if (::poll(&p, 1, remaining()) != 1) {
                break;
            }
            ssize_t n = ::read(fd, buf, std::min(sizeof buf, max - greeting->size()));
            if (n <= 0) {
                break;
            }
            greeting->append(buf, static_cast<size_t>(n));
            if (greeting->find('\n') != std::string::npos) {
                break;
            }
        }
    }
    ::close(fd);
    return ok;
}

}  // namespace pgdr
