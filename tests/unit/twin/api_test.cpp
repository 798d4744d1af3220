// The OVH twin's API model, driven by pgdr's own OVH client and provider through an in-process
// HttpClient, with a recording backend: authentication as the real API checks it, the v2
// life cycles, power actions, security groups as firewalls, and bad input.
#include "twin/api.hpp"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/inventory.hpp"
#include "core/state.hpp"
#include "fakes/manual_clock.hpp"
#include "fakes/s3_client.hpp"
#include "ovh/client.hpp"
#include "ovh/host_control.hpp"
#include "ovh/object_storage.hpp"
#include "ovh/provider.hpp"
#include "ovh/scratch_instance.hpp"
#include "ovh/signer.hpp"

namespace pgdr::twin {
namespace {

using nlohmann::json;

class RecordingBackend final : public TwinBackend {
  public:
    std::vector<std::string> calls;
    std::map<std::string, HostSpec> hosts;
    std::map<std::string, Firewall> firewalls;
    bool fail_create = false;

    void create_network(const std::string& id, const std::string& region) override {
        calls.push_back("create_network " + region);
        (void)id;
    }
    void delete_network(const std::string&) override { calls.push_back("delete_network"); }
    void link_networks(const std::string&, const std::string&, int latency) override {
        calls.push_back("link_networks " + std::to_string(latency));
    }
    void create_host(const HostSpec& spec) override {
        calls.push_back("create_host " + spec.name);
        if (fail_create) {
            throw std::runtime_error("no image");
        }
        hosts[spec.id] = spec;
        firewalls[spec.id] = spec.firewall;
    }
    void delete_host(const std::string& id) override {
        calls.push_back("delete_host " + hosts[id].name);
        hosts.erase(id);
    }
    void power_off(const std::string& id) override {
        calls.push_back("power_off " + hosts[id].name);
    }
    void power_on(const std::string& id) override { calls.push_back("power_on " + hosts[id].name); }
    void hard_reset(const std::string& id) override {
        calls.push_back("hard_reset " + hosts[id].name);
    }
    void apply_firewall(const std::string& id, const Firewall& fw) override {
        calls.push_back("apply_firewall " + hosts[id].name);
        firewalls[id] = fw;
    }
};

// Hands every request straight to the twin, as the HTTP server does.
class TwinHttp final : public HttpClient {
  public:
    explicit TwinHttp(TwinApi& api) : m_api(api) {}
    HttpResponse send(const HttpRequest& request) override { return m_api.handle(request); }

  private:
    TwinApi& m_api;
};

const char* const k_project = "0123456789abcdef0123456789abcdef";

TwinConfig config() {
    TwinConfig c;
    c.application_key = "twin-ak";
    c.application_secret = "twin-as";
    c.consumer_key = "twin-ck";
    c.projects = {k_project};
    c.quota_per_region = 3;
    c.region_latency_ms = 20;
    return c;
}

struct Rig {
    fakes::ManualClock clock;
    RecordingBackend backend;
    TwinApi api{config(), clock, backend, [](std::function<void()> job) { job(); }};
    TwinHttp http{api};
    std::ostringstream log_text;
    Logger log{log_text, 0};
    ovh::Client client{http, clock, log, credentials()};
    ovh::ProjectApi project{client, clock, log, k_project};

    static ovh::Credentials credentials() {
        ovh::Credentials c;
        c.base_url = "http://127.0.0.1:8117/1.0";
        c.application_key = "twin-ak";
        c.application_secret = "twin-as";
        c.consumer_key = "twin-ck";
        return c;
    }
    long long now() {
        return std::chrono::duration_cast<std::chrono::seconds>(clock.wall_now().time_since_epoch())
            .count();
    }
    // A hand-made signed request, to tamper with.
    HttpResponse raw(const std::string& method, const std::string& path, long long ts,
                     const std::string& secret = "twin-as", const std::string& body = {}) {
        HttpRequest r;
        r.method = method;
        r.url = "http://127.0.0.1:8117" + path;
        r.body = body;
        r.headers["X-Ovh-Application"] = "twin-ak";
        r.headers["X-Ovh-Consumer"] = "twin-ck";
        r.headers["X-Ovh-Timestamp"] = std::to_string(ts);
        r.headers["X-Ovh-Signature"] =
            ovh::sign_request(secret, "twin-ck", method, r.url, body, ts);
        return api.handle(r);
    }
};

Inventory inventory(const std::string& key_file, const std::string& flavor = "b3-8",
                    const std::string& image = "Debian 13") {
    const std::string text = std::string(R"(cluster: shop-db
release: trixie
network:
  cidr: 198.18.64.0/24
  ssh_allowed_cidrs: [198.19.0.1/32]
ssh:
  user: debian
hosts:
  - {name: pg1, region: GRA11, services: [postgres, etcd]}
  - {name: pg2, region: SBG5, services: [postgres, etcd]}
  - {name: pg3, region: GRA11, services: [postgres, etcd, haproxy]}
provider:
  type: ovh
  ovh:
    project_id: 0123456789abcdef0123456789abcdef
    regions: [GRA11, SBG5]
    flavor: )") + flavor +
                             "\n    image: " + image + "\n    ssh_public_key_file: " + key_file +
                             "\n";
    return parse_inventory(text, "twin.yaml");
}

// The same cluster with its backups in Object Storage: the backup section's repository, on
// OVH's endpoint in SBG (provision makes its bucket).
Inventory inventory_with_backup(const std::string& key_file) {
    return parse_inventory(R"(cluster: shop-db
release: trixie
network:
  cidr: 198.18.64.0/24
  ssh_allowed_cidrs: [198.19.0.1/32]
ssh:
  user: debian
hosts:
  - {name: pg1, region: GRA11, services: [postgres, etcd]}
  - {name: pg2, region: SBG5, services: [postgres, etcd]}
  - {name: pg3, region: GRA11, services: [postgres, etcd, haproxy]}
provider:
  type: ovh
  ovh:
    project_id: 0123456789abcdef0123456789abcdef
    regions: [GRA11, SBG5]
    ssh_public_key_file: )" + key_file +
                               R"(
backup:
  repo:
    type: s3
    endpoint: s3.sbg.io.cloud.ovh.net
    region: sbg
    bucket: pgdr-shop-db-backup
)",
                           "twin.yaml");
}

struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/pgdr-twin-test.XXXXXX";
        path = ::mkdtemp(tmpl);
        std::ofstream(path + "/key.pub") << "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample me\n";
    }
    ~TempDir() { std::filesystem::remove_all(path); }
};

}  // namespace

TEST_CASE("twin: requests are checked like the real API's", "[twin]") {
    Rig rig;
    SECTION("a correct signature passes") {
        auto r = rig.raw("GET", "/1.0/cloud/project/" + std::string(k_project), rig.now());
        CHECK(r.status == 200);
    }
    SECTION("a wrong secret is an invalid signature") {
        auto r = rig.raw("GET", "/1.0/cloud/project/" + std::string(k_project), rig.now(), "x");
        CHECK(r.status == 400);
        CHECK(json::parse(r.body)["message"] == "Invalid signature");
    }
    SECTION("a timestamp outside the window is refused") {
        auto r = rig.raw("GET", "/1.0/cloud/project/" + std::string(k_project), rig.now() - 400);
        CHECK(r.status == 400);
        CHECK(json::parse(r.body)["errorCode"] == "INVALID_TIMESTAMP");
    }
    SECTION("a body other than the one signed is refused") {
        HttpRequest req;
        req.method = "POST";
        req.url =
            "http://127.0.0.1:8117/v2/publicCloud/project/" + std::string(k_project) + "/sshKey";
        req.headers = {{"X-Ovh-Application", "twin-ak"},
                       {"X-Ovh-Consumer", "twin-ck"},
                       {"X-Ovh-Timestamp", std::to_string(rig.now())}};
        req.headers["X-Ovh-Signature"] =
            ovh::sign_request("twin-as", "twin-ck", "POST", req.url, "{}", rig.now());
        req.body = R"({"name":"k","publicKey":"ssh-ed25519 AAAA"})";
        CHECK(rig.api.handle(req).status == 400);
    }
    SECTION("unsigned and unknown keys") {
        HttpRequest req;
        req.url = "http://127.0.0.1:8117/1.0/cloud/project/" + std::string(k_project);
        req.headers = {{"X-Ovh-Application", "twin-ak"}};
        CHECK(rig.api.handle(req).status == 401);
        req.headers = {{"X-Ovh-Application", "other"}};
        auto r = rig.api.handle(req);
        CHECK(r.status == 403);
        CHECK(json::parse(r.body)["message"] == "Invalid application key");
    }
    SECTION("/auth/time is unsigned and answers the twin's clock") {
        HttpRequest req;
        req.url = "http://127.0.0.1:8117/1.0/auth/time";
        auto r = rig.api.handle(req);
        CHECK(r.status == 200);
        CHECK(json::parse(r.body).get<long long>() == rig.now());
    }
}

TEST_CASE("twin: pgdr's provider provisions and destroys a cluster on it", "[twin]") {
    Rig rig;
    TempDir dir;
    auto inv = inventory(dir.path + "/key.pub");
    ovh::OvhProvider provider(rig.project, rig.log);
    ClusterState state;
    auto result = provider.apply(inv, state, dir.path + "/state");
    CHECK(result.plan.blockers.empty());
    REQUIRE(rig.backend.hosts.size() == 3);
    std::map<std::string, HostSpec> by_name;
    for (const auto& [id, h] : rig.backend.hosts) {
        by_name[h.name] = h;
    }
    const auto& pg1 = by_name.at("pgdr-shop-db-pg1");
    CHECK(pg1.release == "trixie");
    CHECK(pg1.vcpus == 2);
    CHECK(pg1.ram_gb == 8);
    CHECK(pg1.public_key.rfind("ssh-ed25519 ", 0) == 0);
    CHECK(pg1.public_address.rfind("198.19.1.", 0) == 0);
    CHECK(by_name.at("pgdr-shop-db-pg2").public_address.rfind("198.19.2.", 0) == 0);
    REQUIRE(pg1.private_nics.size() == 1);
    CHECK(pg1.private_nics[0].address == state.hosts.at("pg1").address);
    CHECK(state.hosts.at("pg1").public_address == pg1.public_address);
    // The security group: no allow-all, SSH only from the allowed CIDR, cluster ports from
    // the subnet.
    CHECK_FALSE(pg1.firewall.allow_all);
    bool ssh = false, pg = false;
    for (const auto& r : rig.backend.firewalls.at(pg1.id).rules) {
        ssh |= r.port_min == 22 && r.source == "198.19.0.1/32" && r.protocol == "tcp";
        pg |= r.port_min == 5432 && r.source.rfind("198.18.64.", 0) == 0;
        CHECK(r.source != "0.0.0.0/0");
    }
    CHECK(ssh);
    CHECK(pg);
    // Two regions with the same subnet: one vRack segment, with the configured latency.
    CHECK(std::count(rig.backend.calls.begin(), rig.backend.calls.end(), "link_networks 20") == 1);

    // Provisioning again changes nothing.
    auto again = provider.apply(inv, state, dir.path + "/state");
    CHECK(again.created == 0);

    // Power actions through v1, as the drills call them: the reboot target check reads the
    // instance's name and private address from v1's ipAddresses (as on OVH).
    const std::string id = state.hosts.at("pg1").instance_id;
    ovh::OvhHostControlOptions control_options;
    control_options.expected = ovh::expected_machines(inv);
    ovh::OvhHostControl control(rig.project, rig.clock, ovh::instance_ids(state), control_options);
    control.reboot_host("pg1");
    CHECK(rig.project.instance_status(id) == "ACTIVE");
    const auto v1 = rig.project.instance(id);
    REQUIRE(v1.at("ipAddresses").size() == 2);
    CHECK(v1["ipAddresses"][0]["type"] == "public");
    CHECK(v1["ipAddresses"][1]["ip"] == state.hosts.at("pg1").address);
    rig.project.stop(id);
    CHECK(rig.project.instance_status(id) == "SHUTOFF");
    CHECK_THROWS(rig.project.stop(id));  // 409: already stopped
    rig.project.start(id);
    CHECK(rig.project.instance_status(id) == "ACTIVE");
    CHECK(std::find(rig.backend.calls.begin(), rig.backend.calls.end(),
                    "hard_reset pgdr-shop-db-pg1") != rig.backend.calls.end());

    provider.destroy(inv, state, dir.path + "/state");
    CHECK(rig.backend.hosts.empty());
    CHECK(rig.project.list("network").empty());
    CHECK(rig.project.list("securityGroup").empty());
    CHECK(rig.project.list("sshKey").empty());
}

TEST_CASE("twin: unknown flavor, image and region and an exceeded quota are refused", "[twin]") {
    Rig rig;
    TempDir dir;
    ovh::OvhProvider provider(rig.project, rig.log);
    ClusterState state;
    SECTION("unknown flavor: a blocker, nothing created") {
        auto inv = inventory(dir.path + "/key.pub", "x9-999");
        CHECK_FALSE(provider.plan(inv, state).blockers.empty());
        CHECK_THROWS(provider.apply(inv, state, dir.path + "/state"));
        CHECK(rig.backend.calls.empty());
    }
    SECTION("unknown image") {
        auto inv = inventory(dir.path + "/key.pub", "b3-8", "Windows 2022");
        CHECK_FALSE(provider.plan(inv, state).blockers.empty());
    }
    SECTION("an unknown region in a POST is a 400") {
        auto r = rig.raw("POST", "/v2/publicCloud/project/" + std::string(k_project) + "/network",
                         rig.now(), "twin-as",
                         R"({"targetSpec":{"name":"n","location":{"region":"XX1"}}})");
        CHECK(r.status == 400);
        CHECK(json::parse(r.body)["class"] == "Client::BadRequest");
    }
    SECTION("quota: the flavor list shows it, a POST beyond it is a 403") {
        auto inv = inventory(dir.path + "/key.pub");
        inv.hosts.push_back(inv.hosts[0]);
        inv.hosts.back().name = "pg4";
        inv.hosts.push_back(inv.hosts[0]);
        inv.hosts.back().name = "pg5";
        auto plan = provider.plan(inv, state);
        REQUIRE_FALSE(plan.blockers.empty());
        CHECK(plan.blockers[0].find("quota") != std::string::npos);
        CHECK(rig.backend.calls.empty());
    }
    SECTION("a backend failure makes the instance ERROR, and destroy still removes it") {
        rig.backend.fail_create = true;
        auto inv = inventory(dir.path + "/key.pub");
        CHECK_THROWS(provider.apply(inv, state, dir.path + "/state"));
        provider.destroy(inv, state, dir.path + "/state");
        CHECK(rig.project.list("compute/instance").empty());
        CHECK(rig.project.list("network").empty());
    }
}

TEST_CASE("twin: a security group change reaches the instances' firewalls", "[twin]") {
    Rig rig;
    TempDir dir;
    auto inv = inventory(dir.path + "/key.pub");
    ovh::OvhProvider provider(rig.project, rig.log);
    ClusterState state;
    provider.apply(inv, state, dir.path + "/state");
    auto sgs = rig.project.list("securityGroup");
    REQUIRE(sgs.size() == 2);
    const std::string sg = sgs[0]["id"];
    rig.project.update("securityGroup", sg,
                       {{"name", sgs[0]["targetSpec"]["name"]},
                        {"rules", json::array({{{"direction", "INGRESS"},
                                                {"ethernetType", "IPV4"},
                                                {"protocol", "TCP"},
                                                {"portRangeMin", 22},
                                                {"portRangeMax", 22},
                                                {"remoteIpPrefix", "198.19.9.0/24"}}})}});
    bool changed = false;
    for (const auto& [id, fw] : rig.backend.firewalls) {
        if (fw.rules.size() == 1 && fw.rules[0].source == "198.19.9.0/24") {
            changed = true;
        }
    }
    CHECK(changed);
}

TEST_CASE("twin: Object Storage through the OVH API, used with S3 credentials", "[twin][s3]") {
    Rig rig;
    TempDir dir;
    S3Regions storage(dir.path + "/s3", rig.clock, {"gra", "sbg"});
    rig.api.set_object_storage(&storage);
    const std::string base = "/cloud/project/" + std::string(k_project);

    // A bucket in SBG5, as `pgdr provision` makes the backup repository's.
    auto bucket = rig.client.post(base + "/region/SBG5/storage", {{"name", "shop-db-backup"}});
    CHECK(bucket["virtualHost"] == "shop-db-backup.s3.sbg.io.cloud.ovh.net");
    CHECK_THROWS_WITH(rig.client.post(base + "/region/SBG5/storage", {{"name", "shop-db-backup"}}),
                      Catch::Contains("already exists"));
    CHECK_THROWS(rig.client.post(base + "/region/XX9/storage", {{"name", "b2-b"}}));
    CHECK(rig.client.get(base + "/region/SBG5/storage").size() == 1);

    // An S3 user, its credentials, and a policy for that bucket alone.
    auto user = rig.client.post(base + "/user", {{"description", "pgdr shop-db backups"},
                                                 {"role", "objectstore_operator"}});
    const std::string uid = std::to_string(user["id"].get<long long>());
    CHECK(rig.client.get(base + "/user/" + uid)["status"] == "ok");
    auto cred = rig.client.post(base + "/user/" + uid + "/s3Credentials", nlohmann::json::object());
    const std::string access = cred["access"];
    const std::string secret = cred["secret"];
    CHECK(rig.client.post(base + "/user/" + uid + "/s3Credentials/" + access + "/secret",
                          nlohmann::json::object())["secret"] == secret);
    CHECK_FALSE(rig.client.get(base + "/user/" + uid + "/s3Credentials")[0].contains("secret"));

    fakes::S3Client s3{*storage.region("sbg"), rig.clock, access, secret, "sbg"};
    CHECK(s3.call("PUT", "/shop-db-backup/x", "data").status == 403);  // no policy yet
    const std::string policy =
        R"({"Statement":[{"Sid":"RWContainer","Effect":"Allow","Action":["s3:GetObject",)"
        R"("s3:PutObject","s3:DeleteObject","s3:ListBucket"],"Resource":[)"
        R"("arn:aws:s3:::shop-db-backup","arn:aws:s3:::shop-db-backup/*"]}]})";
    rig.client.post(base + "/user/" + uid + "/policy", {{"policy", policy}});
    CHECK(rig.client.get(base + "/user/" + uid + "/policy")["policy"] == policy);
    CHECK(s3.call("PUT", "/shop-db-backup/x", "data").status == 200);
    storage.region("sbg")->ensure_bucket("other-bucket");
    CHECK(s3.call("PUT", "/other-bucket/x", "data").status == 403);  // the policy's bucket only

    // Deleting the credential closes the door at once; the bucket goes with its objects.
    rig.client.del(base + "/user/" + uid + "/s3Credentials/" + access);
    CHECK(s3.call("GET", "/shop-db-backup/x").status == 403);
    rig.client.del(base + "/region/SBG5/storage/shop-db-backup");
    CHECK(rig.client.get(base + "/region/SBG5/storage").size() == 1);  // other-bucket
    rig.client.del(base + "/user/" + uid);
    CHECK_THROWS(rig.client.get(base + "/user/" + uid));
}

TEST_CASE("object storage: the backup region and the names", "[ovh][s3]") {
    TempDir dir;
    auto inv = inventory(dir.path + "/key.pub");
    CHECK(ovh::backup_region(inv) == "SBG5");    // another region than the first
    CHECK_FALSE(ovh::object_storage_spec(inv));  // no backup_region: no Object Storage
    inv.ovh.regions = {"GRA11"};
    CHECK(ovh::backup_region(inv) == "GRA11");  // the only one
    inv.ovh.backup_region = "RBX-A";
    const auto spec = ovh::object_storage_spec(inv);
    REQUIRE(spec);
    CHECK(spec->region == "RBX-A");
    CHECK(spec->s3_region == "rbx");
    CHECK(spec->bucket == "pgdr-shop-db-backup");
    CHECK(ovh::s3_region_of("EU-WEST-PAR") == "eu-west-par");
    CHECK(ovh::s3_endpoint_host("gra") == "s3.gra.io.cloud.ovh.net");
    const auto policy = ovh::bucket_policy("b1");
    CHECK(policy["Statement"][0]["Resource"] ==
          json::array({"arn:aws:s3:::b1", "arn:aws:s3:::b1/*"}));
    CHECK(policy["Statement"][0]["Effect"] == "Allow");
}

TEST_CASE("object storage: the backup section names region and bucket; backup_region is an alias",
          "[ovh][s3]") {
    TempDir dir;
    auto inv = inventory(dir.path + "/key.pub");
    BackupSettings b;
    b.repo.endpoint = "s3.sbg.io.cloud.ovh.net";
    b.repo.region = "sbg";
    b.repo.bucket = "shop-backups";
    inv.backup = b;
    auto spec = ovh::object_storage_spec(inv);
    REQUIRE(spec);
    CHECK(spec->region == "SBG5");  // the inventory's region of that S3 region
    CHECK(spec->s3_region == "sbg");
    CHECK(spec->bucket == "shop-backups");
    CHECK(spec->user_description == "pgdr-shop-db-backup");
    CHECK(ovh::backup_region_warning(inv).empty());

    SECTION("beside the section, backup_region is ignored, with a warning") {
        inv.ovh.backup_region = "GRA11";
        CHECK(ovh::object_storage_spec(inv)->region == "SBG5");
        CHECK_THAT(ovh::backup_region_warning(inv),
                   Catch::Contains("deprecated and ignored") && Catch::Contains("shop-backups"));
    }
    SECTION("a region none of the hosts is in: OVH's storage region name") {
        inv.backup->repo.endpoint = "s3.eu-west-par.io.cloud.ovh.net:443";
        inv.backup->repo.region = "eu-west-par";
        CHECK(ovh::object_storage_spec(inv)->region == "EU-WEST-PAR");
    }
    SECTION("another S3 service: provision makes nothing") {
        inv.backup->repo.endpoint = "minio.example.com:9000";
        CHECK_FALSE(ovh::object_storage_spec(inv));
        inv.backup->repo.endpoint = "s3.example.net.cloud.ovh.net.evil.com";
        CHECK_FALSE(ovh::object_storage_spec(inv));
        inv.backup->repo.type = "posix";
        inv.backup->repo.endpoint = "s3.sbg.io.cloud.ovh.net";
        CHECK_FALSE(ovh::object_storage_spec(inv));
    }
    SECTION("without the section, backup_region still works, with a warning") {
        inv.backup.reset();
        inv.ovh.backup_region = "RBX-A";
        spec = ovh::object_storage_spec(inv);
        REQUIRE(spec);
        CHECK(spec->region == "RBX-A");
        CHECK(spec->bucket == "pgdr-shop-db-backup");
        CHECK_THAT(ovh::backup_region_warning(inv),
                   Catch::Contains("deprecated") &&
                       Catch::Contains("endpoint: s3.rbx.io.cloud.ovh.net, region: rbx, bucket: "
                                       "pgdr-shop-db-backup"));
    }
}

TEST_CASE("object storage: provision makes the bucket, S3 user, credential and policy",
          "[twin][s3][ovh]") {
    Rig rig;
    TempDir dir;
    S3Regions storage(dir.path + "/s3", rig.clock, {"gra", "sbg"});
    rig.api.set_object_storage(&storage);
    const std::string state_dir = dir.path + "/state";
    auto inv = inventory_with_backup(dir.path + "/key.pub");
    inv.paths.state_dir = state_dir;  // plan() finds the credential's secret file there
    ovh::OvhProvider provider(rig.project, rig.log);
    ClusterState state;

    auto plan = provider.plan(inv, state);
    std::map<std::string, ovh::ChangeAction> planned;
    for (const auto& c : plan.changes) {
        planned[c.kind] = c.action;
    }
    CHECK(planned.at("bucket") == ovh::ChangeAction::create);
    CHECK(planned.at("s3 user") == ovh::ChangeAction::create);
    CHECK(planned.at("s3 credential") == ovh::ChangeAction::create);
    CHECK(planned.at("s3 policy") == ovh::ChangeAction::create);
    CHECK(storage.region("sbg")->buckets().empty());  // the plan made nothing

    auto result = provider.apply(inv, state, state_dir);
    CHECK(storage.region("sbg")->buckets() == std::vector<std::string>{"pgdr-shop-db-backup"});
    CHECK(rig.log_text.str().find("backup_region") == std::string::npos);
    const auto rec = state.provider.at("object_storage");
    CHECK(rec.at("region") == "SBG5");
    CHECK(rec.at("bucket") == "pgdr-shop-db-backup");
    CHECK(rec.at("endpoint") == "s3.sbg.io.cloud.ovh.net");
    CHECK_FALSE(rec.at("user_id").get<std::string>().empty());
    const std::string access = rec.at("access_key");
    // The secret is in the 0600 file only, never in the state.
    const std::string secrets = state_dir + "/secrets/s3-credentials";
    struct stat st {};
    REQUIRE(::stat(secrets.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    std::ifstream in(secrets);
    std::string line1, line2;
    std::getline(in, line1);
    std::getline(in, line2);
    CHECK(line1 == "access_key=" + access);
    REQUIRE(line2.rfind("secret_key=", 0) == 0);
    const std::string secret = line2.substr(11);
    CHECK(load_state(state_dir).provider.dump().find(secret) == std::string::npos);
    CHECK(rig.log_text.str().find(secret) == std::string::npos);

    // The credential works on the bucket, and on nothing else.
    fakes::S3Client s3{*storage.region("sbg"), rig.clock, access, secret, "sbg"};
    CHECK(s3.call("PUT", "/pgdr-shop-db-backup/backup.info", "x").status == 200);
    storage.region("sbg")->ensure_bucket("someone-else");
    CHECK(s3.call("GET", "/someone-else?list-type=2").status == 403);

    // Again: nothing created or updated, everything kept.
    auto again = provider.apply(inv, state, state_dir);
    CHECK(again.created == 0);
    CHECK(again.updated == 0);
    for (const auto& c : provider.plan(inv, state).changes) {
        INFO(c.kind << " " << c.name);
        CHECK(c.action == ovh::ChangeAction::keep);
    }

    SECTION("a lost secret file: a new credential, the old one deleted") {
        std::filesystem::remove(secrets);
        auto p = provider.plan(inv, state);
        CHECK(std::any_of(p.changes.begin(), p.changes.end(), [](const ovh::Change& c) {
            return c.kind == "s3 credential" && c.action == ovh::ChangeAction::create;
        }));
        provider.apply(inv, state, state_dir);
        const std::string access2 = state.provider["object_storage"]["access_key"];
        CHECK(access2 != access);
        CHECK(s3.call("GET", "/pgdr-shop-db-backup/backup.info").status == 403);  // old key
        const std::string uid = state.provider["object_storage"]["user_id"];
        CHECK(
            rig.client
                .get("/cloud/project/" + std::string(k_project) + "/user/" + uid + "/s3Credentials")
                .size() == 1);
    }
    SECTION("destroy keeps a bucket that holds backups, unless --delete-backups") {
        auto targets = provider.destroy_plan(inv, state);
        CHECK_FALSE(ovh::deletes_backups(targets));
        provider.destroy(inv, state, state_dir);
        CHECK(rig.backend.hosts.empty());
        CHECK(storage.region("sbg")->buckets().size() == 2);  // kept, with someone-else's
        CHECK(s3.call("GET", "/pgdr-shop-db-backup/backup.info").status == 200);
        CHECK(load_state(state_dir).provider.contains("object_storage"));
        CHECK(std::filesystem::exists(secrets));

        ovh::ProviderOptions o;
        o.delete_backups = true;
        ovh::OvhProvider deleting(rig.project, rig.log, o);
        auto targets2 = deleting.destroy_plan(inv, state);
        CHECK(ovh::deletes_backups(targets2));
        deleting.destroy(inv, state, state_dir);
        CHECK(storage.region("sbg")->buckets() == std::vector<std::string>{"someone-else"});
        CHECK(rig.client.get("/cloud/project/" + std::string(k_project) + "/user").empty());
        CHECK_FALSE(load_state(state_dir).provider.contains("object_storage"));
        CHECK_FALSE(std::filesystem::exists(secrets));
        CHECK(s3.call("GET", "/pgdr-shop-db-backup/backup.info").status == 403);
    }
    SECTION("destroy deletes an empty bucket, the user and the credential") {
        CHECK(s3.call("DELETE", "/pgdr-shop-db-backup/backup.info").status == 204);
        auto targets = provider.destroy_plan(inv, state);
        CHECK_FALSE(ovh::deletes_backups(targets));
        int removals = 0;
        for (const auto& c : targets) {
            removals += c.action == ovh::ChangeAction::remove &&
                        (c.kind == "bucket" || c.kind == "s3 user" || c.kind == "s3 credential");
        }
        CHECK(removals == 3);
        provider.destroy(inv, state, state_dir);
        CHECK(storage.region("sbg")->buckets() == std::vector<std::string>{"someone-else"});
        CHECK_FALSE(load_state(state_dir).provider.contains("object_storage"));
    }
}

TEST_CASE(
    "object storage: a bucket another cluster made is used, never deleted by this one's "
    "destroy",
    "[twin][s3][ovh]") {
    Rig rig;
    TempDir dir;
    S3Regions storage(dir.path + "/s3", rig.clock, {"gra", "sbg"});
    rig.api.set_object_storage(&storage);
    ovh::OvhProvider provider(rig.project, rig.log);
    auto first = inventory_with_backup(dir.path + "/key.pub");
    first.paths.state_dir = dir.path + "/first";
    ClusterState first_state;
    provider.apply(first, first_state, first.paths.state_dir);
    CHECK(first_state.provider["object_storage"]["bucket_created"] == true);

    // A second cluster whose inventory names the same bucket (the e2e twin test's quota case
    // deleted the first cluster's empty bucket this way: `destroy -i other.yaml`).
    auto other = first;
    other.cluster = "other";
    other.paths.state_dir = dir.path + "/other";
    ClusterState other_state;
    for (const auto& c : provider.plan(other, other_state).changes) {
        if (c.kind == "bucket") {
            CHECK(c.action == ovh::ChangeAction::keep);
            CHECK_THAT(c.detail, Catch::Contains("not made for this cluster"));
        }
    }
    // Its provision is refused (quota, before anything is made) and its destroy runs with no
    // record of Object Storage at all: the inventory's names must not be enough to delete.
    CHECK_THROWS_WITH(provider.apply(other, other_state, other.paths.state_dir),
                      Catch::Contains("quota"));
    CHECK_FALSE(other_state.provider.contains("object_storage"));
    ovh::ProviderOptions o;
    o.delete_backups = true;  // not even then
    ovh::OvhProvider deleting(rig.project, rig.log, o);
    for (const auto& c : deleting.destroy_plan(other, other_state)) {
        if (c.kind == "bucket") {
            CHECK(c.action == ovh::ChangeAction::keep);
            CHECK_THAT(c.detail, Catch::Contains("not made by pgdr for this cluster"));
        }
    }
    deleting.destroy(other, other_state, other.paths.state_dir);
    CHECK(storage.region("sbg")->buckets() == std::vector<std::string>{"pgdr-shop-db-backup"});
    CHECK_FALSE(load_state(other.paths.state_dir).provider.contains("object_storage"));
    // The first cluster's own destroy still deletes its empty bucket.
    provider.destroy(first, first_state, first.paths.state_dir);
    CHECK(storage.region("sbg")->buckets().empty());
}

// The restore drill's scratch instance (ovh/scratch_instance.hpp, issue 14) on the twin: the
// same calls as on OVH make a lab host there, on the cluster's private network behind the
// cluster's security group; the drill deletes it, and `pgdr destroy` deletes one it left.
TEST_CASE("twin: the restore drill's scratch instance joins the cluster and goes again",
          "[twin][scratch]") {
    Rig rig;
    TempDir dir;
    auto inv = inventory(dir.path + "/key.pub");
    inv.paths.state_dir = dir.path + "/state";
    ovh::OvhProvider provider(rig.project, rig.log);
    ClusterState state;
    provider.apply(inv, state, inv.paths.state_dir);
    REQUIRE(rig.backend.hosts.size() == 3);
    const auto pg1 =
        std::find_if(rig.backend.hosts.begin(), rig.backend.hosts.end(), [](const auto& kv) {
            return kv.second.name == "pgdr-shop-db-pg1";
        })->second;
    std::vector<std::string> ssh_tried;
    ovh::ScratchInstanceOptions o;
    o.ssh_ready = [&ssh_tried](const ScratchMachine& m) {
        ssh_tried.push_back(m.public_address);
        return true;
    };
    ovh::OvhScratchInstances scratch(
        rig.project, ovh::scratch_instance_spec(inv, state, rig.clock.wall_now()), o);

    const auto m = scratch.create();
    REQUIRE(rig.backend.hosts.count(m.id) == 1);
    const auto& host = rig.backend.hosts.at(m.id);
    CHECK(host.name == m.name);
    CHECK(host.name.rfind("pgdr-shop-db-restore-drill-", 0) == 0);
    CHECK(host.region == "GRA11");
    CHECK(host.vcpus == pg1.vcpus);   // the members' flavor
    CHECK(host.release == "trixie");  // and image
    CHECK(host.public_key == pg1.public_key);
    REQUIRE(host.private_nics.size() == 1);
    CHECK(host.private_nics[0].network_id == pg1.private_nics[0].network_id);
    CHECK(host.private_nics[0].address == m.address);
    CHECK(m.address.rfind("198.18.64.", 0) == 0);
    CHECK(m.public_address == host.public_address);
    CHECK(ssh_tried == std::vector<std::string>{host.public_address});
    CHECK(rig.backend.firewalls.at(m.id) == rig.backend.firewalls.at(pg1.id));  // the cluster's
    CHECK(m.flavor == "b3-8");
    CHECK(m.region == "GRA11");

    scratch.remove(m);
    CHECK(rig.backend.hosts.count(m.id) == 0);
    CHECK(rig.backend.hosts.size() == 3);

    SECTION("one a failed deletion left is deleted by destroy") {
        const auto left = scratch.create();
        const auto plan = provider.destroy_plan(inv, state);
        CHECK(std::count_if(plan.begin(), plan.end(), [&left](const ovh::Change& c) {
                  return c.id == left.id && c.detail == "left by a restore drill";
              }) == 1);
        provider.destroy(inv, state, inv.paths.state_dir);
        CHECK(rig.backend.hosts.empty());
    }
}

}  // namespace pgdr::twin
