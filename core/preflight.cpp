#include "core/preflight.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "core/parallel.hpp"
#include "core/timeouts.hpp"

namespace pgdr {

std::vector<PortTarget> cluster_ports(const Inventory& inv, const HostSpec& dst) {
    std::vector<PortTarget> out;
    auto add = [&](int port, const char* service) {
        out.push_back(PortTarget{dst.name, dst.address, port, service});
    };
    if (dst.runs(Service::postgres)) {
        add(5432, "postgres");
        add(inv.patroni.rest_port, "patroni");
    }
    if (dst.runs(Service::etcd)) {
        add(inv.etcd.client_port, "etcd-client");
        add(inv.etcd.peer_port, "etcd-peer");
    }
    if (dst.runs(Service::haproxy)) {
        add(inv.haproxy.write_port, "haproxy-write");
        add(inv.haproxy.read_port, "haproxy-read");
    }
    return out;
}

void parse_os_release(const std::string& text, std::string& id, std::string& codename,
                      std::string& pretty) {
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        auto eq = line.find('=');
        if (eq == std::string::npos) {
            continue;
        }
        std::string key = line.substr(0, eq);
        std::string value = line.substr(eq + 1);
        if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
            value.back() == value.front()) {
            value = value.substr(1, value.size() - 2);
        }
        if (key == "ID") {
            id = value;
        } else if (key == "VERSION_CODENAME") {
            codename = value;
        } else if (key == "PRETTY_NAME") {
            pretty = value;
        }
    }
}

long long parse_df_available_mb(const std::string& text) {
    std::istringstream in(text);
    std::string header, line;
    if (!std::getline(in, header) || !std::getline(in, line)) {
        return -1;
    }
    std::istringstream fields(line);
    std::string fs;
    long long total = 0, used = 0, avail = -1;
    if (!(fields >> fs >> total >> used >> avail)) {
        return -1;
    }
    return avail / 1024;
}

std::vector<std::string> port_probe_argv(const std::vector<PortTarget>& targets, int timeout_s) {
    // bash's /dev/tcp does the connect; `timeout` bounds it. A refused connect is printed by
    // bash as "Connection refused"; a filtered one is killed by timeout (exit 124). Every
    // target is probed in parallel; the targets reach the script as positional parameters.
    static const std::string k_script =
        "t=$1; shift; for target in \"$@\"; do ( addr=${target%:*}; port=${target##*:}; "
        "err=$(timeout \"$t\" bash -c 'exec 3<>\"/dev/tcp/$0/$1\"' \"$addr\" \"$port\" 2>&1); "
        "rc=$?; if [ $rc -eq 0 ]; then r=open; elif [ $rc -eq 124 ]; then r=filtered; "
        "else case $err in *refused*) r=closed;; *unreachable*|*\"No route\"*) r=unreachable;; "
        "*) r=error;; esac; fi; echo \"$addr $port $r\" ) & done; wait";
    std::vector<std::string> argv{"bash", "-c", k_script, "pgdr-ports", std::to_string(timeout_s)};
    for (const auto& t : targets) {
        argv.push_back(t.address + ":" + std::to_string(t.port));
    }
    return argv;
}

std::vector<std::string> parse_port_probe(const std::string& out,
                                          const std::vector<PortTarget>& targets) {
    std::vector<std::string> results(targets.size(), "error");
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);) {
        std::istringstream f(line);
        std::string addr, result;
        int port = 0;
        if (!(f >> addr >> port >> result)) {
            continue;
        }
        for (size_t i = 0; i < targets.size(); ++i) {
            if (targets[i].address == addr && targets[i].port == port) {
                results[i] = result;
            }
        }
    }
    return results;
}

namespace {

void check_host(const Inventory& inv, const HostSpec& host, const std::vector<const HostSpec*>& all,
                const TransportFactory& connect, Clock& clock, HostCheck& hc) {
    hc.host = host.name;
    hc.address = host.address;
    std::unique_ptr<Transport> t;
    RunOptions quick;
    quick.timeout = k_quick_command_timeout;
    try {
        t = connect(host);
        // The first command also proves authentication.
        auto os = t->run({"cat", "/etc/os-release"}, quick);
        hc.reachable = true;
        parse_os_release(os.out, hc.os_id, hc.os_codename, hc.os_pretty);
        hc.os_ok = hc.os_id == "debian" && hc.os_codename == inv.release;

        auto sudo = t->run({"sudo", "-n", "true"}, quick);
        hc.sudo_ok = host.ssh.user == "root" || sudo.ok();

        auto df = t->run({"df", "-Pk", "/var/lib"}, quick);
        hc.free_disk_mb = parse_df_available_mb(df.out);
        hc.disk_ok = hc.free_disk_mb >= k_min_free_disk_mb;

        // Clock: the host's time against the local clock at the midpoint of the round trip.
        double best_rtt = 1e9;
        for (int i = 0; i < 3; ++i) {
            auto before = clock.wall_now();
            auto r = t->run({"date", "+%s.%N"}, quick);
            auto after = clock.wall_now();
            if (!r.ok()) {
                continue;
            }
            double remote = std::strtod(r.out.c_str(), nullptr);
            double b = std::chrono::duration<double>(before.time_since_epoch()).count();
            double a = std::chrono::duration<double>(after.time_since_epoch()).count();
            if (a - b < best_rtt) {
                best_rtt = a - b;
                hc.clock_offset_s = remote - (a + b) / 2;
                hc.clock_uncertainty_s = (a - b) / 2;
            }
        }
        if (best_rtt == 1e9) {
            // No reading: an offset of 0 would pass for a perfect clock and hide real skew.
            hc.error = "cannot read the clock: `date +%s.%N` failed 3 times";
        }

        std::vector<PortTarget> targets;
        for (const auto* other : all) {
            if (other->name == host.name) {
                continue;
            }
            auto ports = cluster_ports(inv, *other);
            targets.insert(targets.end(), ports.begin(), ports.end());
        }
        if (!targets.empty()) {
            RunOptions probe;
            probe.timeout = std::chrono::seconds(30);
            auto r = t->run(port_probe_argv(targets, 3), probe);
            auto results = parse_port_probe(r.out, targets);
            for (size_t i = 0; i < targets.size(); ++i) {
                hc.ports.push_back(PortCheck{host.name, targets[i], results[i]});
            }
        }
    } catch (const std::exception& e) {
        hc.error = e.what();
    }
}

}  // namespace

PreflightReport run_preflight(const Inventory& inv, const std::vector<const HostSpec*>& hosts,
                              const TransportFactory& connect, Clock& clock) {
    PreflightReport rep;
    rep.hosts.resize(hosts.size());
    // Port probes need every host of the cluster as a destination, not only the selected ones.
    std::vector<const HostSpec*> all;
    for (const auto& h : inv.hosts) {
        all.push_back(&h);
    }
    parallel_for(hosts.size(), 16,
                 [&](size_t i) { check_host(inv, *hosts[i], all, connect, clock, rep.hosts[i]); });

    double lo = 1e18, hi = -1e18;
    for (const auto& hc : rep.hosts) {
        if (!hc.reachable) {
            rep.problems.push_back(hc.host + ": unreachable: " + hc.error);
            continue;
        }
        if (!hc.error.empty()) {
            rep.problems.push_back(hc.host + ": " + hc.error);
        }
        if (!hc.os_ok) {
            rep.problems.push_back(hc.host + ": runs '" + hc.os_pretty + "', the inventory says " +
                                   "Debian " + inv.release);
        }
        if (!hc.sudo_ok) {
            rep.problems.push_back(hc.host + ": user cannot run `sudo -n` without a password");
        }
        if (!hc.disk_ok) {
            rep.problems.push_back(hc.host + ": only " + std::to_string(hc.free_disk_mb) +
                                   " MiB free under /var/lib (need " +
                                   std::to_string(k_min_free_disk_mb) + ")");
        }
        if (hc.error.empty()) {  // otherwise the clock was not read (or not read fully)
            lo = std::min(lo, hc.clock_offset_s);
            hi = std::max(hi, hc.clock_offset_s);
        }
        for (const auto& pc : hc.ports) {
            if (!pc.ok()) {
                rep.problems.push_back(hc.host + " -> " + pc.target.host + ":" +
                                       std::to_string(pc.target.port) + " (" + pc.target.service +
                                       "): " + pc.result);
            }
        }
    }
    if (hi >= lo) {
        rep.max_skew_s = hi - lo;
        if (rep.max_skew_s > k_max_clock_skew_s) {
            char buf[160];
            std::snprintf(buf, sizeof buf,
                          "clocks differ by %.3f s between hosts (limit %.1f s): "
                          "etcd and Patroni leases need synchronised clocks (NTP)",
                          rep.max_skew_s, k_max_clock_skew_s);
            rep.problems.push_back(buf);
        }
    }
    return rep;
}

}  // namespace pgdr
