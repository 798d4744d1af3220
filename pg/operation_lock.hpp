// The cluster-wide operation lock (issue 13): one key in the cluster's etcd,
// /pgdr/<cluster>/lock, attached to a lease (60 s TTL, renewed every 15 s by a background
// thread while the command runs). Taken by bootstrap (once etcd is up), drill,
// switchover/failover/reinit and `runbook run`, from any operator machine: a second command is
// refused, naming the holder. The value is JSON: holder (user@machine), host, command, pid,
// started_at, lease.
//
//   take     lease grant TTL; txn: if create_revision(key) == 0 put key value --lease, else get
//            key (the holder, for the refusal)
//   join     a child pgdr of a runbook (PGDR_LOCK_LEASE holds the parent's lease id): the key
//            names that lease, so the child goes on under its parent's lock; it neither renews
//            nor releases it
//   renew    lease keep-alive --once, every renew_every
//   release  lease revoke (etcd deletes the key with it); a holder killed with -9 leaves the
//            key until its lease expires (at most ttl)
//   break    --break-lock CLUSTER: the holder's key deleted and its lease revoked, then take
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "pg/etcdctl.hpp"

namespace pgdr::pg {

struct LockHolder {
    std::string holder;   // user@machine
    std::string host;     // the machine pgdr runs on
    std::string command;  // the command line
    long pid = 0;
    std::string started_at;  // UTC, ISO 8601
    std::string lease;       // hex, as etcdctl prints it
};

// The environment variable a lock holder sets for its child pgdr commands.
inline constexpr const char* k_lock_lease_env = "PGDR_LOCK_LEASE";

std::string operation_lock_key(const std::string& cluster);
std::string render_lock_value(const LockHolder& holder);
// std::nullopt for a value that is not pgdr's JSON.
std::optional<LockHolder> parse_lock_value(const std::string& text);
// "alice@bastion: `pgdr drill --kill-primary` (pid 123 on bastion, since 2026-12-05T06:00:00Z)"
std::string describe(const LockHolder& holder);

// The etcdctl txn script (stdin of `etcdctl txn`) that puts `value` under `key` with the lease
// when the key does not exist, and reads the key otherwise.
std::string lock_txn(const std::string& key, const std::string& lease, const std::string& value);
// "lease 694d7c1a8b2c4e0f granted with TTL(60s)" -> "694d7c1a8b2c4e0f"; "" when not that.
std::string parse_lease_grant(const std::string& out);

struct LockOptions {
    std::chrono::seconds ttl{60};
    std::chrono::milliseconds renew_every{std::chrono::seconds(15)};
    std::string join_lease;   // the parent's lease (PGDR_LOCK_LEASE); "" = none
    bool break_lock = false;  // --break-lock CLUSTER, the name already checked
};

class OperationLock {
  public:
    // Takes (or joins, or breaks and takes) the lock. Throws pgdr::Error: verification_failed
    // naming the holder and the override when another command holds it; unreachable when etcd
    // does not answer. `me.lease` is filled in. `warn` gets a failed renewal and a broken lock.
    OperationLock(EtcdCtl& etcd, const std::string& cluster, LockHolder me, LockOptions options,
                  std::function<void(const std::string&)> warn);
    // Stops the renewal and revokes the lease (never for a joined lock); never throws.
    ~OperationLock();
    OperationLock(const OperationLock&) = delete;
    OperationLock& operator=(const OperationLock&) = delete;

    const std::string& lease() const { return m_me.lease; }
    bool joined() const { return m_joined; }

  private:
    std::optional<LockHolder> current();
    bool try_join();
    void break_holder();
    void take();
    void renew_loop();
    void warn(const std::string& message) const;

    EtcdCtl& m_etcd;
    std::string m_cluster;
    std::string m_key;
    LockHolder m_me;
    LockOptions m_options;
    std::function<void(const std::string&)> m_warn;
    bool m_joined = false;
    std::mutex m_mutex;
    std::condition_variable m_wake;
    bool m_stop = false;
    std::thread m_renewer;
};

}  // namespace pgdr::pg
