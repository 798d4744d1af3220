#!/usr/bin/env bash
# A DR cluster falls back to the primary cluster's archive when streaming breaks (issue 16):
# `lab up --regions 2 --backup`; bootstrap builds the primary (archiving into the lab's S3
# endpoint) and the DR cluster, whose standby leader has the primary's stanza as its
# restore_command (a read-only pgbackrest.conf: no server, timers or stanza of its own). With
# every connection from the standby leader to the primary's PostgreSQL cut (reset and dropped),
# rows written on the primary still reach both DR members, through the archive (no WAL
# receiver meanwhile; pgBackRest's archive-get log on the standby leader); once the cut is
# gone, the DR link streams again. The cut resets every connection (each packet the standby
# leader sends to the primary's port 5432 is answered by a local reset): a cut that drops
# packets silently holds the WAL receiver in its connect for the kernel's SYN timeout, and
# PostgreSQL tries the archive only between attempts (pgdr-inventory(5), DR KEYS).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lab.sh"
set -e

lab_up --regions 2 --no-monitor --backup
STATE=$LAB_DIR/inventory.state

log "bootstrap builds the pair; the DR cluster reads the primary's archive"
run_pgdr -i "$INV" bootstrap
assert_rc 0 "bootstrap of the pair with a backup section: $ERR"
assert_contains "$OUT" "r2-pg1  put /etc/pgbackrest/pgbackrest.conf (0640 root:postgres): pgBackRest configuration (the primary's archive, read only)"
on_dr() {  # HOST SQL: one value, as postgres on the DR member
    run_pgdr -i "$INV" exec --hosts "$1" -- runuser -u postgres -- psql -XAtq -d pgdr -c "$2"
    echo "$OUT" | tail -1
}
assert_eq "$(on_dr r2-pg1 "show restore_command")" \
    'pgbackrest --stanza=lab archive-get %f "%p"' "the standby leader's restore_command"
run_pgdr -i "$INV" exec --hosts r2-pg1 -- sh -c \
    'stat -c %U:%G:%a /etc/pgbackrest/pgbackrest.conf; grep -c "^repo1-retention\|^tls-server" /etc/pgbackrest/pgbackrest.conf || true'
assert_contains "$OUT" "root:postgres:640" "the DR member's pgbackrest.conf"
assert_eq "$(echo "$OUT" | tail -1)" 0 "no retention or TLS server on a DR member"
run_pgdr -i "$INV" exec --hosts r2-pg1 -- systemctl is-enabled pgdr-pgbackrest-server.service
assert_rc 1 "no pgBackRest server on a DR member"

export PGPASSWORD
PGPASSWORD=$(cat "$STATE/secrets/probe-password")
psql -XAtq -h 198.18.0.13 -p 5000 -U pgdr_probe -d pgdr -c \
    "create table e2e_dr_archive(id int primary key); insert into e2e_dr_archive values (0)" >/dev/null
wait_rows() {  # HOST EXPECTED SECONDS
    local i got=""
    for ((i = 0; i < $3; i++)); do
        got=$(on_dr "$1" "select count(*) from e2e_dr_archive" 2>/dev/null || true)
        [ "$got" = "$2" ] && return 0
        sleep 1
    done
    fail "$1 has $got rows of e2e_dr_archive after $3 s, not $2"
}
wait_rows r2-pg1 1 30

log "streaming from the primary reset at the standby leader: the archive carries the WAL"
TABLE=pgdr_e2e_nostream
on_exit "\"$PGDR\" -i \"$INV\" exec --hosts r2-pg1 -- nft delete table inet $TABLE >/dev/null 2>&1"
run_pgdr -i "$INV" exec --hosts r2-pg1 -- sh -c "nft -f - <<'NFT'
table inet $TABLE {
  chain output {
    type filter hook output priority -10; policy accept;
    ip daddr { 198.18.0.11, 198.18.0.12, 198.18.0.13 } tcp dport 5432 reject with tcp reset
  }
}
NFT"
assert_rc 0 "the cut on r2-pg1"
receiver_gone=""
for _ in $(seq 60); do
    n=$(on_dr r2-pg1 "select count(*) from pg_stat_wal_receiver where status = 'streaming'")
    [ "$n" = 0 ] && { receiver_gone=yes; break; }
    sleep 1
done
assert_eq "$receiver_gone" yes "r2-pg1 stopped streaming from the primary"
psql -XAtq -h 198.18.0.13 -p 5000 -U pgdr_probe -d pgdr -c \
    "insert into e2e_dr_archive select generate_series(1, 300)" >/dev/null
# The segment holding the rows goes to the archive at once (archive_timeout would take longer).
run_pgdr -i "$INV" exec --hosts "$(json_get "$("$PGDR" -i "$INV" --output json status)" 'd["leader"]')" -- \
    runuser -u postgres -- psql -XAtq -c "select pg_walfile_name(pg_switch_wal())"
assert_rc 0 "pg_switch_wal on the primary's leader"
t0=$(date +%s)
wait_rows r2-pg1 301 120
wait_rows r2-pg2 301 60
log "the rows reached r2-pg1 through the archive in $(($(date +%s) - t0)) s"
assert_eq "$(on_dr r2-pg1 "select count(*) from pg_stat_wal_receiver where status = 'streaming'")" 0 \
    "still no streaming: the rows came from the archive"
run_pgdr -i "$INV" exec --hosts r2-pg1 -- sh -c \
    'grep -hE "found [0-9A-F]{24} in the (repo1|archive)" /var/log/pgbackrest/lab-archive-get*.log | wc -l'
assert_le 1 "$(echo "$OUT" | tail -1)" "archive-get found segments in the primary's repository"

log "the cut gone: the DR link streams again"
run_pgdr -i "$INV" exec --hosts r2-pg1 -- nft delete table inet $TABLE
assert_rc 0 "the cut removed"
streaming=""
for _ in $(seq 90); do
    run_pgdr -i "$INV" --output json status
    if [ "$(json_get "$OUT" 'd["dr"]["link"]["streaming"]')" = True ]; then
        streaming=yes
        break
    fi
    sleep 2
done
assert_eq "$streaming" yes "DR link streaming again: $(json_get "$OUT" 'd["dr"]["link"]')"
psql -XAtq -h 198.18.0.13 -p 5000 -U pgdr_probe -d pgdr -c \
    "insert into e2e_dr_archive select generate_series(301, 400)" >/dev/null
wait_rows r2-pg1 401 30

log "down leaves nothing"
run_pgdr lab down --dir "$LAB_DIR"
assert_rc 0 "lab down"
assert_no_lab_leftovers "$LAB_DIR"
