#include "pg/operation_lock.hpp"

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/strings.hpp"

namespace pgdr::pg {

namespace {

// A double-quoted argument as etcdctl's txn reader unquotes it (Go's strconv.Unquote).
std::string go_quoted(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
        }
        if (c != '\n' && c != '\r') {
            out += c;
        }
    }
    return out + "\"";
}

std::string str(const nlohmann::json& j, const char* key) {
    return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

}  // namespace

std::string operation_lock_key(const std::string& cluster) {
    return "/pgdr/" + cluster + "/lock";
}

std::string render_lock_value(const LockHolder& h) {
    return nlohmann::json{{"holder", h.holder},         {"host", h.host},
                          {"command", h.command},       {"pid", h.pid},
                          {"started_at", h.started_at}, {"lease", h.lease}}
        .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::optional<LockHolder> parse_lock_value(const std::string& text) {
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception&) {
        return std::nullopt;
    }
    if (!j.is_object()) {
        return std::nullopt;
    }
    LockHolder h;
    h.holder = str(j, "holder");
    h.host = str(j, "host");
    h.command = str(j, "command");
    h.pid = j.contains("pid") && j["pid"].is_number_integer() ? j["pid"].get<long>() : 0;
    h.started_at = str(j, "started_at");
    h.lease = str(j, "lease");
    return h;
}

std::string describe(const LockHolder& h) {
    return (h.holder.empty() ? "?" : h.holder) + ": `" + (h.command.empty() ? "?" : h.command) +
           "` (pid " + std::to_string(h.pid) + " on " + (h.host.empty() ? "?" : h.host) +
           ", since " + (h.started_at.empty() ? "?" : h.started_at) + ")";
}

std::string lock_txn(const std::string& key, const std::string& lease, const std::string& value) {
    return "create(" + go_quoted(key) + ") = \"0\"\n\nput --lease=" + lease + " " + key + " " +
           go_quoted(value) + "\n\nget " + key + "\n\n";
}

std::string parse_lease_grant(const std::string& out) {
    auto words = split(first_line(out), ' ');
    if (words.size() >= 3 && words[0] == "lease" && words[2] == "granted") {
        return words[1];
    }
    return {};
}

OperationLock::OperationLock(EtcdCtl& etcd, const std::string& cluster, LockHolder me,
                             LockOptions options, std::function<void(const std::string&)> warn)
    : m_etcd(etcd),
      m_cluster(cluster),
      m_key(operation_lock_key(cluster)),
      m_me(std::move(me)),
      m_options(std::move(options)),
      m_warn(std::move(warn)) {
    if (try_join()) {
        return;
    }
    if (m_options.break_lock) {
        break_holder();
    }
    take();
    m_renewer = std::thread([this] { renew_loop(); });
}

OperationLock::~OperationLock() {
    if (m_joined) {
        return;
    }
    {
        std::lock_guard lock(m_mutex);
        m_stop = true;
    }
    m_wake.notify_all();
    if (m_renewer.joinable()) {
        m_renewer.join();
    }
    try {
        m_etcd.run({"lease", "revoke", m_me.lease});
    } catch (const std::exception&) {
        // It expires within the TTL.
    }
}

void OperationLock::warn(const std::string& message) const {
    if (m_warn) {
        m_warn(message);
    }
}

std::optional<LockHolder> OperationLock::current() {
    auto r = m_etcd.run({"get", "--print-value-only", m_key});
    if (!r.ok()) {
        throw Error(ExitCode::unreachable,
                    "cannot read the cluster lock " + m_key + ": " + first_line(r.err));
    }
    const auto value = trim(r.out);
    if (value.empty()) {
        return std::nullopt;
    }
    auto h = parse_lock_value(value);
    return h ? h : std::optional<LockHolder>(LockHolder{"?", "?", value, 0, "", ""});
}

bool OperationLock::try_join() {
    if (m_options.join_lease.empty()) {
        return false;
    }
    auto holder = current();
    if (!holder || holder->lease != m_options.join_lease) {
        return false;  // the parent's lock is gone: take one of our own
    }
    m_me.lease = holder->lease;
    m_joined = true;
    return true;
}

void OperationLock::break_holder() {
    auto holder = current();
    if (!holder) {
        return;
    }
    warn("--break-lock: removing the cluster lock of " + describe(*holder));
    auto del = m_etcd.run({"del", m_key});
    if (!del.ok()) {
        throw Error(ExitCode::unreachable, "cannot delete " + m_key + ": " + first_line(del.err));
    }
    if (!holder->lease.empty()) {
        m_etcd.run({"lease", "revoke", holder->lease});  // its renewals fail from now on
    }
}

void OperationLock::take() {
    auto grant = m_etcd.run({"lease", "grant", std::to_string(m_options.ttl.count())});
    m_me.lease = parse_lease_grant(grant.out);
    if (!grant.ok() || m_me.lease.empty()) {
        throw Error(ExitCode::unreachable,
                    "etcd granted no lease for the cluster lock: " +
                        first_line(grant.err.empty() ? grant.out : grant.err));
    }
    auto txn = m_etcd.run({"txn"}, lock_txn(m_key, m_me.lease, render_lock_value(m_me)));
    const auto out = lines(txn.out);
    if (txn.ok() && !out.empty() && out.front() == "SUCCESS") {
        return;
    }
    try {
        m_etcd.run({"lease", "revoke", m_me.lease});
    } catch (const Error&) {
        // It expires within the TTL.
    }
    if (!txn.ok() || out.empty() || out.front() != "FAILURE") {
        throw Error(ExitCode::unreachable, "cannot take the cluster lock " + m_key + ": " +
                                               first_line(txn.err.empty() ? txn.out : txn.err));
    }
    std::string value;
    for (std::size_t i = 0; i + 1 < out.size(); ++i) {
        if (out[i] == m_key) {
            value = out[i + 1];
        }
    }
    auto holder = parse_lock_value(value);
    throw Error(ExitCode::verification_failed,
                "cluster " + m_cluster + " is locked by " +
                    (holder ? describe(*holder) : "an unknown holder (" + value + ")") +
                    "; one bootstrap, drill, switchover, failover, reinit or runbook at a time",
                "wait for it to finish (the lock expires " + std::to_string(m_options.ttl.count()) +
                    " s after its holder stops renewing it); if that command is gone for good, "
                    "pass --break-lock " +
                    m_cluster);
}

void OperationLock::renew_loop() {
    std::unique_lock lock(m_mutex);
    while (!m_wake.wait_for(lock, m_options.renew_every, [this] { return m_stop; })) {
        lock.unlock();
        try {
            auto r = m_etcd.run({"lease", "keep-alive", "--once", m_me.lease});
            if (!r.ok()) {
                warn("cannot renew the cluster lock (lease " + m_me.lease +
                     "): " + first_line(r.err.empty() ? r.out : r.err));
            }
        } catch (const std::exception& e) {
            warn(std::string("cannot renew the cluster lock: ") + e.what());
        }
        lock.lock();
    }
}

}  // namespace pgdr::pg
