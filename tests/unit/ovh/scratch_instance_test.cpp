// OvhScratchInstances (ovh/scratch_instance.hpp) on the recording fake HttpClient, with a small
// model of one project: the exact calls of the restore drill's temporary instance (flavor and
// image look-ups, the v2 POST with the cluster's network and security group, the READY and
// ACTIVE polls, the SSH wait) and its deletion on success, on a failure and on Ctrl-C.
#include "ovh/scratch_instance.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.hpp"
#include "core/scratch_host.hpp"
#include "fakes/manual_clock.hpp"
#include "fakes/recording_http_client.hpp"
#include "unit/ovh/ovh_rig.hpp"

using nlohmann::json;
using pgdr::ExitCode;
using pgdr::HttpRequest;
using pgdr::ScratchMachine;
using pgdr::fakes::ManualClock;
using pgdr::fakes::RecordingHttpClient;
using pgdr::ovh::OvhScratchInstances;
using pgdr::ovh::ScratchInstanceOptions;
using pgdr::ovh::ScratchInstanceSpec;

namespace {

const std::string k_v1 = "https://eu.api.ovh.com/1.0/cloud/project/p1/";
const std::string k_v2 = "https://eu.api.ovh.com/v2/publicCloud/project/p1/";

pgdr::Inventory inventory() {
    pgdr::Inventory inv;
    inv.cluster = "shop";
    inv.provider = pgdr::ProviderKind::ovh;
    inv.ovh.regions = {"GRA11", "SBG5"};
    inv.ovh.flavor = "b3-8";
    inv.ovh.image = "Debian 13";
    inv.paths.state_dir = "/tmp/state";
    for (const char* name : {"pg1", "pg2"}) {
        pgdr::HostSpec h;
        h.name = name;
        h.region = name == std::string("pg1") ? "GRA11" : "SBG5";
        inv.hosts.push_back(h);
    }
    return inv;
}

pgdr::ClusterState provisioned() {
    pgdr::ClusterState s;
    s.provider = {{"type", "ovh"},
                  {"regions",
                   {{"GRA11",
                     {{"network_id", "net-gra"},
                      {"subnet_id", "sub-gra"},
                      {"security_group_id", "sg-gra"},
                      {"instance_group_id", "ag-gra"}}}}}};
    return s;
}

// One project holding at most the scratch instance: v2 status CREATING for `creating_polls`
// GETs, then READY (or ERROR); v1 status BUILD once, then ACTIVE; gone after DELETE (or the
// DELETE fails with 500 when `delete_fails`).
struct Project {
    int creating_polls = 2;
    bool goes_to_error = false;
    bool delete_fails = false;
    bool exists = false;
    int v2_polls = 0;
    int v1_polls = 0;

    RecordingHttpClient::Outcome answer(const HttpRequest& r) {
        const std::string& u = r.url;
        if (u.find("/auth/time") != std::string::npos) {
            return RecordingHttpClient::make(200, "1457018875");
        }
        if (r.method == "GET" && u == k_v1 + "flavor?region=GRA11") {
            return ok(json::array({{{"id", "fl-1"},
                                    {"name", "b3-8"},
                                    {"region", "GRA11"},
                                    {"available", true},
                                    {"quota", 4}}}));
        }
        if (r.method == "GET" && u == k_v1 + "image?osType=linux&region=GRA11") {
            return ok(json::array({{{"id", "img-13"},
                                    {"name", "Debian 13"},
                                    {"region", "GRA11"},
                                    {"status", "active"}}}));
        }
        if (r.method == "POST" && u == k_v2 + "compute/instance") {
            exists = true;
            return ok({{"id", "i-9"},
                       {"resourceStatus", "CREATING"},
                       {"currentState", nullptr},
                       {"targetSpec", json::parse(r.body)["targetSpec"]}});
        }
        if (u == k_v2 + "compute/instance/i-9") {
            return instance_v2(r.method);
        }
        if (r.method == "GET" && u == k_v1 + "instance/i-9") {
            return ok({{"id", "i-9"}, {"status", v1_polls++ == 0 ? "BUILD" : "ACTIVE"}});
        }
        return RecordingHttpClient::make(404,
                                         "{\"message\":\"no route " + r.method + " " + u + "\"}");
    }

    RecordingHttpClient::Outcome instance_v2(const std::string& method) {
        if (method == "DELETE") {
            if (delete_fails) {
                return RecordingHttpClient::make(500, "{\"message\":\"Internal server error\"}");
            }
            exists = false;
            return ok(nullptr);
        }
        if (!exists) {
            return RecordingHttpClient::make(404, "{\"message\":\"InstanceDoesNotExist\"}");
        }
        const bool ready = v2_polls++ >= creating_polls;
        json r = {{"id", "i-9"}, {"resourceStatus", "CREATING"}, {"currentState", nullptr}};
        if (ready && goes_to_error) {
            r["resourceStatus"] = "ERROR";
            r["currentTasks"] =
                json::array({{{"errors", json::array({{{"message", "no host"}}})}}});
        } else if (ready) {
            r["resourceStatus"] = "READY";
            r["currentState"] = {
                {"networks",
                 json::array(
                     {{{"addresses", json::array({{{"ip", "51.68.1.2"}, {"version", 4}}})}},
                      {{"id", "net-gra"},
                       {"addresses", json::array({{{"ip", "10.0.0.140"}, {"version", 4}}})}}})}};
        }
        return ok(r);
    }

    static RecordingHttpClient::Outcome ok(const json& body) {
        return RecordingHttpClient::make(200, body.dump());
    }
};

struct Rig : pgdr::ovh::testing::ApiRig {
    Project project;
    std::atomic<bool> interrupted{false};
    int ssh_refusals = 1;
    std::vector<std::string> ssh_asked;  // addresses SSH was tried at

    Rig() {
        http.set_handler([this](const HttpRequest& r) { return project.answer(r); });
    }

    OvhScratchInstances scratch() {
        ScratchInstanceOptions o;
        o.ssh_ready = [this](const ScratchMachine& m) {
            ssh_asked.push_back(m.public_address);
            return ssh_refusals-- <= 0;
        };
        o.interrupted = &interrupted;
        o.poll = std::chrono::seconds(5);
        return OvhScratchInstances(
            api, pgdr::ovh::scratch_instance_spec(inventory(), provisioned(), clock.wall_now()), o);
    }

    // "METHOD path" of every call but /auth/time, consecutive repeats folded ("GET x *3").
    std::vector<std::string> calls() const {
        std::vector<std::string> out;
        int repeats = 1;
        for (const auto& r : http.requests()) {
            if (r.url.find("/auth/time") != std::string::npos) {
                continue;
            }
            std::string path = r.url.substr(std::string("https://eu.api.ovh.com").size());
            if (path.rfind("/1.0/", 0) == 0) {
                path = path.substr(4);  // v1 routes under /1.0, v2 beside it
            }
            const std::string line = r.method + " " + path;
            if (!out.empty() && (out.back() == line || out.back().rfind(line + " *", 0) == 0)) {
                out.back() = line + " *" + std::to_string(++repeats);
                continue;
            }
            repeats = 1;
            out.push_back(line);
        }
        return out;
    }
    json posted_spec() const {
        for (const auto& r : http.requests()) {
            if (r.method == "POST") {
                return json::parse(r.body)["targetSpec"];
            }
        }
        return nullptr;
    }
};

const std::vector<std::string> k_create_calls = {
    "GET /cloud/project/p1/flavor?region=GRA11",
    "GET /cloud/project/p1/image?osType=linux&region=GRA11",
    "POST /v2/publicCloud/project/p1/compute/instance",
    "GET /v2/publicCloud/project/p1/compute/instance/i-9 *3",  // CREATING, CREATING, READY
    "GET /cloud/project/p1/instance/i-9 *2",                   // BUILD, ACTIVE
};

}  // namespace

TEST_CASE("ovh scratch instance: the spec comes from the inventory and the provisioned state",
          "[ovh][scratch]") {
    const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1765000000));
    const auto spec = pgdr::ovh::scratch_instance_spec(inventory(), provisioned(), now);
    CHECK(spec.name == "pgdr-shop-restore-drill-20251206-054640");
    CHECK(spec.name.rfind(pgdr::ovh::scratch_instance_prefix(inventory()), 0) == 0);
    CHECK(spec.region == "GRA11");  // the first region that holds hosts
    CHECK(spec.flavor == "b3-8");
    CHECK(spec.image == "Debian 13");
    CHECK(spec.ssh_key_name == "pgdr-shop");
    CHECK(spec.network_id == "net-gra");
    CHECK(spec.subnet_id == "sub-gra");
    CHECK(spec.security_group_id == "sg-gra");

    // Not provisioned: no network to join, a config error before any API call.
    try {
        pgdr::ovh::scratch_instance_spec(inventory(), pgdr::ClusterState{}, now);
        FAIL("no error");
    } catch (const pgdr::Error& e) {
        CHECK(e.code() == ExitCode::invalid_config);
        CHECK_THAT(e.hint(), Catch::Contains("pgdr provision"));
    }
}

TEST_CASE("ovh scratch instance: create, poll until ACTIVE and SSH, delete on success",
          "[ovh][scratch]") {
    Rig rig;
    auto hosts = rig.scratch();
    const ScratchMachine m = hosts.create();
    CHECK(rig.calls() == k_create_calls);
    CHECK(m.provider == "ovh");
    CHECK(m.id == "i-9");
    CHECK(m.name.rfind("pgdr-shop-restore-drill-", 0) == 0);
    CHECK(m.flavor == "b3-8");
    CHECK(m.region == "GRA11");
    CHECK(m.address == "10.0.0.140");        // on the cluster's private network
    CHECK(m.public_address == "51.68.1.2");  // where SSH goes, as for the members
    CHECK(m.known_hosts.empty());            // a fresh key: accepted on first use
    CHECK(m.reach_like_members);
    CHECK(rig.ssh_asked == std::vector<std::string>{"51.68.1.2", "51.68.1.2"});

    // The instance joins the cluster's network and security group, with the members' flavor
    // and image, a public address, the cluster's key, and no anti-affinity group.
    const json spec = rig.posted_spec();
    CHECK(spec["name"] == m.name);
    CHECK(spec["flavor"] == json{{"id", "fl-1"}});
    CHECK(spec["image"] == json{{"id", "img-13"}});
    CHECK(spec["location"] == json{{"region", "GRA11"}});
    CHECK(spec["networks"] == json::parse(R"([{"autoAssignPublicIp":true},
                                               {"id":"net-gra","subnetId":"sub-gra"}])"));
    CHECK(spec["securityGroups"] == json::parse(R"([{"id":"sg-gra"}])"));
    CHECK(spec["sshKeyName"] == "pgdr-shop");
    CHECK(spec["powerState"] == "ACTIVE");
    CHECK_FALSE(spec.contains("group"));
    CHECK_FALSE(spec.contains("userData"));

    hosts.remove(m);
    auto calls = rig.calls();
    REQUIRE(calls.size() == k_create_calls.size() + 2);
    CHECK(calls[k_create_calls.size()] == "DELETE /v2/publicCloud/project/p1/compute/instance/i-9");
    CHECK(calls.back() == "GET /v2/publicCloud/project/p1/compute/instance/i-9");  // 404: gone
}

TEST_CASE("ovh scratch instance: a failure after the POST deletes the instance", "[ovh][scratch]") {
    Rig rig;
    SECTION("the instance goes to ERROR") {
        rig.project.goes_to_error = true;
        auto hosts = rig.scratch();
        CHECK_THROWS_WITH(hosts.create(), Catch::Contains("went to ERROR: no host"));
        CHECK(rig.http.count("DELETE", "compute/instance/i-9") == 1);
        CHECK_FALSE(rig.project.exists);
    }
    SECTION("it never answers SSH") {
        rig.ssh_refusals = 1000;
        auto hosts = rig.scratch();
        CHECK_THROWS_WITH(hosts.create(), Catch::Contains("to answer SSH: not within 600 s"));
        CHECK(rig.http.count("DELETE", "compute/instance/i-9") == 1);
        CHECK_FALSE(rig.project.exists);
    }
    SECTION("no quota left: nothing is created") {
        rig.http.set_handler([&rig](const HttpRequest& r) {
            if (r.url.find("flavor?region=") != std::string::npos) {
                return Project::ok(json::array(
                    {{{"id", "fl-1"}, {"name", "b3-8"}, {"region", "GRA11"}, {"quota", 0}}}));
            }
            return rig.project.answer(r);
        });
        auto hosts = rig.scratch();
        CHECK_THROWS_WITH(hosts.create(), Catch::Contains("quota"));
        CHECK(rig.http.count("POST", "compute/instance") == 0);
    }
}

TEST_CASE("ovh scratch instance: Ctrl-C while it boots deletes it", "[ovh][scratch]") {
    Rig rig;
    rig.project.creating_polls = 1000;
    rig.http.set_handler([&rig](const HttpRequest& r) {
        if (r.method == "GET" && rig.project.v2_polls == 3) {
            rig.interrupted = true;  // the operator's Ctrl-C, during the third READY poll
        }
        return rig.project.answer(r);
    });
    auto hosts = rig.scratch();
    try {
        hosts.create();
        FAIL("no interruption");
    } catch (const pgdr::Error& e) {
        CHECK(e.code() == ExitCode::interrupted);
    }
    const auto calls = rig.calls();
    REQUIRE(calls.size() == 6);
    CHECK(calls[2] == "POST /v2/publicCloud/project/p1/compute/instance");
    CHECK(calls[3] == "GET /v2/publicCloud/project/p1/compute/instance/i-9 *4");
    CHECK(calls[4] == "DELETE /v2/publicCloud/project/p1/compute/instance/i-9");
    CHECK(calls[5] == "GET /v2/publicCloud/project/p1/compute/instance/i-9");
    CHECK_FALSE(rig.project.exists);
}

TEST_CASE("ovh scratch instance: a failed delete names the instance and how to delete it",
          "[ovh][scratch]") {
    Rig rig;
    auto hosts = rig.scratch();
    const ScratchMachine m = hosts.create();
    rig.project.delete_fails = true;
    try {
        hosts.remove(m);
        FAIL("no error");
    } catch (const pgdr::Error& e) {
        CHECK(e.code() == ExitCode::cloud_api);
        CHECK_THAT(e.what(), Catch::Contains("i-9") && Catch::Contains("NOT deleted") &&
                                 Catch::Contains("billed"));
        CHECK_THAT(e.hint(),
                   Catch::Contains("DELETE /v2/publicCloud/project/p1/compute/instance/i-9") &&
                       Catch::Contains("pgdr destroy"));
    }
    SECTION("the guard logs it when it is the one deleting") {
        { pgdr::ScratchMachineGuard guard(hosts, m, rig.log); }
        CHECK_THAT(rig.log_text.str(), Catch::Contains("i-9") && Catch::Contains("DELETE /v2/"));
    }
}

TEST_CASE("ovh scratch instance: the guard deletes it when dropped", "[ovh][scratch]") {
    Rig rig;
    auto hosts = rig.scratch();
    {
        pgdr::ScratchMachineGuard guard(hosts, hosts.create(), rig.log);
        CHECK(rig.project.exists);
    }
    CHECK(rig.http.count("DELETE", "compute/instance/i-9") == 1);
    CHECK_FALSE(rig.project.exists);
}
