#include "pg/haproxy_config.hpp"

#include "core/error.hpp"
#include "monitoring/config.hpp"
#include "pg/debian_paths.hpp"
#include "pg/secrets.hpp"
#include "pg/tls.hpp"

namespace pgdr::pg {

namespace {

const std::string& word(const std::string& value, const std::string& what) {
    bool ok = !value.empty();
    for (char c : value) {
        ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-' || c == '_');
    }
    if (!ok) {
        throw config_error("haproxy.cfg: " + what +
                           (what == "the stats password" ? "" : " '" + value + "'") +
                           " is not a plain word");
    }
    return value;
}

// Debian's global section (haproxy package, 2.6 and 3.0) without the TLS defaults, which pgdr
// does not use; plus the check state changes ("Server primary/pg2 is UP") on stdout, which
// systemd's haproxy.service (-Ws: `daemon` is ignored) hands to the journal, in RFC 5424 with
// HAProxy's own microsecond time: the drill's evidence of when writes switched
// (drills/evidence.hpp). `notice` keeps the per-connection lines out.
const char* const k_global =
    "global\n"
    "\tlog /dev/log\tlocal0\n"
    "\tlog /dev/log\tlocal1 notice\n"
    "\tlog stdout format rfc5424 local0 notice\n"
    "\tchroot /var/lib/haproxy\n"
    "\tstats socket /run/haproxy/admin.sock mode 660 level admin\n"
    "\tstats timeout 30s\n"
    "\tuser haproxy\n"
    "\tgroup haproxy\n"
    "\tdaemon\n"
    "\tserver-state-file /var/lib/haproxy/server-state\n";

// Client and server timeouts are long: PostgreSQL sessions idle for minutes; a dead server is
// detected by the checks, not by these. retries 0: a server that refuses a connection (a
// primary shutting down for a switchover) fails the client at once, and the client's next
// attempt follows HAProxy's current choice. With retries, HAProxy waits a 1 s turn-around and
// tries the same refusing server again: on the lab a connection made during a switchover hung
// for 2 s that way, and the switchover's write outage fell from 2.3 s to 1.5 s without it.
const char* const k_defaults =
    "defaults\n"
    "\tlog\tglobal\n"
    "\tmode\ttcp\n"
    "\tretries 0\n"
    "\ttimeout connect 4s\n"
    "\ttimeout client  30m\n"
    "\ttimeout server  30m\n"
    "\ttimeout check   5s\n"
    "\tload-server-state-from-file global\n";

// The state of a running HAProxy, filtered against the new configuration (argv: admin socket,
// haproxy.cfg, output file). A failure leaves no file: the reload then goes on without states.
const char* const k_save_state = R"PY(import socket, sys
sock_path, cfg_path, out_path = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
s.connect(sock_path)
s.sendall(b"show servers state\n")
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
wanted = set()
section = None
for line in open(cfg_path):
    w = line.split()
    if not w:
        continue
    if w[0] in ("global", "defaults", "listen", "backend", "frontend"):
        section = w[1] if len(w) > 1 else None
    elif w[0] == "server" and section and len(w) > 2 and ":" in w[2]:
        addr, port = w[2].rsplit(":", 1)
        wanted.add((section, w[1], addr, port))
lines = [l for l in data.decode().splitlines() if l.strip()]
if not lines or lines[0].strip() != "1":
    sys.exit("unexpected answer to show servers state: " + (lines[0] if lines else "nothing"))
names, kept, dropped = None, [lines[0]], 0
for line in lines[1:]:
    if line.startswith("#"):
        names = line[1:].split()
        kept.append(line)
        continue
    f = dict(zip(names or [], line.split()))
    key = (f.get("be_name"), f.get("srv_name"), f.get("srv_addr"), f.get("srv_port"))
    if key in wanted:
        kept.append(line)
    else:
        dropped += 1
with open(out_path, "w") as out:
    out.write("\n".join(kept) + "\n")
print("pgdr-haproxy-reload: %d server states kept, %d not in the new configuration"
      % (len(kept) - 2, dropped))
)PY";

}  // namespace

std::string render_haproxy_reload_script(const Inventory& inv) {
    const std::string state = k_haproxy_server_state;
    return std::string("#!/bin/sh\n") + "# Managed by pgdr (cluster " + inv.cluster +
           "): `pgdr bootstrap` rewrites this file.\n"
           "# Reloads HAProxy keeping each server's check state (server-state-file in\n"
           "# haproxy.cfg): without it the new process counts every server UP until its first\n"
           "# checks fail, and for about a second a write may reach a replica. Only servers the\n"
           "# new haproxy.cfg names at the same address and port keep their state.\n"
           "set -eu\n"
           "state=" +
           state +
           "\n"
           "rm -f \"$state.new\"\n"
           "if systemctl is-active --quiet haproxy && command -v python3 >/dev/null; then\n"
           "    python3 - /run/haproxy/admin.sock /etc/haproxy/haproxy.cfg \"$state.new\" "
           "<<'PY' || rm -f \"$state.new\"\n" +
           k_save_state +
           "PY\n"
           "fi\n"
           "if [ -s \"$state.new\" ]; then\n"
           "    mv -f \"$state.new\" \"$state\"\n"
           "else\n"
           "    rm -f \"$state.new\" \"$state\"\n"
           "fi\n"
           "exec systemctl reload-or-restart haproxy\n";
}

std::string render_haproxy_dropin(const Inventory& inv) {
    return "# Managed by pgdr (cluster " + inv.cluster +
           "): `pgdr bootstrap` rewrites this file.\n"
           "# Server states saved by pgdr-haproxy-reload serve that reload only: a start or\n"
           "# restart begins without them (an older state may name a former leader UP).\n"
           "[Service]\n"
           "ExecStartPre=-/bin/rm -f " +
           std::string(k_haproxy_server_state) + "\n";
}

std::string render_haproxy_cfg(const Inventory& inv, const HostSpec& host,
                               const std::string& stats_password) {
    if (!host.runs(Service::haproxy)) {
        throw config_error("host " + host.name + " does not run haproxy");
    }
    const auto& hp = inv.haproxy;
    const std::string rest_port = std::to_string(inv.patroni.rest_port);
    // downinter: a replica in the write backend (or the leader in the read backend) is checked
    // every fast interval, so a promoted replica is routed to about that long after Patroni
    // says it leads; fastinter: a failing server is confirmed down as quickly.
    const std::string fast = std::to_string(hp.fast_check_interval_ms) + "ms";
    std::string default_server = "\tdefault-server inter " + std::to_string(hp.check_interval_ms) +
                                 "ms fastinter " + fast + " downinter " + fast + " fall " +
                                 std::to_string(hp.fall) + " rise " + std::to_string(hp.rise) +
                                 " on-marked-down shutdown-sessions check-ssl verify required"
                                 " ca-file " +
                                 tls_paths().ca + "\n";
    std::string servers;
    for (const auto* pg : inv.hosts_with(Service::postgres)) {
        servers += "\tserver " + word(pg->name, "server name") + " " +
                   word(pg->address, "address of " + pg->name) + ":" +
                   std::to_string(k_postgres_port) + " maxconn 100 check port " + rest_port + "\n";
    }

    std::string out =
        "# Managed by pgdr (cluster " + inv.cluster + "): `pgdr bootstrap` rewrites this file.\n";
    out += k_global;
    out += "\n";
    out += k_defaults;
    out += "\n";
    // The stats page only on this host's own address and loopback, behind a password
    // (read-only: no `stats admin`).
    out += "listen stats\n\tmode http\n";
    out += "\tbind " + word(host.address, "address of " + host.name) + ":" +
           std::to_string(hp.stats_port) + "\n";
    out += "\tbind 127.0.0.1:" + std::to_string(hp.stats_port) + "\n";
    out += "\tstats enable\n\tstats uri /\n\tstats refresh 5s\n";
    out += "\tstats auth " + std::string(k_haproxy_stats_user) + ":" +
           word(stats_password, "the stats password") + "\n";
    out += "\n";
    // HAProxy's built-in Prometheus exporter, for the cluster's monitor hosts.
    if (!inv.hosts_with(Service::monitor).empty()) {
        out += "frontend prometheus\n\tmode http\n";
        out += "\tbind " + word(host.address, "address of " + host.name) + ":" +
               std::to_string(monitoring::k_haproxy_exporter_port) + "\n";
        out += "\thttp-request use-service prometheus-exporter if { path /metrics }\n";
        out += "\tno log\n\n";
    }
    // The client ports on the cluster address only (haproxy.bind: private), so that a public
    // interface does not serve them even when a firewall rule is wrong.
    const std::string listen_on =
        hp.bind == "any" ? std::string("*") : word(host.address, "address of " + host.name);
    // OPTIONS: Patroni answers the status line alone. HAProxy closes a check's connection as
    // soon as it has the status (with a reset); to a GET, Patroni was still writing the body
    // over TLS and logged a ~30-line ConnectionResetError traceback for most checks.
    out += "listen primary\n";
    out += "\tbind " + listen_on + ":" + std::to_string(hp.write_port) + "\n";
    // A standby cluster's write port leads to its standby leader (read-only until `pgdr dr
    // promote`): Patroni's /leader answers 200 on the key's holder in either role.
    out +=
        std::string("\toption httpchk OPTIONS ") + (inv.standby_of ? "/leader" : "/primary") + "\n";
    out += "\thttp-check expect status 200\n";
    out += default_server + servers;
    out += "\n";
    out += "listen replicas\n";
    out += "\tbind " + listen_on + ":" + std::to_string(hp.read_port) + "\n";
    out += "\tbalance roundrobin\n";
    out += "\toption httpchk OPTIONS /replica\n";
    out += "\thttp-check expect status 200\n";
    out += default_server + servers;
    return out;
}

}  // namespace pgdr::pg
