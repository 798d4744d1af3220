#!/usr/bin/env bash
# pgdr drill --restore end to end on a lab with the S3 endpoint (issue 14): bootstrap with the
# backup stage, a full backup, then the restore drill: it passes with the marker check (every
# marker before the target found, none after it), reports the fixed JSON fields, and removes its
# scratch host; a --to before the drill's markers passes with none of them back; a report with
# an unknown type is refused before anything is made.
# Then monitoring on the same lab (issue 15; the lab's default inventory has a monitor beside
# HAProxy): every Prometheus target up and nothing firing on the healthy cluster; a kill-primary
# drill whose report shows PatroniMemberDown and PatroniLeaderChanged fired and the member's
# alert resolved, and a kill-etcd-member drill whose EtcdMemberDown fired within 15 s and
# resolved.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lab.sh"
set -e

lab_up --backup
run_pgdr -i "$INV" bootstrap
assert_rc 0 "bootstrap with the backup stage: $ERR"
run_pgdr -i "$INV" backup run --type full
assert_rc 0 "full backup: $ERR"

scratch_left() { ls -d "$LAB_DIR"/hosts/scr* 2>/dev/null | wc -l; }

log "restore drill to now - margin"
run_pgdr -i "$INV" --output json drill --restore --max-rto 900 --report "$WORK/restore.md"
log "$ERR"
assert_rc 0 "restore drill"
for field in drill cluster started_at restore_rto_ms backup_age_ms wal_replayed_bytes \
    markers_expected markers_found markers_after_target verdict rpo_ms checks restored; do
    assert_eq "$(json_get "$OUT" "'$field' in d")" True "report field $field"
done
assert_eq "$(json_get "$OUT" 'd["drill"]')" restore "drill name"
assert_eq "$(json_get "$OUT" 'd["verdict"]')" pass "verdict: $(json_get "$OUT" '[c for c in d["checks"] if not c["passed"]]') $(json_get "$OUT" 'd["errors"]')"
assert_eq "$(json_get "$OUT" 'd["markers_after_target"]')" 0 "markers after the target"
assert_eq "$(json_get "$OUT" 'd["markers_expected"] > 10')" True "markers expected"
assert_eq "$(json_get "$OUT" 'd["markers_found"] == d["markers_expected"]')" True "markers found"
assert_eq "$(json_get "$OUT" 'd["restore_rto_ms"] > 0 and d["backup_age_ms"] > 0')" True "RTO and backup age"
assert_eq "$(json_get "$OUT" 'd["wal_replayed_bytes"] > 0')" True "WAL replayed"
assert_eq "$(json_get "$OUT" 'd["restored"]')" True "scratch host removed"
assert_eq "$(scratch_left)" 0 "no scratch host left in $LAB_DIR/hosts"
assert_contains "$(cat "$WORK/restore.md")" "# Restore drill: lab" "Markdown report"
log "restore RTO $(json_get "$OUT" 'd["restore_rto_ms"]') ms, backup age $(json_get "$OUT" 'd["backup_age_ms"]') ms, WAL $(json_get "$OUT" 'd["wal_replayed_bytes"]') B, RPO $(json_get "$OUT" 'd["rpo_ms"]') ms"

log "restore drill to a time before its markers"
before=$(date -u -d '-2 seconds' +%Y-%m-%dT%H:%M:%S.%3NZ)
run_pgdr -i "$INV" --output json drill --restore --to "$before"
assert_rc 0 "restore drill --to $before: $ERR"
assert_eq "$(json_get "$OUT" 'd["markers_expected"]')" 0 "no marker expected before --to"
assert_eq "$(json_get "$OUT" 'd["markers_after_target"]')" 0 "no marker back after --to"
assert_eq "$(scratch_left)" 0 "no scratch host left"

log "refusals before anything is made"
run_pgdr -i "$INV" drill --restore --report "$WORK/restore.svg"
assert_rc 2 "an SVG report of a restore drill"
run_pgdr -i "$INV" drill --restore --kill-primary
assert_rc 2 "--restore with a fault"
run_pgdr -i "$INV" drill --restore --to yesterday
assert_rc 2 "--to that is no time"
assert_eq "$(scratch_left)" 0 "no scratch host made"

run_pgdr -i "$INV" status
assert_rc 0 "the cluster is healthy after the restore drills"

log "monitoring: every scrape target up, no alert on the healthy cluster"
run_pgdr -i "$INV" alerts --targets
assert_rc 0 "every Prometheus target up: $OUT"
assert_contains "$OUT" "13 of 13 targets up"
quiet=1
for _ in $(seq 30); do
    "$PGDR" -i "$INV" alerts >/dev/null 2>&1 && { quiet=0; break; }
    sleep 2
done
assert_eq "$quiet" 0 "no alert fires on the healthy cluster: $("$PGDR" -i "$INV" alerts 2>&1)"

# alert NAME FIELD: fired_ms or resolved_ms of one alert of the drill report in $OUT.
alert_at() {
    json_get "$OUT" "next((a['$2'] for a in d['alerts'] if a['name'] == '$1'), 'absent')"
}
log "kill-primary: its alerts fire, the member's resolves"
run_pgdr -i "$INV" --output json drill --kill-primary --max-rto 90
assert_rc 0 "kill-primary drill with alerts: $ERR"
assert_eq "$(json_get "$OUT" '[c["passed"] for c in d["checks"] if c["name"] == "alerts_fired"]')" "[True]" "alerts_fired"
for name in PatroniMemberDown PatroniLeaderChanged; do
    assert_eq "$(json_get "$OUT" "next((a['fired_ms'] is not None for a in d['alerts'] if a['name'] == '$name'), False)")" True "$name fired"
done
assert_eq "$(json_get "$OUT" "next((a['resolved_ms'] is not None for a in d['alerts'] if a['name'] == 'PatroniMemberDown'), False)")" True "PatroniMemberDown resolved"
log "kill-primary: PatroniMemberDown +$(alert_at PatroniMemberDown fired_ms) ms (resolved +$(alert_at PatroniMemberDown resolved_ms) ms), PatroniLeaderChanged +$(alert_at PatroniLeaderChanged fired_ms) ms, RTO $(json_get "$OUT" 'd["rto_ms"]') ms"

log "kill-etcd-member: EtcdMemberDown fires within 15 s and resolves"
run_pgdr -i "$INV" --output json drill --kill-etcd-member --max-time-to-alert 15s
assert_rc 0 "kill-etcd-member drill with alerts: $ERR"
assert_eq "$(json_get "$OUT" "next((a['fired_ms'] is not None and a['resolved_ms'] is not None for a in d['alerts'] if a['name'] == 'EtcdMemberDown'), False)")" True "EtcdMemberDown fired and resolved"
log "kill-etcd-member: EtcdMemberDown +$(alert_at EtcdMemberDown fired_ms) ms, resolved +$(alert_at EtcdMemberDown resolved_ms) ms"
