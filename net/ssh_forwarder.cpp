#include "net/ssh_forwarder.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <list>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "core/error.hpp"
#include "net/ssh_session.hpp"

namespace pgdr::net {

namespace {

using steady = std::chrono::steady_clock;

// What one connection may buffer in either direction before its reader is paused.
constexpr std::size_t k_max_buffered = 256 * 1024;
constexpr std::size_t k_chunk = 32 * 1024;
// How long poll() sleeps with nothing to do: bounds the reaction to a lost session.
constexpr int k_idle_poll_ms = 200;

class Fd {
  public:
    explicit Fd(int fd = -1) : m_fd(fd) {}
    ~Fd() { reset(); }
    Fd(Fd&& o) noexcept : m_fd(o.release()) {}
    Fd& operator=(Fd&& o) noexcept {
        if (this != &o) {
            reset(o.release());
        }
        return *this;
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return m_fd; }
    int release() {
        int f = m_fd;
        m_fd = -1;
        return f;
    }
    void reset(int fd = -1) {
        if (m_fd >= 0) {
            ::close(m_fd);
        }
        m_fd = fd;
    }

  private:
    int m_fd;
};

void set_nonblocking(int fd) {
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

struct Listener {
    Fd fd;
    std::string address;
    int port = 0;
};

struct Conn {
    Fd fd;
    std::string address;
    int port = 0;
    ChannelPtr channel;
    bool open = false;
    bool local_eof = false;
    steady::time_point open_deadline;
    std::string to_remote;
    std::string to_local;
};

}  // namespace

struct SshForwarder::Impl {
    SshTarget target;
    Logger& log;
    std::chrono::milliseconds open_timeout;

    std::mutex mutex;  // guards everything below up to the pump's own state
    SessionPtr session;
    std::map<std::pair<std::string, int>, int> ports;  // address:port -> local port
    std::vector<Listener> new_listeners;
    std::vector<Conn> new_conns;
    ForwarderStats stats;

    Fd wake_read, wake_write;
    std::atomic<bool> stop{false};
    std::thread pump;

    // The pump thread's own state.
    std::vector<Listener> listeners;
    std::list<Conn> conns;

    Impl(SshTarget t, Logger& l, std::chrono::milliseconds ot)
        : target(std::move(t)), log(l), open_timeout(ot) {
        int p[2];
        if (::pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) {
            throw Error(ExitCode::internal, std::string("pipe: ") + std::strerror(errno));
        }
        wake_read.reset(p[0]);
        wake_write.reset(p[1]);
    }

    void wake() const {
        char c = 1;
        [[maybe_unused]] auto n = ::write(wake_write.get(), &c, 1);
    }

    // Under mutex: the first session, and the pump that owns it from then on (it reconnects
    // by itself when the session is lost).
    void ensure_session() {
        if (pump.joinable()) {
            return;
        }
        session = open_ssh_session(target, log);
        ssh_set_blocking(session.get(), 0);
        log.debug("ssh forwarder: connected to " + describe_target(target));
        pump = std::thread([this] { run(); });
    }

    // In the pump, with the session lost: reconnect for waiting connections, at most once a
    // second; connections that cannot be served are closed so that their clients fail fast.
    void recover(steady::time_point& next_attempt);

    void run();
    void accept_all(Listener& l);
    void step(Conn& c, short revents, ssh_session s, std::vector<char>& buf);
    bool done(const Conn& c) const;
};

namespace {

void add_poll(std::vector<pollfd>& fds, int fd, short events) {
    fds.push_back({fd, events, 0});
}

}  // namespace

void SshForwarder::Impl::accept_all(Listener& l) {
    for (;;) {
        int fd = ::accept4(l.fd.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            return;
        }
        int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        Conn c;
        c.fd.reset(fd);
        c.address = l.address;
        c.port = l.port;
        conns.push_back(std::move(c));
        std::lock_guard lock(mutex);
        ++stats.connections;
    }
}

bool SshForwarder::Impl::done(const Conn& c) const {
    if (!c.channel) {
        return true;
    }
    if (!c.open) {
        return false;
    }
    const bool remote_gone =
        ssh_channel_is_eof(c.channel.get()) != 0 || ssh_channel_is_closed(c.channel.get()) != 0;
    return (remote_gone && c.to_local.empty()) || (c.local_eof && c.to_remote.empty());
}

void SshForwarder::Impl::step(Conn& c, short revents, ssh_session s, std::vector<char>& buf) {
    if (!c.channel) {
        c.channel.reset(ssh_channel_new(s));
        c.open_deadline = steady::now() + open_timeout;
        if (!c.channel) {
            return;
        }
    }
    if (!c.open) {
        int rc =
            ssh_channel_open_forward(c.channel.get(), c.address.c_str(), c.port, "127.0.0.1", 0);
        if (rc == SSH_OK) {
            c.open = true;
        } else if (rc == SSH_ERROR || steady::now() >= c.open_deadline) {
            log.debug("ssh forwarder: " + target.name + " cannot reach " + c.address + ":" +
                      std::to_string(c.port) + ": " +
                      (rc == SSH_ERROR ? ssh_get_error(s) : std::string("no answer in time")));
            c.channel.reset();
            std::lock_guard lock(mutex);
            ++stats.failed_channels;
            return;
        } else {
            return;  // SSH_AGAIN: still opening
        }
    }
    long long up = 0, down = 0;
    if ((revents & POLLIN) != 0 && !c.local_eof) {
        ssize_t n = ::read(c.fd.get(), buf.data(), buf.size());
        if (n > 0) {
            c.to_remote.append(buf.data(), static_cast<std::size_t>(n));
        } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
            c.local_eof = true;
        }
    }
    if ((revents & (POLLHUP | POLLERR)) != 0 && (revents & POLLIN) == 0) {
        c.local_eof = true;
        c.to_local.clear();
    }
    if (!c.to_remote.empty()) {
        int n = ssh_channel_write(c.channel.get(), c.to_remote.data(),
                                  static_cast<uint32_t>(std::min(c.to_remote.size(), k_chunk)));
        if (n == SSH_ERROR) {
            c.channel.reset();
            return;
        }
        if (n > 0) {
            c.to_remote.erase(0, static_cast<std::size_t>(n));
            up += n;
        }
    }
    if (c.local_eof && c.to_remote.empty()) {
        ssh_channel_send_eof(c.channel.get());
    }
    while (c.to_local.size() < k_max_buffered) {
        int n = ssh_channel_read_nonblocking(c.channel.get(), buf.data(),
                                             static_cast<uint32_t>(buf.size()), 0);
        if (n <= 0) {
            if (n == SSH_ERROR) {
                c.channel.reset();
                return;
            }
            break;
        }
        c.to_local.append(buf.data(), static_cast<std::size_t>(n));
        down += n;
    }
    while (!c.to_local.empty()) {
        ssize_t n = ::send(c.fd.get(), c.to_local.data(), c.to_local.size(), MSG_NOSIGNAL);
        if (n > 0) {
            c.to_local.erase(0, static_cast<std::size_t>(n));
        } else {
            if (n < 0 && errno != EAGAIN && errno != EINTR) {
                c.to_local.clear();  // the client went away
                c.local_eof = true;
            }
            break;
        }
    }
    if (up != 0 || down != 0) {
        std::lock_guard lock(mutex);
        stats.bytes_to_remote += up;
        stats.bytes_from_remote += down;
    }
}

void SshForwarder::Impl::recover(steady::time_point& next_attempt) {
    if (conns.empty()) {
        return;
    }
    if (steady::now() >= next_attempt) {
        try {
            SessionPtr fresh = open_ssh_session(target, log);
            ssh_set_blocking(fresh.get(), 0);
            session = std::move(fresh);
            log.debug("ssh forwarder: reconnected to " + describe_target(target));
            return;
        } catch (const Error& e) {
            log.debug(std::string("ssh forwarder: ") + e.what());
            next_attempt = steady::now() + std::chrono::seconds(1);
        }
    }
    conns.clear();
}

void SshForwarder::Impl::run() {
    std::vector<char> buf(k_chunk);
    std::vector<pollfd> fds;
    steady::time_point next_attempt{};
    while (!stop) {
        // Only this thread changes the session once it runs.
        ssh_session s = session.get();
        bool busy = false;
        fds.clear();
        add_poll(fds, wake_read.get(), POLLIN);
        if (s != nullptr) {
            add_poll(fds, ssh_get_fd(s), POLLIN);
        }
        const std::size_t first_listener = fds.size();
        for (auto& l : listeners) {
            add_poll(fds, l.fd.get(), POLLIN);
        }
        const std::size_t first_conn = fds.size();
        for (auto& c : conns) {
            short ev = 0;
            if (c.open && !c.local_eof && c.to_remote.size() < k_max_buffered) {
                ev |= POLLIN;
            }
            if (!c.to_local.empty()) {
                ev |= POLLOUT;
            }
            busy = busy || !c.open || !c.to_remote.empty();
            add_poll(fds, c.fd.get(), ev);
        }
        // Opening channels and writes held back by the channel's window are retried soon;
        // everything else wakes poll() itself.
        ::poll(fds.data(), fds.size(), busy ? 2 : k_idle_poll_ms);
        if ((fds[0].revents & POLLIN) != 0) {
            char drain[64];
            while (::read(wake_read.get(), drain, sizeof drain) > 0) {
            }
        }
        {
            std::lock_guard lock(mutex);
            for (auto& l : new_listeners) {
                listeners.push_back(std::move(l));
            }
            new_listeners.clear();
            for (auto& c : new_conns) {
                conns.push_back(std::move(c));
            }
            new_conns.clear();
        }
        for (std::size_t i = 0; i + first_listener < first_conn; ++i) {
            if ((fds[first_listener + i].revents & POLLIN) != 0) {
                accept_all(listeners[i]);
            }
        }
        if (s == nullptr) {
            recover(next_attempt);
            continue;
        }
        std::size_t i = first_conn;
        for (auto it = conns.begin(); it != conns.end(); ++i) {
            // Connections that arrived in this round have no pollfd yet: try them as readable.
            short rev = i < fds.size() ? fds[i].revents : POLLIN;
            step(*it, rev, s, buf);
            if (done(*it)) {
                it = conns.erase(it);  // closes the socket and frees the channel
            } else {
                ++it;
            }
        }
        if (ssh_is_connected(s) == 0) {
            log.debug("ssh forwarder: the session to " + target.name + " was lost");
            conns.clear();  // channels go before their session
            session.reset();
        }
    }
    // Channels belong to the session: free them before the session goes.
    conns.clear();
}

SshForwarder::SshForwarder(SshTarget vantage, Logger& log, std::chrono::milliseconds open_timeout)
    : m_impl(std::make_unique<Impl>(std::move(vantage), log, open_timeout)) {}

SshForwarder::~SshForwarder() {
    m_impl->stop = true;
    m_impl->wake();
    if (m_impl->pump.joinable()) {
        m_impl->pump.join();
    }
    m_impl->conns.clear();
    m_impl->new_conns.clear();
}

const std::string& SshForwarder::host_name() const {
    return m_impl->target.name;
}
const std::string& SshForwarder::address() const {
    return m_impl->target.address;
}

void SshForwarder::connect() {
    std::lock_guard lock(m_impl->mutex);
    m_impl->ensure_session();
}

int SshForwarder::local_port(const std::string& address, int port) {
    std::lock_guard lock(m_impl->mutex);
    m_impl->ensure_session();
    auto key = std::make_pair(address, port);
    if (auto it = m_impl->ports.find(key); it != m_impl->ports.end()) {
        return it->second;
    }
    Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = 0;
    socklen_t len = sizeof sa;
    if (fd.get() < 0 || ::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
        ::listen(fd.get(), 128) != 0 ||
        ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
        throw Error(ExitCode::internal,
                    std::string("cannot listen on 127.0.0.1 for a forwarded port: ") +
                        std::strerror(errno));
    }
    const int local = ntohs(sa.sin_port);
    m_impl->ports[key] = local;
    m_impl->new_listeners.push_back(Listener{std::move(fd), address, port});
    m_impl->wake();
    m_impl->log.debug("ssh forwarder: 127.0.0.1:" + std::to_string(local) + " -> " + address + ":" +
                      std::to_string(port) + " via " + m_impl->target.name);
    return local;
}

int SshForwarder::open_socket(const std::string& address, int port) {
    std::lock_guard lock(m_impl->mutex);
    m_impl->ensure_session();
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        throw Error(ExitCode::internal, std::string("socketpair: ") + std::strerror(errno));
    }
    set_nonblocking(sv[0]);
    Conn c;
    c.fd.reset(sv[0]);
    c.address = address;
    c.port = port;
    m_impl->new_conns.push_back(std::move(c));
    ++m_impl->stats.connections;
    m_impl->wake();
    return sv[1];
}

ForwarderStats SshForwarder::stats() const {
    std::lock_guard lock(m_impl->mutex);
    return m_impl->stats;
}

}  // namespace pgdr::net
