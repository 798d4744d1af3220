// Preflight: the output parsers, the port probe script (run for real on loopback), and
// run_preflight's problem list through a small recording fake transport.
#include "core/preflight.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/local_transport.hpp"

using namespace pgdr;

TEST_CASE("preflight: parse_os_release", "[preflight]") {
    const std::string trixie =
        "PRETTY_NAME=\"Debian GNU/Linux 13 (trixie)\"\n"
        "NAME=\"Debian GNU/Linux\"\n"
        "VERSION_ID=\"13\"\n"
        "VERSION=\"13 (trixie)\"\n"
        "VERSION_CODENAME=trixie\n"
        "DEBIAN_VERSION_FULL=13.1\n"
        "ID=debian\n"
        "HOME_URL=\"https://www.debian.org/\"\n";
    std::string id, codename, pretty;
    parse_os_release(trixie, id, codename, pretty);
    CHECK(id == "debian");
    CHECK(codename == "trixie");
    CHECK(pretty == "Debian GNU/Linux 13 (trixie)");

    std::string id2, codename2, pretty2;
    parse_os_release(
        "# comment\n\nID='ubuntu'\nVERSION_CODENAME=\"noble\"\nPRETTY_NAME=Ubuntu\n"
        "garbage line\nID_LIKE=debian\n",
        id2, codename2, pretty2);
    CHECK(id2 == "ubuntu");
    CHECK(codename2 == "noble");
    CHECK(pretty2 == "Ubuntu");

    std::string id3, codename3, pretty3;
    parse_os_release("", id3, codename3, pretty3);
    CHECK(id3.empty());
    CHECK(codename3.empty());
    // A lone quote is not stripped as a pair.
    std::string id4, codename4, pretty4;
    parse_os_release("PRETTY_NAME=\"\nID=\"debian'\n", id4, codename4, pretty4);
    CHECK(pretty4 == "\"");
    CHECK(id4 == "\"debian'");
}

TEST_CASE("preflight: parse_df_available_mb", "[preflight]") {
    CHECK(parse_df_available_mb("Filesystem     1024-blocks    Used Available Capacity Mounted on\n"
                                "/dev/vda1         20480000 8000000  12345678      40% /\n") ==
          12056);
    CHECK(parse_df_available_mb("Filesystem 1024-blocks Used Available Capacity Mounted on\n"
                                "overlay 100 50 2047 50% /var/lib\n") == 1);
    CHECK(parse_df_available_mb("") == -1);
    CHECK(parse_df_available_mb("Filesystem 1024-blocks Used Available Capacity Mounted on\n") ==
          -1);
    CHECK(parse_df_available_mb("header\n/dev/sda1 x y z 1% /\n") == -1);
    CHECK(parse_df_available_mb("df: /var/lib: No such file or directory\n") == -1);
}

TEST_CASE("preflight: cluster_ports by service", "[preflight]") {
    Inventory inv;
    inv.patroni.rest_port = 8009;
    HostSpec db;
    db.name = "pg1";
    db.address = "198.18.0.11";
    db.services = {Service::postgres, Service::etcd};
    auto ports = cluster_ports(inv, db);
    REQUIRE(ports.size() == 4);
    CHECK(ports[0].port == 5432);
    CHECK(ports[0].service == "postgres");
    CHECK(ports[1].port == 8009);
    CHECK(ports[1].service == "patroni");
    CHECK(ports[2].port == 2379);
    CHECK(ports[3].port == 2380);
    CHECK(ports[3].address == "198.18.0.11");
    HostSpec lb;
    lb.name = "lb1";
    lb.services = {Service::haproxy};
    auto lb_ports = cluster_ports(inv, lb);
    REQUIRE(lb_ports.size() == 2);
    CHECK(lb_ports[0].service == "haproxy-write");
    CHECK(lb_ports[1].port == 5001);
}

TEST_CASE("preflight: parse_port_probe matches lines to targets", "[preflight]") {
    std::vector<PortTarget> targets{{"pg1", "10.0.0.1", 5432, "postgres"},
                                    {"pg1", "10.0.0.1", 8008, "patroni"},
                                    {"pg2", "10.0.0.2", 5432, "postgres"},
                                    {"pg3", "10.0.0.3", 2379, "etcd-client"}};
    auto results = parse_port_probe(
        "10.0.0.2 5432 closed\n"
        "garbage\n"
        "10.0.0.1 5432 open\n"
        "10.0.0.1 8008 filtered\n"
        "10.0.0.9 5432 open\n",
        targets);
    CHECK(results == std::vector<std::string>{"open", "filtered", "closed", "error"});
    CHECK(parse_port_probe("", targets) == std::vector<std::string>(4, "error"));
}

namespace {

// A TCP port on 127.0.0.1: listening while the object lives when `listen` is true, otherwise
// a port that was just free (connect gets a RST: closed).
class LoopbackPort {
  public:
    explicit LoopbackPort(bool listen) {
        m_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(m_fd >= 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = 0;
        REQUIRE(::bind(m_fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        socklen_t len = sizeof a;
        REQUIRE(::getsockname(m_fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
        m_port = ntohs(a.sin_port);
        if (listen) {
            REQUIRE(::listen(m_fd, 16) == 0);
        } else {
            ::close(m_fd);
            m_fd = -1;
        }
    }
    ~LoopbackPort() {
        if (m_fd >= 0) {
            ::close(m_fd);
        }
    }
    int port() const { return m_port; }

  private:
    int m_fd = -1;
    int m_port = 0;
};

}  // namespace

TEST_CASE("preflight: the port probe script, run for real on loopback", "[preflight][shell]") {
    LoopbackPort open_port(true);
    LoopbackPort closed_port(false);
    std::vector<PortTarget> targets{{"a", "127.0.0.1", open_port.port(), "postgres"},
                                    {"b", "127.0.0.1", closed_port.port(), "patroni"}};
    auto argv = port_probe_argv(targets, 2);
    REQUIRE(argv.size() == 7);
    CHECK(argv[0] == "bash");
    CHECK(argv[1] == "-c");
    CHECK(argv[4] == "2");
    CHECK(argv[5] == "127.0.0.1:" + std::to_string(open_port.port()));
    LocalTransport local;
    RunOptions opts;
    opts.timeout = std::chrono::seconds(20);
    auto res = local.run(argv, opts);
    INFO("stdout: " << res.out << "\nstderr: " << res.err);
    REQUIRE(res.ok());
    CHECK(parse_port_probe(res.out, targets) == std::vector<std::string>{"open", "closed"});
    // Target values reach the script as data: a hostile "address" is not executed.
    std::vector<PortTarget> hostile{{"x", "$(touch /tmp/pgdr-probe-pwned)", 1, "postgres"}};
    ::unlink("/tmp/pgdr-probe-pwned");
    auto res2 = local.run(port_probe_argv(hostile, 1), opts);
    CHECK(::access("/tmp/pgdr-probe-pwned", F_OK) != 0);
    CHECK(parse_port_probe(res2.out, hostile) == std::vector<std::string>{"error"});
}

namespace {

// How one fake host answers.
struct FakeHost {
    bool reachable = true;
    std::string os_release =
        "ID=debian\nVERSION_CODENAME=trixie\n"
        "PRETTY_NAME=\"Debian GNU/Linux 13 (trixie)\"\n";
    bool sudo_ok = true;
    long long free_kb = 50LL * 1024 * 1024;
    double clock_offset_s = 0;
    bool date_fails = false;
    std::map<int, std::string> port_results;  // port -> result; "open" when absent
};

// Records every command, per host, and answers like a Debian host would.
class RecordingFakeTransport final : public Transport {
  public:
    RecordingFakeTransport(std::string name, const FakeHost& host,
                           std::chrono::system_clock::time_point now, std::mutex& mutex,
                           std::map<std::string, std::vector<std::vector<std::string>>>& record)
        : m_name(std::move(name)), m_host(host), m_now(now), m_mutex(mutex), m_record(record) {}

    const std::string& host_name() const override { return m_name; }

    CommandResult run(const std::vector<std::string>& argv, const RunOptions&) override {
        {
            std::lock_guard lock(m_mutex);
            m_record[m_name].push_back(argv);
        }
        CommandResult r;
        r.exit_status = 0;
        if (argv == std::vector<std::string>{"cat", "/etc/os-release"}) {
            r.out = m_host.os_release;
        } else if (argv == std::vector<std::string>{"sudo", "-n", "true"}) {
            r.exit_status = m_host.sudo_ok ? 0 : 1;
        } else if (argv == std::vector<std::string>{"df", "-Pk", "/var/lib"}) {
            r.out = "Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/vda1 1 1 " +
                    std::to_string(m_host.free_kb) + " 1% /\n";
        } else if (argv == std::vector<std::string>{"date", "+%s.%N"}) {
            if (m_host.date_fails) {
                r.exit_status = 1;
            } else {
                double t = std::chrono::duration<double>(m_now.time_since_epoch()).count() +
                           m_host.clock_offset_s;
                char buf[64];
                std::snprintf(buf, sizeof buf, "%.9f\n", t);
                r.out = buf;
            }
        } else if (argv.size() >= 5 && argv[0] == "bash" && argv[3] == "pgdr-ports") {
            for (size_t i = 5; i < argv.size(); ++i) {
                auto colon = argv[i].rfind(':');
                int port = std::stoi(argv[i].substr(colon + 1));
                auto it = m_host.port_results.find(port);
                r.out += argv[i].substr(0, colon) + " " + std::to_string(port) + " " +
                         (it == m_host.port_results.end() ? "open" : it->second) + "\n";
            }
        } else {
            r.exit_status = 127;
            r.err = "fake: unexpected command";
        }
        return r;
    }

  private:
    std::string m_name;
    FakeHost m_host;
    std::chrono::system_clock::time_point m_now;
    std::mutex& m_mutex;
    std::map<std::string, std::vector<std::vector<std::string>>>& m_record;
};

class FixedClock final : public Clock {
  public:
    explicit FixedClock(std::chrono::system_clock::time_point t) : m_t(t) {}
    std::chrono::steady_clock::time_point steady_now() override { return {}; }
    std::chrono::system_clock::time_point wall_now() override { return m_t; }
    void sleep_for(std::chrono::milliseconds) override {}

  private:
    std::chrono::system_clock::time_point m_t;
};

struct PreflightRig {
    Inventory inv;
    std::map<std::string, FakeHost> hosts;
    std::mutex mutex;
    std::map<std::string, std::vector<std::vector<std::string>>> record;
    std::chrono::system_clock::time_point now =
        std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000));

    PreflightRig() {
        inv = parse_inventory(R"(cluster: lab
network: {cidr: 198.18.0.0/24}
hosts:
  - {name: pg1, address: 198.18.0.11, services: [postgres, etcd]}
  - {name: pg2, address: 198.18.0.12, services: [postgres, etcd]}
  - {name: pg3, address: 198.18.0.13, services: [postgres, etcd, haproxy]}
)",
                              "rig.yaml");
        for (const auto& h : inv.hosts) {
            hosts[h.name];
        }
    }

    PreflightReport run() {
        FixedClock clock(now);
        std::vector<const HostSpec*> selected;
        for (const auto& h : inv.hosts) {
            selected.push_back(&h);
        }
        auto factory = [this](const HostSpec& h) -> std::unique_ptr<Transport> {
            const auto& fake = hosts.at(h.name);
            if (!fake.reachable) {
                throw Error(ExitCode::unreachable,
                            "cannot connect to " + h.address + ":22: Connection timed out");
            }
            return std::make_unique<RecordingFakeTransport>(h.name, fake, now, mutex, record);
        };
        return run_preflight(inv, selected, factory, clock);
    }
};

}  // namespace

TEST_CASE("preflight: a healthy cluster has no problems", "[preflight]") {
    PreflightRig rig;
    auto rep = rig.run();
    CHECK(rep.problems.empty());
    CHECK(rep.ok());
    REQUIRE(rep.hosts.size() == 3);
    for (const auto& h : rep.hosts) {
        CHECK(h.reachable);
        CHECK(h.os_ok);
        CHECK(h.sudo_ok);
        CHECK(h.disk_ok);
        CHECK(h.free_disk_mb == 50 * 1024);
    }
    // Each host probes every port of the two others: 4 (pg1, pg2) + 6 (pg3) for pg1.
    CHECK(rep.hosts[0].ports.size() == 10);
    CHECK(rep.hosts[2].ports.size() == 8);
    CHECK(rep.max_skew_s == Approx(0).margin(1e-6));

    // What was run on pg1, in order.
    const auto& cmds = rig.record.at("pg1");
    REQUIRE(cmds.size() == 7);
    CHECK(cmds[0] == std::vector<std::string>{"cat", "/etc/os-release"});
    CHECK(cmds[1] == std::vector<std::string>{"sudo", "-n", "true"});
    CHECK(cmds[2] == std::vector<std::string>{"df", "-Pk", "/var/lib"});
    CHECK(cmds[3] == std::vector<std::string>{"date", "+%s.%N"});
    CHECK(cmds[5] == std::vector<std::string>{"date", "+%s.%N"});
    CHECK(cmds[6][0] == "bash");
    CHECK(std::find(cmds[6].begin(), cmds[6].end(), "198.18.0.13:5000") != cmds[6].end());
    CHECK(std::find(cmds[6].begin(), cmds[6].end(), "198.18.0.11:5432") == cmds[6].end());
}

TEST_CASE("preflight: each failure becomes one clear problem", "[preflight]") {
    PreflightRig rig;
    rig.hosts["pg1"].os_release =
        "ID=debian\nVERSION_CODENAME=bookworm\n"
        "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n";
    rig.hosts["pg1"].port_results[5000] = "filtered";
    rig.hosts["pg2"].reachable = false;
    rig.hosts["pg3"].free_kb = 1000 * 1024;
    rig.hosts["pg3"].clock_offset_s = 1.5;
    auto rep = rig.run();
    CHECK_FALSE(rep.ok());
    CHECK(rep.problems ==
          std::vector<std::string>{
              "pg1: runs 'Debian GNU/Linux 12 (bookworm)', the inventory says Debian trixie",
              "pg1 -> pg3:5000 (haproxy-write): filtered",
              "pg2: unreachable: cannot connect to 198.18.0.12:22: Connection timed out",
              "pg3: only 1000 MiB free under /var/lib (need 2048)",
              "clocks differ by 1.500 s between hosts (limit 1.0 s): etcd and Patroni leases "
              "need synchronised clocks (NTP)",
          });
    CHECK(rep.max_skew_s == Approx(1.5).margin(1e-3));
    CHECK_FALSE(rep.hosts[1].reachable);
    CHECK(rig.record.count("pg2") == 0);
}

TEST_CASE("preflight: clock skew is between hosts, not against the operator", "[preflight]") {
    PreflightRig rig;
    for (auto& [name, host] : rig.hosts) {
        host.clock_offset_s = 30;  // all 30 s ahead of this machine: consistent among themselves
    }
    rig.hosts["pg2"].clock_offset_s = 30.9;
    auto rep = rig.run();
    CHECK(rep.ok());
    CHECK(rep.max_skew_s == Approx(0.9).margin(1e-3));
    CHECK(rep.hosts[0].clock_offset_s == Approx(30).margin(1e-3));
}

TEST_CASE("preflight: sudo is required for a non-root user only", "[preflight]") {
    PreflightRig rig;
    rig.inv.hosts[0].ssh.user = "debian";
    rig.inv.hosts[1].ssh.user = "root";
    rig.hosts["pg1"].sudo_ok = false;
    rig.hosts["pg2"].sudo_ok = false;
    auto rep = rig.run();
    CHECK(rep.problems ==
          std::vector<std::string>{"pg1: user cannot run `sudo -n` without a password"});
}

TEST_CASE("preflight: a host whose clock cannot be read does not skew the others", "[preflight]") {
    PreflightRig rig;
    for (auto& [name, host] : rig.hosts) {
        host.clock_offset_s = 100;
    }
    rig.hosts["pg2"].date_fails = true;
    auto rep = rig.run();
    CHECK(rep.problems == std::vector<std::string>{"pg2: cannot read the clock: `date +%s.%N` "
                                                   "failed 3 times"});
    CHECK(rep.max_skew_s == Approx(0).margin(1e-6));
}
