#!/usr/bin/env bash
# pgdr exec / check against a real OpenSSH server on loopback: host-key policy, authentication
# errors, timeouts, quoting of hostile arguments, preflight table.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sshd.sh"
set -e

start_sshd "$WORK/sshd"
sed -i 's/^ListenAddress 127.0.0.1$/ListenAddress 127.0.0.1\nListenAddress 127.0.0.2\nListenAddress 127.0.0.3/' "$WORK/sshd/sshd_config"
kill "$SSHD_PID"; wait "$SSHD_PID" 2>/dev/null || true
/usr/sbin/sshd -D -e -f "$WORK/sshd/sshd_config" 2>"$WORK/sshd/sshd.log" &
SSHD_PID=$!
on_exit "kill $SSHD_PID 2>/dev/null; wait $SSHD_PID 2>/dev/null"
for i in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.3/$SSHD_PORT") 2>/dev/null && break; sleep 0.1; done

release=$(. /etc/os-release && echo "$VERSION_CODENAME")
write_inventory() {  # FILE KEY KNOWN_HOSTS [PORT] [TIMEOUT]
    cat > "$1" <<INV
cluster: e2e
release: $release
network: {cidr: 127.0.0.0/24}
ssh: {user: root, port: ${4:-$SSHD_PORT}, identity_file: $2, known_hosts: $3, connect_timeout: ${5:-5}}
hosts:
  - {name: h1, address: 127.0.0.1, services: [postgres, etcd]}
  - {name: h2, address: 127.0.0.2, services: [postgres, etcd]}
  - {name: h3, address: 127.0.0.3, services: [etcd, haproxy]}
INV
}
INV=$WORK/inv.yaml
KH=$WORK/known_hosts
write_inventory "$INV" "$SSH_KEY" "$KH"

log "unknown host key is refused"
run_pgdr -i "$INV" exec -- true
assert_rc 5 "exec with unknown host key"
assert_contains "$OUT$ERR" "not in $KH" "refusal"
assert_contains "$OUT$ERR" "--accept-new-host-keys" "hint"
[ ! -s "$KH" ] || fail "known_hosts written without --accept-new-host-keys"

log "--accept-new-host-keys records the keys (accept-new)"
run_pgdr -i "$INV" --accept-new-host-keys exec -- hostname
assert_rc 0 "exec with accept-new"
assert_contains "$OUT" "==> h1 (127.0.0.1) exit 0"
assert_contains "$OUT" "3 ok, 0 failed"
assert_eq "$(wc -l < "$KH")" 3 "known_hosts lines"

log "recorded keys are then trusted without the flag"
run_pgdr -i "$INV" exec --hosts h2 -- id -un
assert_rc 0 "exec with known keys"
assert_contains "$OUT" "root"
assert_not_contains "$OUT" "h1" "host selection"

log "exit status, stdout, stderr and stdin are data"
run_pgdr -i "$INV" exec --hosts h1 -- sh -c 'echo out; echo err >&2; exit 3'
assert_rc 1 "non-zero remote exit"
assert_contains "$OUT" "exit 3"
assert_contains "$OUT" "--- stderr"
assert_contains "$OUT" "err"

log "hostile arguments reach the remote command verbatim"
marker=$WORK/pwned
run_pgdr -i "$INV" --output json exec --hosts h1 -- printf '[%s]\n' 'a b' "\$(touch $marker)" "it's" '`id`' 'x;y|z&' $'l1\nl2'
assert_rc 0 "hostile argv"
[ ! -e "$marker" ] || fail "a command substitution in an argument was executed"
stdout=$(json_get "$OUT" 'd[0]["stdout"]')
assert_contains "$stdout" "[a b]"
assert_contains "$stdout" "[\$(touch $marker)]"
assert_contains "$stdout" "[it's]"
assert_contains "$stdout" '[`id`]'
assert_contains "$stdout" "[x;y|z&]"
assert_contains "$stdout" "[l1
l2]"

log "without identity_file, the SSH agent authenticates"
sed '/identity_file/s/identity_file: [^,]*, //' "$INV" > "$WORK/inv_agent.yaml"
grep -q identity_file "$WORK/inv_agent.yaml" && fail "identity_file still in the agent inventory"
eval "$(ssh-agent -s)" >/dev/null
on_exit "kill $SSH_AGENT_PID 2>/dev/null"
ssh-add -q "$SSH_KEY"
run_pgdr -i "$WORK/inv_agent.yaml" exec --hosts h1 -- id -un
assert_rc 0 "exec through the agent"
assert_contains "$OUT" "root"
ssh-add -q -D
run_pgdr -i "$WORK/inv_agent.yaml" exec --hosts h1 -- true
assert_rc 5 "an agent without the key"
assert_contains "$OUT" "authentication failed"

log "--service selects hosts"
run_pgdr -i "$INV" --output json exec --service haproxy -- true
assert_rc 0
assert_eq "$(json_get "$OUT" 'len(d)')" 1 "hosts with haproxy"
assert_eq "$(json_get "$OUT" 'd[0]["host"]')" h3

log "a command past --timeout is killed and reported"
run_pgdr -i "$INV" exec --hosts h1 --timeout 1 -- sleep 30
assert_rc 1 "timed out command"
assert_contains "$OUT" "TIMED OUT"

log "preflight passes on reachable hosts"
run_pgdr -i "$INV" check
assert_rc 0 "check"
assert_contains "$OUT" "all checks passed"
run_pgdr -i "$INV" --output json check
assert_eq "$(json_get "$OUT" 'd["ok"]')" True "check json ok"
assert_eq "$(json_get "$OUT" 'len(d["hosts"][0]["ports"])')" 8 "ports probed from h1 (h2: postgres, patroni, 2 etcd; h3: 2 etcd, 2 haproxy)"
assert_le "$(json_get "$OUT" 'd["max_clock_skew_s"]')" 1.0 "clock skew"

log "a changed host key is refused, even with --accept-new-host-keys"
ssh-keygen -q -t ed25519 -N '' -f "$WORK/other_host" -C other
echo "[127.0.0.1]:$SSHD_PORT $(cut -d' ' -f1,2 "$WORK/other_host.pub")" > "$WORK/kh_changed"
write_inventory "$WORK/inv_changed.yaml" "$SSH_KEY" "$WORK/kh_changed"
run_pgdr -i "$WORK/inv_changed.yaml" --accept-new-host-keys exec --hosts h1 -- true
assert_rc 5 "changed host key"
assert_contains "$OUT" "CHANGED"
assert_contains "$OUT" "never overrides"

log "a wrong user key gives a clear error"
ssh-keygen -q -t ed25519 -N '' -f "$WORK/wrong_key" -C wrong
write_inventory "$WORK/inv_wrong.yaml" "$WORK/wrong_key" "$KH"
run_pgdr -i "$WORK/inv_wrong.yaml" exec --hosts h1 -- true
assert_rc 5 "wrong key"
assert_contains "$OUT" "authentication failed as user 'root'"
run_pgdr -i "$WORK/inv_wrong.yaml" check
assert_rc 7 "check with wrong key"
assert_contains "$OUT" "unreachable"

log "a missing identity file is named"
write_inventory "$WORK/inv_nokey.yaml" "$WORK/no_such_key" "$KH"
run_pgdr -i "$WORK/inv_nokey.yaml" exec --hosts h1 -- true
assert_rc 5
assert_contains "$OUT" "cannot read the identity file $WORK/no_such_key"

log "a dead port (accepts, never answers) fails within the connect timeout"
dead_port=$(free_port)
/usr/bin/python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16)
conns = []
end = time.time() + 60
while time.time() < end:
    s.settimeout(1)
    try: conns.append(s.accept()[0])
    except socket.timeout: pass
' "$dead_port" &
dead_pid=$!
on_exit "kill $dead_pid 2>/dev/null"
sleep 0.3
write_inventory "$WORK/inv_dead.yaml" "$SSH_KEY" "$KH" "$dead_port" 2
start=$(date +%s.%N)
run_pgdr -i "$WORK/inv_dead.yaml" exec --hosts h1 -- true
elapsed=$(echo "$(date +%s.%N) - $start" | bc)
assert_rc 5 "dead port"
assert_contains "$OUT" "cannot connect"
assert_le "$elapsed" 10 "seconds until the dead port failed (connect_timeout 2 s)"

log "a closed port fails at once with a hint"
closed_port=$(free_port)
write_inventory "$WORK/inv_closed.yaml" "$SSH_KEY" "$KH" "$closed_port" 2
run_pgdr -i "$WORK/inv_closed.yaml" exec --hosts h1 -- true
assert_rc 5
assert_contains "$OUT" "sshd listens on port $closed_port"

log "a bastion (ssh.jump_host): each host's session is carried through the bastion's"
KH_JUMP=$WORK/known_hosts_jump
cat > "$WORK/inv_jump.yaml" <<INV
cluster: e2e
release: $release
network: {cidr: 127.0.0.0/24}
ssh: {user: root, port: $SSHD_PORT, identity_file: $SSH_KEY, known_hosts: $KH_JUMP, connect_timeout: 5, jump_host: root@127.0.0.1:$SSHD_PORT}
hosts:
  - {name: h1, address: 127.0.0.1, services: [postgres, etcd]}
  - {name: h2, address: 127.0.0.2, services: [postgres, etcd]}
  - {name: h3, address: 127.0.0.3, services: [postgres, etcd, haproxy]}
INV
run_pgdr -i "$WORK/inv_jump.yaml" --accept-new-host-keys exec -- hostname
assert_rc 0 "exec through the bastion"
assert_contains "$OUT" "3 ok, 0 failed"
# The bastion's key and each host's key are recorded under their own names.
assert_contains "$(cat "$KH_JUMP")" "[127.0.0.1]:$SSHD_PORT"
assert_contains "$(cat "$KH_JUMP")" "[127.0.0.3]:$SSHD_PORT"
sed -i "s/jump_host: root@127.0.0.1:$SSHD_PORT/jump_host: root@127.0.0.1:$closed_port/" "$WORK/inv_jump.yaml"
run_pgdr -i "$WORK/inv_jump.yaml" exec --hosts h2 -- true
assert_rc 5 "exec with the bastion down"
assert_contains "$OUT$ERR" "bastion 127.0.0.1"
