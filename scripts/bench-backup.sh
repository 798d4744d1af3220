#!/usr/bin/env bash
# Benchmark (not a test), issue 14: what pgBackRest costs and gives on the lab, beside
# pg_basebackup, for databases of a few sizes, on a lab of its own.
#
#   scripts/bench-backup.sh [RELEASE] [SCALES]     RELEASE: trixie (default) or bookworm
#                                                  SCALES: pgbench scales, default "68 273"
#                                                  (about 1 GiB and 4 GiB)
#
# Per scale: `pgbench -i -s SCALE` on the leader, then
# 1. a full backup (`pgdr backup run --type full`): time, database size / time, repository size;
# 2. 30 s of pgbench writes (WAL after the backup), then `pgdr drill --restore`: the backup plus
#    that WAL restored onto a scratch lab host: restore RTO, files restored in, recovery, WAL
#    replayed and its rate;
# 3. the same database cloned with pg_basebackup on the leader (local socket, -X stream, fast
#    checkpoint) into a directory that is removed afterwards: time and rate;
# and the ratios backup/basebackup and restore/basebackup.
# BENCH_KEEP=DIR keeps the JSON reports. Needs root and ~3x the largest database in free disk;
# its lab is taken down on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
PGDR=${PGDR:-./build/cmd/pgdr}
RELEASE=${1:-trixie}
SCALES=${2:-68 273}
dir=$(mktemp -d /tmp/pgdr-bench-backup.XXXXXX)
trap '"$PGDR" lab down --dir "$dir" >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT

now_ms() { date +%s%3N; }
json() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }
on() {  # HOST COMMAND...: as root on a lab host, its stdout only
    local h=$1
    shift
    "$PGDR" -i "$inv" exec --sudo --hosts "$h" -- "$@" 2>/dev/null | sed 1d | sed '/^$/d'
}
as_postgres() {
    local h=$1
    shift
    on "$h" runuser -u postgres -- "$@"
}
rate() { awk -v b="$1" -v ms="$2" 'BEGIN { if (ms > 0) printf "%.1f", b / 1048576 / (ms / 1000); else print "-" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

"$PGDR" lab up --dir "$dir" --release "$RELEASE" --backup >/dev/null
inv=$dir/inventory.yaml
echo "== bootstrap (with the backup stage)" >&2
"$PGDR" -i "$inv" bootstrap >"$dir/bootstrap.log" 2>&1
for _ in $(seq 60); do "$PGDR" -i "$inv" status >/dev/null 2>&1 && break; sleep 2; done
leader=$("$PGDR" -i "$inv" --output json status |
    json '[m["name"] for m in d["members"] if m["role"] == "leader"][0]')

printf '%-6s %9s | %9s %9s %9s | %9s %9s %9s %11s %9s | %9s %9s | %7s %7s\n' \
    scale db_MiB backup_s MiB/s repo_MiB restore_s files_s recov_s wal_MiB wal_MiB/s \
    basebk_s MiB/s bk/bb rs/bb
for scale in $SCALES; do
    echo "== scale $scale: pgbench -i on $leader" >&2
    as_postgres "$leader" pgbench -i -q -s "$scale" postgres >/dev/null 2>&1
    db_bytes=$(as_postgres "$leader" psql -XAtq -c "select sum(pg_database_size(oid)) from pg_database")

    echo "== scale $scale: full backup" >&2
    t0=$(now_ms)
    "$PGDR" -i "$inv" backup run --type full >"$dir/backup-$scale.log" 2>&1
    backup_ms=$(($(now_ms) - t0))
    repo_bytes=$("$PGDR" -i "$inv" --output json backup list | json 'd["backups"][-1]["repo_size_bytes"]')

    echo "== scale $scale: 30 s of writes, then the restore drill" >&2
    as_postgres "$leader" pgbench -n -T 30 -c 2 postgres >/dev/null 2>&1
    "$PGDR" -i "$inv" --output json drill --restore >"$dir/restore-$scale.json" 2>"$dir/restore-$scale.log" || {
        echo "bench-backup: the restore drill failed at scale $scale (see $dir/restore-$scale.log)" >&2
        exit 1
    }
    r=$dir/restore-$scale.json
    restore_ms=$(json 'd["restore_rto_ms"]' <"$r")
    files_ms=$(json 'd["restore_copy_ms"]' <"$r")
    recovery_ms=$(json 'd["recovery_ms"]' <"$r")
    wal_bytes=$(json 'd["wal_replayed_bytes"]' <"$r")
    wal_rate=$(json 'd["wal_replay_rate_bytes_per_s"] or 0' <"$r")

    echo "== scale $scale: pg_basebackup on $leader" >&2
    on "$leader" rm -rf /var/tmp/pgdr-bench-basebackup
    t0=$(now_ms)
    as_postgres "$leader" pg_basebackup -h /var/run/postgresql -D /var/tmp/pgdr-bench-basebackup \
        -X stream -c fast >/dev/null
    basebackup_ms=$(($(now_ms) - t0))
    on "$leader" rm -rf /var/tmp/pgdr-bench-basebackup

    printf '%-6s %9s | %9s %9s %9s | %9s %9s %9s %11s %9s | %9s %9s | %7s %7s\n' \
        "$scale" "$((db_bytes / 1048576))" \
        "$(ratio "$backup_ms" 1000)" "$(rate "$db_bytes" "$backup_ms")" "$((repo_bytes / 1048576))" \
        "$(ratio "$restore_ms" 1000)" "$(ratio "$files_ms" 1000)" "$(ratio "$recovery_ms" 1000)" \
        "$((wal_bytes / 1048576))" "$(awk -v r="$wal_rate" 'BEGIN { printf "%.1f", r / 1048576 }')" \
        "$(ratio "$basebackup_ms" 1000)" "$(rate "$db_bytes" "$basebackup_ms")" \
        "$(ratio "$backup_ms" "$basebackup_ms")" "$(ratio "$restore_ms" "$basebackup_ms")"
done
if [ -n "${BENCH_KEEP:-}" ]; then
    mkdir -p "$BENCH_KEEP"
    cp "$dir"/*.json "$dir"/*.log "$BENCH_KEEP"/
fi
