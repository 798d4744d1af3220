#!/usr/bin/env bash
# Issue 14 on the lab: back up, drop a table, get it back to the second with two commands
# (`pgdr backup run`, `pgdr restore --cluster --to TIME`); a row written after the target is
# gone, the cluster is healthy on a new timeline, and the refusals come before any change.
# The cluster starts on the cp archive (no backup section) and is moved to pgBackRest first.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lab.sh"
source "$(dirname "$0")/cluster.sh"
set -e

lab_up --backup --no-monitor --hosts 4
# pg4 a scratch host for `restore --target` (no service), HAProxy beside pg3.
sed -i -e 's/\(name: pg3, .*services: \)\[[^]]*\]/\1[postgres, etcd, haproxy]/' \
    -e 's/\(name: pg4, .*services: \)\[[^]]*\]/\1[]/' "$INV"
STATE=$LAB_DIR/inventory.state
CLUSTER=$(sed -n 's/^cluster: *//p' "$INV" | head -1)
HAPROXY=198.18.0.13
# First without the backup section: the cluster archives with cp into paths.archive_dir, as
# clusters bootstrapped before pgBackRest did; the next bootstrap moves it to pgBackRest.
cp "$INV" "$LAB_DIR/with-backup.yaml"
python3 - "$INV" <<'PY'
import re, sys
lines, out, skip = open(sys.argv[1]).read().split("\n"), [], False
for line in lines:
    if re.match(r"^backup:", line):
        skip = True
        continue
    if skip and (line.startswith(" ") or line == ""):
        continue
    skip = False
    out.append(line)
open(sys.argv[1], "w").write("\n".join(out))
PY
assert_eq "$(grep -c '^backup:' "$INV" || true)" 0 "the inventory without its backup section"
run_pgdr -i "$INV" bootstrap
assert_rc 0 "bootstrap archiving with cp"
cp "$LAB_DIR/with-backup.yaml" "$INV"
run_pgdr -i "$INV" bootstrap --dry-run
assert_rc 0 "dry run of the move to pgBackRest"
assert_contains "$OUT$ERR" "move WAL archiving from the local cp archive to pgBackRest"
run_pgdr -i "$INV" bootstrap
assert_rc 0 "bootstrap with the backup stage (the cp archive moved to pgBackRest)"
run_pgdr -i "$INV" exec --hosts pg1 -- test -d /var/lib/postgresql/wal_archive
assert_rc 0 "the old archive directory is left in place"
export PGPASSWORD
PGPASSWORD=$(cat "$STATE/secrets/probe-password")
wait_healthy 60

run_pgdr -i "$INV" backup run
assert_rc 0 "a full backup"

log "the repository unreachable (the lab's S3 endpoint stopped): backup run stops within its bound"
S3_PID=$(cat "$LAB_DIR/s3/pid")
kill "$S3_PID"
started=$(date +%s)
run_pgdr -i "$INV" backup run --type incr
assert_rc 5 "backup run with the repository unreachable"
assert_contains "$ERR" "repository_unreachable"
# pgBackRest's own backup retried for over 12 minutes on the lab; pgdr's bound on info is 30 s.
assert_le "$(($(date +%s) - started))" 90 "seconds until backup run gave up"
# The endpoint back, as `lab up` starts it (its pid file is what `lab down` stops).
setsid "$PGDR" -v lab s3-serve --dir "$LAB_DIR" >>"$LAB_DIR/s3/s3.log" 2>&1 </dev/null &
echo $! >"$LAB_DIR/s3/pid"
for _ in $(seq 30); do
    run_pgdr -i "$INV" backup list
    [ "$RC" = 0 ] && break
    sleep 1
done
assert_rc 0 "backup list with the repository back"
sql $HAPROXY 5000 "create table e2e_orders(id int primary key)"
sql $HAPROXY 5000 "insert into e2e_orders select generate_series(1, 1000)"
sql $HAPROXY 5000 "create table e2e_after(id int)"
sleep 1
TARGET=$(sql $HAPROXY 5000 "select clock_timestamp()::text")
sleep 1
sql $HAPROXY 5000 "drop table e2e_orders"
sql $HAPROXY 5000 "insert into e2e_after values (1)"  # after the target: must be gone

log "restore --to $TARGET --target pg4 (a scratch host) at once: the leader's WAL archived first"
# The target is seconds old: its WAL is still in the leader's current segment, not archived.
run_pgdr -i "$INV" restore --to "$TARGET" --target pg4
assert_rc 0 "restore onto the scratch host pg4"
run_pgdr -i "$INV" exec --hosts pg4 -- runuser -u postgres -- psql -XAtq -d pgdr -c \
    "select (select count(*) from e2e_orders), (select count(*) from e2e_after), pg_is_in_recovery()"
assert_eq "$(echo "$OUT" | tail -1)" "1000|0|f" \
    "pg4: the table dropped after the target is there, the later row not, promoted"
timeline() {  # the leader's timeline, from its current WAL file's name
    echo $((16#$(sql $HAPROXY 5000 "select substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)")))
}
TL_BEFORE=$(timeline)
run_pgdr -i "$INV" backup check  # switches WAL: the drop reaches the repository
assert_rc 0 "backup check"

log "refusals: no terminal and no --yes-really; a wrong name; nothing changed"
run_pgdr -i "$INV" restore --cluster --to "$TARGET" </dev/null
assert_rc 2 "restore --cluster without the typed name"
assert_contains "$ERR" "--yes-really $CLUSTER"
run_pgdr -i "$INV" restore --cluster --to "$TARGET" --yes-really not-$CLUSTER
assert_rc 2 "restore --cluster with another cluster's name"
run_pgdr -i "$INV" restore --to "$TARGET" --target pg2 </dev/null
assert_rc 2 "restore over a running member without --force"
assert_eq "$(sql $HAPROXY 5000 "select count(*) from e2e_after")" 1 "nothing restored yet"

log "restore --cluster --to $TARGET"
run_pgdr -i "$INV" --output json restore --cluster --to "$TARGET" --yes-really "$CLUSTER"
assert_rc 0 "restore --cluster"
assert_contains "$OUT" '"wait_healthy"'
assert_contains "$OUT" '"new_backup"'
wait_healthy 120
assert_eq "$(sql $HAPROXY 5000 "select count(*) from e2e_orders")" 1000 "the dropped table is back"
assert_eq "$(sql $HAPROXY 5000 "select count(*) from e2e_after")" 0 "the row after the target is gone"
TL_AFTER=$(timeline)
assert_le "$((TL_BEFORE + 1))" "$TL_AFTER" "a new timeline"
for h in 198.18.0.11 198.18.0.12 198.18.0.13; do
    assert_eq "$(sql $h 5432 "select count(*) from e2e_orders")" 1000 "the table on $h"
done
run_pgdr -i "$INV" --output json backup list
assert_rc 0 "backup list after the restore"
assert_eq "$(json_get "$OUT" 'len([b for b in d["backups"] if b["type"] == "full"])')" 2 \
    "two full backups: the one before the restore and the new timeline's"

on_host() {  # HOST COMMAND...: the command's stdout (exec's "==> host" header dropped)
    local h=$1
    shift
    "$PGDR" -i "$INV" exec --sudo --hosts "$h" -- "$@" 2>/dev/null | sed 1d | sed '/^$/d'
}
run_pgdr -i "$INV" --output json status
replica=$(json_get "$OUT" '[m["name"] for m in d["members"] if m["role"] != "leader"][-1]')

log "reinit $replica: Patroni re-creates it from the repository (create_replica_methods)"
on_host "$replica" rm -f /var/log/pgbackrest/$CLUSTER-restore.log
run_pgdr -i "$INV" reinit "$replica" --yes
assert_rc 0 "reinit $replica"
assert_contains "$(on_host "$replica" cat /var/log/pgbackrest/$CLUSTER-restore.log)" \
    "restore command end: completed successfully" "$replica restored by pgBackRest"

log "expire: a third full backup leaves retention_full (2)"
run_pgdr -i "$INV" --output json backup list
first=$(json_get "$OUT" '[b["label"] for b in d["backups"] if b["type"] == "full"][0]')
run_pgdr -i "$INV" backup run --type full
assert_rc 0 "a third full backup"
run_pgdr -i "$INV" --output json backup list
assert_eq "$(json_get "$OUT" 'len([b for b in d["backups"] if b["type"] == "full"])')" 2 \
    "full backups after expire"
assert_eq "$(json_get "$OUT" "'$first' in [b['label'] for b in d['backups']]")" False \
    "the oldest full backup ($first) expired"

conf=/etc/pgbackrest/pgbackrest.conf
break_conf() {  # SED-EXPRESSION: on every member, the original kept in $conf.e2e
    for h in pg1 pg2 pg3; do
        on_host "$h" sh -c "cp -p $conf $conf.e2e && sed -i '$1' $conf" >/dev/null
    done
}
mend_conf() {
    for h in pg1 pg2 pg3; do on_host "$h" sh -c "[ ! -e $conf.e2e ] || mv $conf.e2e $conf"; done
}
on_exit mend_conf

log "a wrong passphrase: exit 3 with a clear message; archive-push fails and pgdr status says so"
break_conf 's/^repo1-cipher-pass=.*/repo1-cipher-pass=not-the-passphrase/'
on_host pg1 runuser -u postgres -- pgbackrest --stanza="$CLUSTER" --output=json info \
    >"/tmp/e2e-restore-wrong-passphrase.json" 2>&1 || true  # kept: what pgBackRest printed
run_pgdr -i "$INV" backup list
assert_rc 3 "backup list with a wrong passphrase"
assert_contains "$ERR" "passphrase" "the error names the passphrase"
run_pgdr -i "$INV" --output json status
leader=$(json_get "$OUT" '[m["name"] for m in d["members"] if m["role"] == "leader"][0]')
sql $HAPROXY 5000 "insert into e2e_after values (2)" >/dev/null
on_host "$leader" runuser -u postgres -- psql -XAtq -c "select pg_switch_wal()" >/dev/null
for _ in $(seq 1 30); do
    run_pgdr -i "$INV" --output json status
    case $OUT in *archive_failing*) break ;; esac
    sleep 2
done
assert_contains "$OUT" "archive_failing" "pgdr status names the failing archive"
mend_conf
run_pgdr -i "$INV" backup check
assert_rc 0 "backup check once the passphrase is right again"
