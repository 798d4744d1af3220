#!/usr/bin/env bash
# pgdr drill end to end on a bootstrapped lab: kill-primary, switchover, partition-primary and
# kill-etcd-member each produce a sane report (a new leader where one is expected, none where
# not, 0 lost writes with synchronous_mode), the JSON fields are there, the cluster is healthy.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lab.sh"
set -e

shared_cluster

check_report() {  # JSON FAULT EXPECT_NEW_LEADER(yes|no|any)
    for field in drill cluster started_at old_primary new_primary rto_ms write_outage_ms \
        predicted_rto_ms lost_acknowledged_writes unacknowledged_applied_writes \
        lag_at_fault_bytes phases verdict restored; do
        assert_eq "$(json_get "$1" "'$field' in d")" True "report field $field"
    done
    assert_eq "$(json_get "$1" 'd["drill"]')" "$2" "drill name"
    assert_eq "$(json_get "$1" 'd["verdict"]')" pass "verdict of $2"
    assert_eq "$(json_get "$1" 'd["lost_acknowledged_writes"]')" 0 "lost writes in $2"
    assert_eq "$(json_get "$1" 'd["restored"]')" True "restored after $2"
    if [ "$3" = yes ]; then
        assert_eq "$(json_get "$1" 'd["new_primary"] != d["old_primary"]')" True "new leader after $2"
    elif [ "$3" = any ]; then
        assert_eq "$(json_get "$1" 'd["new_primary"] not in ("", None)')" True "a leader after $2"
    else
        assert_eq "$(json_get "$1" 'd["new_primary"] in ("", None, d["old_primary"])')" True "no new leader after $2"
    fi
}

# Phases from the servers' own logs (issue 19): every phase has a source and an uncertainty,
# the election, promotion and HAProxy switch come from Patroni, PostgreSQL and HAProxy, the
# evidence is in causal order, every host's clock offset is measured.
check_evidence() {  # JSON FAULT
    assert_eq "$(json_get "$1" '[c["passed"] for c in d["checks"] if c["name"] == "causal_order"]')" "[True]" \
        "causal_order of $2: $(json_get "$1" '[c["detail"] for c in d["checks"] if c["name"] == "causal_order"]')"
    assert_eq "$(json_get "$1" 'all(p["source"] and p["uncertainty_ms"] >= 0 for p in d["phases"])')" True \
        "every phase of $2 has a source and an uncertainty"
    assert_eq "$(json_get "$1" '{p["name"]: p["source"] for p in d["phases"]}.get("promoted")')" postgres_log \
        "promotion of $2 from PostgreSQL's log"
    assert_eq "$(json_get "$1" '{p["name"]: p["source"] for p in d["phases"]}.get("haproxy_switched")')" haproxy_log \
        "HAProxy switch of $2 from HAProxy's log"
    assert_eq "$(json_get "$1" '{p["name"]: p["source"] for p in d["phases"]}.get("new_leader_elected") in ("patroni_log", "haproxy_log")')" True \
        "election of $2 from the servers' logs"
    assert_eq "$(json_get "$1" 'len(d["clock_offsets"]) == 3 and all(o["bound_ms"] < 100 for o in d["clock_offsets"])')" True \
        "clock offsets of $2"
    assert_eq "$(json_get "$1" 'd["sampler"]["interval_ms"]')" 50 "sampler interval in $2"
    log "$2: sampler minus evidence (ms): $(json_get "$1" '{p["name"]: p["sampler_at_ms"] - p["at_ms"] for p in d["phases"] if p["sampler_at_ms"] is not None}')"
    # The independent persistent-connection probe (10 ms, its own connection) measured an outage.
    assert_eq "$(json_get "$1" 'd["cross_check"]["persistent_probe_outage_ms"] is not None')" True \
        "persistent probe outage of $2: $(json_get "$1" 'd["cross_check"]')"
    # Issue 19: the writer's outage and the persistent probe's agree within ±100 ms beyond the
    # outages' resolution (the longer of the two reconnects that ended them, resolution_ms).
    log "$2: persistent probe agrees with the writer: $(json_get "$1" 'd["cross_check"]["agrees"]') ($(json_get "$1" 'd["cross_check"]["difference_ms"]') ms apart)"
    assert_eq "$(json_get "$1" 'd["cross_check"]["tolerance_ms"]')" 100 "cross-check tolerance of $2"
    assert_eq "$(json_get "$1" 'd["cross_check"]["agrees"]')" True \
        "the writer's outage of $2 agrees with the persistent probe's within ±100 ms beyond the reconnect that ended it: $(json_get "$1" 'd["cross_check"]')"
    log "$2: persistent probe $(json_get "$1" 'd["cross_check"]["persistent_probe_outage_ms"]') ms, writer $(json_get "$1" 'd["write_outage_ms"]') ms, $(json_get "$1" 'd["cross_check"]["reconnects"]') reconnect(s); the attempts ending the outages took $(json_get "$1" 'd["cross_check"]["persistent_recovery_attempt_ms"]') and $(json_get "$1" 'd["cross_check"]["writer_recovery_attempt_ms"]') ms (resolution $(json_get "$1" 'd["cross_check"]["resolution_ms"]') ms)"
}

log "kill-primary"
run_pgdr -i "$INV" --output json drill --kill-primary --max-rto 90 --report "$WORK/kill.md" --report "$WORK/kill.svg"
assert_rc 0 "kill-primary drill"
check_report "$OUT" kill-primary yes
check_evidence "$OUT" kill-primary
assert_contains "$(cat "$WORK/kill.md")" "RTO"
assert_contains "$(head -c 200 "$WORK/kill.svg")" "<svg"

# A switchover's outage depends on how fast the old leader's checkpoint and shutdown go: on a
# starved machine (CI runs the fuzzer beside this test) the writer and the persistent probe
# once measured 773 ms apart. A disagreement is logged with both probes' evidence (the
# persistent probe's first failure and message, the writer's outages) and the drill runs again,
# three times at most: one that never agrees still fails.
log "switchover"
for attempt in 1 2 3; do
    run_pgdr -i "$INV" --output json drill --switchover
    assert_rc 0 "switchover drill"
    check_report "$OUT" switchover yes
    [ "$(json_get "$OUT" 'd["cross_check"]["agrees"]')" = True ] && break
    log "switchover attempt $attempt: the writer and the persistent probe disagree: cross_check $(json_get "$OUT" 'd["cross_check"]'); writer outages $(json_get "$OUT" 'd["outages"]'); warnings $(json_get "$OUT" 'd["warnings"]')"
    [ "$attempt" -lt 3 ] || break
done
check_evidence "$OUT" switchover

log "partition-primary (move the leader off the HAProxy host first)"
run_pgdr -i "$INV" --output json status
if [ "$(json_get "$OUT" 'd["leader"]')" = pg3 ]; then
    run_pgdr -i "$INV" drill --switchover  # to the synchronous standby, pg1 or pg2
    assert_rc 0 "switchover away from pg3"
fi
run_pgdr -i "$INV" --output json drill --partition-primary --timeout 240
assert_rc 0 "partition drill"
check_report "$OUT" partition-primary yes
check_evidence "$OUT" partition-primary

log "reboot-primary: the leader's host is reset and boots again (leader off the HAProxy host first)"
run_pgdr -i "$INV" --output json status
if [ "$(json_get "$OUT" 'd["leader"]')" = pg3 ]; then
    run_pgdr -i "$INV" drill --switchover
    assert_rc 0 "switchover away from pg3"
fi
run_pgdr -i "$INV" --output json drill --reboot-primary --timeout 240
assert_rc 0 "reboot drill"
# A lab host boots in about a second, before its key expires: it may lead again.
check_report "$OUT" reboot-primary any
assert_contains "$(json_get "$OUT" '[p["name"] for p in d["phases"]]')" fault_restored

log "lose-primary-host: the leader's machine is off until the restore (leader off the HAProxy host first)"
run_pgdr -i "$INV" --output json status
if [ "$(json_get "$OUT" 'd["leader"]')" = pg3 ]; then
    run_pgdr -i "$INV" drill --switchover
    assert_rc 0 "switchover away from pg3"
fi
run_pgdr -i "$INV" --output json drill --lose-primary-host --timeout 240
assert_rc 0 "lose-primary-host drill"
check_report "$OUT" lose-primary-host yes
check_evidence "$OUT" lose-primary-host
# The host stayed off until the new leader took writes: restored only after that.
assert_eq "$(json_get "$OUT" '[p["at_ms"] for p in d["phases"] if p["name"] == "fault_restored"][0] > d["rto_ms"]')" True \
    "restored after the new leader acknowledged writes"
log "lose-primary-host RTO: $(json_get "$OUT" 'd["rto_ms"]') ms"

log "kill-etcd-member: no failover"
run_pgdr -i "$INV" --output json drill --kill-etcd-member
assert_rc 0 "etcd member drill"
check_report "$OUT" kill-etcd-member no

log "the cluster is whole afterwards"
run_pgdr -i "$INV" status
assert_rc 0 "status after the drills"
