// The whole bootstrap plan (every stage, step, host and action, with its command line, guards,
// timeouts and the hash of each file it writes) for each example inventory, against
// tests/golden/plans/<inventory>-<scenario>/<stage>.txt. Two scenarios: a fresh cluster (Debian's
// auto-created clusters everywhere) and a running one that a new member joins. The passwords are
// fixed test values, shown as <name> wherever they appear (stdin).
#include <catch2/catch.hpp>

#include "core/inventory.hpp"
#include "core/quote.hpp"
#include "core/sha256.hpp"
#include "core/state.hpp"
#include "pg/bootstrap_plan.hpp"
#include "pg/foreign_guard.hpp"
#include "pg/tls_move.hpp"
#include "unit/pg/golden.hpp"
#include "unit/pg/plan_fixtures.hpp"
#include "unit/pg/test_tls.hpp"

using namespace pgdr;
using namespace pgdr::pg;
using pgdr::testing::check_golden;
using pgdr::testing::fresh_facts;
using pgdr::testing::with_ovh_addresses;
using pgdr::testing::with_test_tls;

namespace {

const Secrets k_plain{"test-replication-pw",
                      "test-superuser-pw",
                      "test-rewind-pw",
                      "test-rest-api-pw",
                      "test-probe-pw",
                      "test-stats-pw",
                      {},
                      {}};

std::string redact(std::string text, const Secrets& s) {
    const std::pair<const std::string*, const char*> names[] = {
        {&s.replication_password, "<replication_password>"},
        {&s.superuser_password, "<superuser_password>"},
        {&s.rewind_password, "<rewind_password>"},
        {&s.rest_api_password, "<rest_api_password>"},
        {&s.probe_password, "<probe_password>"},
        {&s.haproxy_stats_password, "<haproxy_stats_password>"},
        {&s.backup.cipher_pass, "<pgbackrest_cipher>"},
        {&s.backup.s3_secret, "<s3_secret>"}};
    for (const auto& [value, name] : names) {
        if (value->empty()) {
            continue;
        }
        for (auto at = text.find(*value); at != std::string::npos;
             at = text.find(*value, at + std::string(name).size())) {
            text.replace(at, value->size(), name);
        }
    }
    return text;
}

std::string millis(std::chrono::milliseconds ms) {
    return std::to_string(ms.count()) + "ms";
}

std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& i : items) {
        out += (out.empty() ? "" : " ") + i;
    }
    return out;
}

struct ActionPrinter {
    const Secrets& secrets;
    std::string operator()(const RunCommand& c) const {
        std::string out = "run: " + c.description + "\n";
        out += "  argv: " + shell_join(c.argv) + "\n";
        out += std::string("  sudo: ") + (c.sudo ? "yes" : "no") +
               ", timeout: " + millis(c.timeout) + (c.check_only ? ", check only" : "") + "\n";
        if (c.unless) {
            out += "  unless: " + shell_join(*c.unless) + "\n";
        }
        if (!c.when_changed.empty()) {
            out += "  when changed: " + join(c.when_changed) + "\n";
        }
        if (c.stdin_data) {
            out += "  stdin:\n" + redact(*c.stdin_data, secrets) + "\n  (end of stdin)\n";
        }
        return out;
    }
    std::string operator()(const PutFile& f) const {
        static const char* const secrecy[] = {"none", "password lines", "whole file"};
        return "put: " + f.path + " (" + f.description + ")\n  mode " + f.spec.mode + ", owner '" +
               f.spec.owner + "', secrecy " + secrecy[static_cast<int>(f.secrecy)] + ", " +
               std::to_string(f.content.size()) + " bytes, sha256 " + sha256_hex(f.content) + "\n";
    }
    std::string operator()(const WaitFor& w) const {
        return "wait: " + w.description + "\n  probe: " + shell_join(w.probe) +
               "\n  sudo: " + (w.sudo ? "yes" : "no") + ", timeout: " + millis(w.timeout) +
               ", interval: " + millis(w.interval) + "\n";
    }
    std::string operator()(const WaitForCluster& w) const {
        return "wait: " + w.description + "\n  in pgdr: " + cluster_condition(w) +
               "\n  timeout: " + millis(w.timeout) + ", interval: " + millis(w.interval) + "\n";
    }
};

std::string render_stage(const StagePlan& stage, const Secrets& secrets) {
    std::string out;
    for (const auto& step : stage.steps) {
        out +=
            "step: " + step.name +
            (step.order == HostOrder::sequential ? " (hosts in order)" : " (hosts in parallel)") +
            "\n";
        for (const auto& ha : step.hosts) {
            out += "host " + ha.host + ":\n";
            for (const auto& a : ha.actions) {
                out += std::visit(ActionPrinter{secrets}, a);
            }
        }
        out += "\n";
    }
    return out;
}

// Renders the plan stage by stage into tests/golden/plans/<name>/<stage>.txt (the stage list
// itself in stages.txt); returns the number of actions.
std::size_t check_plan(const std::string& name, const Plan& plan, const Secrets& secrets) {
    std::string stages;
    for (const auto& sp : plan.stages) {
        stages += to_string(sp.stage) + "\n";
        check_golden("plans/" + name + "/" + to_string(sp.stage) + ".txt",
                     render_stage(sp, secrets));
    }
    check_golden("plans/" + name + "/stages.txt", stages);
    return plan.action_count();
}

// A running cluster led by the second PostgreSQL host, its etcd formed by pgdr, and the last
// PostgreSQL host new (Debian's empty cluster, no Patroni yet).
FactsMap running_facts(const Inventory& inv) {
    auto facts = fresh_facts(inv);
    const auto pg_hosts = inv.hosts_with(Service::postgres);
    REQUIRE(pg_hosts.size() >= 3);
    const std::string leader = pg_hosts[1]->name;
    const std::string joining = pg_hosts.back()->name;
    for (const auto* h : pg_hosts) {
        auto& f = facts[h->name];
        if (h->name == joining) {
            continue;
        }
        f.patroni_active = "active";
        f.patroni_scheme = "https";
        f.patroni_header = pgdr_patroni_header(inv);
        f.sysid = "7000000000000000001";
        f.standby_signal = h->name != leader;
        f.patroni_role = h->name == leader ? "primary" : "replica";
    }
    for (const auto* h : inv.hosts_with(Service::etcd)) {
        auto& f = facts[h->name];
        f.etcd_marker = etcd_marker_content(inv, *h);
        f.etcd_data = true;
        f.etcd_active = "active";
        f.etcd_members = static_cast<long long>(inv.hosts_with(Service::etcd).size());
        f.etcd_keys = 1;
    }
    return facts;
}

std::size_t check_inventory(const std::string& name, const Inventory& inv) {
    Secrets plain = k_plain;
    if (inv.backup) {
        plain.backup = {"test-cipher-pass", "AKPGDRTEST", "test-s3-secret",
                        "-----BEGIN CERTIFICATE-----\ntest\n-----END CERTIFICATE-----\n"};
    }
    if (inv.guard.enabled) {
        plain.guard = pgdr::testing::test_guard_inputs(inv);
    }
    const Secrets secrets = with_test_tls(plain, inv);
    const auto fresh = fresh_facts(inv);
    const auto running = running_facts(inv);
    const auto fresh_primary = choose_primary(inv, fresh);
    const auto running_primary = choose_primary(inv, running);
    CHECK(fresh_primary == inv.hosts_with(Service::postgres).front()->name);
    CHECK(running_primary == inv.hosts_with(Service::postgres)[1]->name);
    return check_plan(name + "-fresh", plan_bootstrap(inv, fresh, secrets, fresh_primary),
                      secrets) +
           check_plan(name + "-running", plan_bootstrap(inv, running, secrets, running_primary),
                      secrets);
}

std::string source(const std::string& relative) {
    return std::string(PGDR_SOURCE_DIR) + "/" + relative;
}

}  // namespace

TEST_CASE("golden plan: lab inventory", "[pg][golden][bootstrap]") {
    CHECK(check_inventory("lab", load_inventory(source("inventories/lab.yaml"))) > 0);
}

TEST_CASE("golden plan: ovh inventory", "[pg][golden][bootstrap]") {
    CHECK(check_inventory("ovh",
                          with_ovh_addresses(load_inventory(source("inventories/ovh.yaml")))) > 0);
}

TEST_CASE("golden plan: ovh-twin inventory", "[pg][golden][bootstrap]") {
    CHECK(check_inventory("ovh-twin", with_ovh_addresses(load_inventory(
                                          source("inventories/ovh-twin.yaml")))) > 0);
}

TEST_CASE("golden plan: ovh-twin inventory with pgdr-guard", "[pg][golden][bootstrap][guard]") {
    CHECK(check_inventory("ovh-twin-guard", with_ovh_addresses(load_inventory(
                                                std::string(PGDR_GOLDEN_DIR) +
                                                "/inventories/ovh-twin-guard.yaml"))) > 0);
}

TEST_CASE("golden plan: bookworm inventory", "[pg][golden][bootstrap]") {
    CHECK(check_inventory("bookworm", load_inventory(std::string(PGDR_GOLDEN_DIR) +
                                                     "/inventories/bookworm.yaml")) > 0);
}

TEST_CASE("golden plan: lab inventory with a backup section (S3)", "[pg][golden][bootstrap]") {
    CHECK(check_inventory("lab-backup", load_inventory(std::string(PGDR_GOLDEN_DIR) +
                                                       "/inventories/lab-backup.yaml")) > 0);
}

TEST_CASE("golden plan: lab inventory with a repository host (posix)", "[pg][golden][bootstrap]") {
    CHECK(check_inventory("lab-posix", load_inventory(std::string(PGDR_GOLDEN_DIR) +
                                                      "/inventories/lab-posix.yaml")) > 0);
}

TEST_CASE("golden plan: moving a running lab cluster to TLS", "[pg][golden][bootstrap][tls]") {
    const Inventory inv = load_inventory(source("inventories/lab.yaml"));
    const Secrets secrets = with_test_tls(k_plain, inv);
    CHECK(check_plan("lab-tls-move-before-lock", plan_tls_move_before_lock(inv, secrets, "pg2"),
                     secrets) > 0);
    CHECK(check_plan("lab-tls-move-under-lock", plan_tls_move_under_lock(inv, secrets, "pg2"),
                     secrets) > 0);
}

TEST_CASE("golden plan: a pair of clusters, the primary and its DR cluster",
          "[pg][golden][bootstrap][dr]") {
    const Inventory inv = load_inventory(std::string(PGDR_GOLDEN_DIR) + "/inventories/lab-dr.yaml");
    // The primary's plan keeps a slot for the DR cluster (DCS settings) and waits for it.
    CHECK(check_inventory("lab-dr", inv) > 0);
    // The DR cluster: its first member clones the primary cluster through that slot; the other
    // clones the first; Patroni starts it as the standby leader.
    const Inventory dr = dr_inventory(inv);
    const Secrets secrets = with_test_tls(k_plain, dr);
    const auto fresh = fresh_facts(dr);
    const auto first = choose_primary(dr, fresh);
    CHECK(first == "r2-pg1");
    CHECK(check_plan("lab-dr-standby-fresh", plan_bootstrap(dr, fresh, secrets, first), secrets) >
          0);
}
