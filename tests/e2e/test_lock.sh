#!/usr/bin/env bash
# The cluster-wide operation lock and the fault journal (issue 13) on a bootstrapped lab:
#   - a drill holds /pgdr/<cluster>/lock in etcd: a switchover and a bootstrap meanwhile are
#     refused naming it (the bootstrap before any stage);
#   - the drill killed with -9 in the middle of kill-primary leaves the journal in the state
#     directory and on a neighbour member; the lock stays until its lease expires (<= 60 s),
#     then a switchover is refused naming `pgdr drill --heal`, which restores the fault;
#   - stop-primary with its drill killed: the host's pgdr-fault-heal timer starts Patroni again
#     by itself (2 x --timeout + 60 s).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lab.sh"
source "$(dirname "$0")/cluster.sh"
set -e

shared_cluster
STATE=$LAB_DIR/inventory.state
wait_healthy 90

# Starts a drill in the background (stderr in $WORK/drill.err), sets DRILL_PID.
start_drill() {
    "$PGDR" -v -i "$INV" drill "$@" >"$WORK/drill.out" 2>"$WORK/drill.err" &
    DRILL_PID=$!
    on_exit "kill -9 $DRILL_PID 2>/dev/null"
}
wait_for_stderr() {  # TEXT SECONDS
    local i
    for ((i = 0; i < $2 * 5; i++)); do
        grep -q -- "$1" "$WORK/drill.err" 2>/dev/null && return 0
        sleep 0.2
    done
    cat "$WORK/drill.err" >&2
    fail "the drill never printed '$1'"
}
on_host() {  # HOST COMMAND...: the command's stdout (exec's "==> host" header dropped)
    local h=$1
    shift
    "$PGDR" -i "$INV" exec --sudo --hosts "$h" -- "$@" 2>/dev/null | sed 1d | sed '/^$/d'
}

log "a drill holds the cluster lock: a switchover is refused, naming it"
start_drill --kill-primary --baseline 20 --timeout 60
wait_for_stderr "cluster lock" 30 || true
sleep 3
run_pgdr -i "$INV" switchover --yes
assert_rc 7 "switchover during a drill"
assert_contains "$ERR" "is locked by"
assert_contains "$ERR" "drill --kill-primary"
assert_contains "$ERR" "--break-lock"
# A re-bootstrap too, before its plan: the old code read a formed cluster's etcd as not running
# and took the lock only after applying every stage.
run_pgdr -i "$INV" bootstrap
assert_rc 7 "bootstrap during a drill"
assert_contains "$ERR" "is locked by"
assert_not_contains "$OUT" "STAGE" "bootstrap's report (no stage may run under another's lock)"

log "the drill killed with -9 during kill-primary: journal here and on the neighbour"
wait_for_stderr "kill-primary on" 60
sleep 3  # the message comes just before the fault
kill -9 "$DRILL_PID"
wait "$DRILL_PID" 2>/dev/null || true
[ -s "$STATE/fault-journal.json" ] || fail "no fault journal in the state directory"
ASSERTIONS=$((ASSERTIONS + 1))
NEIGHBOUR=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["neighbour"])' \
    "$STATE/fault-journal.json")
assert_contains "$(on_host "$NEIGHBOUR" cat /var/lib/pgdr/fault-journal.json)" '"kill-primary"' \
    "the copy on $NEIGHBOUR"
assert_contains "$(on_host pg1 systemctl list-timers pgdr-fault-heal.timer)" "pgdr-fault-heal" \
    "the self-heal timer on the faulted host"

log "the lease of the killed drill expires; then the journal refuses a switchover"
START=$(date +%s)
for ((i = 0; i < 45; i++)); do
    run_pgdr -i "$INV" switchover --yes
    [ "$RC" = 7 ] && ! grep -q "is locked by" <<<"$ERR" && break
    sleep 2
done
EXPIRED_AFTER=$(($(date +%s) - START))
log "lock gone after ${EXPIRED_AFTER} s"
assert_le "$EXPIRED_AFTER" 75 "the lock expires within its 60 s lease"
assert_contains "$ERR" "an interrupted drill left kill-primary on pg1"
assert_contains "$ERR" "drill --heal"

log "pgdr drill --heal restores it from another operator machine (the neighbour's copy)"
mv "$STATE/fault-journal.json" "$WORK/journal.moved"
run_pgdr -i "$INV" drill --heal
assert_rc 0 "drill --heal"
assert_contains "$ERR$OUT" "restored"
[ ! -e "$STATE/fault-journal.json" ] || fail "the journal is still there"
assert_eq "$(on_host "$NEIGHBOUR" sh -c 'test -e /var/lib/pgdr/fault-journal.json && echo yes || echo no' | head -1)" "no" \
    "the copy removed"
assert_not_contains "$(on_host pg1 systemctl list-timers --all pgdr-fault-heal.timer)" "pgdr-fault-heal.timer " \
    "the self-heal timer stopped"
wait_healthy 120
run_pgdr -i "$INV" drill --heal
assert_contains "$OUT" "nothing to restore"

log "stop-primary with its drill killed: the host starts Patroni again by itself"
UNIT=patroni@17-main  # the lab's PostgreSQL 17 (Debian 13)
start_drill --stop-primary --baseline 2 --timeout 10
wait_for_stderr "stop-primary on" 90
TARGET=$(sed -n 's/.*stop-primary on \([a-z0-9]*\).*/\1/p' "$WORK/drill.err" | head -1)
# Killed once Patroni is down (the drill waits for the new leader then).
for ((i = 0; i < 30; i++)); do
    [ "$(on_host "$TARGET" systemctl is-active "$UNIT" | head -1)" != active ] && break
    sleep 1
done
kill -9 "$DRILL_PID"
wait "$DRILL_PID" 2>/dev/null || true
ASSERTIONS=$((ASSERTIONS + 1))
[ "$(on_host "$TARGET" systemctl is-active "$UNIT" | head -1)" != active ] || {
    cat "$WORK/drill.err" >&2
    fail "Patroni still runs on $TARGET"
}
START=$(date +%s)
for ((i = 0; i < 70; i++)); do
    [ "$(on_host "$TARGET" systemctl is-active "$UNIT" | head -1)" = active ] && break
    sleep 2
done
HEALED_AFTER=$(($(date +%s) - START))
log "Patroni on $TARGET active again after ${HEALED_AFTER} s (timer: 2 x 10 + 60 s)"
assert_eq "$(on_host "$TARGET" systemctl is-active "$UNIT" | head -1)" active \
    "Patroni started by the host's pgdr-fault-heal timer"
sleep 60  # the killed drill's lease
run_pgdr -i "$INV" drill --heal
assert_rc 0 "drill --heal after the self-heal"
assert_contains "$OUT" "stop-primary on $TARGET"
wait_healthy 120
