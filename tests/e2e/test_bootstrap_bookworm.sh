#!/usr/bin/env bash
# pgdr bootstrap on Debian 12 lab hosts (PostgreSQL 15, Patroni 3.0.2, etcd 3.4, HAProxy 2.6):
# the smaller run: bootstrap (with the backup stage: pgBackRest 2.45, and the monitoring stage of
# the lab's default inventory), a healthy status, a full backup, every Prometheus target up, a
# no-op second run.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lab.sh"
set -e

lab_up --release bookworm --backup
run_pgdr -i "$INV" bootstrap
assert_rc 0 "bootstrap on bookworm"
run_pgdr -i "$INV" exec --hosts pg1 -- sh -c 'patroni --version; cat /etc/debian_version'
assert_contains "$OUT" "patroni 3.0.2"
run_pgdr -i "$INV" --output json status
assert_rc 0 "status"
assert_eq "$(json_get "$OUT" 'd["leader"]')" pg1
assert_eq "$(json_get "$OUT" 'sorted(m["replication_state"] for m in d["members"] if m["name"] != "pg1")')" "['streaming', 'streaming']"
run_pgdr -i "$INV" exec --hosts pg1 -- grep -c '::1/128' /etc/postgresql/15/main/pg_hba.conf
assert_rc 0 "pg_hba keeps the ::1 lines Patroni 3.0.2 needs (it reads the timeline over replication to localhost; without them no failover)"
run_pgdr -i "$INV" backup run --type full
assert_rc 0 "full backup with pgBackRest 2.45: $ERR"
run_pgdr -i "$INV" --output json backup list
assert_eq "$(json_get "$OUT" 'len(d["backups"])')" 1 "one backup listed"
run_pgdr -i "$INV" alerts --targets
assert_rc 0 "every Prometheus target up on Debian 12: $OUT"
run_pgdr -i "$INV" bootstrap
assert_rc 0 "second bootstrap"
assert_contains "$OUT" "0 changes,"
