#!/usr/bin/env bash
# Issue 12: a running cluster bootstrapped without TLS is moved to TLS by `pgdr bootstrap` while
# a client writes through HAProxy, with no write outage longer than a switchover's.
#
# The plain cluster is built by the pgdr of the last commit before TLS (scripts/
# build-pre-tls-pgdr.sh builds it, about 12 minutes on 2 cores): PGDR_PRE_TLS names that
# binary. Without it the test is skipped (exit 77): building it would take a third of CI's
# time budget.
#
# Asserted: the dry run names the move and changes nothing; the real run passes; the writer (a
# new connection per write, libpq's default sslmode=prefer) lost no acknowledged write and its
# longest gap is no longer than the write outage of a switchover drill on the same cluster;
# a second bootstrap changes nothing; afterwards etcd, Patroni's REST API and PostgreSQL refuse
# plain clients, the DCS holds no pg_hba, and the cluster is healthy.
if [ ! -x "${PGDR_PRE_TLS:-}" ]; then
    echo "SKIP: PGDR_PRE_TLS does not name the pre-TLS pgdr (scripts/build-pre-tls-pgdr.sh)"
    exit 77
fi
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lab.sh"
source "$(dirname "$0")/cluster.sh"
set -e

# PGDR_E2E_RELEASE=bookworm runs it on Debian 12 (Patroni 3.0.2, PostgreSQL 15, etcd 3.4).
lab_up --no-monitor --release "${PGDR_E2E_RELEASE:-trixie}"
STATE=$LAB_DIR/inventory.state
HAPROXY=198.18.0.13

log "the plain cluster, bootstrapped by the pre-TLS pgdr"
set +e
"$PGDR_PRE_TLS" -i "$INV" bootstrap >"$WORK/pre-tls-bootstrap.log" 2>&1
pre_rc=$?
set -e
assert_eq "$pre_rc" 0 "bootstrap by the pre-TLS pgdr (log: $(tail -n 20 "$WORK/pre-tls-bootstrap.log"))"
plain_rest() {  # "plain" when pg1's Patroni answers over plain HTTP
    run_pgdr -i "$INV" exec --hosts pg3 -- python3 -c \
        'import urllib.request; urllib.request.urlopen("http://198.18.0.11:8008/patroni", timeout=3); print("plain")'
}
plain_rest
assert_contains "$OUT" plain "Patroni answers over plain HTTP before the move"

export PGPASSWORD
PGPASSWORD=$(cat "$STATE/secrets/probe-password")
sql $HAPROXY 5000 "create table if not exists tls_move(id bigserial primary key, at timestamptz default clock_timestamp())"

log "dry run"
run_pgdr -i "$INV" bootstrap --dry-run
assert_rc 0 "dry run of the move"
assert_contains "$OUT" "bootstrap moves it to TLS while it runs"
assert_contains "$OUT" "moving to TLS: one etcd member at a time"
plain_rest
assert_contains "$OUT" plain "the dry run changed nothing"

# The writer: a new connection per write (pg_hba and ssl change under it), every 50 ms.
writer() {
    local stop=$1 out=$2 id
    while [ ! -e "$stop" ]; do
        if id=$(psql -XAtq "host=$HAPROXY port=5000 user=pgdr_probe dbname=pgdr connect_timeout=2" \
            -c "insert into tls_move default values returning id" 2>/dev/null); then
            echo "ok $(date +%s%3N) $id" >>"$out"
        else
            echo "fail $(date +%s%3N)" >>"$out"
        fi
        sleep 0.05
    done
}
writes=$WORK/writes
writer "$WORK/stop" "$writes" &
writer_pid=$!
on_exit "touch '$WORK/stop'; kill $writer_pid 2>/dev/null"
sleep 2

log "the move, cut off once every Patroni moved (SIGKILL), then run again"
t0=$(date +%s%3N)
"$PGDR" -v -i "$INV" bootstrap >"$WORK/move-cut.log" 2>&1 &
cut_pid=$!
for _ in $(seq 600); do
    grep -q "pg3: changed: run: restart patroni@" "$WORK/move-cut.log" && break
    kill -0 $cut_pid 2>/dev/null || break
    sleep 0.2
done
kill -9 $cut_pid 2>/dev/null || true
wait $cut_pid 2>/dev/null || true
assert_contains "$(cat "$WORK/move-cut.log")" "pg3: changed: run: restart patroni@" "the first run's log"
assert_contains "$(cat "$STATE/tls-move-in-progress")" "a move to TLS" "the move's marker after the cut"
# Every Patroni answers over TLS now: only the marker tells the next run the move did not end.
# Each line of the move's log with the time it was printed (for the writer's gaps); the killed
# run's cluster lock is broken (its holder is gone for good).
set +e
"$PGDR" -v -i "$INV" bootstrap --break-lock lab 2>&1 | while IFS= read -r line; do
    printf '%s %s\n' "$(date +%s%3N)" "$line"
done >"$WORK/move.log"
RC=${PIPESTATUS[0]}
set -e
assert_contains "$(cat "$WORK/move.log")" "finishing a move to TLS that was cut off"
assert_contains "$(cat "$WORK/move.log")" "changed: run: checks on again (enable health)"
[ ! -e "$STATE/tls-move-in-progress" ] || fail "the move's marker is still there after it ended"
t1=$(date +%s%3N)
OUT=$(tail -n 40 "$WORK/move.log")
ERR=""
# PGDR_E2E_KEEP=DIR keeps the move's log, the writer's record and the hosts' logs.
if [ -n "${PGDR_E2E_KEEP:-}" ]; then
    mkdir -p "$PGDR_E2E_KEEP"
    cp "$WORK/move.log" "$PGDR_E2E_KEEP/"
    on_exit "cp '$writes' '$PGDR_E2E_KEEP/writes'"
    for h in pg1 pg2 pg3; do
        on_exit "'$PGDR' lab ssh $h --dir '$LAB_DIR' -- sh -c 'journalctl --no-pager -o short-iso-precise -u 'patroni@*' -u etcd -u haproxy; cat /var/log/postgresql/*.log' >'$PGDR_E2E_KEEP/$h.log' 2>&1"
    done
fi
assert_rc 0 "bootstrap moves the running cluster to TLS"
sleep 2
touch "$WORK/stop"
wait "$writer_pid" || true
log "bootstrap took $((t1 - t0)) ms"

# The longest time between two acknowledged writes, from the first to the last one.
gap=$(awk '$1 == "ok" { if (last) { g = $2 - last; if (g > max) { max = g; at = last } }; last = $2 } END { print max + 0 }' "$writes")
log "longest gap after the write acknowledged at $(awk '$1 == "ok" { if (last) { g = $2 - last; if (g > max) { max = g; at = last } }; last = $2 } END { print at }' "$writes") (the move ran from $t0 to $t1)"
oks=$(grep -c '^ok' "$writes")
fails=$(grep -c '^fail' "$writes" || true)
log "writer: $oks acknowledged writes, $fails failed attempts, longest gap $gap ms"
assert_le 100 "$oks" "the writer wrote during the move"
rows=$(sql $HAPROXY 5000 "select count(*) from tls_move")
assert_eq "$rows" "$oks" "every acknowledged write is there (no lost write)"
ssl=$(sql $HAPROXY 5000 "select ssl from pg_stat_ssl where pid = pg_backend_pid()")
assert_eq "$ssl" t "a client through HAProxy negotiates TLS"

run_pgdr -i "$INV" bootstrap
assert_rc 0 "a second bootstrap"
assert_contains "$OUT" "0 changes," "a second bootstrap after the move"

log "a switchover on the moved cluster, for the comparison"
wait_healthy 60
run_pgdr -i "$INV" --output json drill --switchover
assert_rc 0 "switchover drill after the move"
outage=$(json_get "$OUT" 'd["write_outage_ms"]')
log "switchover write outage $outage ms; the move's longest gap $gap ms"
assert_le "$gap" "$outage" "the move's longest write gap against a switchover's outage"

log "closed: plain clients are refused"
run_pgdr -i "$INV" exec --hosts pg3 -- sh -c \
    'ETCDCTL_API=3 etcdctl --endpoints=http://198.18.0.11:2379 --dial-timeout=2s --command-timeout=3s get x >/dev/null 2>&1 && echo open || echo refused'
assert_eq "$(echo "$OUT" | tail -1)" refused "etcd over plain HTTP"
plain_rest
assert_rc 1 "Patroni's REST API over plain HTTP"
# (the traceback quotes the script's source, which names the word: a line of its own counts)
assert_eq "$(grep -cx plain <<<"$OUT" || true)" 0 "Patroni's REST API over plain HTTP"
set +e
psql -XAtq "host=$HAPROXY port=5000 user=pgdr_probe dbname=pgdr sslmode=disable connect_timeout=3" \
    -c "select 1" >/dev/null 2>"$WORK/psql.err"
plain_rc=$?
set -e
assert_eq "$plain_rc" 2 "psql sslmode=disable through HAProxy ($(cat "$WORK/psql.err"))"
assert_contains "$(cat "$WORK/psql.err")" "no pg_hba.conf entry"
run_pgdr -i "$INV" exec --hosts pg1 -- python3 -c \
    'import ssl, urllib.request; print(urllib.request.urlopen("https://198.18.0.11:8008/config", timeout=3, context=ssl.create_default_context(cafile="/etc/pgdr/tls/ca.crt")).read().decode())'
assert_rc 0 "GET /config over TLS"
assert_not_contains "$OUT" "pg_hba" "the DCS's configuration"
assert_not_contains "$OUT" '"pause": true' "the DCS's configuration"
run_pgdr -i "$INV" status
assert_rc 0 "status after the move: $OUT"
