# Lab helpers for end-to-end tests: a lab in the test's own directory, always removed at exit.
# lab_up [ARGS...] → sets LAB_DIR and INV (the lab's inventory).

lab_up() {
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
    ip -o link | grep -q 'vb-pgdr-' && left="$left veth"
    grep -q " $1/" /proc/self/mountinfo && left="$left mounts"
    ls -d /sys/fs/cgroup/systemd/pgdr-lab /sys/fs/cgroup/unified/pgdr-lab >/dev/null 2>&1 && left="$left cgroups"
    pgrep -f "pgdr-lab-pg|systemd-nspawn.*pgdr-pg" >/dev/null && left="$left processes"
    pgrep -f "apt-cacher-ng -c $1/" >/dev/null && left="$left apt-proxy"
    [ -e "$1/lab.json" ] && left="$left files"
    [ -z "$left" ] || fail "the lab left:$left"
}
