# Lab helpers for end-to-end tests. Only one lab runs at a time on a machine.
# lab_up [ARGS...]: a lab in the test's own directory, always removed at exit (a shared lab is
#   removed first). Sets LAB_DIR and INV (the lab's inventory).
# fresh_shared_cluster / shared_cluster: the shared bootstrapped 3-host lab (see below).

# The shared lab: e2e_bootstrap builds it and leaves it behind when it passes; e2e_ha,
# e2e_drill, e2e_lock and e2e_closed_ports reuse it when it is healthy (or build a new one), and
# remove it when they fail, so that the next test never starts on a broken cluster. The ctest
# fixture cleanup `e2e_shared_lab_down` removes it at the end of the run (tests/CMakeLists.txt).
# It has no monitor host (`lab up --no-monitor`): with one, every drill of e2e_drill would first
# wait up to a minute for the earlier drill's PatroniLeaderChanged to resolve. Monitoring and
# the drills' alert timing are tested on e2e_restore_drill's lab and on Debian 12 in
# e2e_bootstrap_bookworm, both with the lab's default inventory.
SHARED_LAB_DIR=${PGDR_SHARED_LAB_DIR:-/var/tmp/pgdr-e2e-shared-lab}

shared_lab_down() {
    if [ -e "$SHARED_LAB_DIR/lab.json" ]; then
        "$PGDR" lab down --dir "$SHARED_LAB_DIR" >/dev/null 2>&1 || true
    fi
    rm -rf "$SHARED_LAB_DIR"
}
# Registered with on_exit: removes the shared lab unless the test passed.
_shared_lab_keep_if_passed() {
    [ "${_E2E_RC:-1}" -eq 0 ] || shared_lab_down
}
_shared_lab_vars() {
    LAB_DIR=$SHARED_LAB_DIR
    INV=$LAB_DIR/inventory.yaml
    on_exit _shared_lab_keep_if_passed
}
# A new shared lab, bootstrapped by the caller (e2e_bootstrap tests bootstrap itself).
fresh_shared_lab() {
    shared_lab_down
    _shared_lab_vars
    run_pgdr lab up --dir "$LAB_DIR" --no-monitor
    assert_rc 0 "pgdr lab up (shared)"
}
# The shared lab, bootstrapped and healthy: reused when it is, built anew otherwise.
shared_cluster() {
    if [ -e "$SHARED_LAB_DIR/bootstrapped" ] &&
        "$PGDR" -i "$SHARED_LAB_DIR/inventory.yaml" status >/dev/null 2>&1; then
        _shared_lab_vars
        log "reusing the shared lab in $LAB_DIR"
        _shared_lab_leader_pg1
        return 0
    fi
    fresh_shared_lab
    run_pgdr -i "$INV" bootstrap
    assert_rc 0 "bootstrap (shared lab)"
    mark_shared_lab_bootstrapped
}
# The tests start from a fresh bootstrap's shape: pg1 leads (switchovers when it does not).
# With synchronous_mode Patroni hands over only to the synchronous standby: when pg1 is not it,
# a switchover to the standby first, after which pg1 (streaming) is the next standby.
_shared_lab_leader_pg1() {
    local i tries
    for ((tries = 0; tries < 4; tries++)); do
        run_pgdr -i "$INV" --output json status
        local l sync
        l=$(json_get "$OUT" 'd["leader"]')
        [ "$l" = pg1 ] && return 0
        sync=$(json_get "$OUT" '",".join(m["name"] for m in d["members"] if m["role"] in ("sync_standby", "quorum_standby"))')
        if [ -z "$sync" ] || [[ ,$sync, == *,pg1,* ]]; then
            log "the shared lab's leader is $l: switchover to pg1"
            run_pgdr -i "$INV" switchover --to pg1 --yes
        else
            log "the shared lab's leader is $l, its synchronous standby $sync: switchover to it first"
            run_pgdr -i "$INV" switchover --yes
        fi
        assert_rc 0 "switchover towards pg1 (shared lab)"
        for ((i = 0; i < 60; i += 2)); do
            "$PGDR" -i "$INV" status >/dev/null 2>&1 && break
            sleep 2
        done
        [ $i -lt 60 ] || fail "the shared lab is not healthy 60 s after a switchover"
    done
    fail "pg1 does not lead the shared lab after $tries switchovers"
}
mark_shared_lab_bootstrapped() {
    touch "$SHARED_LAB_DIR/bootstrapped"
}

lab_up() {
    shared_lab_down
    LAB_DIR=$WORK/lab
    on_exit "\"$PGDR\" lab down --dir \"$LAB_DIR\" >/dev/null 2>&1"
    run_pgdr lab up --dir "$LAB_DIR" "$@"
    assert_rc 0 "pgdr lab up"
    INV=$LAB_DIR/inventory.yaml
}

# Fails when anything of the lab is left on the machine.
assert_no_lab_leftovers() {
    ASSERTIONS=$((ASSERTIONS + 1))
    local left=""
    ip link show pgdrbr0 >/dev/null 2>&1 && left="$left bridge"
    ip link show pgdrbr1 >/dev/null 2>&1 && left="$left region-bridge"
    ip -o link | grep -q 'vb-pgdr-\|pgdrl[12]' && left="$left veth"
    pgrep -f "lab ovh-link pgdrl" >/dev/null && left="$left region-relay"
    grep -q " $1/" /proc/self/mountinfo && left="$left mounts"
    ls -d /sys/fs/cgroup/systemd/pgdr-lab /sys/fs/cgroup/unified/pgdr-lab >/dev/null 2>&1 && left="$left cgroups"
    pgrep -f "pgdr-lab-(pg|r[0-9])|systemd-nspawn.*pgdr-(pg|r[0-9])" >/dev/null && left="$left processes"
    pgrep -f "apt-cacher-ng -c $1/" >/dev/null && left="$left apt-proxy"
    # A host's nftables tables in this machine's own namespace cut every lab host off from it.
    nft list table inet pgdr_sg >/dev/null 2>&1 && left="$left twin-firewall-table-here"
    nft list table inet pgdr_partition >/dev/null 2>&1 && left="$left partition-table-here"
    [ -e "$1/lab.json" ] && left="$left files"
    [ -z "$left" ] || fail "the lab left:$left"
}
