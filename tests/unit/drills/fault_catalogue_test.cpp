#include "drills/fault_catalogue.hpp"

#include <catch2/catch.hpp>
#include <set>
#include <sstream>

#include "drills/prediction.hpp"

using namespace pgdr;
using namespace pgdr::drills;

TEST_CASE("fault catalogue: every fault of the issue, complete entries", "[drills][faults]") {
    const auto& faults = fault_catalogue();
    std::vector<std::string> flags;
    for (const auto& f : faults) {
        flags.push_back(f.flag);
        CHECK(f.flag == "--" + f.name);
        CHECK_FALSE(f.summary.empty());
        CHECK_FALSE(f.action.empty());
        CHECK_FALSE(f.expected.empty());
        CHECK_FALSE(f.restore.empty());
        CHECK(&fault_info(f.kind) == &f);
    }
    CHECK(flags == std::vector<std::string>{"--kill-primary", "--kill-postmaster", "--stop-primary",
                                            "--switchover", "--partition-primary",
                                            "--kill-etcd-member", "--kill-haproxy",
                                            "--reboot-primary", "--lose-primary-host"});
}

TEST_CASE("fault catalogue: expectations and lookups", "[drills][faults]") {
    auto expect = [](const char* name) { return find_fault(name)->leader; };
    CHECK(expect("kill-primary") == LeaderExpectation::new_leader);
    CHECK(expect("stop-primary") == LeaderExpectation::new_leader);
    CHECK(expect("switchover") == LeaderExpectation::new_leader);
    CHECK(expect("partition-primary") == LeaderExpectation::new_leader);
    CHECK(expect("reboot-primary") == LeaderExpectation::any_leader);  // a fast boot keeps the key
    CHECK(expect("kill-postmaster") == LeaderExpectation::same_leader);
    CHECK(expect("kill-etcd-member") == LeaderExpectation::same_leader);
    CHECK(expect("kill-haproxy") == LeaderExpectation::same_leader);

    CHECK(find_fault("--kill-haproxy")->kind == FaultKind::kill_haproxy);
    CHECK(find_fault("kill-everything") == nullptr);
    CHECK(find_fault("") == nullptr);
    CHECK(find_fault("--reboot-primary")->needs_provider);
    CHECK(find_fault("--reboot-primary")->target == FaultTarget::leader_host);
    CHECK_FALSE(find_fault("--kill-primary")->needs_provider);
    CHECK_FALSE(find_fault("--partition-primary")->needs_provider);  // nftables elsewhere
    CHECK(find_fault("kill-etcd-member")->target == FaultTarget::etcd_member);
    CHECK(find_fault("kill-haproxy")->target == FaultTarget::haproxy_host);
}

TEST_CASE("fault list: every flag, wrapped at 100 columns", "[drills][faults]") {
    const std::string text = render_fault_list();
    for (const auto& f : fault_catalogue()) {
        INFO(f.flag);
        CHECK(text.find(f.flag + (f.needs_provider ? "  (lab and OVH only)\n" : "\n")) !=
              std::string::npos);
    }
    std::istringstream lines(text);
    std::string line;
    int count = 0;
    while (std::getline(lines, line)) {
        INFO(line);
        CHECK(line.size() <= 100);
        CHECK((line.empty() || line.back() != ' '));
        ++count;
    }
    CHECK(count > 8 * 3);
    CHECK(text.find("    Expected: No failover and no write outage") != std::string::npos);
    CHECK(text.find("--reboot-primary  (lab and OVH only)\n    Hard reset of the leader's host") !=
          std::string::npos);
    CHECK(text.find("not available") == std::string::npos);
    CHECK(text.find("    Alerts (with a monitor host): EtcdMemberDown.\n") != std::string::npos);
    CHECK(text.find("    Alerts (with a monitor host): PatroniMemberDown, "
                    "PatroniLeaderChanged.\n") != std::string::npos);
}

TEST_CASE("predicted RTO per fault", "[drills][prediction]") {
    ClusterSettings seed;  // Patroni defaults, HAProxy inter 2 s fall 3 rise 2
    auto kill = predict_rto(FaultKind::kill_primary, seed);
    CHECK(kill.rto_ms == std::optional<Millis>(34000));  // the lab measured 33.1 s
    CHECK(kill.formula == "ttl 30 s + rise 2 x downinter 2000 ms = 34000 ms");
    CHECK(predict_rto(FaultKind::partition_primary, seed).rto_ms == kill.rto_ms);
    CHECK(predict_rto(FaultKind::reboot_primary, seed).rto_ms == kill.rto_ms);
    CHECK(predict_rto(FaultKind::switchover, seed).rto_ms == std::optional<Millis>(6000));
    CHECK(predict_rto(FaultKind::stop_primary, seed).rto_ms == std::optional<Millis>(6000));
    CHECK(predict_rto(FaultKind::kill_postmaster, seed).rto_ms ==
          std::optional<Millis>(10000 + 2000 + 4000));
    CHECK(predict_rto(FaultKind::kill_etcd_member, seed).rto_ms == std::optional<Millis>(0));
    auto haproxy = predict_rto(FaultKind::kill_haproxy, seed);
    CHECK_FALSE(haproxy.rto_ms);
    CHECK_FALSE(haproxy.formula.empty());

    ClusterSettings tuned;
    tuned.ttl_s = 10;
    tuned.loop_wait_s = 2;
    tuned.retry_timeout_s = 4;
    tuned.haproxy_inter_ms = 1000;
    tuned.haproxy_down_inter_ms = 1000;
    tuned.haproxy_fall = 2;
    tuned.haproxy_rise = 1;
    CHECK(predict_rto(FaultKind::kill_primary, tuned).rto_ms ==
          std::optional<Millis>(11000));  // the lab measured 9.1-10.7 s
    tuned.haproxy_down_inter_ms = 250;    // a promoted replica is seen within one downinter
    CHECK(predict_rto(FaultKind::kill_primary, tuned).rto_ms == std::optional<Millis>(10250));
    CHECK(predict_rto(FaultKind::switchover, tuned).formula ==
          "handover 2000 ms + rise 1 x downinter 250 ms = 2250 ms");
    CHECK(settings_warnings(tuned).empty());
    CHECK(settings_warnings(seed).empty());
}

TEST_CASE("predicted RTO with pgdr-guard: the fenced path, not the TTL", "[drills][prediction]") {
    Inventory inv;  // the default profile on Debian 13, as the OVH twin's inventory
    inv.release = "trixie";
    inv.patroni.ttl = 30;
    inv.haproxy.fast_check_interval_ms = 250;
    inv.haproxy.rise = 1;
    inv.guard.enabled = true;
    ClusterSettings s = deployed_settings(inv);
    REQUIRE(s.guard);
    auto kill = predict_rto(FaultKind::kill_primary, s);
    // bench-drills.sh's guard row measured a median of 4843 ms.
    CHECK(kill.rto_ms == std::optional<Millis>(2000 + 300 + 1000 + 1000 + 250));
    CHECK(kill.formula ==
          "pgdr-guard: unreachable_after 2000 ms + probe 300 ms + fence 1000 ms + "
          "promotion 1000 ms + rise 1 x downinter 250 ms = 4550 ms");
    CHECK(predict_rto(FaultKind::lose_primary_host, s).rto_ms == kill.rto_ms);
    // A partition and a reboot are not fenced: Patroni's TTL.
    CHECK(predict_rto(FaultKind::partition_primary, s).rto_ms == std::optional<Millis>(30250));
    CHECK(predict_rto(FaultKind::reboot_primary, s).rto_ms == std::optional<Millis>(30250));
    s.guard_fence_on_silence = true;
    CHECK(predict_rto(FaultKind::partition_primary, s).rto_ms == kill.rto_ms);
    s.guard = false;
    CHECK(predict_rto(FaultKind::kill_primary, s).rto_ms == std::optional<Millis>(30250));
}

TEST_CASE("settings that let an isolated leader outlive its key are flagged",
          "[drills][prediction]") {
    ClusterSettings s;
    s.ttl_s = 20;
    s.loop_wait_s = 10;
    s.retry_timeout_s = 10;
    auto warnings = settings_warnings(s);
    REQUIRE(warnings.size() == 1);
    CHECK(warnings[0].find("exceeds ttl 20 s") != std::string::npos);
}

TEST_CASE("deployed settings: Patroni 4 raises a ttl below 20", "[drills][prediction]") {
    Inventory inv;
    inv.patroni.ttl = 10;
    inv.patroni.loop_wait = 2;
    inv.patroni.retry_timeout = 4;
    inv.haproxy.check_interval_ms = 1000;
    inv.haproxy.fast_check_interval_ms = 1000;
    inv.haproxy.fall = 2;
    inv.haproxy.rise = 1;
    inv.release = "trixie";
    auto trixie = deployed_settings(inv);
    CHECK(trixie.ttl_s == 20);
    CHECK(trixie.loop_wait_s == 2);
    CHECK(trixie.haproxy_inter_ms == 1000);
    CHECK(trixie.haproxy_down_inter_ms == 1000);
    CHECK(trixie.haproxy_rise == 1);
    // Patroni 4 raises ttl 10 to 20; a kill then took 18.9 s on Debian 13.
    CHECK(predict_rto(FaultKind::kill_primary, trixie).rto_ms == std::optional<Millis>(21000));
    inv.release = "bookworm";
    CHECK(deployed_settings(inv).ttl_s == 10);
}
