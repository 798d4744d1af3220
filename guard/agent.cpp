#include "guard/agent.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <future>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "guard/dcs.hpp"

namespace pgdr::guard {

namespace {

using nlohmann::json;
using std::chrono::milliseconds;

long long epoch_ms(TimePoint t) {
    return std::chrono::duration_cast<milliseconds>(t.time_since_epoch()).count();
}

TimePoint from_epoch_ms(long long ms) {
    return TimePoint(milliseconds(ms));
}

constexpr std::chrono::seconds k_agent_lease_ttl{5};

}  // namespace

namespace {

// A connected socket (fd >= 0, Reach::ok), or the classified failure (fd -1).
std::pair<Reach, int> tcp_connect(const std::string& address, int port, milliseconds timeout) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<std::uint16_t>(port));
    if (inet_pton(AF_INET, address.c_str(), &sa.sin_addr) != 1) {
        throw std::invalid_argument("not an IPv4 address: " + address);
    }
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        throw std::runtime_error("socket: " + std::string(std::strerror(errno)));
    }
    auto failed = [fd](Reach r) {
        ::close(fd);
        return std::pair{r, -1};
    };
    int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa);
    if (rc == 0) {
        return std::pair{Reach::ok, fd};
    }
    if (errno == ECONNREFUSED) {
        return failed(Reach::refused);
    }
    if (errno != EINPROGRESS) {
        return failed(Reach::silent);  // unreachable network or host: nothing answered
    }
    pollfd p{fd, POLLOUT, 0};
    rc = ::poll(&p, 1, static_cast<int>(timeout.count()));
    if (rc <= 0) {
        return failed(Reach::silent);
    }
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err == 0) {
        return std::pair{Reach::ok, fd};
    }
    return failed(err == ECONNREFUSED ? Reach::refused : Reach::silent);
}

// SIGPIPE blocked in this thread while OpenSSL writes to a socket the server may have closed
// (its close_notify or alert crossing ours), and a SIGPIPE that this caused consumed before the
// mask is restored, as libpq does: a daemon must not die of a probe.
class SigpipeBlock {
  public:
    SigpipeBlock() {
        sigset_t pipe;
        sigemptyset(&pipe);
        sigaddset(&pipe, SIGPIPE);
        pthread_sigmask(SIG_BLOCK, &pipe, &m_old);
        sigset_t pending;
        sigpending(&pending);
        m_was_pending = sigismember(&pending, SIGPIPE) == 1;
    }
    ~SigpipeBlock() {
        if (!m_was_pending) {
            sigset_t pipe;
            sigemptyset(&pipe);
            sigaddset(&pipe, SIGPIPE);
            const timespec zero{0, 0};
            while (sigtimedwait(&pipe, nullptr, &zero) == SIGPIPE) {
            }
        }
        pthread_sigmask(SIG_SETMASK, &m_old, nullptr);
    }
    SigpipeBlock(const SigpipeBlock&) = delete;
    SigpipeBlock& operator=(const SigpipeBlock&) = delete;

  private:
    sigset_t m_old{};
    bool m_was_pending = false;
};

}  // namespace

Reach tcp_reach(const std::string& address, int port, milliseconds timeout) {
    const auto [reach, fd] = tcp_connect(address, port, timeout);
    if (fd >= 0) {
        ::close(fd);
    }
    return reach;
}

TlsProbe::TlsProbe(const std::string& cert_file, const std::string& key_file)
    : m_ctx(SSL_CTX_new(TLS_client_method())) {
    auto* ctx = static_cast<SSL_CTX*>(m_ctx);
    if (ctx == nullptr) {
        throw std::runtime_error("cannot make a TLS context");
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);  // liveness only: no data is exchanged
    if (!cert_file.empty() &&
        (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1 ||
         SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1)) {
        SSL_CTX_free(ctx);
        throw std::runtime_error("cannot load the client certificate " + cert_file);
    }
}

TlsProbe::~TlsProbe() {
    SSL_CTX_free(static_cast<SSL_CTX*>(m_ctx));
}

Reach TlsProbe::reach(const std::string& address, int port, milliseconds timeout) const {
    const auto started = std::chrono::steady_clock::now();
    const auto [reach, fd] = tcp_connect(address, port, timeout);
    if (fd < 0) {
        return reach;
    }
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    // The handshake in blocking mode, bounded by what is left of the timeout.
    const auto left =
        std::max(milliseconds(50), timeout - std::chrono::duration_cast<milliseconds>(
                                                 std::chrono::steady_clock::now() - started));
    timeval tv{static_cast<time_t>(left.count() / 1000),
               static_cast<suseconds_t>((left.count() % 1000) * 1000)};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    const int flags = ::fcntl(fd, F_GETFL);
    ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    const SigpipeBlock no_sigpipe;
    SSL* ssl = SSL_new(static_cast<SSL_CTX*>(m_ctx));
    if (ssl != nullptr) {
        SSL_set_fd(ssl, fd);
        if (SSL_connect(ssl) == 1) {
            SSL_shutdown(ssl);  // close_notify: the server reads a clean end, not an error
        }
        SSL_free(ssl);
    }
    ERR_clear_error();
    return Reach::ok;
}

std::string iso_ms(TimePoint t) {
    const long long ms = epoch_ms(t);
    const std::time_t secs = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[40];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    char out[48];
    std::snprintf(out, sizeof out, "%s.%03lldZ", buf, ms % 1000);
    return out;
}

std::string observation_json(const Observation& o) {
    return json{{"agent", o.agent},
                {"leader", o.leader},
                {"last_ok_ms", epoch_ms(o.last_ok)},
                {"at_ms", epoch_ms(o.at)},
                {"unreachable", o.unreachable},
                {"machine_answers", o.machine_answers}}
        .dump();
}

Observation observation_from_json(const std::string& text) {
    const json j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
        throw std::invalid_argument("an observation that is not a JSON object");
    }
    try {
        Observation o;
        o.agent = j.at("agent").get<std::string>();
        o.leader = j.at("leader").get<std::string>();
        o.last_ok = from_epoch_ms(j.at("last_ok_ms").get<long long>());
        o.at = from_epoch_ms(j.at("at_ms").get<long long>());
        o.unreachable = j.at("unreachable").get<bool>();
        o.machine_answers = j.value("machine_answers", false);
        return o;
    } catch (const json::exception& e) {
        throw std::invalid_argument(std::string("an observation without its fields: ") + e.what());
    }
}

std::string failover_record(const std::string& agent, const Decision& d) {
    json phases = json::array();
    for (const auto& [name, at] : d.phases) {
        phases.push_back({{"name", name}, {"at_ms", epoch_ms(at)}, {"at", iso_ms(at)}});
    }
    return json{{"agent", agent},     {"action", to_string(d.action)},
                {"leader", d.leader}, {"candidate", d.candidate},
                {"reason", d.reason}, {"at_ms", epoch_ms(d.at)},
                {"phases", phases}}
        .dump();
}

Agent::Agent(const AgentConfig& config, AgentWorld world)
    : m_config(config), m_world(world), m_guard(config.agent, config.settings, seams()) {}

GuardSeams Agent::seams() {
    GuardSeams s;
    const std::string dcs = m_config.dcs_prefix;
    const std::string own = m_config.guard_prefix;
    s.probe = [this] { return probe_leader(); };
    s.publish = [this, own](const Observation& o) {
        m_world.etcd.put(own + "agents/" + m_config.agent, observation_json(o), m_lease);
    };
    s.observations = [this, own] {
        std::vector<Observation> out;
        for (const auto& kv : m_world.etcd.get_prefix(own + "agents/")) {
            try {
                out.push_back(observation_from_json(kv.value));
            } catch (const std::invalid_argument& e) {
                m_world.out << iso_ms(m_world.now()) << " ignoring " << kv.key << ": " << e.what()
                            << std::endl;
            }
        }
        return out;
    };
    s.try_lock = [this, own] {
        const auto ttl =
            std::chrono::duration_cast<std::chrono::seconds>(m_config.settings.fence_timeout) +
            std::chrono::seconds(10);
        m_lock_lease = m_world.etcd.grant(ttl);
        if (m_world.etcd.put_if_absent(own + "fence-lock", m_config.agent, m_lock_lease)) {
            return true;
        }
        m_world.etcd.revoke(m_lock_lease);
        m_lock_lease = 0;
        return false;
    };
    s.unlock = [this, own] {
        if (m_lock_lease != 0) {
            const auto lease = m_lock_lease;
            m_lock_lease = 0;
            m_world.etcd.revoke(lease);  // deletes the lock with it
        }
    };
    s.candidate = [this, dcs](const std::string& old_leader) -> std::optional<std::string> {
        const DcsView view = parse_dcs(m_world.etcd.get_prefix(dcs), dcs);
        if (view.leader != old_leader) {
            m_world.out << iso_ms(m_world.now()) << " the leader changed to '" << view.leader
                        << "' meanwhile: no candidate" << std::endl;
            return std::nullopt;
        }
        std::string why;
        auto c = failover_candidate(view, why);
        m_world.out << iso_ms(m_world.now()) << " candidate: " << why << std::endl;
        return c;
    };
    s.machine_state = [this](const std::string& leader) { return m_world.provider.state(leader); };
    s.fence = [this](const std::string& leader, milliseconds) { return fence_machine(leader); };
    s.before_fence = [this](const std::string& leader) { hand_off_etcd_leadership(leader); };
    s.pause = [this](milliseconds d) { m_world.sleep(d); };
    s.write_failover = [this, dcs](const std::string& candidate) {
        m_world.etcd.put(dcs + "failover", failover_value(candidate));
    };
    s.revoke_leader_lease = [this, dcs](const std::string& old_leader) {
        const auto key = m_world.etcd.get(dcs + "leader");
        if (!key || key->value != old_leader || key->lease == 0) {
            return;  // gone already (expired), or another member leads: nothing to release
        }
        try {
            m_world.etcd.revoke(key->lease);
        } catch (const EtcdError& e) {
            if (std::string(e.what()).find("not found") == std::string::npos) {
                throw;
            }
        }
    };
    return s;
}

Probe Agent::probe_leader() {
    const std::string& dcs = m_config.dcs_prefix;
    const DcsView view = parse_dcs(m_world.etcd.get_prefix(dcs), dcs);
    Probe p;
    p.leader = view.leader;
    p.paused = view.paused;
    if (view.leader.empty() || view.paused) {
        return p;
    }
    for (const auto& m : m_config.members) {
        if (m.name == view.leader) {
            // Both ports at once: a silent machine costs one probe timeout, not two.
            auto rest = std::async(std::launch::async,
                                   [&] { return m_world.connect(m.address, m.rest_port); });
            p.postgres = m_world.connect(m.address, m.pg_port);
            p.patroni = rest.get();
            return p;
        }
    }
    throw std::runtime_error("the DCS names leader " + view.leader +
                             ", which is not a member of this guard's configuration");
}

void Agent::hand_off_etcd_leadership(const std::string& leader) {
    for (const auto& m : m_config.members) {
        if (m.name != leader) {
            continue;
        }
        try {
            m_world.out << iso_ms(m_world.now()) << " "
                        << m_world.etcd.hand_off_leadership(m.address) << std::endl;
        } catch (const std::exception& e) {
            m_world.out << iso_ms(m_world.now())
                        << " etcd's leadership not moved (its election after the fence may cost "
                           "1-2 s): "
                        << e.what() << std::endl;
        }
    }
}

FenceOutcome Agent::fence_machine(const std::string& leader) {
    for (const auto& m : m_config.members) {
        if (m.name == leader) {
            m_world.etcd.avoid(m.address);  // its etcd member goes with the machine
        }
    }
    try {
        if (m_config.fence_action == FenceAction::stop) {
            m_world.provider.kill_host(leader);  // returns once SHUTOFF
        } else {
            m_world.provider.reboot_host(leader);  // returns once acknowledged
        }
        return FenceOutcome::confirmed_off;
    } catch (const std::exception& e) {
        m_world.out << iso_ms(m_world.now()) << " fence of " << leader << " failed: " << e.what()
                    << std::endl;
        return FenceOutcome::api_error;
    }
}

void Agent::ensure_lease() {
    if (m_lease != 0) {
        try {
            if (m_world.etcd.keep_alive(m_lease)) {
                return;
            }
        } catch (const EtcdError&) {
            // the lease is unknown to etcd (expired while etcd was away): a new one below
        }
    }
    m_lease = m_world.etcd.grant(k_agent_lease_ttl);
}

void Agent::record(const Decision& d) {
    const std::string line = std::string(to_string(d.action)) + " " + d.leader + ": " + d.reason;
    if (line == m_last_logged && d.action != Action::failed_over) {
        return;
    }
    m_last_logged = line;
    m_world.out << iso_ms(d.at) << " " << line << std::endl;
    try {
        m_world.etcd.put(m_config.guard_prefix + "decisions/" + m_config.agent,
                         failover_record(m_config.agent, d));
        if (d.action == Action::failed_over) {
            m_world.etcd.put(
                m_config.guard_prefix + "failovers/" + iso_ms(d.at) + "-" + m_config.agent,
                failover_record(m_config.agent, d));
        }
    } catch (const std::exception& e) {
        m_world.out << iso_ms(m_world.now()) << " could not record the decision: " << e.what()
                    << std::endl;
    }
}

Decision Agent::step() {
    const TimePoint now = m_world.now();
    try {
        ensure_lease();
    } catch (const std::exception& e) {
        Decision d;
        d.action = Action::error;
        d.at = now;
        d.reason = std::string("nothing released: no etcd lease: ") + e.what();
        record(d);
        return d;
    }
    Decision d = m_guard.step(now, m_world.now);
    record(d);
    return d;
}

void Agent::run(const std::atomic<bool>& stop) {
    while (!stop.load()) {
        const TimePoint started = m_world.now();
        step();
        const auto spent = std::chrono::duration_cast<milliseconds>(m_world.now() - started);
        if (spent < m_config.settings.probe_interval) {
            m_world.sleep(m_config.settings.probe_interval - spent);
        }
    }
}

}  // namespace pgdr::guard
