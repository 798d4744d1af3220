#!/usr/bin/env bash
# pgdr lab end to end on the default release: up → status → exec/ssh on every host → kill/start
# (disk intact) → partition/heal → down with nothing left; and a failed up cleaned by down.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lab.sh"
set -e

log "a failed up (apt proxy port taken) is removed whole by down"
/usr/bin/python3 -c '
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 3149)); s.listen(1); time.sleep(60)' &
blocker=$!
on_exit "kill $blocker 2>/dev/null"
sleep 0.3
run_pgdr lab up --dir "$WORK/failed"
[ "$RC" -ne 0 ] || fail "lab up succeeded although its proxy port was taken"
assert_contains "$ERR" "port 3149"
kill $blocker; wait $blocker 2>/dev/null || true
run_pgdr lab down --dir "$WORK/failed"
assert_rc 0 "down after a failed up"
assert_no_lab_leftovers "$WORK/failed"

log "lab up"
lab_up
run_pgdr inventory check "$INV"
assert_rc 0 "the lab's inventory is valid"
run_pgdr lab up --dir "$LAB_DIR"
assert_rc 0 "a second up on a running lab"

log "status (JSON for scripts)"
run_pgdr lab status --dir "$LAB_DIR" --output json
assert_rc 0
assert_eq "$(json_get "$OUT" 'len(d["hosts"])')" 3 "hosts"
assert_eq "$(json_get "$OUT" '",".join(h["state"] for h in d["hosts"])')" "running,running,running"
assert_eq "$(json_get "$OUT" 'd["hosts"][0]["ssh_port"]')" 22
key=$(json_get "$OUT" 'd["hosts"][0]["identity_file"]')
addr1=$(json_get "$OUT" 'd["hosts"][0]["address"]')

log "plain OpenSSH reaches a host with the lab's files"
hn=$(ssh -i "$key" -o UserKnownHostsFile="$LAB_DIR/known_hosts" -o StrictHostKeyChecking=yes \
    -o BatchMode=yes root@"$addr1" hostname)
assert_eq "$hn" pg1 "hostname over OpenSSH"

log "every host is its own machine: hostname, address, /var/lib, systemd"
run_pgdr -i "$INV" exec -- sh -c 'echo "$(hostname) $(hostname -I) $(systemctl is-system-running)"; touch /var/lib/pgdr-e2e-$(hostname); ls /var/lib | grep pgdr-e2e'
assert_rc 0 "exec on every host"
assert_contains "$OUT" "pg1 198.18.0.11  running"
assert_contains "$OUT" "pg2 198.18.0.12  running"
assert_contains "$OUT" "pg3 198.18.0.13  running"
run_pgdr -i "$INV" exec --hosts pg2 -- ls /var/lib
assert_contains "$OUT" "pgdr-e2e-pg2"
assert_not_contains "$OUT" "pgdr-e2e-pg1" "pg2's /var/lib"
run_pgdr lab ssh pg3 --dir "$LAB_DIR" -- sh -c 'echo "$0 on $(hostname)"' 'quoted arg'
assert_rc 0 "lab ssh with a command"
assert_contains "$OUT" "quoted arg on pg3"

log "preflight passes on the lab"
run_pgdr -i "$INV" check
assert_rc 0 "check on the lab"

log "kill and start a host: the disk survives"
run_pgdr -i "$INV" exec --hosts pg2 -- sh -c 'echo survived > /var/lib/pgdr-disk-test; sync'
run_pgdr lab kill pg2 --dir "$LAB_DIR"
assert_rc 0 "kill"
run_pgdr lab status --dir "$LAB_DIR" --output json
assert_eq "$(json_get "$OUT" 'd["hosts"][1]["state"]')" stopped
run_pgdr -i "$INV" exec --hosts pg2 -- true
assert_rc 5 "exec on a killed host"
run_pgdr lab start pg2 --dir "$LAB_DIR"
assert_rc 0 "start"
run_pgdr -i "$INV" exec --hosts pg2 -- cat /var/lib/pgdr-disk-test
assert_rc 0 "ssh back after start"
assert_contains "$OUT" "survived"

log "partition and heal a host"
run_pgdr lab partition pg1 --dir "$LAB_DIR"
assert_rc 0 "partition"
assert_contains "$OUT" "partitioned"
run_pgdr -i "$INV" exec --hosts pg2 -- ping -c 1 -W 1 198.18.0.11
assert_rc 1 "pg2 cannot reach a partitioned pg1"
run_pgdr -i "$INV" exec --hosts pg1 -- true
assert_rc 5 "ssh to a partitioned host"
run_pgdr lab heal pg1 --dir "$LAB_DIR"
assert_rc 0 "heal"
run_pgdr -i "$INV" exec --hosts pg2 -- ping -c 1 -W 1 198.18.0.11
assert_rc 0 "pg2 reaches pg1 again"

log "down leaves nothing"
run_pgdr lab down --dir "$LAB_DIR"
assert_rc 0 "down"
assert_no_lab_leftovers "$LAB_DIR"
