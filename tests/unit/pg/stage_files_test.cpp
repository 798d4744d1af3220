// stage_files + apply on recording fakes: the rendered files of a whole cluster converge, and
// a second run or a dry run on the converged hosts changes and shows nothing.
#include "pg/stage_files.hpp"

#include <catch2/catch.hpp>
#include <sstream>

#include "core/apply.hpp"
#include "core/inventory.hpp"
#include "fakes/recording_transport.hpp"
#include "unit/pg/test_tls.hpp"

using namespace pgdr;
using namespace pgdr::pg;
using pgdr::testing::CallLog;
using pgdr::testing::RecordingTransport;

using pgdr::testing::with_test_tls;

namespace {

Plan files_plan(const Inventory& inv, const Secrets& secrets) {
    const HostSpec& primary = *inv.hosts_with(Service::postgres).front();
    Plan plan;
    for (Stage stage : all_stages()) {
        Step step{"write files", HostOrder::parallel, {}};
        for (const auto& h : inv.hosts) {
            HostActions ha{h.name, {}};
            for (auto& f : stage_files(inv, h, primary, secrets, stage)) {
                ha.actions.emplace_back(std::move(f));
            }
            if (!ha.actions.empty()) {
                step.hosts.push_back(std::move(ha));
            }
        }
        if (!step.hosts.empty()) {
            plan.stage(stage).steps.push_back(std::move(step));
        }
    }
    return plan;
}

}  // namespace

TEST_CASE("stage files: modes, owners and secrecy", "[pg][stage]") {
    const Inventory inv = load_inventory(std::string(PGDR_SOURCE_DIR) + "/inventories/lab.yaml");
    const Secrets s = with_test_tls(
        Secrets{"r-secret", "s-secret", "w-secret", "a-secret", "p-secret", "stats-pw", {}, {}},
        inv);
    const auto& pg1 = *inv.find_host("pg1");
    const auto& pg2 = *inv.find_host("pg2");
    CHECK(stage_files(inv, pg1, pg1, s, Stage::packages).empty());
    CHECK(stage_files(inv, pg1, pg1, s, Stage::haproxy).empty());          // pg1 runs no HAProxy
    CHECK(stage_files(inv, pg1, pg1, s, Stage::replication).size() == 2);  // the primary
    const auto repl = stage_files(inv, pg2, pg1, s, Stage::replication);
    REQUIRE(repl.size() == 4);
    for (const auto& f : repl) {
        CHECK(f.spec.owner == "postgres:postgres");
        if (f.content.find("r-secret") != std::string::npos) {
            CHECK(f.spec.mode == "0600");
            CHECK(f.secrecy == Secrecy::whole_file);
        }
    }
    const auto patroni = stage_files(inv, pg2, pg1, s, Stage::patroni);
    REQUIRE(patroni.size() == 3);  // patroni.yml, start.conf, the secrets' fingerprint
    CHECK(patroni[0].path == "/etc/patroni/17-main.yml");
    CHECK(patroni[0].spec.mode == "0600");
    CHECK(patroni[0].secrecy == Secrecy::password_lines);
}

TEST_CASE("stage files converge on fake hosts; the dry run then shows nothing",
          "[pg][stage][apply]") {
    const Inventory inv = load_inventory(std::string(PGDR_SOURCE_DIR) + "/inventories/lab.yaml");
    const Secrets s = with_test_tls(Secrets{"r-secret-123",
                                            "s-secret-123",
                                            "w-secret-123",
                                            "a-secret-123",
                                            "p-secret-123",
                                            "stats-pw",
                                            {},
                                            {}},
                                    inv);
    auto log = std::make_shared<CallLog>();
    RecordingTransport pg1("pg1", log), pg2("pg2", log), pg3("pg3", log);
    TransportMap transports{{"pg1", &pg1}, {"pg2", &pg2}, {"pg3", &pg3}};
    std::ostringstream sink;
    Logger logger(sink, 1);
    const Plan plan = files_plan(inv, s);
    // certificates 3 * 5, etcd 3 * 2 (settings, the unit's drop-in), replication 2 + 4 + 4, patroni
    // 9, haproxy 3 (haproxy.cfg, the reload script, the unit's drop-in)
    REQUIRE(plan.action_count() == 43);

    std::ostringstream preview;
    ApplyOptions dry;
    dry.dry_run = true;
    dry.out = &preview;
    auto first_dry = apply(plan, transports, logger, dry);
    CHECK(first_dry.count(Outcome::changed) == 43);
    CHECK(pg1.files().empty());
    CHECK(preview.str().find("+ETCD_NAME=\"pg1\"") != std::string::npos);
    CHECK(preview.str().find("secret-123") == std::string::npos);

    auto first = apply(plan, transports, logger);
    REQUIRE(first.ok());
    CHECK(first.count(Outcome::changed) == 43);
    CHECK(pg2.file("/etc/patroni/17-main.yml")->owner == "postgres:postgres");
    CHECK(pg2.file("/var/lib/postgresql/pgdr-replication.pgpass")->mode == "600");

    auto second = apply(plan, transports, logger);
    CHECK(second.count(Outcome::changed) == 0);
    CHECK(second.count(Outcome::unchanged) == 43);

    std::ostringstream again;
    dry.out = &again;
    auto converged_dry = apply(plan, transports, logger, dry);
    CHECK(converged_dry.count(Outcome::changed) == 0);
    CHECK(again.str().find("would") == std::string::npos);
    CHECK(sink.str().find("secret-123") == std::string::npos);
}
