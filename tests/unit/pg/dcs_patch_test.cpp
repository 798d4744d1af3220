// Bootstrap's "DCS settings" action run for real: the Python script of the plan (PATCH /config
// with the REST password read from stdin, and its `unless` check that compares GET /config)
// against a local HTTPS server that stands in for Patroni's REST API with verify_client
// optional: a client certificate is checked when given and required for the PATCH. The goldens show
// the script's text; this shows it works.
#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "core/local_transport.hpp"
#include "core/strings.hpp"
#include "pg/bootstrap_plan.hpp"
#include "pg/secrets.hpp"
#include "pg/tls.hpp"
#include "pki/certificate.hpp"
#include "unit/core/temp_dir.hpp"
#include "unit/pg/plan_fixtures.hpp"
#include "unit/pg/test_tls.hpp"

using namespace pgdr;
using namespace pgdr::pg;

namespace {

// Patroni's REST API in miniature: TLS, a client certificate optional for GET and required for
// PATCH (403 without), PATCH /config merges
// the body into the configuration, GET /config returns it. Every request is recorded as one JSON
// line (method, path, headers, body, the client certificate's subject); it serves `argv[6]`
// requests, then exits. The port goes to argv[5] once it listens.
const char* k_fake_patroni = R"PY(
import http.server, json, ssl, sys
ca, cert, key, record, port_file, count = sys.argv[1:7]
unavailable = [int(sys.argv[7]) if len(sys.argv) > 7 else 0]  # PATCHes answered 503 first
config = {"ttl": 30, "postgresql": {"use_slots": True}}
def merge(into, patch):
    for k, v in patch.items():
        if isinstance(v, dict) and isinstance(into.get(k), dict):
            merge(into[k], v)
        else:
            into[k] = v
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass
    def note(self, body):
        peer = self.connection.getpeercert() or {}
        cn = [v for rdn in peer.get("subject", ()) for k, v in rdn if k == "commonName"]
        with open(record, "a") as f:
            f.write(json.dumps({"method": self.command, "path": self.path,
                                "authorization": self.headers.get("Authorization"),
                                "content_type": self.headers.get("Content-Type"),
                                "body": body, "client_cn": cn[0] if cn else None}) + "\n")
    def reply(self):
        out = json.dumps(config).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
    def do_GET(self):
        self.note("")
        self.reply()
    def do_PATCH(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        self.note(body)
        if unavailable[0] > 0:  # Patroni: no configuration in the DCS yet
            unavailable[0] -= 1
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if not self.connection.getpeercert():
            self.send_response(403)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        merge(config, json.loads(body))
        self.reply()
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
ctx.load_verify_locations(ca)
ctx.verify_mode = ssl.CERT_OPTIONAL
server = http.server.HTTPServer(("127.0.0.1", 0), H)
server.socket = ctx.wrap_socket(server.socket, server_side=True)
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os
os.rename(port_file + ".tmp", port_file)
for _ in range(int(count)):
    server.handle_request()
)PY";

void write(const std::string& path, const std::string& text) {
    std::ofstream(path) << text;
}

std::string read(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

const RunCommand& dcs_settings_action(const Plan& plan) {
    for (const auto& sp : plan.stages) {
        for (const auto& st : sp.steps) {
            if (sp.stage == Stage::patroni && st.name == "DCS settings") {
                REQUIRE(st.hosts.size() == 1);
                REQUIRE(st.hosts[0].actions.size() == 1);
                const auto* rc = std::get_if<RunCommand>(&st.hosts[0].actions[0]);
                REQUIRE(rc != nullptr);
                return *rc;
            }
        }
    }
    FAIL("no DCS settings step in the plan");
    throw std::logic_error("unreachable");
}

// The plan's argv with the host's certificate paths and Patroni's URL pointed at the test's.
std::vector<std::string> localized(std::vector<std::string> argv, const std::string& dir,
                                   const std::string& url) {
    const auto& tls = tls_paths();
    REQUIRE(argv.size() == 5);
    CHECK(argv[0] == "python3");
    CHECK(argv[1] == "-c");
    for (const auto& [from, to] :
         {std::pair{tls.ca, dir + "/ca.crt"}, std::pair{tls.postgres_cert, dir + "/client.crt"},
          std::pair{tls.postgres_key, dir + "/client.key"}}) {
        for (auto at = argv[2].find(from); at != std::string::npos; at = argv[2].find(from, at)) {
            argv[2].replace(at, from.size(), to);
            at += to.size();
        }
    }
    CHECK(argv[3].rfind("https://", 0) == 0);
    CHECK(argv[3].find("/config") != std::string::npos);
    argv[3] = url;
    return argv;
}

// The fake Patroni in a temporary directory with its CA, server and client certificates,
// serving `requests` requests (the first `unavailable` PATCHes answered 503) on its own thread.
struct FakePatroni {
    pgdr::test::TempDir dir;
    std::string record = dir.path() + "/requests.jsonl";
    std::string url;
    CommandResult served;
    std::thread thread;

    FakePatroni(int requests, int unavailable) {
        const auto ca = pki::make_ca("test CA", std::chrono::hours(24));
        const auto server = pki::issue(ca, {"patroni-rest", {}, {"127.0.0.1"}, pki::Usage::server});
        const auto client = pki::issue(ca, {"pg1-postgres", {}, {"127.0.0.1"}, pki::Usage::client});
        write(dir.path() + "/ca.crt", ca.cert_pem);
        write(dir.path() + "/server.crt", server.cert_pem);
        write(dir.path() + "/server.key", server.key_pem);
        write(dir.path() + "/client.crt", client.cert_pem);
        write(dir.path() + "/client.key", client.key_pem);
        const std::string port_file = dir.path() + "/port";
        thread = std::thread([this, port_file, requests, unavailable] {
            RunOptions o;
            o.timeout = std::chrono::seconds(60);
            served = LocalTransport().run(
                {"python3", "-c", k_fake_patroni, dir.path() + "/ca.crt",
                 dir.path() + "/server.crt", dir.path() + "/server.key", record, port_file,
                 std::to_string(requests), std::to_string(unavailable)},
                o);
        });
        std::string port;
        for (int i = 0; i < 200 && port.empty(); ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            port = read(port_file);
        }
        REQUIRE_FALSE(port.empty());
        url = "https://127.0.0.1:" + port + "/config";
    }
    ~FakePatroni() {
        if (thread.joinable()) {
            thread.join();
        }
    }
};

const RunCommand& lab_dcs_patch() {
    static const auto inv = load_inventory(std::string(PGDR_SOURCE_DIR) + "/inventories/lab.yaml");
    static const Secrets secrets{"repl-pw",  "super-pw", "rewind-pw", "rest-pw",
                                 "probe-pw", "stats-pw", {},          {}};
    static const auto plan = plan_bootstrap(inv, pgdr::testing::fresh_facts(inv),
                                            pgdr::testing::with_test_tls(secrets, inv), "pg1");
    return dcs_settings_action(plan);
}

}  // namespace

TEST_CASE("bootstrap: the DCS settings script PATCHes /config with the password from stdin",
          "[pg][bootstrap][dcs]") {
    auto inv = load_inventory(std::string(PGDR_SOURCE_DIR) + "/inventories/lab.yaml");
    const auto& patch = lab_dcs_patch();
    REQUIRE(patch.unless.has_value());
    REQUIRE(patch.stdin_data.has_value());

    // Three requests: the check (differs), the PATCH, the check again (matches).
    FakePatroni fake_patroni(3, 0);
    auto& dir = fake_patroni.dir;
    const auto& url = fake_patroni.url;
    const auto& record = fake_patroni.record;
    auto& served = fake_patroni.served;
    auto& fake = fake_patroni.thread;

    LocalTransport local;
    RunOptions o;
    o.timeout = std::chrono::seconds(30);
    auto before = local.run(localized(*patch.unless, dir.path(), url), o);
    INFO(before.err);
    CHECK(before.exit_status == 1);  // the settings differ: the PATCH runs
    CHECK(before.err.empty());       // a mismatch, not a failed request
    RunOptions with_stdin = o;
    with_stdin.stdin_data = patch.stdin_data;
    auto run = local.run(localized(patch.argv, dir.path(), url), with_stdin);
    INFO(run.err);
    CHECK(run.ok());
    auto after = local.run(localized(*patch.unless, dir.path(), url), o);
    INFO(after.err);
    CHECK(after.ok());  // now the same: a second bootstrap leaves them alone
    fake.join();
    INFO(served.err);
    CHECK(served.ok());

    auto lines = pgdr::lines(read(record));
    REQUIRE(lines.size() == 3);
    auto sent = nlohmann::json::parse(lines[1]);
    CHECK(sent["method"] == "PATCH");
    CHECK(sent["path"] == "/config");
    // base64("patroni:rest-pw"): the password came from stdin, nowhere in argv.
    CHECK(sent["authorization"] == "Basic cGF0cm9uaTpyZXN0LXB3");
    CHECK(sent["content_type"] == "application/json");
    CHECK(sent["client_cn"] == "pg1-postgres");
    const auto body = nlohmann::json::parse(sent["body"].get<std::string>());
    CHECK(body["ttl"] == inv.patroni.ttl);
    CHECK(body["loop_wait"] == inv.patroni.loop_wait);
    CHECK(body["retry_timeout"] == inv.patroni.retry_timeout);
    CHECK(body["synchronous_mode"] == inv.patroni.synchronous_mode);
    CHECK(body["failsafe_mode"] == true);
    CHECK(body["postgresql"]["use_pg_rewind"] == inv.patroni.use_pg_rewind);
    for (const auto& word : patch.argv) {
        CHECK(word.find("rest-pw") == std::string::npos);
    }
    for (int i : {0, 2}) {
        auto check = nlohmann::json::parse(lines[static_cast<std::size_t>(i)]);
        CHECK(check["method"] == "GET");
        CHECK(check["path"] == "/config");
        CHECK(check["authorization"].is_null());  // reading /config needs no password
    }
}

TEST_CASE("bootstrap: the DCS settings script waits while Patroni has no configuration (503)",
          "[pg][bootstrap][dcs]") {
    // A standby leader answers GET /standby-leader before its first HA loop wrote the cluster's
    // configuration to the DCS; until then PATCH /config answers 503 (seen on the lab: the DR
    // cluster's bootstrap failed there).
    const auto& patch = lab_dcs_patch();
    FakePatroni fake(3, 2);  // two 503s, then the PATCH
    LocalTransport local;
    RunOptions o;
    o.timeout = std::chrono::seconds(30);
    o.stdin_data = patch.stdin_data;
    const auto run = local.run(localized(patch.argv, fake.dir.path(), fake.url), o);
    INFO(run.err);
    CHECK(run.ok());
    fake.thread.join();
    const auto lines = pgdr::lines(read(fake.record));
    REQUIRE(lines.size() == 3);
    for (const auto& l : lines) {
        CHECK(nlohmann::json::parse(l)["method"] == "PATCH");
    }
}
