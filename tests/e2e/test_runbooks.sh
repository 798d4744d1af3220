#!/usr/bin/env bash
# The shipped runbooks run end to end on a 4-host lab, as they are: planned switchover,
# drill day, rebuild a replica, emergency failover, add a replica host; plus validation, a
# dry run, the refusal to prompt without a terminal, a transcript's contents and a resume with
# --from after a failed step. Every outcome is checked independently with psql.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lab.sh"
source "$(dirname "$0")/cluster.sh"
set -e

RUNBOOKS=$SRC_DIR/runbooks
lab_up --hosts 4 --no-monitor
STATE=$LAB_DIR/inventory.state
declare -A ADDR=([pg1]=198.18.0.11 [pg2]=198.18.0.12 [pg3]=198.18.0.13 [pg4]=198.18.0.14)
HAPROXY=${ADDR[pg4]}

# pg4 starts as the HAProxy host only; the add-replica runbook later makes it a replica.
cp "$INV" "$WORK/lab-4.yaml"
sed -i 's/{name: pg4, address: 198.18.0.14, services: \[postgres, haproxy\]}/{name: pg4, address: 198.18.0.14, services: [haproxy]}/' "$INV"
assert_contains "$(cat "$INV")" "services: [haproxy]}" "pg4 without postgres in the inventory"
run_pgdr -i "$INV" bootstrap
assert_rc 0 "bootstrap of pg1-pg3 (HAProxy on pg4)"
export PGPASSWORD
PGPASSWORD=$(cat "$STATE/secrets/probe-password")

# The address that takes writes through HAProxy.
writes_land_on() {
    sql $HAPROXY 5000 "select host(inet_server_addr()) where not pg_is_in_recovery()"
}
transcript_end() {  # DIR FILTER(python on the run_end event `d`)
    local line
    line=$(grep '"run_end"' "$1/transcript.jsonl" | tail -1)
    json_get "$line" "$2"
}
sql $HAPROXY 5000 "create table e2e_rb(id int primary key)"
wait_healthy 60  # with synchronous_mode, until Patroni names the synchronous standby
SYNC=$(sync_standby)

log "validate: every shipped runbook is valid; a broken one is reported with file:line"
run_pgdr runbook validate "$RUNBOOKS"/*.yaml
assert_rc 0 "runbook validate of the shipped runbooks"
printf 'name: broken\nsteps:\n  - id: a\n    sql: {role: leader}\n  - id: a\n    wait_until: {condition: nonsense}\n' >"$WORK/broken.yaml"
run_pgdr runbook validate "$WORK/broken.yaml"
assert_rc 3 "runbook validate of a broken file"
assert_contains "$OUT$ERR" "broken.yaml:4:"
assert_contains "$OUT$ERR" "broken.yaml:5:"

log "planned-switchover: a dry run changes nothing; no terminal and no --yes stops at the confirmation"
run_pgdr -i "$INV" runbook run "$RUNBOOKS/planned-switchover.yaml" --param candidate="$SYNC" --dry-run
assert_rc 0 "dry run"
assert_contains "$OUT$ERR" "switchover"
assert_eq "$(leader)" pg1 "no change after the dry run"
run_pgdr -i "$INV" runbook run "$RUNBOOKS/planned-switchover.yaml" --param candidate="$SYNC" \
    --transcript "$WORK/sw-refused" </dev/null
assert_rc 2 "a confirmation without a terminal"
assert_eq "$(transcript_end "$WORK/sw-refused" 'd["result"] + " " + d["stopped_at"]')" \
    "needs_confirmation confirm-switchover"
assert_eq "$(leader)" pg1 "no change after the refusal"

log "planned-switchover to the synchronous standby $SYNC"
run_pgdr -i "$INV" runbook run "$RUNBOOKS/planned-switchover.yaml" --param candidate="$SYNC" --yes \
    --transcript "$WORK/sw"
assert_rc 0 "planned-switchover"
assert_eq "$(transcript_end "$WORK/sw" 'd["result"]')" ok
assert_eq "$(grep -c '"step_end"' "$WORK/sw/transcript.jsonl")" 9 "a step_end per step"
assert_eq "$(grep '"step_end"' "$WORK/sw/transcript.jsonl" | grep -vc '"result":"ok"' || true)" 0 "every step ok"
assert_contains "$(cat "$WORK/sw/summary.md")" "switchover"
assert_not_contains "$(cat "$WORK/sw/transcript.jsonl" "$WORK/sw/summary.md")" "$PGPASSWORD" "the transcript"
assert_eq "$(writes_land_on)" "${ADDR[$SYNC]}" "writes land on $SYNC"
assert_eq "$(sql "${ADDR[pg1]}" 5432 "select pg_is_in_recovery()")" t "pg1 is a replica"

log "drill-day: a kill-primary drill with its report, then post-checks"
run_pgdr -i "$INV" runbook run "$RUNBOOKS/drill-day.yaml" --yes --param report="$WORK/drill.md" \
    --transcript "$WORK/dd"
assert_rc 0 "drill-day"
assert_eq "$(transcript_end "$WORK/dd" 'd["result"] + " " + str(d["continued_failures"])')" "ok 0"
assert_contains "$(cat "$WORK/drill.md")" "kill-primary"
assert_contains "$(cat "$WORK/drill.md")" "pass"
run_pgdr -i "$INV" --output json status
new=$(json_get "$OUT" 'd["leader"]')
assert_eq "$(json_get "$OUT" 'd["healthy"]')" True "healthy after the drill day"
case $new in "$SYNC" | "") fail "drill-day: expected a new leader instead of $SYNC, got '$new'" ;; esac
assert_eq "$(writes_land_on)" "${ADDR[$new]}" "writes land on the new leader $new"

log "rebuild-replica: a replica's data directory is erased and copied again"
replica=$SYNC
run_pgdr -i "$INV" exec --hosts $replica -- touch /var/lib/postgresql/17/main/pgdr-e2e-marker
assert_rc 0 "marker in $replica's data directory"
run_pgdr -i "$INV" runbook run "$RUNBOOKS/rebuild-replica.yaml" --param replica="$new" --yes \
    --transcript "$WORK/rr-leader"
assert_rc 7 "rebuild of the leader is refused"
assert_eq "$(transcript_end "$WORK/rr-leader" 'd["stopped_at"]')" precheck-leader
run_pgdr -i "$INV" runbook run "$RUNBOOKS/rebuild-replica.yaml" --param replica=$replica --yes \
    --transcript "$WORK/rr"
assert_rc 0 "rebuild-replica"
run_pgdr -i "$INV" exec --hosts $replica -- test ! -e /var/lib/postgresql/17/main/pgdr-e2e-marker
assert_rc 0 "the marker is gone: $replica's data directory was rebuilt"
assert_replays "${ADDR[$replica]}" e2e_rb 1

log "resume: a run that fails at a step goes on from it with --from"
cat >"$WORK/resume.yaml" <<'EOF'
name: resume-check
steps:
  - id: mark
    run: {hosts: [pg1], command: [touch, /tmp/pgdr-e2e-step1]}
  - id: needs-flag
    run: {hosts: [pg1], command: [test, -e, /tmp/pgdr-e2e-flag]}
  - id: after
    sql: {role: leader, query: "select 42", expect: "42"}
EOF
run_pgdr -i "$INV" runbook run "$WORK/resume.yaml" --transcript "$WORK/resume"
assert_rc 7 "the run stops at the failing step"
assert_eq "$(transcript_end "$WORK/resume" 'd["stopped_at"] + " " + d["last_completed_step"]')" "needs-flag mark"
assert_contains "$(transcript_end "$WORK/resume" 'd["resume_command"]')" "--from needs-flag"
run_pgdr -i "$INV" exec --hosts pg1 -- touch /tmp/pgdr-e2e-flag
run_pgdr -i "$INV" runbook run "$WORK/resume.yaml" --from needs-flag --transcript "$WORK/resume"
assert_rc 0 "the resumed run"
assert_eq "$(grep -c '"run_start"' "$WORK/resume/transcript.jsonl")" 2 "both runs in one transcript"
assert_eq "$(grep '"step_start"' "$WORK/resume/transcript.jsonl" | grep -c '"step":"mark"')" 1 "the done step is not run again"

log "emergency-failover: maintenance mode, the leader's host killed, no leader left"
old=$(leader)
run_pgdr -i "$INV" runbook run "$RUNBOOKS/emergency-failover.yaml" --yes --transcript "$WORK/ef-refused"
assert_rc 7 "emergency failover with a leader is refused"
assert_eq "$(transcript_end "$WORK/ef-refused" 'd["stopped_at"]')" check-no-leader
pause_and_kill_leader "$old"
run_pgdr -i "$INV" runbook run "$RUNBOOKS/emergency-failover.yaml" --yes --transcript "$WORK/ef"
assert_rc 0 "emergency-failover"
new=$(leader)
assert_eq "$([ -n "$new" ] && [ "$new" != None ] && [ "$new" != "$old" ] && echo yes)" yes "a new leader ($new, was $old)"
assert_eq "$(writes_land_on)" "${ADDR[$new]}" "writes land on $new"
assert_eq "$(sql $HAPROXY 5000 "select count(*) from e2e_rb")" 1 "the committed row survived"
run_pgdr -i "$INV" exec --hosts "$new" -- patronictl -c /etc/patroni/17-main.yml resume --wait
assert_rc 0 "patronictl resume"
run_pgdr lab start "$old" --dir "$LAB_DIR"
assert_rc 0 "lab start $old"
wait_healthy 180
run_pgdr -i "$INV" status
assert_rc 0 "healthy with $old back as a replica"

log "add-replica: pg4 joins the inventory and the running cluster"
cp "$WORK/lab-4.yaml" "$INV"
run_pgdr -i "$INV" runbook run "$RUNBOOKS/add-replica.yaml" --param host=pg4 --yes --transcript "$WORK/ar"
assert_rc 0 "add-replica"
assert_eq "$(sql "${ADDR[pg4]}" 5432 "select pg_is_in_recovery()")" t "pg4 is a replica"
assert_eq "$(sql "${ADDR[pg4]}" 5432 "select count(*) from e2e_rb")" 1 "pg4 has the data"
assert_eq "$(streaming_on "$new")" 3 \
    "three replicas stream from the leader"

log "rotate-certificates: new certificates on every host (pg4 too), checked before and after"
run_pgdr -i "$INV" --output json certs status
assert_rc 0 "certs status before the runbook"
serials_before=$(json_get "$OUT" '" ".join(sorted(c["serial"] for c in d["certificates"] if c["service"] in ("etcd", "postgres")))')
run_pgdr -i "$INV" runbook run "$RUNBOOKS/rotate-certificates.yaml" --yes --transcript "$WORK/rc"
if [ "$RC" -ne 0 ]; then  # what the failed step printed (the transcript goes with the test)
    log "rotate-certificates failed; the transcript's last events:"
    tail -n 4 "$WORK/rc/transcript.jsonl" | cut -c1-4000
fi
assert_rc 0 "rotate-certificates"
assert_eq "$(transcript_end "$WORK/rc" 'd["result"]')" ok
assert_eq "$(grep '"step_end"' "$WORK/rc/transcript.jsonl" | grep -vc '"result":"ok"' || true)" 0 "every step ok"
assert_not_contains "$(cat "$WORK/rc/transcript.jsonl" "$WORK/rc/summary.md")" "PRIVATE KEY" "the transcript"
run_pgdr -i "$INV" --output json certs status
assert_rc 0 "certs status after the runbook"
assert_eq "$(json_get "$OUT" "len(set(c['serial'] for c in d['certificates'] if c['service'] in ('etcd', 'postgres')) & set('$serials_before'.split()))")" 0 \
    "no etcd or postgres certificate kept its serial"
