// pgdr drill --lose-region REGION [--promote]: drills::run_region_drill wired to a pair of
// clusters on the lab (the region's hosts partitioned from outside, as a hypervisor would).
#include "cmd/drill_region.hpp"

#include <unistd.h>

#include <fstream>
#include <future>
#include <iostream>
#include <thread>

#include "cmd/dr_cmd.hpp"
#include "cmd/wiring.hpp"
#include "core/local_transport.hpp"
#include "core/reach.hpp"
#include "core/state.hpp"
#include "drills/region_drill.hpp"
#include "lab/lab.hpp"
#include "pg/dr_link.hpp"
#include "pg/libpq.hpp"
#include "pg/patroni_api.hpp"
#include "pg/secrets.hpp"

namespace pgdr::cmd {

namespace {

constexpr const char* k_table = "pgdr_region_drill";

// Runs `sql` as the probe role through a HAProxy host's write port.
struct ProbeWriter {
    pg::SqlRunner sql;
    ClusterReach& reach;
    const HostSpec& lb;
    int port;

    pg::QueryResult run(const std::string& statement, std::chrono::milliseconds timeout) const {
        return sql(reach.inside(lb.address, port), statement, timeout);
    }
};

const HostSpec& first_haproxy(const Inventory& inv) {
    const auto lbs = inv.hosts_with(Service::haproxy);
    if (lbs.empty()) {
        throw config_error("cluster " + inv.cluster + " has no HAProxy host");
    }
    return *lbs.front();
}

// The marker table on the primary, replicated to the DR cluster before the fault; returns the
// first free id (a table kept from an earlier drill holds its rows: ids go on after them).
long long prepare_table(const ProbeWriter& primary, const ProbeWriter& dr) {
    const auto made = primary.run(std::string("create table if not exists ") + k_table +
                                      " (id bigint primary key, at timestamptz not null default "
                                      "clock_timestamp())",
                                  std::chrono::milliseconds(5000));
    if (!made.ok) {
        throw Error(ExitCode::postgres,
                    "cannot create the drill's marker table: " + made.error.describe());
    }
    const auto last = primary.run(std::string("select coalesce(max(id), 0) from ") + k_table,
                                  std::chrono::milliseconds(5000));
    if (!last.ok) {
        throw Error(ExitCode::postgres,
                    "cannot read the drill's marker table: " + last.error.describe());
    }
    const long long first_id = std::stoll(last.value(0, 0).value_or("0")) + 1;
    for (int i = 0; i < 50; ++i) {
        const auto q = dr.run(std::string("select to_regclass('") + k_table + "') is not null",
                              std::chrono::milliseconds(2000));
        if (q.ok && q.value(0, 0).value_or("") == "t") {
            return first_id;
        }
        ::usleep(200000);
    }
    throw Error(ExitCode::verification_failed,
                "the drill's marker table did not reach the DR cluster within 10 s");
}

std::string leader_of(const Inventory& inv, ClusterWiring& wiring) {
    return pg::take_snapshot(pg::cluster_targets(inv), wiring.access(), pg::patroni_only()).leader;
}

void write_reports(const drills::RegionDrillReport& r, const std::vector<std::string>& files) {
    for (const auto& f : files) {
        std::ofstream out(f);
        const bool json = f.size() > 5 && f.compare(f.size() - 5, 5, ".json") == 0;
        out << (json ? drills::region_report_json(r).dump(2) + "\n"
                     : drills::region_report_text(r));
        if (!out) {
            throw Error(ExitCode::internal, "cannot write the report " + f);
        }
    }
}

}  // namespace

int region_drill(Context& ctx, const RegionDrillCmdOptions& o) {
    const Inventory pair = resolved_inventory(ctx);
    if (!pair.dr) {
        throw config_error(
            "--lose-region needs a pair of clusters: the inventory has no dr section",
            "see pgdr-inventory(5), DR KEYS (on the lab: pgdr lab up --regions 2)");
    }
    if (pair.provider != ProviderKind::lab) {
        throw usage_error("--lose-region cuts a region's hosts through the lab for now",
                          "run it on the lab (pgdr lab up --regions 2)");
    }
    if (::geteuid() != 0) {
        throw usage_error(
            "--lose-region on the lab cuts the hosts' links from outside: it needs "
            "root",
            "run pgdr drill as root, e.g. with sudo");
    }
    const Inventory dr = dr_inventory(pair);
    auto probe_password = read_secret(pair.paths.state_dir, pg::k_probe_secret);
    if (!probe_password || probe_password->empty()) {
        throw config_error("no probe password in " + pair.paths.state_dir + "/secrets",
                           "run `pgdr bootstrap` first");
    }
    ctx.log->add_secret(*probe_password);
    ClusterWiring primary_wiring(ctx, pair);
    ClusterWiring dr_wiring(ctx, dr);
    const pg::SqlRunner probe =
        pg::libpq_sql(pg::k_probe_user, *probe_password, pg::k_probe_database);
    // The writers and the region's probe connect directly, as a client in the network does (the
    // lab's shape): forwarding over SSH through the cut region's hosts would blur "no answer"
    // into SSH timeouts.
    DirectReach direct;
    const ProbeWriter to_primary{probe, direct, first_haproxy(pair), pair.haproxy.write_port};
    const ProbeWriter to_dr{probe, direct, first_haproxy(dr), dr.haproxy.write_port};
    const long long first_id = prepare_table(to_primary, to_dr);
    const std::string leader = leader_of(pair, primary_wiring);
    const auto primary_members = pair.hosts_with(Service::postgres);

    LocalTransport local;
    lab::Lab lab(lab::LabPaths(pair.lab.dir), local, *ctx.log,
                 [&ctx](const std::string& m) { ctx.log->info("lab: " + m); });
    SystemClock clock;
    auto progress = [&ctx](const std::string& m) {
        if (::isatty(STDERR_FILENO) != 0) {
            std::cerr << "pgdr drill: " << m << "\n";
        } else {
            ctx.log->info("drill: " + m);
        }
    };
    drills::RegionDrillSeams seams{
        pair,
        clock,
        [&] {
            return pg::read_dr_link(pg::cluster_targets(pair), primary_wiring.access(), leader,
                                    pair.dr->slot);
        },
        [&](const std::vector<std::string>& hosts) {
            for (const auto& h : hosts) {
                lab.partition_host(h);
            }
        },
        [&](const std::vector<std::string>& hosts) {
            for (const auto& h : hosts) {
                lab.heal_host(h);
            }
        },
        [&](const std::vector<std::string>& hosts) {
            // Each member until fenced (a healed host may refuse SSH for a moment), at most
            // 60 s: its cluster elects a leader again within seconds of the heal.
            std::vector<std::future<pg::FenceOutcome>> fences;
            for (const auto& name : hosts) {
                const auto* h = pair.find_host(name);
                if (h != nullptr && h->runs(Service::postgres)) {
                    fences.push_back(std::async(std::launch::async, [&, h] {
                        pg::FenceOutcome out;
                        const auto until =
                            std::chrono::steady_clock::now() + std::chrono::seconds(60);
                        while (!(out = fence_member(ctx, pair, *h)).fenced &&
                               std::chrono::steady_clock::now() < until) {
                            std::this_thread::sleep_for(std::chrono::milliseconds(500));
                        }
                        return out;
                    }));
                }
            }
            for (auto& f : fences) {
                const auto out = f.get();
                if (!out.fenced) {
                    ctx.log->error(
                        "drill: a member of the old primary could not be fenced after the heal: " +
                        out.detail);
                }
            }
        },
        [&] {
            // An answer of Patroni's REST API, not a TCP connect: through an SSH forward the
            // local end always connects.
            const pg::PatroniApi api(primary_wiring.http, std::chrono::milliseconds(1000));
            std::vector<std::future<bool>> answers;
            for (const auto* h : primary_members) {
                answers.push_back(std::async(std::launch::async, [&, h] {
                    const auto at = direct.inside(h->address, pair.patroni.rest_port);
                    return api.probe(at.url("https") + "/patroni").first != 0;
                }));
            }
            bool any = false;
            for (auto& a : answers) {
                any = a.get() || any;
            }
            return any;
        },
        [&](bool to_dr_cluster, long long id) {
            const auto& w = to_dr_cluster ? to_dr : to_primary;
            const auto q = w.run(
                "insert into " + std::string(k_table) + " (id) values (" + std::to_string(id) + ")",
                std::chrono::milliseconds(2000));
            return q.ok ? std::string() : q.error.describe();
        },
        [&] {
            pg::DrPromoteRequest req;
            req.force = true;  // the drill cut the region: its hosts cannot be fenced
            req.primary_lost = true;
            req.timeout = o.timeout;
            return run_promotion(ctx, pair, req, nullptr);
        },
        [&] {
            std::set<long long> ids;
            const auto q = to_dr.run("select id from " + std::string(k_table) +
                                         " where id >= " + std::to_string(first_id),
                                     std::chrono::milliseconds(10000));
            if (!q.ok) {
                throw Error(ExitCode::postgres,
                            "reading the marker rows on " + dr.cluster + ": " + q.error.describe());
            }
            for (std::size_t i = 0; i < q.rows.size(); ++i) {
                ids.insert(std::stoll(q.value(i, 0).value_or("0")));
            }
            return ids;
        },
        progress};
    drills::RegionDrillRequest req;
    req.region = o.region;
    req.promote = o.promote;
    req.timeout = o.timeout;
    req.first_id = first_id;
    if (o.max_rto_s >= 0) {
        req.max_rto_ms = static_cast<long long>(o.max_rto_s * 1000);
    }
    const auto report = drills::run_region_drill(seams, req);
    write_reports(report, o.reports);
    if (ctx.json()) {
        std::cout << drills::region_report_json(report).dump(2) << std::endl;
    } else {
        std::cout << drills::region_report_text(report) << std::flush;
    }
    if (report.verdict == "pass") {
        return 0;
    }
    return static_cast<int>(report.verdict == "objectives_missed" ? ExitCode::objectives_missed
                                                                  : ExitCode::verification_failed);
}

}  // namespace pgdr::cmd
