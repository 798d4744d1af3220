#!/usr/bin/env bash
# Issue 14 on Debian 12 lab hosts: a posix repository on a dedicated repository host (pg4, no
# cluster service; pgBackRest 2.45's TLS server there, client certificates from the cluster CA).
# Bootstrap, a full and an incremental backup taken on the repository host, `backup check`; then
# pg2 is lost with its host and the cluster is rebuilt from the repository without it
# (`restore --cluster --exclude pg2`), writes acknowledged before the loss are all there, and
# `reinit pg2` brings the returned member back onto the new timeline.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lab.sh"
source "$(dirname "$0")/cluster.sh"
set -e

lab_up --release bookworm --hosts 4 --no-monitor
STATE=$LAB_DIR/inventory.state
CLUSTER=$(sed -n 's/^cluster: *//p' "$INV" | head -1)
HAPROXY=198.18.0.13
# HAProxy beside pg3, pg4 the repository host only.
sed -i -e 's/\(name: pg3, .*services: \)\[[^]]*\]/\1[postgres, etcd, haproxy]/' \
    -e 's/\(name: pg4, .*services: \)\[[^]]*\]/\1[]/' "$INV"
cat >>"$INV" <<'EOF'
backup:
  repo: {type: posix, host: pg4, path: /var/lib/pgbackrest}
  retention_full: 2
EOF
run_pgdr -i "$INV" inventory check
assert_rc 0 "the posix inventory: $OUT"

log "bootstrap with a repository host (Debian 12, pgBackRest 2.45)"
run_pgdr -i "$INV" bootstrap
assert_rc 0 "bootstrap with the posix repository"
export PGPASSWORD
PGPASSWORD=$(cat "$STATE/secrets/probe-password")
wait_healthy 60
run_pgdr -i "$INV" exec --hosts pg4 -- systemctl is-active pgdr-pgbackrest-server
assert_eq "$(echo "$OUT" | tail -1)" active "pgBackRest's TLS server on the repository host"

log "backups run on the repository host"
run_pgdr -i "$INV" backup run --type full
assert_rc 0 "full backup: $ERR"
assert_contains "$OUT" "on pg4"
sql $HAPROXY 5000 "create table e2e_posix(id int primary key)"
sql $HAPROXY 5000 "insert into e2e_posix select generate_series(1, 500)"
run_pgdr -i "$INV" backup run --type incr
assert_rc 0 "incremental backup: $ERR"
run_pgdr -i "$INV" --output json backup list
assert_rc 0 "backup list"
assert_eq "$(json_get "$OUT" '[b["type"] for b in d["backups"]]')" "['full', 'incr']" "the two backups"
run_pgdr -i "$INV" exec --hosts pg4 -- sh -c 'ls /var/lib/pgbackrest/backup/*/ | grep -c F'
assert_le 2 "$(echo "$OUT" | tail -1)" "the backups' directories on pg4"
run_pgdr -i "$INV" backup check
assert_rc 0 "backup check: $OUT $ERR"

log "pg2 lost with its host; the cluster rebuilt from the repository without it"
sql $HAPROXY 5000 "insert into e2e_posix select generate_series(501, 600)"
run_pgdr lab kill pg2 --dir "$LAB_DIR"
assert_rc 0 "lab kill pg2"
run_pgdr -i "$INV" --output json restore --cluster --exclude pg2 --yes-really "$CLUSTER"
assert_rc 0 "restore --cluster --exclude pg2"
assert_contains "$OUT" '"wait_healthy"'
assert_eq "$(sql $HAPROXY 5000 "select count(*) from e2e_posix")" 600 "every row written before the loss"

log "pg2 back, reinit onto the new timeline"
run_pgdr lab start pg2 --dir "$LAB_DIR"
assert_rc 0 "lab start pg2"
run_pgdr -i "$INV" reinit pg2 --yes
assert_rc 0 "reinit pg2 after its return: $OUT"
wait_healthy 120
assert_eq "$(sql 198.18.0.12 5432 "select count(*) from e2e_posix")" 600 "pg2 has the rows again"
run_pgdr -i "$INV" backup check
assert_rc 0 "backup check after the rebuild: $OUT $ERR"
