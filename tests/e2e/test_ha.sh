#!/usr/bin/env bash
# pgdr switchover, failover and reinit on a bootstrapped lab, each checked independently with
# psql against the members and through HAProxy: who is in recovery, where writes land, that no
# committed row is lost and that a rebuilt replica really got a fresh data directory.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lab.sh"
source "$(dirname "$0")/cluster.sh"
set -e

shared_cluster
STATE=$LAB_DIR/inventory.state
export PGPASSWORD
PGPASSWORD=$(cat "$STATE/secrets/probe-password")
HAPROXY=198.18.0.13
declare -A ADDR=([pg1]=198.18.0.11 [pg2]=198.18.0.12 [pg3]=198.18.0.13)

# The member that accepts writes through HAProxy's write port; one insert of id $1 there.
write_through_haproxy() {
    sql $HAPROXY 5000 "insert into e2e_ha(id) values ($1) returning host(inet_server_addr())"
}

sql $HAPROXY 5000 "create table e2e_ha(id int primary key, at timestamptz default now())"
assert_eq "$(write_through_haproxy 1)" "${ADDR[pg1]}" "writes go to pg1 before any change"

wait_healthy 60  # with synchronous_mode, until Patroni names the synchronous standby
SYNC=$(sync_standby)
ASYNC=pg2
[ "$SYNC" = pg2 ] && ASYNC=pg3

log "no terminal and no --yes: refused before anything is done"
run_pgdr -i "$INV" switchover --to "$SYNC" </dev/null
assert_rc 2 "switchover without --yes on a pipe"
assert_contains "$ERR" "--yes"
assert_eq "$(leader)" pg1 "the leader is unchanged after the refusal"

log "switchover --dry-run: the checks and the call, no change"
run_pgdr -i "$INV" --output json switchover --dry-run
assert_rc 0 "switchover --dry-run"
assert_eq "$(json_get "$OUT" 'd["dry_run"] and d["old_leader"] == "pg1"')" True
assert_eq "$(json_get "$OUT" 'd["target"]')" "$SYNC" "the synchronous standby is the best candidate"
assert_eq "$(json_get "$OUT" 'd["call"]["method"] + " " + d["call"]["url"].split("/")[-1]')" "POST switchover"
assert_eq "$(json_get "$OUT" 'all(c["ok"] for c in d["checks"] if c["required"])')" True "dry-run pre-checks"
assert_eq "$(leader)" pg1 "the leader is unchanged after the dry run"

log "switchover --to a member that does not exist: refused by the pre-checks"
run_pgdr -i "$INV" switchover --to pg9 --yes
assert_rc 7 "switchover to an unknown member"
assert_contains "$OUT" "pg9 is not registered with Patroni"

log "switchover --to the asynchronous replica: synchronous_mode allows the synchronous standby only"
run_pgdr -i "$INV" switchover --to $ASYNC --yes
assert_rc 7 "switchover to $ASYNC"
assert_contains "$OUT" "Patroni hands over to $SYNC only"
assert_eq "$(leader)" pg1 "the leader is unchanged after the refusal"

log "switchover --to $SYNC"
run_pgdr -i "$INV" --output json switchover --to "$SYNC" --yes
assert_rc 0 "switchover to $SYNC"
assert_eq "$(json_get "$OUT" 'd["ok"] and d["old_leader"] == "pg1"')" True
assert_eq "$(json_get "$OUT" 'd["target"]')" "$SYNC"
assert_eq "$(json_get "$OUT" '[p["phase"] for p in d["phases"] if not p["ok"]]')" "[]" "every phase ok"
assert_eq "$(sql "${ADDR[$SYNC]}" 5432 "select pg_is_in_recovery()")" f "$SYNC is the primary"
assert_eq "$(sql "${ADDR[pg1]}" 5432 "select pg_is_in_recovery()")" t "pg1 is a replica"
assert_eq "$(write_through_haproxy 2)" "${ADDR[$SYNC]}" "HAProxy routes writes to $SYNC"
wait_healthy 60
assert_eq "$(streaming_on "$SYNC")" 2 \
    "both replicas stream from $SYNC"

log "failover: no leader (maintenance mode, leader host killed), then failover --to auto"
pause_and_kill_leader "$SYNC"
run_pgdr -i "$INV" --output json status
assert_eq "$(json_get "$OUT" 'd["leader"] in (None, "")')" True "no leader once $SYNC's lease expired"
run_pgdr -i "$INV" switchover --yes
assert_rc 7 "switchover needs a leader"
run_pgdr -i "$INV" --output json failover --to auto --yes
assert_rc 0 "failover to the best replica"
new=$(json_get "$OUT" 'd["target"]')
case $new in pg1 | "$ASYNC") ;; *) fail "failover picked '$new'" ;; esac
assert_eq "$(sql "${ADDR[$new]}" 5432 "select pg_is_in_recovery()")" f "$new is the primary"
assert_eq "$(write_through_haproxy 3)" "${ADDR[$new]}" "HAProxy routes writes to $new"
assert_eq "$(sql $HAPROXY 5000 "select string_agg(id::text, ',' order by id) from e2e_ha")" "1,2,3" \
    "every committed row is on the new primary"
run_pgdr -i "$INV" exec --hosts "$new" -- patronictl -c /etc/patroni/17-main.yml resume --wait
assert_rc 0 "patronictl resume"
run_pgdr lab start "$SYNC" --dir "$LAB_DIR"
assert_rc 0 "lab start $SYNC"
wait_healthy 180
assert_eq "$(sql "${ADDR[$SYNC]}" 5432 "select pg_is_in_recovery()")" t "$SYNC came back as a replica"

log "reinit: a replica's data directory is erased and copied again"
replica=$SYNC
run_pgdr -i "$INV" exec --hosts "$replica" -- touch /var/lib/postgresql/17/main/pgdr-e2e-marker
assert_rc 0 "marker in $replica's data directory"
run_pgdr -i "$INV" reinit "$new" --yes
assert_rc 7 "reinit of the leader is refused by the pre-checks"
assert_contains "$OUT" "switch over first"
run_pgdr -i "$INV" --output json reinit "$replica" --yes
assert_rc 0 "reinit $replica"
run_pgdr -i "$INV" exec --hosts "$replica" -- test -e /var/lib/postgresql/17/main/pgdr-e2e-marker
assert_rc 1 "the marker is gone: the data directory was rebuilt"
assert_eq "$(sql "${ADDR[$replica]}" 5432 "select pg_is_in_recovery()")" t "$replica is a replica"
assert_replays "${ADDR[$replica]}" e2e_ha 4
assert_eq "$(sql "${ADDR[$replica]}" 5432 "select count(*) from e2e_ha")" 4 "$replica has every row"
wait_healthy 60
run_pgdr -i "$INV" status
assert_rc 0 "status at the end"

# ---- pgdr certs status / rotate (issue 12) --------------------------------------------------
# The serial a TLS port serves, read from this machine with Python's ssl (an independent client:
# it verifies the server against the cluster CA and presents the operator's certificate).
served_serial() {  # ADDRESS PORT
    /usr/bin/python3 - "$1" "$2" "$STATE/pki" <<'PY'
import socket, ssl, sys
host, port, pki = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ctx = ssl.create_default_context(cafile=pki + "/ca.crt")
ctx.load_cert_chain(pki + "/operator.crt", pki + "/operator.key")
with socket.create_connection((host, port), timeout=5) as raw:
    with ctx.wrap_socket(raw, server_hostname=host) as s:
        print(s.getpeercert()["serialNumber"].lstrip("0").upper())
PY
}
# host.service=SERIAL for every etcd and postgres certificate of `certs status --output json`.
cert_serials() {
    json_get "$OUT" '" ".join(sorted(c["host"]+"."+c["service"]+"="+c["serial"].lstrip("0") for c in d["certificates"] if c["service"] in ("etcd","postgres")))'
}

log "certs status: every host holds the state's certificates, chained to the CA"
run_pgdr -i "$INV" --output json certs status
assert_rc 0 "certs status"
assert_eq "$(json_get "$OUT" 'len(d["certificates"])')" 10 "CA, etcd and postgres on 3 hosts, the operator's"
assert_eq "$(json_get "$OUT" '[c["host"]+"."+c["service"] for c in d["certificates"] if c["state"] != "ok"]')" "[]" \
    "every certificate ok"
assert_eq "$(json_get "$OUT" 'all(c["matches_state"] and c["chains_to_ca"] for c in d["certificates"] if c["host"] != "(operator)")')" True
assert_eq "$(json_get "$OUT" 'd["ca"]["days_left"] > 3600')" True "the CA has ~10 years"
BEFORE=$(cert_serials)
assert_eq "$(served_serial "${ADDR[pg2]}" 2379)" \
    "$(json_get "$OUT" '[c["serial"].lstrip("0") for c in d["certificates"] if c["host"] == "pg2" and c["service"] == "etcd"][0]')" \
    "pg2's etcd serves the certificate certs status read"

log "certs rotate --dry-run: the plan, no key shown, nothing changed"
run_pgdr -i "$INV" certs rotate --dry-run
assert_rc 0 "certs rotate --dry-run"
assert_contains "$OUT" "systemctl restart etcd"
assert_not_contains "$OUT" "PRIVATE KEY" "the dry run's output"
run_pgdr -i "$INV" --output json certs status
assert_eq "$(cert_serials)" "$BEFORE" "the dry run changed no certificate"

log "a reload by pgdr: the new HAProxy process starts with the replicas DOWN behind the write port"
# The admin socket's answers before and right after the reload: the new process (another pid)
# is asked at once, before any of its checks could have run twice (fall 2).
haproxy_states='import socket, sys, time
def ask(cmd):
    s = socket.socket(socket.AF_UNIX)
    s.connect("/run/haproxy/admin.sock")
    s.sendall(cmd.encode() + b"\n")
    d = b""
    while True:
        c = s.recv(65536)
        if not c:
            return d.decode()
        d += c
def pid():
    return [l.split(":")[1].strip() for l in ask("show info").splitlines() if l.startswith("Pid:")][0]
old = pid()
if sys.argv[1] == "reload":
    import subprocess
    subprocess.run(["/usr/local/sbin/pgdr-haproxy-reload"], check=True, stdout=subprocess.DEVNULL)
    deadline = time.time() + 10
    while pid() == old and time.time() < deadline:
        time.sleep(0.01)
    if pid() == old:
        sys.exit("no new HAProxy process within 10 s")
up = [f[1] for f in (l.split(",") for l in ask("show stat").splitlines())
      if len(f) > 17 and f[0] == "primary" and f[1] not in ("FRONTEND", "BACKEND") and f[17].startswith("UP")]
print(" ".join(sorted(up)))'
leader_now=$(leader)
run_pgdr -i "$INV" exec --hosts pg3 -- python3 -c "$haproxy_states" reload
assert_rc 0 "pgdr-haproxy-reload on pg3: $ERR"
assert_eq "$(echo "$OUT" | tail -1)" "$leader_now" "UP behind the write port at the new process' first answer"
run_pgdr -i "$INV" exec --hosts pg3 -- test -s /var/lib/haproxy/server-state
assert_rc 0 "the server states saved for the reload"

log "certs rotate --yes while a writer inserts through HAProxy every 0.2 s"
psql -XAtq -h $HAPROXY -p 5000 -U pgdr_probe -d pgdr -c "create table e2e_rotate(id int primary key)"
(
    ok=0 failed=0
    for ((i = 1; ; i++)); do
        [ -e "$WORK/stop-writer" ] && break
        if PGCONNECT_TIMEOUT=2 psql -XAtq -h $HAPROXY -p 5000 -U pgdr_probe -d pgdr \
            -c "insert into e2e_rotate values ($i)" >/dev/null 2>"$WORK/write-error"; then
            ok=$((ok + 1))
        else
            failed=$((failed + 1))
            echo "$(date -u +%T.%3N) write $i: $(tr '\n' ' ' <"$WORK/write-error")" >>"$WORK/writer-errors"
        fi
        sleep 0.2
    done
    echo "$ok $failed" >"$WORK/writer"
) &
writer=$!
run_pgdr -i "$INV" --output json certs rotate --yes
touch "$WORK/stop-writer"
wait $writer
assert_rc 0 "certs rotate --yes"
assert_eq "$(json_get "$OUT" 'd["ok"] and d["healthy"]')" True "rotated, verified, healthy"
assert_eq "$(json_get "$OUT" 'len(d["served"])')" 9 "etcd, Patroni and PostgreSQL ports of 3 hosts"
assert_eq "$(json_get "$OUT" '[s["host"]+" "+s["service"] for s in d["served"] if not s["ok"]]')" "[]" \
    "every port serves its new serial"
read -r writes_ok writes_failed <"$WORK/writer"
log "writer during the rotation: $writes_ok ok, $writes_failed failed"
[ -s "$WORK/writer-errors" ] && log "failed writes: $(cat "$WORK/writer-errors")"
assert_eq "$writes_failed" 0 "no write through HAProxy failed during the rotation"
assert_eq "$(sql $HAPROXY 5000 "select count(*) from e2e_rotate")" "$writes_ok" \
    "every acknowledged write is there"

log "after the rotation: new serials on every host, served, the cluster healthy and writable"
run_pgdr -i "$INV" --output json certs status
assert_rc 0 "certs status after the rotation"
AFTER=$(cert_serials)
assert_eq "$(python3 -c 'import sys; a=dict(x.split("=") for x in sys.argv[1].split()); b=dict(x.split("=") for x in sys.argv[2].split()); print(sorted(k for k in a if a[k] == b.get(k)))' "$BEFORE" "$AFTER")" "[]" \
    "every etcd and postgres certificate has a new serial"
for h in pg1 pg2 pg3; do
    assert_eq "$(served_serial "${ADDR[$h]}" 2379)" \
        "$(json_get "$OUT" "[c['serial'].lstrip('0') for c in d['certificates'] if c['host'] == '$h' and c['service'] == 'etcd'][0]")" \
        "$h's etcd serves its new certificate"
    assert_eq "$(served_serial "${ADDR[$h]}" 8008)" \
        "$(json_get "$OUT" "[c['serial'].lstrip('0') for c in d['certificates'] if c['host'] == '$h' and c['service'] == 'postgres'][0]")" \
        "$h's Patroni serves its new certificate"
done
wait_healthy 60
run_pgdr -i "$INV" status
assert_rc 0 "status after the rotation"
leader_now=$(leader)
assert_eq "$(write_through_haproxy 5)" "${ADDR[$leader_now]}" "a write through HAProxy lands on $leader_now"
assert_eq "$(streaming_on "$leader_now")" 2 "both replicas stream from $leader_now"
