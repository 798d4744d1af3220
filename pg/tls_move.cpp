#include "pg/tls_move.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "pg/bootstrap_plan.hpp"
#include "pg/debian_paths.hpp"
#include "pg/etcd_config.hpp"
#include "pg/plan_actions.hpp"
#include "pg/stage_files.hpp"
#include "pg/tls.hpp"

namespace pgdr::pg {

namespace {

using Argv = std::vector<std::string>;
using std::chrono::seconds;

const char* const k_admin_socket = "/run/haproxy/admin.sock";

// The host's own etcd member through etcdctl: over TLS once the member serves it, else over
// plain HTTP (a member not moved yet). argv: port ca cert key mode name peer-url; mode "check"
// succeeds when the membership names that peer URL for the member, "update" makes it so.
const char* const k_member_peer_url = R"SH(
set -eu
port=$1 ca=$2 cert=$3 key=$4 mode=$5 name=$6 url=$7
ctl() {
    ETCDCTL_API=3 etcdctl --endpoints="https://127.0.0.1:$port" --cacert="$ca" --cert="$cert" \
        --key="$key" --dial-timeout=2s --command-timeout=5s "$@" 2>/dev/null ||
    ETCDCTL_API=3 etcdctl --endpoints="http://127.0.0.1:$port" --dial-timeout=2s \
        --command-timeout=5s "$@"
}
line=$(ctl member list | awk -F', ' -v n="$name" '$3 == n')
if [ -z "$line" ]; then
    echo "etcd's membership has no member named $name" >&2
    exit 1
fi
case "$line" in *", $url, "*) exit 0 ;; esac
[ "$mode" = update ] || exit 1
ctl member update "${line%%,*}" --peer-urls="$url"
)SH";

Argv member_peer_url(const Inventory& inv, const char* mode, const HostSpec& h) {
    const auto& tls = tls_paths();
    return {"sh",
            "-c",
            k_member_peer_url,
            "pgdr-etcd-peer-url",
            std::to_string(inv.etcd.client_port),
            tls.ca,
            tls.etcd_cert,
            tls.etcd_key,
            mode,
            h.name,
            "https://" + h.address + ":" + std::to_string(inv.etcd.peer_port)};
}

// Every member answers `endpoint health` (a quorum read), over TLS once it serves TLS, else over
// plain HTTP: before the move, and again when a move cut off half-way runs again.
const char* const k_members_healthy = R"SH(
ca=$1 cert=$2 key=$3
shift 3
for ep; do
    ETCDCTL_API=3 etcdctl --endpoints="https://$ep" --cacert="$ca" --cert="$cert" --key="$key" \
        --dial-timeout=2s --command-timeout=3s endpoint health >/dev/null 2>&1 ||
    ETCDCTL_API=3 etcdctl --endpoints="http://$ep" --dial-timeout=2s --command-timeout=3s \
        endpoint health >/dev/null 2>&1 || { echo "etcd on $ep: not healthy" >&2; exit 1; }
done
)SH";

Argv members_healthy(const Inventory& inv) {
    const auto& tls = tls_paths();
    Argv argv{"sh",   "-c",          k_members_healthy, "pgdr-etcd-members-healthy",
              tls.ca, tls.etcd_cert, tls.etcd_key};
    for (const auto* h : inv.hosts_with(Service::etcd)) {
        argv.push_back(h->address + ":" + std::to_string(inv.etcd.client_port));
    }
    return argv;
}

// Patroni's REST API on whichever scheme it speaks now: HTTPS (the cluster CA, this host's
// client certificate) or, only when the TLS handshake shows a plain-HTTP server (a member not
// moved yet), plain HTTP: the password never goes in clear to a member that may be on TLS but
// failed to answer, closed the connection or was refused (tests/pg/test_patch_config.py).
const std::string k_patch_config = R"PY(
import base64, sys, urllib.error, urllib.request
address, body = sys.argv[1], sys.argv[2]
# The REST API password arrives on stdin: never in argv.
password = sys.stdin.readline().rstrip("\n")
auth = "Basic " + base64.b64encode(("patroni:" + password).encode()).decode()
def patch(scheme):
    req = urllib.request.Request(scheme + "://" + address + "/config", data=body.encode(),
                                 method="PATCH")
    req.add_header("Content-Type", "application/json")
    req.add_header("Authorization", auth)
    urllib.request.urlopen(req, timeout=10, context=CTX if scheme == "https" else None)
try:
    patch("https")
except urllib.error.URLError as e:
    # A plain-HTTP server answers the TLS hello with text: "wrong version number". Anything else
    # (no answer, a closed connection, a certificate refused) may be a member on TLS.
    plain = "WRONG_VERSION_NUMBER" in str(getattr(e, "reason", ""))
    if isinstance(e, urllib.error.HTTPError) or not plain:
        sys.exit("PATCH /config over TLS: %s" % e)
    try:
        patch("http")
    except Exception as e2:
        sys.exit("PATCH /config: https: %s; http: %s" % (e, e2))
)PY";

// Succeeds when GET /patroni says the member is (argv[2] "true") or is not in maintenance mode.
const std::string k_paused = R"PY(
import json, sys, urllib.error, urllib.request
address, want = sys.argv[1], sys.argv[2] == "true"
for scheme in ("https", "http"):
    try:
        r = urllib.request.urlopen(scheme + "://" + address + "/patroni", timeout=3,
                                   context=CTX if scheme == "https" else None)
        body = r.read()
    except urllib.error.HTTPError as e:
        body = e.read()
    except Exception:
        continue
    sys.exit(0 if bool(json.loads(body).get("pause")) == want else 1)
sys.exit(1)
)PY";

std::string rest_address(const Inventory& inv, const HostSpec& h) {
    return h.address + ":" + std::to_string(inv.patroni.rest_port);
}

RunCommand patch_config(const Inventory& inv, const Secrets& secrets, const HostSpec& leader,
                        const nlohmann::json& body, std::string description) {
    RunCommand c = plan_command({"python3", "-c", python_tls_preamble(true) + k_patch_config,
                                 rest_address(inv, leader), body.dump()},
                                std::move(description));
    c.stdin_data = secrets.rest_api_password + "\n";
    c.timeout = seconds(30);
    return c;
}

WaitFor paused(const Inventory& inv, const HostSpec& member, bool want) {
    return plan_wait({"python3", "-c", python_tls_preamble(true) + k_paused,
                      rest_address(inv, member), want ? "true" : "false"},
                     "Patroni on " + member.name +
                         (want ? " reports maintenance mode" : " is out of maintenance mode"),
                     seconds(90));
}

// `disable health` on the servers of both proxies that are UP now (HAProxy counts a server
// whose checks are off as UP: a DOWN one keeps its checks, which keep it DOWN), or `enable
// health` on all of them; on the admin socket.
const std::string k_haproxy_health = R"PY(
import csv, io, socket, sys
path, verb, servers = sys.argv[1], sys.argv[2], sys.argv[3:]
def cli(command):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    s.connect(path)
    s.sendall((command + "\n").encode())
    answer = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        answer += chunk
    s.close()
    return answer.decode()
if verb == "disable":
    rows = csv.DictReader(io.StringIO(cli("show stat").lstrip("# ")))
    up = {r["pxname"] + "/" + r["svname"] for r in rows if r["status"].startswith("UP")}
    servers = [s for s in servers if s in up]
for server in servers:
    answer = cli("%s health %s" % (verb, server)).strip()
    if answer:
        sys.exit("%s health %s: %s" % (verb, server, answer))
print("%s health: %s" % (verb, " ".join(servers) or "no server"))
)PY";

RunCommand haproxy_health(const Inventory& inv, const char* verb, std::string description) {
    Argv argv{"python3", "-c", k_haproxy_health, k_admin_socket, verb};
    for (const char* proxy : {"primary", "replicas"}) {
        for (const auto* m : inv.hosts_with(Service::postgres)) {
            argv.push_back(std::string(proxy) + "/" + m->name);
        }
    }
    return plan_command(std::move(argv), std::move(description));
}

Argv rest_answers(const Inventory& inv, const HostSpec& h, const std::string& path) {
    return {"python3", "-c",
            python_tls_preamble(false) +
                "import sys, urllib.request\n"
                "urllib.request.urlopen(sys.argv[1], timeout=3, context=CTX)\n",
            "https://" + rest_address(inv, h) + path};
}

HostActions restart_patroni(const Inventory& inv, const HostSpec& m, bool leader) {
    const std::string unit = debian_paths(inv).patroni_unit;
    // Already on TLS (a move that stopped half-way): left running.
    auto restart = plan_command({"systemctl", "restart", unit},
                                "restart " + unit + " on TLS (PostgreSQL keeps running)",
                                rest_answers(inv, m, "/patroni"), seconds(120));
    const char* endpoint = leader ? "/primary" : "/replica";
    return {
        m.name,
        {paused(inv, m, true), restart,
         plan_wait(rest_answers(inv, m, endpoint),
                   std::string("Patroni answers GET ") + endpoint + " over TLS", seconds(120))}};
}

const HostSpec& host_named(const Inventory& inv, const std::string& name) {
    const auto* h = inv.find_host(name);
    if (h == nullptr) {
        throw Error(ExitCode::internal, "no host " + name);
    }
    return *h;
}

}  // namespace

Plan plan_tls_move_before_lock(const Inventory& inv, const Secrets& secrets,
                               const std::string& leader_name) {
    Plan plan;
    const HostSpec& leader = host_named(inv, leader_name);
    const auto paths = debian_paths(inv);

    // Maintenance mode first: from here on Patroni neither fails over nor demotes a leader that
    // loses its DCS (etcd 3.4's members, moved, no longer serve Patroni 3.0.2's plain-HTTP
    // gateway: on the lab the not-yet-restarted leader demoted itself), and it leaves PostgreSQL
    // running when it restarts.
    std::vector<Action> pause{patch_config(inv, secrets, leader, {{"pause", true}},
                                           "maintenance mode for the move (PATCH /config pause)")};
    for (const auto* m : inv.hosts_with(Service::postgres)) {
        pause.emplace_back(paused(inv, *m, true));
    }
    plan.add_step(Stage::etcd, "moving to TLS: maintenance mode (no failover, no stop)")
        .hosts.push_back({leader.name, std::move(pause)});

    auto& freeze = plan.add_step(Stage::etcd, "moving to TLS: HAProxy's checks frozen");
    for (const auto* lb : inv.hosts_with(Service::haproxy)) {
        freeze.hosts.push_back(
            {lb->name,
             {haproxy_health(inv, "disable",
                             "freeze the UP servers (disable health) while etcd and Patroni's "
                             "REST API move to TLS")}});
    }

    const auto members = inv.hosts_with(Service::etcd);
    if (members.empty()) {
        return plan;
    }
    plan.add_step(Stage::etcd, "moving to TLS: every etcd member healthy first")
        .hosts.push_back(
            {members.front()->name,
             {plan_wait(members_healthy(inv), "etcd: every member healthy", seconds(60))}});
    Step one_by_one{"moving to TLS: one etcd member at a time, plain clients still served",
                    HostOrder::sequential,
                    {}};
    for (const auto* h : members) {
        auto update = plan_command(member_peer_url(inv, "update", *h),
                                   "the membership names " + h->name + "'s peer URL over TLS",
                                   member_peer_url(inv, "check", *h), seconds(30));
        auto file = plan_file(paths.etcd_defaults,
                              render_etcd_defaults(inv, *h, EtcdClients::tls_and_plain), "0644", "",
                              "etcd member settings (TLS, plain clients too while moving)");
        auto restart =
            plan_command({"systemctl", "restart", "etcd"}, "restart etcd with peer and client TLS",
                         std::nullopt, seconds(180));
        restart.when_changed = {paths.etcd_defaults};
        one_by_one.hosts.push_back(
            {h->name,
             {update, file, restart,
              plan_wait(
                  etcdctl_argv(local_etcd_endpoint(inv.etcd.client_port), {"endpoint", "health"}),
                  "etcd: " + h->name + " answers a quorum read over TLS", seconds(120))}});
    }
    plan.stage(Stage::etcd).steps.push_back(std::move(one_by_one));
    plan.add_step(Stage::etcd, "moving to TLS: every etcd member healthy over TLS")
        .hosts.push_back(
            {members.front()->name,
             {plan_wait(etcdctl_argv(etcd_client_endpoints(inv), {"endpoint", "health"}),
                        "etcd: every member healthy over TLS", seconds(120))}});
    return plan;
}

Plan plan_tls_move_under_lock(const Inventory& inv, const Secrets& secrets,
                              const std::string& leader_name) {
    Plan plan;
    const HostSpec& leader = host_named(inv, leader_name);
    auto members = inv.hosts_with(Service::postgres);
    const auto balancers = inv.hosts_with(Service::haproxy);

    auto& files = plan.add_step(Stage::patroni, "moving to TLS: configure Patroni");
    for (const auto* m : members) {
        HostActions ha{m->name, {}};
        for (auto& f : stage_files(inv, *m, leader, secrets, Stage::patroni)) {
            ha.actions.emplace_back(std::move(f));
        }
        files.hosts.push_back(std::move(ha));
    }

    // The leader first: its PostgreSQL must serve the CA's certificate before a replica's
    // restarted Patroni points the walreceiver at it with sslmode=verify-full (Patroni rewrites
    // primary_conninfo also in maintenance mode). On the lab, replicas first broke the synchronous
    // standby's replication ("tlsv1 alert unknown ca": Debian's snakeoil certificate) and commits
    // waited 3 s until Patroni dropped the standby from synchronous_standby_names.
    std::stable_partition(members.begin(), members.end(),
                          [&](const HostSpec* h) { return h->name == leader.name; });
    auto& restarts =
        plan.add_step(Stage::patroni, "moving to TLS: Patroni restarted, the leader first",
                      HostOrder::sequential);
    for (const auto* m : members) {
        restarts.hosts.push_back(restart_patroni(inv, *m, m->name == leader.name));
    }

    auto& lbs = plan.add_step(Stage::haproxy, "moving to TLS: HAProxy checks Patroni over TLS",
                              HostOrder::sequential);
    for (const auto* lb : balancers) {
        HostActions ha = haproxy_host_actions(inv, secrets, leader, *lb);
        // Checks on again in the new process (the saved states may carry them off), before the
        // wait for only the leader UP.
        ha.actions.insert(ha.actions.end() - 1,
                          haproxy_health(inv, "enable", "checks on again (enable health)"));
        lbs.hosts.push_back(std::move(ha));
    }

    // pg_hba and archive_command are Patroni's local configuration now: out of the DCS.
    const nlohmann::json resume = {
        {"pause", false},
        {"postgresql", {{"pg_hba", nullptr}, {"parameters", {{"archive_command", nullptr}}}}}};
    std::vector<Action> end{patch_config(
        inv, secrets, leader, resume,
        "maintenance mode ends; pg_hba and archive_command leave the DCS (PATCH /config)")};
    for (const auto* m : members) {
        end.emplace_back(paused(inv, *m, false));
    }
    plan.add_step(Stage::haproxy, "moving to TLS: maintenance mode ends")
        .hosts.push_back({leader.name, std::move(end)});
    return plan;
}

void append_plan(Plan& into, const Plan& from) {
    for (const auto& stage : from.stages) {
        auto& steps = into.stage(stage.stage).steps;
        steps.insert(steps.end(), stage.steps.begin(), stage.steps.end());
    }
}

std::string tls_move_summary(const std::vector<std::string>& plain_members) {
    std::string names;
    for (const auto& n : plain_members) {
        names += (names.empty() ? "" : ", ") + n;
    }
    return (plain_members.empty()
                ? std::string("a move of this cluster to TLS was cut off: bootstrap runs it "
                              "again to its end (steps already done are skipped):\n")
                : "this cluster runs without TLS (Patroni on " + names +
                      " answers over plain HTTP): bootstrap moves it to TLS while it runs:\n") +
           "  1. Patroni in maintenance mode and HAProxy's checks frozen (no failover, no "
           "server changes state);\n"
           "  2. etcd, one member at a time: peers and clients on TLS, plain clients still "
           "served; then Patroni restarted on TLS, the leader first (PostgreSQL keeps running);\n"
           "  3. HAProxy checks over TLS, maintenance mode ends, pg_hba and archive_command "
           "leave the DCS;\n"
           "  4. the usual bootstrap: etcd stops serving plain clients (one member at a time).\n"
           "No PostgreSQL stops and no HAProxy server changes state: writes go on. From Patroni's "
           "restart on, remote clients must use TLS (libpq's default sslmode=prefer does).\n";
}

}  // namespace pgdr::pg
