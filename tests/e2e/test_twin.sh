#!/usr/bin/env bash
# The local OVH twin end to end (issue 11): `pgdr lab up --ovh` → the real `pgdr provision` of
# inventories/ovh-twin.yaml (5 instances in 3 regions) → SSH as `debian` with sudo to every
# public address → the security group seen as broken connections (cluster ports closed to this
# machine, open between members on the private network, private addresses not on any link of
# this machine) → regions joined with added latency → `pgdr bootstrap` over the public SSH
# ports → `status` and `psql` through SSH forwarding → `drill --kill-primary` and
# `--reboot-primary` (a hard reset through OVH's v1 API) → `switchover` → a full backup to the
# twin's Object Storage and `drill --restore` on a temporary instance → v1 hard reboot, stop,
# start → bad input refused with exit 4 and nothing made → `pgdr destroy` → `lab down` with
# nothing left. Needs root; run it under `flock /run/pgdr-lab.lock` when others share the machine.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/cluster.sh"
set -e

[ "$(id -u)" -eq 0 ] || { echo "SKIP $TEST_NAME: needs root"; exit 0; }
TWIN=$WORK/twin
on_exit "\"$PGDR\" lab down --dir \"$TWIN\" >/dev/null 2>&1"
secs() { date +%s.%N; }

log "lab up --ovh"
t0=$(secs)
run_pgdr lab up --ovh --dir "$TWIN" --ovh-latency-ms 5
assert_rc 0 "lab up --ovh"
log "twin up in $(echo "$(secs) - $t0" | bc) s"
assert_eq "$(stat -c %a "$TWIN/ovh.conf")" 600 "ovh.conf mode"
assert_not_contains "$OUT$ERR" "$(sed -n 's/^application_secret=//p' "$TWIN/ovh.conf")" "output"
endpoint=$(sed -n 's/^endpoint=//p' "$TWIN/ovh.conf")
assert_contains "$endpoint" "http://127.0.0.1:"
cp "$SRC_DIR/inventories/ovh-twin.yaml" "$TWIN/"
cd "$TWIN"
# Backups to the twin's Object Storage (issue 14): provision makes the bucket and its S3 user,
# bootstrap the backup stage. Path-style: the twin's hosts resolve s3.<region>.io.cloud.ovh.net
# by /etc/hosts, which has no wildcard for a bucket's own name.
cat >> ovh-twin.yaml <<'YAML'
backup:
  repo:
    type: s3
    endpoint: s3.sbg.io.cloud.ovh.net
    region: sbg
    bucket: pgdr-shop-db-backup
    uri_style: path
    ca_file: twin/s3/ca.pem
YAML

log "the API refuses what the real one refuses"
code=$(curl -s -o "$WORK/body" -w '%{http_code}' "$endpoint/cloud/project/0123456789abcdef0123456789abcdef")
assert_eq "$code" 403 "unsigned request without an application key"
ak=$(sed -n 's/^application_key=//p' ovh.conf)
code=$(curl -s -o "$WORK/body" -w '%{http_code}' -H "X-Ovh-Application: $ak" \
    -H "X-Ovh-Consumer: x" -H "X-Ovh-Timestamp: 1" -H 'X-Ovh-Signature: $1$0' \
    "$endpoint/cloud/project/0123456789abcdef0123456789abcdef")
assert_eq "$code" 403 "unknown consumer key"
ck=$(sed -n 's/^consumer_key=//p' ovh.conf)
code=$(curl -s -o "$WORK/body" -w '%{http_code}' -H "X-Ovh-Application: $ak" \
    -H "X-Ovh-Consumer: $ck" -H "X-Ovh-Timestamp: $(($(date +%s) - 3600))" -H 'X-Ovh-Signature: $1$0' \
    "$endpoint/cloud/project/0123456789abcdef0123456789abcdef")
assert_eq "$code" 400 "expired timestamp"
assert_contains "$(cat "$WORK/body")" "time window"
code=$(curl -s -o "$WORK/body" -w '%{http_code}' -H "X-Ovh-Application: $ak" \
    -H "X-Ovh-Consumer: $ck" -H "X-Ovh-Timestamp: $(date +%s)" -H 'X-Ovh-Signature: $1$0' \
    "$endpoint/cloud/project/0123456789abcdef0123456789abcdef")
assert_eq "$code" 400 "wrong signature"
assert_contains "$(cat "$WORK/body")" "Invalid signature"

log "an unknown image: exit 4, nothing made"
sed 's/image: Debian 13/image: Debian 11/' ovh-twin.yaml > bad-image.yaml
run_pgdr provision -i bad-image.yaml
assert_rc 4 "provision with an unknown image"
assert_contains "$ERR" "Debian 11"
assert_eq "$(ls "$TWIN/twin/hosts" | wc -l)" 0 "hosts after a refused provision"

log "provision 5 instances in 3 regions"
t0=$(secs)
run_pgdr provision -i ovh-twin.yaml
assert_rc 0 "provision"
t_prov=$(echo "$(secs) - $t0" | bc)
state=$(cat ovh-twin.state/state.json)
declare -A pub priv
for h in pg1 pg2 pg3 lb1 lb2; do
    pub[$h]=$(json_get "$state" "d['hosts']['$h']['public_address']")
    priv[$h]=$(json_get "$state" "d['hosts']['$h']['address']")
    assert_contains "${pub[$h]}" "198.19."
    assert_contains "${priv[$h]}" "198.18.64."
done
ssh_to() {  # HOST-ADDRESS COMMAND...
    local a=$1; shift
    ssh -i id_ed25519 -o UserKnownHostsFile="$WORK/known_hosts" -o StrictHostKeyChecking=accept-new \
        -o ConnectTimeout=5 -o BatchMode=yes -o LogLevel=ERROR "debian@$a" -- "$@"
}
for h in pg1 pg2 pg3 lb1 lb2; do
    out=$(ssh_to "${pub[$h]}" 'sudo -n id -u; hostname; ip -4 -o addr show')
    assert_contains "$out" "0" "sudo on $h"
    assert_contains "$out" "pgdr-shop-db-$h" "hostname of $h"
    assert_contains "$out" "${priv[$h]}/24" "private address of $h"
done
# Every instance's firewall is in its own network namespace: one loaded into this machine's
# (input policy drop) cut every host off from the apt proxy in CI.
assert_eq "$(nft list table inet pgdr_sg >/dev/null 2>&1 && echo here || echo absent)" absent \
    "an instance's firewall (table inet pgdr_sg) in this machine's own network namespace"
out=$(ssh_to "${pub[pg3]}" "grep -o 'http://[0-9.:]*' /etc/apt/apt.conf.d/01pgdr-lab-proxy; timeout 3 bash -c 'exec 3<>/dev/tcp/198.19.0.1/3149' && echo proxy-open" || true)
assert_contains "$out" "proxy-open" "the apt proxy on the Ext-Net gateway"
t_ssh=$(echo "$(secs) - $t0" | bc)
log "provision: ${t_prov} s; provision to SSH as debian on all 5: ${t_ssh} s"
run_pgdr provision -i ovh-twin.yaml
assert_rc 0 "provision again"
assert_contains "$OUT$ERR" "0 created" "a second provision creates nothing"
run_pgdr lab status --dir "$TWIN" --output json
assert_rc 0 "lab status of the twin"
assert_eq "$(json_get "$OUT" '",".join(sorted(i["state"] for i in d["instances"]))')" \
    "running,running,running,running,running" "instances in lab status"
assert_eq "$(json_get "$OUT" 'd["api"]')" running "the twin's API"

log "quota: a second cluster beyond the region's quota is refused, nothing made"
sed -e 's/^cluster: shop-db/cluster: other/' -e 's/region: [A-Z0-9-]*,/region: GRA11,/' \
    ovh-twin.yaml > other.yaml
run_pgdr provision -i other.yaml
assert_rc 4 "provision beyond the quota"
assert_contains "$ERR" "quota"
assert_eq "$(ls "$TWIN/twin/hosts" | wc -l)" 5 "hosts after a refused provision"
run_pgdr destroy -i other.yaml --yes-really other
assert_rc 0 "destroy of what the refused provision made (nothing)"

log "security groups: what OVH would let through, and nothing else"
tcp_open() {  # from this machine
    timeout 3 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
}
# Patroni's REST port on pg2, a listener for the test
http_pid_pg2=$(ssh_to "${pub[pg2]}" 'sudo -n sh -c "nohup python3 -m http.server 8008 >/dev/null 2>&1 & echo \$!"')
sleep 1
if tcp_open "${pub[pg2]}" 8008; then fail "pg2's port 8008 is open to this machine"; fi
# A private address is not on any link of this machine (no packet is sent to find out: the
# default route would carry it off the machine).
route=$(ip route get "${priv[pg2]}")
assert_not_contains "$route" "pgdr" "this machine's route to a private address"
ASSERTIONS=$((ASSERTIONS + 1))
out=$(ssh_to "${pub[pg1]}" "timeout 3 bash -c 'exec 3<>/dev/tcp/${priv[pg2]}/8008' && echo open || echo closed")
assert_eq "$out" open "pg1 → pg2:8008 on the private network (another region, same vRack)"
out=$(ssh_to "${pub[pg1]}" "timeout 3 bash -c 'exec 3<>/dev/tcp/${priv[pg2]}/22' && echo open || echo closed")
assert_eq "$out" closed "pg1 → pg2:22 (SSH only from ssh_allowed_cidrs)"
out=$(ssh_to "${pub[pg1]}" "timeout 3 bash -c 'exec 3<>/dev/tcp/${pub[pg2]}/8008' && echo open || echo closed")
assert_eq "$out" closed "pg1 → pg2's public address:8008"

log "regions: the vRack between GRA11 and SBG5 adds 5 ms each way"
http_pid_lb1=$(ssh_to "${pub[lb1]}" 'sudo -n sh -c "nohup python3 -m http.server 8008 >/dev/null 2>&1 & echo \$!"')
sleep 1
connect_ms() {  # from pg1 to ADDRESS:8008, the best of 5 TCP handshakes
    ssh_to "${pub[pg1]}" "python3 -c 'import socket, time
best = 1e9
for i in range(5):
    t = time.monotonic(); s = socket.create_connection((\"$1\", 8008), 3); s.close()
    best = min(best, time.monotonic() - t)
print(round(best * 1000, 2))'"
}
same=$(connect_ms "${priv[lb1]}")
cross=$(connect_ms "${priv[pg2]}")
log "TCP connect pg1 → lb1 (GRA11): $same ms; pg1 → pg2 (SBG5): $cross ms"
assert_le 9 "$cross" "cross-region round trip (netem, or the user-space relay without it)"
assert_le "$same" 5 "same-region round trip"

# The test's listeners go: Patroni takes port 8008 on pg2.
ssh_to "${pub[pg2]}" "sudo -n kill $http_pid_pg2"
ssh_to "${pub[lb1]}" "sudo -n kill $http_pid_lb1"

log "bootstrap the provisioned hosts, reached at their public addresses only"
t0=$(secs)
run_pgdr bootstrap -i ovh-twin.yaml --accept-new-host-keys
assert_rc 0 "bootstrap on the twin"
t_boot=$(echo "$(secs) - $t0" | bc)
log "bootstrap: ${t_boot} s"
run_pgdr status -i ovh-twin.yaml --output json
assert_rc 0 "status through SSH forwarding"
assert_eq "$(json_get "$OUT" 'd["healthy"]')" True "status: healthy"
assert_eq "$(json_get "$OUT" 'len(d["members"])')" 3 "status: members"
run_pgdr psql -i ovh-twin.yaml -- -At -c 'select host(inet_server_addr())'
assert_rc 0 "psql through SSH forwarding"
leader=$(json_get "$("$PGDR" status -i ovh-twin.yaml --output json)" 'd["leader"]')
assert_eq "$OUT" "${priv[$leader]}" "psql reaches the leader at its private address"

log "drill --kill-primary through the public SSH ports"
run_pgdr drill -i ovh-twin.yaml --kill-primary --yes-really shop-db --report kill.json
assert_rc 0 "kill-primary drill on the twin"
kill_rto=$(json_get "$(cat kill.json)" 'd["rto_ms"]')
assert_eq "$(json_get "$(cat kill.json)" 'd["lost_acknowledged_writes"]')" 0 "kill-primary: lost writes"
assert_contains "$(json_get "$(cat kill.json)" 'd["probe_vantage"]')" "lb" \
    "kill-primary: probes from an HAProxy host"

log "drill --reboot-primary: a hard reset through OVH's v1 API"
run_pgdr drill -i ovh-twin.yaml --reboot-primary --yes-really shop-db --report reboot.json
assert_rc 0 "reboot-primary drill on the twin"
reboot_rto=$(json_get "$(cat reboot.json)" 'd["rto_ms"]')
assert_eq "$(json_get "$(cat reboot.json)" 'd["lost_acknowledged_writes"]')" 0 "reboot-primary: lost writes"

log "drill --lose-primary-host: the instance stopped through OVH's v1 API until the restore"
run_pgdr drill -i ovh-twin.yaml --lose-primary-host --timeout 300 --yes-really shop-db --report lose.json
assert_rc 0 "lose-primary-host drill on the twin"
lose_rto=$(json_get "$(cat lose.json)" 'd["rto_ms"]')
assert_eq "$(json_get "$(cat lose.json)" 'd["lost_acknowledged_writes"]')" 0 "lose-primary-host: lost writes"
assert_eq "$(json_get "$(cat lose.json)" 'd["new_primary"] != d["old_primary"]')" True "lose-primary-host: a new leader"
assert_contains "$(json_get "$(cat lose.json)" 'd["fault_action"]')" "off after" \
    "lose-primary-host: how long the v1 stop took"
assert_eq "$(json_get "$(cat lose.json)" '[c["passed"] for c in d["checks"] if c["name"] == "causal_order"]')" "[True]" \
    "lose-primary-host: causal order through SSH forwarding"
log "lose-primary-host on the twin: $(json_get "$(cat lose.json)" 'd["fault_action"]')"

log "switchover"
run_pgdr switchover -i ovh-twin.yaml --yes
assert_rc 0 "switchover on the twin"
INV=ovh-twin.yaml wait_healthy 120  # the old leader back as a streaming replica
log "twin figures: provision ${t_prov} s, to SSH ${t_ssh} s, bootstrap ${t_boot} s, kill-primary RTO ${kill_rto} ms, reboot-primary RTO ${reboot_rto} ms, lose-primary-host RTO ${lose_rto} ms"

ovh_call() {  # METHOD PATH [BODY]: a signed call with the twin's ovh.conf (as the OVH clients)
    /usr/bin/python3 - "$@" <<'PY'
import configparser, hashlib, json, sys, time, urllib.request, urllib.error
method, path = sys.argv[1], sys.argv[2]
body = sys.argv[3] if len(sys.argv) > 3 else ""
c = configparser.ConfigParser(); c.read("ovh.conf")
ep = c["default"]["endpoint"]; k = c[ep]
url = ep + path
ts = str(int(time.time()))
sig = "$1$" + hashlib.sha1("+".join([k["application_secret"], k["consumer_key"], method, url,
                                     body, ts]).encode()).hexdigest()
req = urllib.request.Request(url, data=body.encode() if body else None, method=method, headers={
    "X-Ovh-Application": k["application_key"], "X-Ovh-Consumer": k["consumer_key"],
    "X-Ovh-Timestamp": ts, "X-Ovh-Signature": sig, "Content-Type": "application/json"})
try:
    print(urllib.request.urlopen(req, timeout=30).read().decode())
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode()); sys.exit(1)
PY
}
project=0123456789abcdef0123456789abcdef
wait_status() {  # STATUS [INSTANCE-ID, default pg1's]
    local i s id=${2:-$(json_get "$state" "d['hosts']['pg1']['instance_id']")}
    for i in $(seq 120); do
        s=$(json_get "$(ovh_call GET "/cloud/project/$project/instance/$id")" "d['status']")
        [ "$s" = "$1" ] && return 0
        sleep 0.5
    done
    fail "instance $id is $s, not $1"
}
log "pgdr-guard (issue 18): fenced fast failover, agents on lb1 and lb2"
# The agents' key: the twin has one consumer key (on OVH, `pgdr ovh credential --guard` makes
# one limited to the power routes). The hosts reach the twin's API over TLS on the Ext-Net
# gateway, as instances reach OVH's API over the Internet.
guard_ep=https://198.19.0.1:8443/1.0
guard_key=ovh-twin.state/secrets/guard-ovh.conf
{ printf '[default]\nendpoint=%s\n\n[%s]\n' "$guard_ep" "$guard_ep"
  grep -E '^(application_key|application_secret|consumer_key)=' ovh.conf; } > "$guard_key"
chmod 644 "$guard_key"
cat >> ovh-twin.yaml <<YAML
guard:
  enabled: true
  provider_endpoint: $guard_ep
  provider_ca_file: twin/s3/ca.pem
YAML
run_pgdr bootstrap -i ovh-twin.yaml --stage guard
assert_rc 3 "a provider key others may read is refused"
assert_contains "$ERR" "may be read by others"
chmod 600 "$guard_key"
t0=$(secs)
run_pgdr bootstrap -i ovh-twin.yaml
assert_rc 0 "bootstrap with the guard: $ERR"
log "bootstrap with the guard: $(echo "$(secs) - $t0" | bc) s"
assert_not_contains "$OUT$ERR" "$(sed -n 's/^application_secret=//p' "$guard_key")" "bootstrap's output"
out=$(ssh_to "${pub[lb1]}" 'sudo -n stat -c "%a %U:%G" /etc/pgdr-guard/ovh.conf /etc/pgdr/tls/guard.key; systemctl is-active pgdr-guard; ldd /usr/local/sbin/pgdr-guard | grep -c "not found" || true')
assert_eq "$out" "$(printf '640 root:pgdr-guard\n600 pgdr-guard:pgdr-guard\nactive\n0')" \
    "the agent's key files, its unit and its libraries on lb1"
guard_state() {  # PYTHON-EXPRESSION on `pgdr guard status --output json`
    json_get "$("$PGDR" guard status -i ovh-twin.yaml --output json)" "$1"
}
for i in $(seq 30); do
    [ "$(guard_state 'sum(1 for a in d["agents"] if a["live"])')" = 2 ] && break
    sleep 1
done
assert_eq "$(guard_state '",".join(a["agent"] for a in d["agents"] if a["live"])')" "lb1,lb2" \
    "guard status: both agents publish"
run_pgdr guard status -i ovh-twin.yaml
assert_rc 0 "guard status"
assert_contains "$OUT" "fence lock: free"

log "guard: kill-primary is fenced (hard reboot through the API) and failed over at once"
run_pgdr drill -i ovh-twin.yaml --kill-primary --timeout 240 --yes-really shop-db --report gkill.json
assert_rc 0 "kill-primary with the guard: $ERR"
gkill_rto=$(json_get "$(cat gkill.json)" 'd["rto_ms"]')
assert_eq "$(json_get "$(cat gkill.json)" 'd["lost_acknowledged_writes"]')" 0 "guard kill: lost writes"
assert_eq "$(guard_state 'len(d["failovers"])')" 1 "guard kill: one failover by the guard"
assert_eq "$(guard_state 'd["failovers"][0]["leader"] == "'"$(json_get "$(cat gkill.json)" 'd["old_primary"]')"'"')" \
    True "guard kill: the old leader was fenced"
assert_eq "$(guard_state 'd["failovers"][0]["candidate"]')" "$(json_get "$(cat gkill.json)" 'd["new_primary"]')" \
    "guard kill: the candidate it named leads"
# The timeline first (ms after the fault): where the time went when the bound below fails.
log "guard kill timeline: $(json_get "$(cat gkill.json)" '" ".join("%s=%s" % (p["name"], p["at_ms"]) for p in sorted(d["phases"] + d.get("guard_phases", []), key=lambda p: p["at_ms"]))')"
# Half the TTL path's (30 s and more). The bench's median is 4.8 s; its tail (7.5 s here, 13 s
# in CI before the etcd hand-off) is Patroni's own etcd client stuck on the reset machine.
assert_le "$gkill_rto" 15000 "guard kill: RTO"
INV=ovh-twin.yaml wait_healthy 240  # the reset leader back as a streaming replica
log "guard: kill-primary RTO ${gkill_rto} ms (without it: ${kill_rto} ms); phases $(guard_state '[(p["name"], p["at_ms"] - d["failovers"][0]["phases"][0]["at_ms"]) for p in d["failovers"][0]["phases"]]')"

log "guard: partition-primary is not fenced (silent, and the API says it runs)"
run_pgdr drill -i ovh-twin.yaml --partition-primary --timeout 240 --yes-really shop-db --report gpart.json
assert_rc 0 "partition-primary with the guard: $ERR"
assert_eq "$(json_get "$(cat gpart.json)" 'd["lost_acknowledged_writes"]')" 0 "guard partition: lost writes"
assert_eq "$(guard_state 'len(d["failovers"])')" 1 "guard partition: no fence"
INV=ovh-twin.yaml wait_healthy 240

log "guard: the provider API failing (a revoked key) means no fence, Patroni's TTL decides"
for h in lb1 lb2; do
    ssh_to "${pub[$h]}" "sudo -n sed -i 's/^consumer_key=.*/consumer_key=revoked/' /etc/pgdr-guard/ovh.conf && sudo -n systemctl restart pgdr-guard"
done
run_pgdr drill -i ovh-twin.yaml --kill-primary --timeout 240 --yes-really shop-db --report gapi.json
assert_rc 0 "kill-primary with the API failing: $ERR"
assert_eq "$(json_get "$(cat gapi.json)" 'd["lost_acknowledged_writes"]')" 0 "guard API failure: lost writes"
assert_eq "$(guard_state 'len(d["failovers"])')" 1 "guard API failure: no fence"
gapi_rto=$(json_get "$(cat gapi.json)" 'd["rto_ms"]')
assert_le 10000 "$gapi_rto" "guard API failure: the TTL path's RTO"
INV=ovh-twin.yaml wait_healthy 240
run_pgdr bootstrap -i ovh-twin.yaml --stage guard
assert_rc 0 "the guard stage puts the key back"
log "guard figures: kill-primary RTO ${gkill_rto} ms with the guard, ${kill_rto} ms without, ${gapi_rto} ms with the API failing"

log "guard: a lost agent host (lb1 stopped through the API) disarms it and causes no failover"
idlb1=$(json_get "$state" "d['hosts']['lb1']['instance_id']")
leader=$(json_get "$("$PGDR" status -i ovh-twin.yaml --output json)" 'd["leader"]')
ovh_call POST "/cloud/project/$project/instance/$idlb1/stop" >/dev/null
wait_status SHUTOFF "$idlb1"
for i in $(seq 30); do  # its observation goes with its lease
    [ "$(guard_state 'd["armed"]')" = False ] && break
    sleep 1
done
run_pgdr guard status -i ovh-twin.yaml
assert_rc 1 "guard status with an agent host lost"
assert_contains "$OUT" "NOT ARMED (1 of 2 agents live, quorum 2)"
assert_contains "$OUT" "lb1  NOT RUNNING"
sleep 5  # longer than unreachable_after_ms: lb2 alone must not decide anything
run_pgdr status -i ovh-twin.yaml --output json
assert_eq "$(json_get "$OUT" 'd["leader"]')" "$leader" "the leader after losing an agent host"
assert_eq "$(json_get "$OUT" 'd["guard"]["armed"]')" False "pgdr status: the guard disarmed"
assert_eq "$(guard_state 'len(d["failovers"])')" 1 "no failover by the guard after losing lb1"
ovh_call POST "/cloud/project/$project/instance/$idlb1/start" >/dev/null
wait_status ACTIVE "$idlb1"
for i in $(seq 60); do  # pgdr-guard is enabled at boot
    [ "$(guard_state 'd["armed"]')" = True ] && break
    sleep 1
done
assert_eq "$(guard_state 'd["armed"]')" True "the guard armed again once lb1 is back"
INV=ovh-twin.yaml wait_healthy 120

log "backup to the twin's Object Storage and a restore drill on a temporary instance"
assert_eq "$(json_get "$(cat ovh-twin.state/state.json)" 'd["provider"]["object_storage"]["bucket"]')" \
    pgdr-shop-db-backup "the bucket provision made"
run_pgdr backup run -i ovh-twin.yaml --type full
assert_rc 0 "full backup on the twin: $ERR"
run_pgdr -i ovh-twin.yaml --output json drill --restore --yes-really shop-db
assert_rc 0 "restore drill on the twin: $ERR"
assert_eq "$(json_get "$OUT" 'd["scratch"]["provider"]')" ovh "the scratch host is an OVH instance"
assert_eq "$(json_get "$OUT" 'd["markers_after_target"]')" 0 "restore drill: no marker after the target"
assert_eq "$(json_get "$OUT" 'd["markers_found"] == d["markers_expected"] > 0')" True \
    "restore drill: every marker before the target"
assert_eq "$(ls "$TWIN/twin/hosts" | wc -l)" 5 "the temporary instance is deleted"
log "restore drill on the twin: RTO $(json_get "$OUT" 'd["restore_rto_ms"]') ms, instance ready in $(json_get "$OUT" 'd["scratch"]["ready_ms"]') ms"

log "v1 power actions act on the host"
run_pgdr guard status -i ovh-twin.yaml  # what the agents did meanwhile, in the log
printf '%s\n' "$OUT" | sed 's/^/    /'
id1=$(json_get "$state" "d['hosts']['pg1']['instance_id']")
host_journal() {  # HOSTNAME UNIT: the unit's journal inside that twin host, for a failure's log
    local p c
    for p in $(pgrep -f "systemd-nspawn.*$TWIN/"); do
        c=$(pgrep -P "$p" | head -1)
        if [ -n "$c" ] && [ "$(nsenter -t "$c" -u hostname 2>/dev/null)" = "$1" ]; then
            nsenter -t "$c" -a journalctl -u "$2" --no-pager -n 40 2>&1 | sed 's/^/    /'
        fi
    done
}
# Once in the full suite (not again in a rerun) sshd on pg1 reset this connection during the key
# exchange; sshd's journal goes to the log, and a reset that does not last is retried.
for i in 1 2 3; do
    ssh_to "${pub[pg1]}" 'sudo -n touch /var/tmp/pgdr-disk-survives' && break
    log "SSH to pg1 failed (attempt $i); its sshd's journal:"
    host_journal pgdr-shop-db-pg1 ssh
    [ "$i" -lt 3 ] || fail "pg1 does not answer SSH"
    sleep 10
done
t0=$(secs)
ovh_call POST "/cloud/project/$project/instance/$id1/reboot" '{"type":"hard"}' >/dev/null
wait_status ACTIVE
up1=$(ssh_to "${pub[pg1]}" 'test -e /var/tmp/pgdr-disk-survives && echo disk-ok; cut -d. -f1 /proc/uptime')
assert_contains "$up1" disk-ok "the disk survives a hard reboot"
log "hard reboot to ACTIVE and SSH: $(echo "$(secs) - $t0" | bc) s"
ovh_call POST "/cloud/project/$project/instance/$id1/stop" >/dev/null
wait_status SHUTOFF
ASSERTIONS=$((ASSERTIONS + 1))
if tcp_open "${pub[pg1]}" 22; then fail "a stopped instance still answers"; fi
set +e
out=$(ovh_call POST "/cloud/project/$project/instance/$id1/stop")
set -e
assert_contains "$out" "409" "stopping a stopped instance"
ovh_call POST "/cloud/project/$project/instance/$id1/start" >/dev/null
wait_status ACTIVE
out=$(ssh_to "${pub[pg1]}" 'sudo -n nft list table inet pgdr_sg | grep -c accept')
assert_le 3 "$out" "the firewall is back after start"

log "destroy"
t0=$(secs)
run_pgdr destroy -i ovh-twin.yaml --yes-really shop-db
assert_rc 0 "destroy"
log "destroy: $(echo "$(secs) - $t0" | bc) s"
assert_eq "$(ls "$TWIN/twin/hosts" | wc -l)" 0 "hosts after destroy"
assert_contains "$OUT$ERR" "holds backups: kept" "destroy keeps the bucket with backups"
assert_eq "$(ip -o link | grep -E 'pgdr-i|pgdc-i|pgdrn|pgdrv' | awk '{print $2}' | tr '\n' ' ')" "" \
    "links after destroy"

log "lab down"
cd /
run_pgdr lab down --dir "$TWIN"
assert_rc 0 "lab down"
ASSERTIONS=$((ASSERTIONS + 1))
if ip link show pgdrext0 >/dev/null 2>&1; then fail "the Ext-Net bridge is left"; fi
ASSERTIONS=$((ASSERTIONS + 1))
if grep -q " $TWIN/" /proc/self/mountinfo; then fail "mounts are left"; fi
ASSERTIONS=$((ASSERTIONS + 1))
if ls -d /sys/fs/cgroup/*/pgdr-lab 2>/dev/null | grep -q .; then fail "cgroups are left"; fi
[ ! -e "$TWIN/ovh.conf" ] || fail "ovh.conf is left"
