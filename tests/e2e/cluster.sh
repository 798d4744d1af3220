# Cluster helpers for end-to-end tests on a bootstrapped lab (after lab_up and bootstrap):
# independent checks with psql and pgdr status. Needs INV, and PGPASSWORD set from the state's
# probe-password for `sql`.

sql() {  # ADDRESS PORT QUERY: one query as the probe role
    psql -XAtq -h "$1" -p "$2" -U pgdr_probe -d pgdr -c "$3"
}
# Streaming replicas in pg_stat_replication on HOST, read as postgres on the host itself (the
# probe role cannot see the state column).
streaming_on() {  # HOST
    "$PGDR" -i "$INV" exec --hosts "$1" -- runuser -u postgres -- psql -XAtq -c \
        "select count(*) from pg_stat_replication where state = 'streaming'" | grep -E '^[0-9]+$'
}
# The leader as pgdr status sees it ("None" without one). Inside $(...) OUT is not kept.
leader() {
    run_pgdr -i "$INV" --output json status
    json_get "$OUT" 'd["leader"]'
}
# The synchronous standby Patroni names (one HA loop after bootstrap: wait_healthy first).
sync_standby() {
    run_pgdr -i "$INV" --output json status
    json_get "$OUT" '[m["name"] for m in d["members"] if m["role"] == "sync_standby"][0]'
}
wait_healthy() {  # SECONDS
    local i last
    for ((i = 0; i < $1; i += 2)); do
        last=$("$PGDR" -i "$INV" status 2>&1) && return 0
        sleep 2
    done
    # What the units say on every host: the evidence a CI log needs (an etcd member down
    # for good once was only "unhealthy" in status).
    local units
    units=$("$PGDR" -i "$INV" exec -- sh -c 'systemctl is-active etcd "patroni@*" 2>&1 | tr "\n" " ";
        echo; journalctl -u etcd -n 6 --no-pager -o cat 2>&1 | cut -c1-300' 2>&1 | tail -n 60)
    fail "the cluster is not healthy after $1 s: $last
units and etcd's last lines per host:
$units"
}
# Waits until pgdr status shows no leader (a killed leader's lease expired), at most SECONDS.
wait_no_leader() {  # SECONDS
    local i l
    for ((i = 0; i < $1; i += 2)); do
        l=$(leader)
        { [ "$l" = None ] || [ -z "$l" ]; } && return 0
        sleep 2
    done
    fail "a leader is still there after $1 s"
}
# Maintenance mode (Patroni promotes nobody by itself), then HOST, the leader, killed; returns
# once its lease expired. Maintenance mode is left on a cleanup in case the test fails.
pause_and_kill_leader() {  # HOST
    run_pgdr -i "$INV" exec --hosts "$1" -- \
        patronictl -c /etc/patroni/17-main.yml pause --wait
    assert_rc 0 "patronictl pause"
    on_exit "\"$PGDR\" -i \"$INV\" exec --service postgres -- patronictl -c /etc/patroni/17-main.yml resume >/dev/null 2>&1"
    run_pgdr lab kill "$1" --dir "$LAB_DIR"
    assert_rc 0 "lab kill $1"
    wait_no_leader 120
}
# A row written through HAProxy must show up on REPLICA within 10 s: it replays the leader.
assert_replays() {  # REPLICA-ADDRESS TABLE ID
    sql "$HAPROXY" 5000 "insert into $2 values ($3)" >/dev/null
    local n=0
    for _ in $(seq 20); do
        n=$(sql "$1" 5432 "select count(*) from $2 where id = $3")
        [ "$n" = 1 ] && break
        sleep 0.5
    done
    assert_eq "$n" 1 "$1 replays row $3 of $2"
}
