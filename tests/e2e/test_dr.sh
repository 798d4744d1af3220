#!/usr/bin/env bash
# A pair of clusters in two regions on the lab (issue 16): `lab up --regions 2` (20 ms each way
# between the regions); bootstrap builds the primary cluster in r1 and its DR cluster in r2 (a
# Patroni standby cluster streaming through a permanent slot); status shows both and the lag;
# rows written on the primary reach both DR members; a second bootstrap changes nothing; losing
# the DR region leaves the primary writing; losing the primary region (`drill --lose-region r1
# --promote`) promotes the DR cluster, re-routes the writers, loses no acknowledged write beyond
# the reported window, fences the old primary when its region returns, and the pair's roles are
# swapped from then on; `dr rebuild` makes the old primary the standby of the promoted cluster
# (its diverged data set aside, never deleted); `dr switchover` fails back with a client writing
# through both HAProxies and no acknowledged write lost, the old leader's data kept.
# Release: PGDR_E2E_RELEASE (trixie).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lab.sh"
set -e

RELEASE=${PGDR_E2E_RELEASE:-trixie}
V=17
[ "$RELEASE" = bookworm ] && V=15
lab_up --regions 2 --no-monitor --release "$RELEASE"
STATE=$LAB_DIR/inventory.state

log "the written inventory is a pair: r1 primary, r2 DR"
run_pgdr -i "$INV" --output json inventory show
assert_rc 0 "inventory show"
assert_eq "$(json_get "$OUT" '[h["name"] for h in d["hosts"]]')" "['r1-pg1', 'r1-pg2', 'r1-pg3']"
assert_eq "$(json_get "$OUT" 'd["dr"]["cluster"] + " " + ",".join(h["name"] for h in d["dr"]["hosts"])')" "lab-dr r2-pg1,r2-pg2"

log "20 ms each way between the regions, none inside one"
rtt() {  # FROM_HOST TO_ADDRESS: the shortest of 3 TCP connects' round trips in ms, from FROM_HOST
    run_pgdr -i "$INV" exec --hosts "$1" -- python3 -c \
        "import socket,time
def once():
    t=time.monotonic(); socket.create_connection(('$2', 22), 5).close(); return time.monotonic()-t
print(int(min(once() for _ in range(3))*1000))"
    echo "$OUT" | tail -1 | tr -dc 0-9
}
across=$(rtt r1-pg1 198.18.0.14)
inside=$(rtt r1-pg1 198.18.0.12)
log "TCP connect r1-pg1 -> r2-pg1 ${across} ms, r1-pg1 -> r1-pg2 ${inside} ms"
assert_le 38 "$across" "round trip across the regions"
assert_le "$inside" 15 "round trip inside a region"

log "bootstrap builds both clusters"
run_pgdr -i "$INV" bootstrap
assert_rc 0 "bootstrap of the pair"
assert_contains "$OUT" "primary cluster lab"
assert_contains "$OUT" "DR cluster lab-dr (standby of lab)"

log "status: both healthy, the DR cluster streaming through its slot"
run_pgdr -i "$INV" --output json status
assert_rc 0 "status of the pair"
assert_eq "$(json_get "$OUT" 'd["healthy"]')" True "primary healthy"
assert_eq "$(json_get "$OUT" 'd["dr"]["healthy"]')" True "DR cluster healthy: $(json_get "$OUT" 'd["dr"]["problems"]')"
assert_eq "$(json_get "$OUT" 'd["dr"]["leader"]')" r2-pg1 "standby leader"
assert_eq "$(json_get "$OUT" '[m["role"] for m in d["dr"]["members"]]')" "['standby_leader', 'replica']"
assert_eq "$(json_get "$OUT" 'd["dr"]["link"]["streaming"]')" True "DR link: $(json_get "$OUT" 'd["dr"]["link"]')"
assert_eq "$(json_get "$OUT" 'd["dr"]["link"]["standby"]')" r2-pg1
assert_eq "$(json_get "$OUT" 'isinstance(d["dr"]["link"]["lag_bytes"], int)')" True
run_pgdr -i "$INV" status
assert_contains "$OUT" "DR link (lab -> lab-dr): streaming to r2-pg1"

log "rows written on the primary reach both DR members"
export PGPASSWORD
PGPASSWORD=$(cat "$STATE/secrets/probe-password")
psql -XAtq -h 198.18.0.13 -p 5000 -U pgdr_probe -d pgdr -c \
    "create table e2e_dr(id int primary key); insert into e2e_dr select generate_series(1, 500)" >/dev/null
rows_reach() {  # SQL EXPECTED WHAT ADDRESS...: SQL answers EXPECTED on each member within 10 s
    local sql=$1 expected=$2 what=$3 address n
    shift 3
    for address in "$@"; do
        n=0
        for _ in $(seq 1 50); do
            n=$(psql -XAtq -h "$address" -p 5432 -U pgdr_probe -d pgdr -c "$sql" 2>/dev/null || echo 0)
            [ "$n" = "$expected" ] && break
            sleep 0.2
        done
        assert_eq "$n" "$expected" "$what on $address"
    done
}
rows_reach "select count(*) from e2e_dr" 500 "rows" 198.18.0.14 198.18.0.15
r=$(psql -XAtq -h 198.18.0.14 -p 5000 -U pgdr_probe -d pgdr -c "select pg_is_in_recovery()")
assert_eq "$r" t "the DR cluster's HAProxy leads to its standby leader (read-only)"
if psql -XAtq -h 198.18.0.14 -p 5000 -U pgdr_probe -d pgdr -c "insert into e2e_dr values (0)" 2>/dev/null; then
    fail "the DR cluster took a write before its promotion"
fi

log "a second bootstrap changes nothing in either cluster"
run_pgdr -i "$INV" bootstrap
assert_rc 0 "second bootstrap"
assert_eq "$(echo "$OUT" | grep -c '^0 changes, ' || true)" 2 "two clusters without a change: $(echo "$OUT" | grep 'changes, ')"

log "dr promote: a dry run changes nothing"
run_pgdr -i "$INV" dr promote --dry-run
assert_rc 0 "dry run"
assert_contains "$OUT" "would fence lab and promote r2-pg1"
run_pgdr -i "$INV" exec --hosts r1-pg1 -- systemctl is-active patroni@$V-main
assert_rc 0 "Patroni still runs on r1-pg1 after the dry run"

log "the DR region lost: the primary keeps taking writes, nothing is promoted"
run_pgdr -i "$INV" --output json drill --lose-region r2
assert_rc 0 "drill --lose-region r2: $(json_get "$OUT" 'd["error"]')"
assert_eq "$(json_get "$OUT" 'd["verdict"]')" pass
assert_eq "$(json_get "$OUT" 'd["promoted"]')" False
assert_le 1 "$(json_get "$OUT" 'd["writes_acknowledged_primary"]')" "writes on the primary"
log "the DR cluster streams again once its region is back"
for i in $(seq 1 60); do
    run_pgdr -i "$INV" --output json status
    [ "$RC" = 0 ] && break
    sleep 2
done
assert_rc 0 "status after the DR region came back: $(json_get "$OUT" 'd["dr"]["link"]')"

log "the DR cluster caught up (a healed link may stall for a TCP retransmission backoff)"
for i in $(seq 1 60); do
    run_pgdr -i "$INV" --output json status
    [ "$RC" = 0 ] && [ "$(json_get "$OUT" 'd["dr"]["link"]["lag_bytes"]')" = 0 ] && break
    sleep 1
done
assert_eq "$(json_get "$OUT" 'd["dr"]["link"]["lag_bytes"]')" 0 "DR lag before the primary-region drill ($i s): $(json_get "$OUT" 'd["dr"]["link"]')"

log "the primary region lost: detection, promotion, client re-routing, losses within the window"
run_pgdr -i "$INV" --output json drill --lose-region r1 --promote --report "$WORK/region.json"
drill_rc=$RC
drill_out=$OUT
log "region drill's log: $(tail -n 8 <<<"$ERR")"
log "region drill: $(json_get "$drill_out" '[(p["name"], p["at_ms"]) for p in d["phases"]]')"
log "writers: $(json_get "$drill_out" '(d["write_attempts_primary"], d["writes_acknowledged_primary"], d["last_write_error_primary"], d["write_attempts_dr"], d["writes_acknowledged_dr"], d["last_write_error_dr"])')"
assert_eq "$drill_rc" 0 "drill --lose-region r1 --promote: $(json_get "$drill_out" 'd["error"]') $(json_get "$drill_out" 'd["checks"]')"
assert_eq "$(json_get "$drill_out" 'd["verdict"]')" pass
assert_eq "$(json_get "$drill_out" 'd["promoted"]')" True
for field in rto_ms lost_acknowledged_writes expected_loss_window_ms dr_lag_at_fault_bytes; do
    assert_eq "$(json_get "$drill_out" "d[\"$field\"] is not None")" True "JSON field $field"
done
assert_eq "$(json_get "$(cat "$WORK/region.json")" 'd["verdict"]')" pass "the JSON report file"
log "RTO $(json_get "$drill_out" 'd["rto_ms"]') ms, $(json_get "$drill_out" 'd["lost_acknowledged_writes"]') of $(json_get "$drill_out" 'd["writes_acknowledged_primary"]') acknowledged writes lost (window $(json_get "$drill_out" 'd["expected_loss_window_ms"]') ms, DR lag at the fault $(json_get "$drill_out" 'd["dr_lag_at_fault_bytes"]') B)"
assert_le 1 "$(json_get "$drill_out" 'd["writes_acknowledged_dr"]')" "writes re-routed to lab-dr"

log "independently: the marker rows on the promoted cluster"
rows=$(psql -XAtq -h 198.18.0.14 -p 5000 -U pgdr_probe -d pgdr -c "select count(*) from pgdr_region_drill")
expected=$(json_get "$drill_out" 'd["writes_acknowledged_primary"] - d["lost_acknowledged_writes"] + d["writes_acknowledged_dr"]')
assert_le "$expected" "$rows" "marker rows on the promoted cluster"
n=$(psql -XAtq -h 198.18.0.14 -p 5000 -U pgdr_probe -d pgdr -c "select count(*) from e2e_dr")
assert_eq "$n" 500 "rows written before the drills"
w=$(psql -XAtq -h 198.18.0.14 -p 5000 -U pgdr_probe -d pgdr -c "insert into e2e_dr values (5000) returning pg_is_in_recovery()")
assert_eq "$w" f "the promoted cluster takes writes"
unset PGPASSWORD
for h in r1-pg1 r1-pg2 r1-pg3; do
    run_pgdr -i "$INV" exec --hosts $h -- systemctl is-enabled patroni@$V-main
    assert_contains "$OUT" "disabled" "Patroni on $h disabled (fenced after the heal)"
    run_pgdr -i "$INV" exec --hosts $h -- systemctl is-active patroni@$V-main
    assert_contains "$OUT" "inactive" "Patroni on $h stopped"
done

log "the roles are swapped: the inventory's cluster is lab-dr now"
assert_eq "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["provider"]["dr"]["primary"])' "$STATE/state.json")" lab-dr
run_pgdr -i "$INV" --output json status
assert_eq "$(json_get "$OUT" 'd["leader"]')" r2-pg1 "leader after the promotion"
assert_eq "$(json_get "$OUT" '[m["role"] for m in d["members"] if m["name"] == "r2-pg1"]')" "['leader']"
assert_eq "$(json_get "$OUT" 'd["dr"]["cluster"]')" lab "the old primary is the pair's DR cluster"
assert_eq "$(json_get "$OUT" 'd["dr"]["link"]["slot_exists"]')" True "a slot for the old primary on the promoted cluster"
assert_eq "$(json_get "$OUT" 'd["dr"]["link"]["streaming"]')" False
run_pgdr -i "$INV" dr promote --yes
assert_rc 7 "a second promotion"

log "dr rebuild: the old primary becomes the standby cluster of lab-dr"
run_pgdr -i "$INV" dr rebuild --dry-run
assert_rc 0 "rebuild dry run"
assert_contains "$OUT" "would fence lab"
run_pgdr -i "$INV" --output json dr rebuild --yes
rebuild_out=$OUT
assert_rc 0 "dr rebuild: $(json_get "$rebuild_out" 'd["error"]') $(tail -n 5 <<<"$ERR")"
log "rebuild: $(json_get "$rebuild_out" '[(m["host"], m["fate"], m["why"]) for m in d["members"]]')"
log "rebuild phases: $(json_get "$rebuild_out" '[(p["name"], p["after_ms"]) for p in d["phases"]]')"
assert_eq "$(json_get "$rebuild_out" 'd["link"]["streaming"]')" True "DR link after the rebuild"
assert_le "$(json_get "$rebuild_out" '[m["fate"] for m in d["members"]].count("kept")')" 1 "one member kept at most"
# The old primary kept its own region's writes after the cut: its data goes aside, never away.
for m in $(json_get "$rebuild_out" '" ".join(m["host"] + "=" + m["set_aside_to"] for m in d["members"] if m["fate"] == "set aside")'); do
    run_pgdr -i "$INV" exec --hosts "${m%%=*}" -- test -f "${m#*=}/PG_VERSION"
    assert_rc 0 "the data of ${m%%=*} kept in ${m#*=}"
done
run_pgdr -i "$INV" --output json status
assert_rc 0 "status after the rebuild: $(json_get "$OUT" 'd["dr"]["problems"]')"
assert_eq "$(json_get "$OUT" 'd["dr"]["cluster"]')" lab
assert_eq "$(json_get "$OUT" 'sorted(m["role"] for m in d["dr"]["members"])')" "['replica', 'replica', 'standby_leader']"
export PGPASSWORD
PGPASSWORD=$(cat "$STATE/secrets/probe-password")
rows_reach "select count(*) from e2e_dr where id = 5000" 1 "the promoted cluster's write" \
    198.18.0.11 198.18.0.12 198.18.0.13
run_pgdr -i "$INV" --output json dr rebuild --yes
assert_rc 0 "a second rebuild"
assert_eq "$(json_get "$OUT" 'd["nothing_to_do"]')" True "a second rebuild has nothing to do"

log "dr switchover back to lab while a client writes through both HAProxies: no acknowledged write lost"
psql -XAtq -h 198.18.0.14 -p 5000 -U pgdr_probe -d pgdr -c "create table e2e_sw(id int primary key)" >/dev/null
: >"$WORK/acked"
(
    export PGCONNECT_TIMEOUT=2
    i=0
    while [ ! -e "$WORK/stop-writer" ]; do
        i=$((i + 1))
        for address in 198.18.0.14 198.18.0.13; do
            if psql -XAtq -h $address -p 5000 -U pgdr_probe -d pgdr -c "insert into e2e_sw values ($i)" >/dev/null 2>&1; then
                echo $i >>"$WORK/acked"
                break
            fi
        done
    done
) &
writer=$!
on_exit "touch '$WORK/stop-writer'; wait $writer 2>/dev/null"
sleep 2
run_pgdr -i "$INV" --output json dr switchover --yes
sw_rc=$RC
sw_out=$OUT
sleep 2
touch "$WORK/stop-writer"
wait $writer || true
log "switchover: $(json_get "$sw_out" '[(p["name"], p["after_ms"]) for p in d["switchover"]["phases"]]')"
log "switchover's rebuild: $(json_get "$sw_out" 'd["rebuild"] and [(p["name"], p["after_ms"]) for p in d["rebuild"]["phases"]]')"
assert_eq "$sw_rc" 0 "dr switchover: $(json_get "$sw_out" 'd["switchover"]["error"]') $(json_get "$sw_out" 'd["rebuild"] and d["rebuild"]["error"]') $(tail -n 5 <<<"$ERR")"
assert_eq "$(json_get "$sw_out" 'd["switchover"]["lost_bytes"]')" 0 "RPO of the switchover"
outage=$(json_get "$sw_out" 'd["switchover"]["write_outage_ms"]')
acked=$(wc -l <"$WORK/acked")
missing=$(psql -XAtq -h 198.18.0.13 -p 5000 -U pgdr_probe -d pgdr -c \
    "select count(*) from unnest('{$(paste -sd, "$WORK/acked")}'::int[]) a(id) where not exists (select 1 from e2e_sw s where s.id = a.id)")
log "switchover: write outage ${outage} ms; ${acked} writes acknowledged by the client, ${missing} missing on lab"
assert_le 10 "$acked" "the client wrote through the switchover"
assert_eq "$missing" 0 "acknowledged writes lost by the switchover"
assert_eq "$(json_get "$sw_out" '[m["fate"] for m in d["rebuild"]["members"] if m["host"] == "r2-pg1"]')" "['kept']" \
    "the old leader's data streams on without a copy: $(json_get "$sw_out" 'd["rebuild"]["members"]')"
assert_eq "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["provider"]["dr"]["primary"])' "$STATE/state.json")" lab
run_pgdr -i "$INV" --output json status
assert_rc 0 "status after the switchover: $(json_get "$OUT" 'd["problems"]') $(json_get "$OUT" 'd["dr"]["problems"]')"
assert_eq "$(json_get "$OUT" 'd["leader"].startswith("r1-")')" True "lab leads again: $(json_get "$OUT" 'd["leader"]')"
assert_eq "$(json_get "$OUT" 'd["dr"]["cluster"]')" lab-dr
assert_eq "$(json_get "$OUT" 'd["dr"]["link"]["streaming"]')" True "DR link after the switchover"
unset PGPASSWORD

log "runbooks/region-loss.yaml: the loss of r1 and the way back, as a runbook"
for i in $(seq 1 60); do  # the DR cluster caught up after the switchover's rebuild
    run_pgdr -i "$INV" --output json status
    [ "$RC" = 0 ] && [ "$(json_get "$OUT" 'd["dr"]["link"]["lag_bytes"]')" = 0 ] && break
    sleep 1
done
run_pgdr -i "$INV" runbook run "$SRC_DIR/runbooks/region-loss.yaml" --yes --param region=r1 \
    --transcript "$WORK/rl"
rl_rc=$RC
log "region-loss runbook: $(grep '"step_end"' "$WORK/rl/transcript.jsonl" | python3 -c 'import json,sys; print([(e.get("step"), e.get("result")) for e in map(json.loads, sys.stdin)])')"
[ "$rl_rc" = 0 ] || log "region-loss runbook, the failed step: $(grep '"step_end"' "$WORK/rl/transcript.jsonl" | python3 -c 'import json,sys; print([(e["step"], e["error"], e["output"][-3000:]) for e in map(json.loads, sys.stdin) if e["result"] != "ok"])')"
assert_eq "$rl_rc" 0 "region-loss runbook: $(tail -n 12 <<<"$OUT")"
assert_eq "$(grep -c '"step_end"' "$WORK/rl/transcript.jsonl")" 12 "a step_end per step"
assert_eq "$(grep '"step_end"' "$WORK/rl/transcript.jsonl" | grep -vc '"result":"ok"' || true)" 0 "every step ok"
assert_eq "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["provider"]["dr"]["primary"])' "$STATE/state.json")" lab "lab leads again after the runbook"

log "lab down removes both regions' bridges, the link and its relay"
run_pgdr lab down --dir "$LAB_DIR"
assert_rc 0 "lab down"
assert_no_lab_leftovers "$LAB_DIR"
