// The cluster-wide operation lock (issue 13 item 5) against a scripted etcd: the etcdctl
// commands pgdr runs over SSH on an etcd member, a second holder refused with the holder named
// and the override, a runbook child joining its parent's lease, --break-lock, renewal and
// release, and a member that does not answer skipped.
#include "pg/operation_lock.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "core/error.hpp"
#include "core/strings.hpp"
#include "fakes/recording_transport.hpp"

using namespace pgdr;
using pgdr::testing::RecordingTransport;

namespace {

// A tiny etcd: keys with a lease, leases granted, kept alive and revoked. It answers the
// etcdctl argv pgdr::pg::etcdctl_argv builds, on any host.
struct FakeEtcd {
    std::mutex mutex;
    std::map<std::string, std::pair<std::string, std::string>> keys;  // key -> value, lease
    std::map<std::string, int> leases;                                // id -> keep-alives
    int next_lease = 0x10;
    int revokes = 0;

    CommandResult handle(const std::vector<std::string>& argv, const RunOptions& o) {
        std::lock_guard lock(mutex);
        REQUIRE(argv.size() > 4);
        CHECK(argv[1] == "--endpoints=http://10.0.0.1:2379,http://10.0.0.2:2379");
        // The command after etcdctl's connection flags (endpoints, certificates, timeouts).
        auto first = std::find_if(argv.begin() + 1, argv.end(),
                                  [](const std::string& x) { return x.rfind("--", 0) != 0; });
        std::vector<std::string> a(first, argv.end());
        CommandResult r;
        r.exit_status = 0;
        if (a[0] == "lease" && a[1] == "grant") {
            char id[32];
            std::snprintf(id, sizeof id, "694d%012x", next_lease++);
            leases[id] = 0;
            r.out = "lease " + std::string(id) + " granted with TTL(" + a[2] + "s)\n";
        } else if (a[0] == "lease" && a[1] == "revoke") {
            ++revokes;
            leases.erase(a[2]);
            for (auto it = keys.begin(); it != keys.end();) {
                it = it->second.second == a[2] ? keys.erase(it) : std::next(it);
            }
            r.out = "lease " + a[2] + " revoked\n";
        } else if (a[0] == "lease" && a[1] == "keep-alive") {
            auto it = leases.find(a[3]);
            if (it == leases.end()) {
                r.exit_status = 1;
                r.err = "lease " + a[3] + " expired or revoked.\n";
            } else {
                ++it->second;
            }
        } else if (a[0] == "get") {
            auto it = keys.find(a.back());
            r.out = it == keys.end() ? "" : it->second.first + "\n";
        } else if (a[0] == "del") {
            r.out = std::to_string(keys.erase(a[1])) + "\n";
        } else if (a[0] == "txn") {
            r.out = txn(o.stdin_data.value_or(""));
        }
        return r;
    }

    // The script of pg::lock_txn: create(KEY) = "0", put --lease=L KEY "VALUE", get KEY.
    std::string txn(const std::string& script) {
        auto ls = lines(script);
        REQUIRE(ls.size() == 3);
        const auto key = ls[0].substr(8, ls[0].find("\")") - 8);
        if (keys.count(key) != 0) {
            return "FAILURE\n\n" + key + "\n" + keys[key].first + "\n";
        }
        auto words = split(ls[1], ' ');
        const auto lease = words[1].substr(8);
        auto quoted = ls[1].substr(ls[1].find(" \"") + 2);
        quoted.pop_back();
        std::string value;
        for (std::size_t i = 0; i < quoted.size(); ++i) {
            if (quoted[i] == '\\') {
                ++i;
            }
            value += quoted[i];
        }
        keys[key] = {value, lease};
        return "SUCCESS\n\nOK\n";
    }
};

struct Rig {
    std::shared_ptr<FakeEtcd> etcd = std::make_shared<FakeEtcd>();
    RecordingTransport pg1{"pg1"};
    RecordingTransport pg2{"pg2"};
    std::vector<std::string> warnings;

    Rig() {
        for (auto* t : {&pg1, &pg2}) {
            auto e = etcd;
            t->on({"etcdctl"}, [e](const std::vector<std::string>& argv, const RunOptions& o) {
                return e->handle(argv, o);
            });
        }
    }
    pg::EtcdCtl ctl() {
        return pg::EtcdCtl({"pg1", "pg2"}, "http://10.0.0.1:2379,http://10.0.0.2:2379",
                           {{"pg1", &pg1}, {"pg2", &pg2}});
    }
    std::unique_ptr<pg::OperationLock> take(pg::EtcdCtl& ctl, const std::string& command,
                                            pg::LockOptions o = {}) {
        pg::LockHolder me{"alice@bastion", "bastion", command, 4242, "2026-12-05T06:00:00Z", ""};
        return std::make_unique<pg::OperationLock>(
            ctl, "main", me, o, [this](const std::string& w) { warnings.push_back(w); });
    }
};

}  // namespace

TEST_CASE("operation lock: the value and the txn script", "[pg][lock]") {
    pg::LockHolder h{
        "bob@laptop",           "laptop",  "pgdr -i \"x y\".yaml drill --kill-primary", 7,
        "2026-12-05T06:00:00Z", "694d0001"};
    const auto value = pg::render_lock_value(h);
    auto back = pg::parse_lock_value(value);
    REQUIRE(back);
    CHECK(back->command == h.command);
    CHECK(back->lease == "694d0001");
    CHECK(pg::operation_lock_key("main") == "/pgdr/main/lock");
    CHECK(pg::lock_txn("/pgdr/main/lock", "694d0001", "{\"a\":\"b\\\\c\"}") ==
          "create(\"/pgdr/main/lock\") = \"0\"\n\nput --lease=694d0001 /pgdr/main/lock "
          "\"{\\\"a\\\":\\\"b\\\\\\\\c\\\"}\"\n\nget /pgdr/main/lock\n\n");
    CHECK(pg::parse_lease_grant("lease 694d7c1a8b2c4e0f granted with TTL(60s)\n") ==
          "694d7c1a8b2c4e0f");
    CHECK(pg::parse_lease_grant("Error: context deadline exceeded\n").empty());
    CHECK_FALSE(pg::parse_lock_value("not json"));
    CHECK(pg::etcdctl_argv("http://a:2379", {"get", "k"}) ==
          std::vector<std::string>{
              "etcdctl", "--endpoints=http://a:2379", "--cacert=" + pg::tls_paths().ca,
              "--cert=" + pg::tls_paths().etcd_cert, "--key=" + pg::tls_paths().etcd_key,
              "--dial-timeout=2s", "--command-timeout=3s", "get", "k"});
}

TEST_CASE("operation lock: a second command is refused, naming the holder and --break-lock",
          "[pg][lock]") {
    Rig rig;
    auto ctl = rig.ctl();
    auto first = rig.take(ctl, "pgdr drill --kill-primary");
    REQUIRE(rig.etcd->keys.count("/pgdr/main/lock") == 1);
    CHECK(pg::parse_lock_value(rig.etcd->keys["/pgdr/main/lock"].first)->lease == first->lease());
    try {
        rig.take(ctl, "pgdr switchover --yes");
        FAIL("a second holder took the lock");
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::verification_failed);
        CHECK_THAT(e.what(), Catch::Contains("cluster main is locked by alice@bastion: "
                                             "`pgdr drill --kill-primary` (pid 4242 on bastion"));
        CHECK_THAT(e.hint(), Catch::Contains("--break-lock main"));
    }
    // The refused command gave its own lease back; the holder's key is untouched.
    CHECK(rig.etcd->leases.size() == 1);
    first.reset();
    CHECK(rig.etcd->keys.empty());  // released: the lease revoked with its key
    CHECK(rig.etcd->leases.empty());
    auto next = rig.take(ctl, "pgdr switchover --yes");
    CHECK(rig.etcd->keys.count("/pgdr/main/lock") == 1);
}

TEST_CASE("operation lock: a runbook's child joins its parent's lease", "[pg][lock]") {
    Rig rig;
    auto ctl = rig.ctl();
    auto parent = rig.take(ctl, "pgdr runbook run r.yaml");
    pg::LockOptions child_options;
    child_options.join_lease = parent->lease();
    auto child = rig.take(ctl, "pgdr drill --kill-primary", child_options);
    CHECK(child->joined());
    child.reset();  // a joined child releases nothing
    CHECK(rig.etcd->keys.count("/pgdr/main/lock") == 1);
    // A stale lease id (the parent gone, another holder now) does not join.
    pg::LockOptions stale;
    stale.join_lease = "694d000000000001";
    CHECK_THROWS_AS(rig.take(ctl, "pgdr drill --kill-primary", stale), Error);
}

TEST_CASE("operation lock: --break-lock removes the holder's key and lease", "[pg][lock]") {
    Rig rig;
    auto ctl = rig.ctl();
    auto stuck = rig.take(ctl, "pgdr drill --kill-primary");
    const auto stuck_lease = stuck->lease();
    pg::LockOptions o;
    o.break_lock = true;
    auto mine = rig.take(ctl, "pgdr drill --kill-primary", o);
    CHECK(mine->lease() != stuck_lease);
    CHECK(rig.etcd->leases.count(stuck_lease) == 0);
    REQUIRE(rig.warnings.size() == 1);
    CHECK_THAT(rig.warnings[0], Catch::Contains("removing the cluster lock of alice@bastion"));
}

TEST_CASE("operation lock: renewed while held; a lost lease is reported", "[pg][lock]") {
    Rig rig;
    auto ctl = rig.ctl();
    pg::LockOptions o;
    o.renew_every = std::chrono::milliseconds(20);
    auto lock = rig.take(ctl, "pgdr drill --kill-primary", o);
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    {
        std::lock_guard l(rig.etcd->mutex);
        CHECK(rig.etcd->leases[lock->lease()] >= 2);
        rig.etcd->leases.erase(lock->lease());  // expired (the operator machine slept)
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    lock.reset();
    REQUIRE_FALSE(rig.warnings.empty());
    CHECK_THAT(rig.warnings.front(), Catch::Contains("cannot renew the cluster lock"));
}

TEST_CASE("operation lock: a member that does not answer is skipped; none answering is an error",
          "[pg][lock]") {
    Rig rig;
    rig.pg1.set_unreachable(true);
    auto ctl = rig.ctl();
    auto lock = rig.take(ctl, "pgdr switchover --yes");
    CHECK(rig.pg1.calls().empty());
    CHECK_FALSE(rig.pg2.calls().empty());
    lock.reset();

    rig.pg2.on({"etcdctl"}, 1, "", "Error: context deadline exceeded\n");
    RecordingTransport pg2{"pg2"};
    pg2.on({"etcdctl"}, 1, "", "Error: context deadline exceeded\n");
    pg::EtcdCtl dead({"pg1", "pg2"}, "http://10.0.0.1:2379,http://10.0.0.2:2379",
                     {{"pg1", &rig.pg1}, {"pg2", &pg2}});
    try {
        rig.take(dead, "pgdr switchover --yes");
        FAIL("took a lock without etcd");
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::unreachable);
        CHECK_THAT(e.what(), Catch::Contains("pg2: Error: context deadline exceeded"));
    }
}

// Hosts reached as a non-root user (OVH images log in as `debian`): the client key is 0600
// etcd:etcd, so etcdctl must run through sudo or every call fails with "permission denied".
TEST_CASE("operation lock: etcdctl runs as root (the client key is not readable otherwise)",
          "[pg][lock]") {
    Rig rig;
    auto ctl = rig.ctl();
    auto lock = rig.take(ctl, "pgdr switchover --yes");
    const auto calls = rig.pg1.calls();
    REQUIRE_FALSE(calls.empty());
    for (const auto& c : calls) {
        INFO(c.argv.front());
        CHECK(c.sudo);
    }
}
