#!/usr/bin/env bash
# pgdr bootstrap end to end on the lab (default release): dry run changes nothing; a run killed
# midway converges when re-run; the cluster is checked independently with psql; a second run
# changes nothing; no secret reaches the output.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lab.sh"
set -e

lab_up
STATE=$LAB_DIR/inventory.state

log "dry run: a plan, no change"
run_pgdr -i "$INV" bootstrap --dry-run
assert_rc 0 "dry run"
assert_contains "$OUT" "would update /etc/default/etcd"
assert_contains "$OUT" "changes would be made"
run_pgdr -i "$INV" exec --hosts pg1 -- test -e /etc/patroni/17-main.yml
assert_rc 1 "the dry run wrote no patroni.yml"

log "a bootstrap killed midway (SSH connections dropped with it)"
"$PGDR" -i "$INV" bootstrap >"$WORK/killed.out" 2>&1 &
victim=$!
sleep 7
kill -9 $victim 2>/dev/null || true
wait $victim 2>/dev/null || true
log "killed after: $(grep -c '' "$WORK/killed.out") output lines"

log "the re-run converges"
run_pgdr -vvv -i "$INV" bootstrap
assert_rc 0 "bootstrap after an interrupted one"
assert_contains "$OUT" "0 failed"
for secret in "$STATE"/secrets/*; do
    assert_not_contains "$OUT$ERR" "$(cat "$secret")" "bootstrap output at -vvv ($(basename "$secret"))"
done

log "secrets: 0600 files in a 0700 directory"
assert_eq "$(stat -c %a "$STATE/secrets")" 700 "secrets directory mode"
for secret in "$STATE"/secrets/*; do
    assert_eq "$(stat -c %a "$secret")" 600 "mode of $(basename "$secret")"
done

log "status: one leader, two replicas streaming, etcd healthy, HAProxy on the leader"
run_pgdr -i "$INV" --output json status
assert_rc 0 "status"
assert_eq "$(json_get "$OUT" 'd["healthy"]')" True
assert_eq "$(json_get "$OUT" 'd["leader"]')" pg1
assert_eq "$(json_get "$OUT" 'sorted(m["replication_state"] for m in d["members"] if m["name"] != "pg1")')" "['streaming', 'streaming']"
assert_eq "$(json_get "$OUT" 'all(e["healthy"] for e in d["etcd"]) and len(d["etcd"]) == 3')" True

log "independent checks with psql"
export PGPASSWORD
PGPASSWORD=$(cat "$STATE/secrets/probe-password")
w=$(psql -XAtq -h 198.18.0.13 -p 5000 -U pgdr_probe -d pgdr -c \
    "create table if not exists e2e(id int primary key, at timestamptz default now()); insert into e2e(id) select g from generate_series(1, 100) g on conflict do nothing; select host(inet_server_addr()) || ' ' || pg_is_in_recovery()")
assert_eq "$w" "198.18.0.11 false" "writes through HAProxy land on the leader"
r=$(psql -XAtq -h 198.18.0.13 -p 5001 -U pgdr_probe -d pgdr -c "select pg_is_in_recovery()")
assert_eq "$r" t "reads through HAProxy come from a replica"
sleep 1
for replica in 198.18.0.12 198.18.0.13; do
    n=$(psql -XAtq -h $replica -p 5432 -U pgdr_probe -d pgdr -c "select count(*) from e2e")
    assert_eq "$n" 100 "rows replicated to $replica"
done
unset PGPASSWORD
run_pgdr -i "$INV" exec --hosts pg1 -- runuser -u postgres -- psql -XAtq -c \
    "select count(*) from pg_stat_replication where state = 'streaming'"
assert_eq "$(echo "$OUT" | tail -1)" 2 "streaming rows in pg_stat_replication on the leader"
run_pgdr -i "$INV" exec --hosts pg1 -- runuser -u postgres -- psql -XAtq -c "show password_encryption"
assert_contains "$OUT" "scram-sha-256"
run_pgdr -i "$INV" exec -- cat /etc/postgresql/17/main/pg_hba.conf
assert_not_contains "$OUT" "0.0.0.0/0" "pg_hba"
assert_not_contains "$OUT" "md5" "pg_hba"
assert_contains "$OUT" "198.18.0.0/24"
run_pgdr -i "$INV" exec --hosts pg1 -- systemctl is-enabled postgresql@17-main patroni@17-main
assert_contains "$OUT" "enabled"

log "pgdr psql reaches the write port with the generated credentials"
run_pgdr -i "$INV" psql -- -XAtc "select current_user || '@' || host(inet_server_addr())"
assert_rc 0 "pgdr psql"
assert_eq "$OUT" "postgres@198.18.0.11"

log "a second bootstrap changes nothing and restarts nothing"
before=$(ssh -i "$LAB_DIR/ssh/id_ed25519" -o UserKnownHostsFile="$LAB_DIR/known_hosts" -o BatchMode=yes root@198.18.0.11 systemctl show -p MainPID --value patroni@17-main)
run_pgdr -i "$INV" bootstrap
assert_rc 0 "second bootstrap"
assert_contains "$OUT" "0 changes,"
after=$(ssh -i "$LAB_DIR/ssh/id_ed25519" -o UserKnownHostsFile="$LAB_DIR/known_hosts" -o BatchMode=yes root@198.18.0.11 systemctl show -p MainPID --value patroni@17-main)
assert_eq "$after" "$before" "Patroni's PID on the leader"

log "a broken replica is noticed by status (exit 7)"
run_pgdr -i "$INV" exec --hosts pg3 -- systemctl stop patroni@17-main
run_pgdr -i "$INV" status
assert_rc 7 "status with a stopped replica"
assert_contains "$OUT" "pg3"
run_pgdr -i "$INV" bootstrap
assert_rc 0 "bootstrap repairs it"
run_pgdr -i "$INV" status
assert_rc 0 "healthy again"
