// A scratch host made ready for `pgdr restore --target` (pg/restore_scratch.hpp), applied on a
// recording transport: packages, Debian's cluster stopped, the restore configuration with its
// secrets 0640 root:postgres; a second apply changes nothing.
#include "pg/restore_scratch.hpp"

#include <catch2/catch.hpp>
#include <sstream>

#include "core/apply.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "fakes/recording_transport.hpp"
#include "pg/pgbackrest_conf.hpp"

using namespace pgdr;
using namespace pgdr::pg;
using pgdr::testing::RecordingTransport;

namespace {

Inventory inventory() {
    return parse_inventory(R"(cluster: lab
network: {cidr: 198.18.0.0/24}
hosts:
  - {name: pg1, address: 198.18.0.11, services: [postgres, etcd]}
  - {name: pg2, address: 198.18.0.12, services: [postgres, etcd]}
  - {name: pg3, address: 198.18.0.13, services: [postgres, etcd, haproxy]}
  - {name: scratch, address: 198.18.0.30, services: []}
backup:
  repo: {endpoint: s3.lab.internal:9443, region: lab, bucket: pgdr-lab, uri_style: path}
)",
                           "");
}

}  // namespace

TEST_CASE("restore scratch host: prepared once, then unchanged", "[pg][restore]") {
    const auto inv = inventory();
    Secrets s;
    s.backup = {"test-cipher-pass", "AKPGDRTEST", "test-s3-secret",
                "-----BEGIN CERTIFICATE-----\n"};
    const auto plan = plan_restore_scratch(inv, *inv.find_host("scratch"), s);
    RecordingTransport scratch("scratch");
    bool installed = false;
    bool debian_stopped = false;  // Debian starts its new cluster on installation
    const auto& acts = plan.stages.at(0).steps.at(0).hosts.at(0).actions;
    auto head = [](const std::vector<std::string>& argv) {
        return std::vector<std::string>(argv.begin(), argv.begin() + 4);  // sh -c SCRIPT NAME
    };
    auto answer = [](bool ok) {
        return [ok](const std::vector<std::string>&, const RunOptions&) {
            CommandResult r;
            r.exit_status = ok ? 0 : 1;
            return r;
        };
    };
    const auto& install = std::get<RunCommand>(acts.at(0));
    const auto& stop = std::get<RunCommand>(acts.at(1));
    scratch.on(head(*install.unless), [&](const std::vector<std::string>& a, const RunOptions& o) {
        return answer(installed)(a, o);
    });
    scratch.on(head(install.argv), [&](const std::vector<std::string>& a, const RunOptions& o) {
        installed = true;
        return answer(true)(a, o);
    });
    scratch.on(head(*stop.unless), [&](const std::vector<std::string>& a, const RunOptions& o) {
        return answer(debian_stopped)(a, o);
    });
    scratch.on({"pg_ctlcluster"}, [&](const std::vector<std::string>&, const RunOptions&) {
        debian_stopped = true;
        CommandResult r;
        r.exit_status = 0;
        return r;
    });
    std::ostringstream sink;
    Logger log(sink);
    const auto first = apply(plan, {{"scratch", &scratch}}, log);
    for (const auto& r : first.results) {
        INFO(r.description << ": " << r.error << " " << r.output);
        CHECK(r.outcome != Outcome::failed);
    }
    REQUIRE(first.ok());
    const auto conf = scratch.file(k_pgbackrest_conf);
    REQUIRE(conf);
    CHECK(conf->mode == "640");
    CHECK(conf->owner == "root:postgres");
    CHECK(conf->content == render_pgbackrest_restore_conf(inv, s));
    CHECK(conf->content.find("test-cipher-pass") != std::string::npos);
    REQUIRE(scratch.file(k_pgbackrest_repo_ca));
    bool stopped = false;
    for (const auto& c : scratch.calls()) {
        stopped =
            stopped || c.argv == std::vector<std::string>{"pg_ctlcluster", "17", "main", "stop"};
        if (c.argv.size() > 4 && c.argv[3] == "pgdr-install") {
            CHECK(std::vector<std::string>(c.argv.begin() + 4, c.argv.end()) ==
                  std::vector<std::string>{"postgresql-17", "pgbackrest"});
        }
    }
    CHECK(stopped);
    const auto second = apply(plan, {{"scratch", &scratch}}, log);
    REQUIRE(second.ok());
    for (const auto& r : second.results) {
        CAPTURE(r.description);
        CHECK(r.outcome == Outcome::unchanged);
    }
    CHECK_THROWS_AS(plan_restore_scratch(inv, *inv.find_host("pg1"), s), Error);
}
