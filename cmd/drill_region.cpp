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

// The drill needs a pair of clusters on the lab, and root (it cuts the hosts' links from
// outside).
void check_region_drill_inputs(const Inventory& pair) {
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
}

// After the heal: each member of the old primary until fenced (a healed host may refuse SSH for
// a moment), at most 60 s: its cluster elects a leader again within seconds of the heal.
void fence_after_heal(Context& ctx, const Inventory& pair, const std::vector<std::string>& hosts) {
    std::vector<std::future<pg::FenceOutcome>> fences;
    for (const auto& name : hosts) {
        const auto* h = pair.find_host(name);
        if (h != nullptr && h->runs(Service::postgres)) {
            fences.push_back(std::async(std::launch::async, [&ctx, &pair, h] {
                pg::FenceOutcome out;
                const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
                while (!(out = fence_member(ctx, pair, *h, true)).fenced &&
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
}

// Whether any member's Patroni REST API answers (asked together): an answer, not a TCP connect,
// since through an SSH forward the local end always connects.
bool primary_answers(const Inventory& pair, HttpClient& http, ClusterReach& reach) {
    const pg::PatroniApi api(http, std::chrono::milliseconds(1000));
    std::vector<std::future<bool>> answers;
    for (const auto* h : pair.hosts_with(Service::postgres)) {
        answers.push_back(std::async(std::launch::async, [&, h] {
            const auto at = reach.inside(h->address, pair.patroni.rest_port);
            return api.probe(at.url("https") + "/patroni").first != 0;
        }));
    }
    bool any = false;
    for (auto& a : answers) {
        any = a.get() || any;
    }
    return any;
}

// The marker ids of this drill on the promoted cluster.
std::set<long long> marker_ids(const ProbeWriter& on, const std::string& cluster,
                               long long first_id) {
    std::set<long long> ids;
    const auto q = on.run(
        "select id from " + std::string(k_table) + " where id >= " + std::to_string(first_id),
        std::chrono::milliseconds(10000));
    if (!q.ok) {
        throw Error(ExitCode::postgres,
                    "reading the marker rows on " + cluster + ": " + q.error.describe());
    }
    for (std::size_t i = 0; i < q.rows.size(); ++i) {
        ids.insert(std::stoll(q.value(i, 0).value_or("0")));
    }
    return ids;
}

drills::RegionDrillRequest region_request(const RegionDrillCmdOptions& o, long long first_id) {
    drills::RegionDrillRequest req;
    req.region = o.region;
    req.promote = o.promote;
    req.timeout = o.timeout;
    req.first_id = first_id;
    if (o.max_rto_s >= 0) {
        req.max_rto_ms = static_cast<long long>(o.max_rto_s * 1000);
    }
    return req;
}

// The report on stdout and in the --report files; the exit code of its verdict.
int report_region_drill(Context& ctx, const drills::RegionDrillReport& report,
                        const std::vector<std::string>& files) {
    write_reports(report, files);
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

}  // namespace

int region_drill(Context& ctx, const RegionDrillCmdOptions& o) {
    const Inventory pair = resolved_inventory(ctx);
    check_region_drill_inputs(pair);
    const Inventory dr = dr_inventory(pair);
    const std::string probe_password = required_secret(pair, pg::k_probe_secret, ctx);
    ClusterWiring primary_wiring(ctx, pair);
    const pg::SqlRunner probe =
        pg::libpq_sql(pg::k_probe_user, probe_password, pg::k_probe_database);
    // The writers and the region's probe connect directly, as a client in the network does (the
    // lab's shape): forwarding over SSH through the cut region's hosts would blur "no answer"
    // into SSH timeouts.
    DirectReach direct;
    const ProbeWriter to_primary{probe, direct, first_haproxy(pair), pair.haproxy.write_port};
    const ProbeWriter to_dr{probe, direct, first_haproxy(dr), dr.haproxy.write_port};
    const long long first_id = prepare_table(to_primary, to_dr);
    const std::string leader = leader_of(pair, primary_wiring);

    LocalTransport local;
    lab::Lab lab(lab::LabPaths(pair.lab.dir), local, *ctx.log,
                 [&ctx](const std::string& m) { ctx.log->info("lab: " + m); });
    SystemClock clock;
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
        [&](const std::vector<std::string>& hosts) { fence_after_heal(ctx, pair, hosts); },
        [&] { return primary_answers(pair, primary_wiring.http, direct); },
        [&](bool to_dr_cluster, long long id) {
            const auto q = (to_dr_cluster ? to_dr : to_primary)
                               .run("insert into " + std::string(k_table) + " (id) values (" +
                                        std::to_string(id) + ")",
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
        [&] { return marker_ids(to_dr, dr.cluster, first_id); },
        [&ctx](const std::string& m) {
            if (::isatty(STDERR_FILENO) != 0) {
                std::cerr << "pgdr drill: " << m << "\n";
            } else {
                ctx.log->info("drill: " + m);
            }
        }};
    return report_region_drill(ctx, drills::run_region_drill(seams, region_request(o, first_id)),
                               o.reports);
}

}  // namespace pgdr::cmd
