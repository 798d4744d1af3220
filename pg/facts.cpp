#include "pg/facts.hpp"

#include <sstream>

#include "core/quote.hpp"
#include "pg/debian_paths.hpp"
#include "pg/etcd_config.hpp"
#include "pg/tls.hpp"

namespace pgdr::pg {

bool HostFacts::installed(const std::string& package) const {
    auto it = packages.find(package);
    return it != packages.end() && it->second;
}

bool HostFacts::all_installed(const std::vector<std::string>& list) const {
    for (const auto& p : list) {
        if (!installed(p)) {
            return false;
        }
    }
    return true;
}

std::string etcd_marker_path() {
    return "/var/lib/etcd/pgdr-member";
}

std::string etcd_forming_marker_path() {
    return etcd_marker_path() + ".forming";
}

std::string etcd_marker_content(const Inventory& inv, const HostSpec& host) {
    return "name=" + host.name + " token=" + etcd_cluster_token(inv) +
           " cluster=" + etcd_membership(inv);
}

std::string basebackup_marker_path(int postgres_version) {
    return "/var/lib/postgresql/" + std::to_string(postgres_version) + "/main.pgdr-basebackup";
}

std::vector<std::string> facts_argv(const Inventory& inv, const HostSpec& host) {
    // One read-only script; every variable part is a positional parameter. Output: key=value
    // lines. The user-object count tells Debian's auto-created (empty) cluster from one that
    // holds data: only the former may ever be replaced.
    static const std::string k_script = R"SH(
v=$1 addr=$2 rest=$3 marker=$4 bbmarker=$5 etcdctl_tls=$6; shift 6
# A host still booting (a fresh VM: cloud-init, the package's first cluster starting) is
# looked at once its start-up jobs are done, at most 5 minutes.
timeout 300 systemctl is-system-running --wait >/dev/null 2>&1
echo "os=$(. /etc/os-release 2>/dev/null && echo "$VERSION_CODENAME")"
for p in "$@"; do
  if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then echo "pkg=$p=1"; else echo "pkg=$p=0"; fi
done
d=/var/lib/postgresql/$v/main
if [ -f "$d/PG_VERSION" ]; then echo data=cluster
elif [ -d "$d" ] && [ -n "$(ls -A "$d" 2>/dev/null)" ]; then echo data=other
else echo data=absent; fi
if [ -f "$d/global/pg_control" ] && [ -x "/usr/lib/postgresql/$v/bin/pg_controldata" ]; then
  "/usr/lib/postgresql/$v/bin/pg_controldata" "$d" 2>/dev/null | sed -n -e 's/^Database system identifier: *\(.*\)$/sysid=\1/p' -e 's/^Database cluster state: *\(.*\)$/cluster_state=\1/p'
fi
[ -f "$d/standby.signal" ] && echo standby=1
[ -e "$bbmarker" ] && echo basebackup_marker=1
if command -v pg_lsclusters >/dev/null 2>&1; then
  pg_lsclusters -h 2>/dev/null | awk -v v="$v" '$1 == v && $2 == "main" { print "pg_status=" $4 }'
fi
if pg_lsclusters -h 2>/dev/null | awk -v v="$v" '$1 == v && $2 == "main" && $4 ~ /^online/ { f = 1 } END { exit !f }'; then
  for i in 1 2 3 4 5 6 7 8 9 10; do  # online, but maybe still accepting no connection
  n=$(runuser -u postgres -- psql -XAtq -p 5432 -d postgres -c "select (select count(*) from pg_database where datname not in ('postgres', 'template0', 'template1')) + (select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast') and n.nspname not like 'pg_temp%' and n.nspname not like 'pg_toast_temp%')" 2>/dev/null)
  [ -n "$n" ] && break; sleep 1
  done
  [ -n "$n" ] && echo "user_objects=$n"
fi
for u in "patroni@$v-main" "postgresql@$v-main" etcd haproxy; do
  echo "active=$u=$(systemctl is-active "$u" 2>/dev/null)"
done
if systemctl is-active --quiet "patroni@$v-main" && command -v python3 >/dev/null 2>&1; then
  python3 -c '
import json, ssl, sys, urllib.request, urllib.error
body = None
for scheme in ("https", "http"):
    try:
        ctx = ssl.create_default_context(cafile="/etc/pgdr/tls/ca.crt") if scheme == "https" else None
        r = urllib.request.urlopen("%s://%s:%s/patroni" % (scheme, sys.argv[1], sys.argv[2]), timeout=3, context=ctx)
        body = r.read()
    except urllib.error.HTTPError as e:
        body = e.read()
    except Exception:
        continue
    print("patroni_scheme=" + scheme)
    break
if body is None:
    sys.exit(0)
d = json.loads(body)
print("patroni_role=" + str(d.get("role", "")))
print("patroni_state=" + str(d.get("state", "")))
' "$addr" "$rest" 2>/dev/null
fi
[ -f "$marker" ] && echo "etcd_marker=$(cat "$marker")"
[ -f "$marker.forming" ] && echo "etcd_forming=$(cat "$marker.forming")"
[ -f "/etc/patroni/$v-main.yml" ] && echo "patroni_header=$(head -n 1 "/etc/patroni/$v-main.yml")"
[ -f /etc/patroni/pgdr-secrets.fingerprint ] && echo "secrets_fingerprint=$(head -n 1 /etc/patroni/pgdr-secrets.fingerprint)"
if [ ! -f "$marker" ] && [ -d /var/lib/etcd/default/member ]; then
  echo etcd_data=1
  if systemctl is-active --quiet etcd && command -v etcdctl >/dev/null 2>&1; then
    # Debian's own member speaks plain HTTP; one pgdr configured (a run cut off before the
    # marker) only TLS with a client certificate.
    e="etcdctl --endpoints=http://127.0.0.1:2379 --dial-timeout=2s --command-timeout=3s"
    grep -q '^ETCD_CLIENT_CERT_AUTH=' /etc/default/etcd 2>/dev/null && e=$etcdctl_tls
    out=$(ETCDCTL_API=3 $e member list 2>/dev/null) && echo "etcd_members=$(printf '%s\n' "$out" | grep -c .)" && echo "etcd_member_names=$(printf '%s\n' "$out" | cut -d, -f3 | tr -d ' ' | sort | paste -sd, -)"
    out=$(ETCDCTL_API=3 $e get "" --prefix --keys-only --limit=1 2>/dev/null) && echo "etcd_keys=$(printf '%s\n' "$out" | grep -c .)"
  fi
fi
true
)SH";
    std::vector<std::string> argv{
        "sh",
        "-c",
        k_script,
        "pgdr-facts",
        std::to_string(inv.postgres_version),
        host.address,
        std::to_string(inv.patroni.rest_port),
        etcd_marker_path(),
        basebackup_marker_path(inv.postgres_version),
        shell_join(etcdctl_argv(local_etcd_endpoint(inv.etcd.client_port), {}))};
    const auto& release = debian_release(inv.release);
    for (const auto& p : packages_for(release, host)) {
        argv.push_back(p);
    }
    return argv;
}

HostFacts parse_facts(const std::string& host, const std::string& output) {
    HostFacts f;
    f.host = host;
    std::istringstream in(output);
    for (std::string line; std::getline(in, line);) {
        auto eq = line.find('=');
        if (eq == std::string::npos) {
            if (!line.empty()) {
                f.errors.push_back(line);
            }
            continue;
        }
        const std::string key = line.substr(0, eq);
        const std::string value = line.substr(eq + 1);
        if (key == "os") {
            f.os_codename = value;
        } else if (key == "pkg") {
            auto eq2 = value.rfind('=');
            if (eq2 != std::string::npos) {
                f.packages[value.substr(0, eq2)] = value.substr(eq2 + 1) == "1";
            }
        } else if (key == "data") {
            f.data = value;
        } else if (key == "sysid") {
            f.sysid = value;
        } else if (key == "cluster_state") {
            f.cluster_state = value;
        } else if (key == "standby") {
            f.standby_signal = true;
        } else if (key == "basebackup_marker") {
            f.basebackup_marker = true;
        } else if (key == "pg_status") {
            f.pg_status = value;
        } else if (key == "user_objects") {
            try {
                f.user_objects = std::stoll(value);
            } catch (const std::exception&) {
                f.errors.push_back(line);
            }
        } else if (key == "active") {
            auto eq2 = value.rfind('=');
            if (eq2 == std::string::npos) {
                continue;
            }
            const std::string unit = value.substr(0, eq2);
            const std::string state = value.substr(eq2 + 1);
            if (unit.rfind("patroni@", 0) == 0) {
                f.patroni_active = state;
            } else if (unit.rfind("postgresql@", 0) == 0) {
                f.postgresql_active = state;
            } else if (unit == "etcd") {
                f.etcd_active = state;
            } else if (unit == "haproxy") {
                f.haproxy_active = state;
            }
        } else if (key == "patroni_role") {
            f.patroni_role = value;
        } else if (key == "patroni_state") {
            f.patroni_state = value;
        } else if (key == "patroni_scheme") {
            f.patroni_scheme = value;
        } else if (key == "etcd_marker") {
            f.etcd_marker = value;
        } else if (key == "etcd_forming") {
            f.etcd_forming = value;
        } else if (key == "patroni_header") {
            f.patroni_header = value;
        } else if (key == "secrets_fingerprint") {
            f.secrets_fingerprint = value;
        } else if (key == "etcd_member_names") {
            f.etcd_member_names = value;
        } else if (key == "etcd_data") {
            f.etcd_data = true;
        } else if (key == "etcd_members" || key == "etcd_keys") {
            try {
                (key == "etcd_members" ? f.etcd_members : f.etcd_keys) = std::stoll(value);
            } catch (const std::exception&) {
                f.errors.push_back(line);
            }
        }
    }
    return f;
}

}  // namespace pgdr::pg
