// Collecting a drill's evidence over the Transport: the commands, clock offsets from scripted
// `date` answers, recorded journal and log output parsed per host, hosts that do not answer.
#include "drills/evidence_collect.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include "fakes/manual_clock.hpp"
#include "fakes/recording_transport.hpp"

using namespace pgdr;
using namespace pgdr::drills;
using pgdr::testing::RecordingTransport;

namespace {

std::string recorded(const std::string& path) {
    std::ifstream in(std::string(PGDR_GOLDEN_DIR) + "/drills/evidence/" + path);
    REQUIRE(in.good());
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

DrillTopology lab_topology() {
    DrillTopology t;
    t.cluster = "lab";
    t.postgres = {{"pg1", "198.18.0.11"}, {"pg2", "198.18.0.12"}, {"pg3", "198.18.0.13"}};
    t.etcd = t.postgres;
    t.haproxy = {{"pg3", "198.18.0.13"}};
    t.patroni_unit = "patroni@17-main";
    t.postgres_log = "/var/log/postgresql/postgresql-17-main.log";
    return t;
}

struct Hosts {
    std::map<std::string, std::unique_ptr<RecordingTransport>> by_name;
    Hosts() {
        for (const std::string h : {"pg1", "pg2", "pg3", "hp1"}) {
            by_name[h] = std::make_unique<RecordingTransport>(h);
        }
    }
    TransportFor transport() {
        return [this](const std::string& h) -> Transport& { return *by_name.at(h); };
    }
};

CommandResult exited(int status, std::string out = {}) {
    CommandResult r;
    r.exit_status = status;
    r.out = std::move(out);
    return r;
}

}  // namespace

TEST_CASE("evidence collection: the commands", "[drills][evidence]") {
    const auto j = journal_argv("patroni@15-main", 1796447905123456, true);
    CHECK(std::vector<std::string>(j.begin(), j.begin() + 10) ==
          std::vector<std::string>{"journalctl", "-o", "json",
                                   "--output-fields=MESSAGE,_SYSTEMD_UNIT,SYSLOG_IDENTIFIER", "-u",
                                   "patroni@15-main", "-u", "haproxy", "--since", "@1796447905"});
    CHECK(j[11] == "--grep");
    CHECK(journal_argv("patroni@15-main", 0, false).back() == "--no-pager");
    CHECK(postgres_log_argv("/var/log/postgresql/postgresql-15-main.log").back() ==
          "/var/log/postgresql/postgresql-15-main.log");

    auto t = lab_topology();
    CHECK(evidence_hosts(t) == std::vector<std::string>{"pg1", "pg2", "pg3"});
    t.haproxy = {{"hp1", "10.0.0.9"}};
    CHECK(evidence_hosts(t) == std::vector<std::string>{"pg1", "pg2", "pg3", "hp1"});
}

TEST_CASE("evidence collection: clock offsets through the transport", "[drills][evidence]") {
    Hosts hosts;
    fakes::ManualClock clock;
    const auto now_us = [&] {
        return std::chrono::duration_cast<std::chrono::microseconds>(
                   clock.wall_now().time_since_epoch())
            .count();
    };
    // pg1 answers 3 s ahead after 20 ms; pg2's clock is right but the answer takes 8 ms;
    // pg3 is unreachable.
    hosts.by_name["pg1"]->on({"date"}, [&](const std::vector<std::string>&, const RunOptions&) {
        clock.advance(std::chrono::milliseconds(10));
        const auto remote = (now_us() + 3000000) * 1000;
        clock.advance(std::chrono::milliseconds(10));
        return exited(0, std::to_string(remote) + "\n");
    });
    hosts.by_name["pg2"]->on({"date"}, [&](const std::vector<std::string>&, const RunOptions&) {
        clock.advance(std::chrono::milliseconds(4));
        const auto remote = now_us() * 1000;
        clock.advance(std::chrono::milliseconds(4));
        return exited(0, std::to_string(remote) + "\n");
    });
    hosts.by_name["pg3"]->set_unreachable(true);
    std::vector<std::string> errors;
    auto offsets = measure_clock_offsets({"pg1", "pg2", "pg3"}, hosts.transport(), clock, errors);
    REQUIRE(offsets.size() == 2);
    CHECK(offsets[0].host == "pg1");
    CHECK(offsets[0].offset_ms == Approx(3000));
    CHECK(offsets[0].bound_ms == Approx(10));
    CHECK(offsets[1].offset_ms == Approx(0));
    CHECK(offsets[1].bound_ms == Approx(4));
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].find("clock offset of pg3") == 0);
    CHECK(hosts.by_name["pg1"]->calls().size() == 3);
}

TEST_CASE("evidence collection: recorded journal and log lines, per host", "[drills][evidence]") {
    Hosts hosts;
    for (const std::string h : {"pg1", "pg2", "pg3"}) {
        const auto journal = recorded("trixie/lose-primary-host/journal-" + h + ".json");
        const auto log = recorded("trixie/lose-primary-host/postgresql-" + h + ".log");
        hosts.by_name[h]->on({"journalctl"}, 0, journal);
        hosts.by_name[h]->on({"grep"}, 0, log);
    }
    // A journalctl without pattern support: the second try, without --grep, answers.
    hosts.by_name["pg1"] = std::make_unique<RecordingTransport>("pg1");
    hosts.by_name["pg1"]->on({"journalctl"}, [](const std::vector<std::string>& argv,
                                                const RunOptions& o) {
        CHECK(o.sudo);
        const bool grep = std::find(argv.begin(), argv.end(), "--grep") != argv.end();
        return grep ? exited(1) : exited(0, recorded("trixie/lose-primary-host/journal-pg1.json"));
    });
    std::vector<std::string> errors;
    const auto events = collect_log_events(lab_topology(), hosts.transport(), 0, errors);
    CHECK(errors.empty());
    auto count = [&](const std::string& host, const std::string& source) {
        return std::count_if(events.begin(), events.end(), [&](const ServerEvent& e) {
            return e.host == host && e.source == source;
        });
    };
    CHECK(count("pg2", "patroni_log") > 0);
    CHECK(count("pg2", "postgres_log") >= 4);
    CHECK(count("pg3", "haproxy_log") > 0);
    CHECK(count("pg1", "patroni_log") > 0);  // from the retry without --grep

    SECTION("a host that does not answer leaves a reason, the others still count") {
        hosts.by_name["pg2"]->set_unreachable(true);
        errors.clear();
        const auto rest = collect_log_events(lab_topology(), hosts.transport(), 0, errors);
        REQUIRE(errors.size() == 1);
        CHECK(errors[0].find("server evidence of pg2") == 0);
        CHECK(std::none_of(rest.begin(), rest.end(),
                           [](const ServerEvent& e) { return e.host == "pg2"; }));
        CHECK(std::any_of(rest.begin(), rest.end(),
                          [](const ServerEvent& e) { return e.host == "pg3"; }));
    }
}
