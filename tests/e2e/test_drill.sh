#!/usr/bin/env bash
# pgdr drill end to end on a bootstrapped lab: kill-primary, switchover, partition-primary and
# kill-etcd-member each produce a sane report (a new leader where one is expected, none where
# not, 0 lost writes with synchronous_mode), the JSON fields are there, the cluster is healthy.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lab.sh"
set -e

lab_up
run_pgdr -i "$INV" bootstrap
assert_rc 0 "bootstrap"

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

log "kill-primary"
run_pgdr -i "$INV" --output json drill --kill-primary --max-rto 90 --report "$WORK/kill.md" --report "$WORK/kill.svg"
assert_rc 0 "kill-primary drill"
check_report "$OUT" kill-primary yes
assert_contains "$(cat "$WORK/kill.md")" "RTO"
assert_contains "$(head -c 200 "$WORK/kill.svg")" "<svg"

log "switchover"
run_pgdr -i "$INV" --output json drill --switchover
assert_rc 0 "switchover drill"
check_report "$OUT" switchover yes

log "partition-primary (move the leader off the HAProxy host first)"
run_pgdr -i "$INV" --output json status
if [ "$(json_get "$OUT" 'd["leader"]')" = pg3 ]; then
    run_pgdr -i "$INV" drill --switchover  # to the synchronous standby, pg1 or pg2
    assert_rc 0 "switchover away from pg3"
fi
run_pgdr -i "$INV" --output json drill --partition-primary --timeout 240
assert_rc 0 "partition drill"
check_report "$OUT" partition-primary yes

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
