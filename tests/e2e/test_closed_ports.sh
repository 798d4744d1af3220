#!/usr/bin/env bash
# OVH's network shape on the plain lab: this machine reaches only port 22 of the hosts (an
# nftables table here drops everything else towards the lab, silently, as a security group
# does). bootstrap, status, psql, a drill, a switchover and a runbook run must still work:
# pgdr notices that cluster ports do not answer and forwards them over SSH from a host inside
# the network; the drill report names that vantage host and the probes' write latency.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lab.sh"
source "$(dirname "$0")/cluster.sh"
set -e

shared_cluster
STATE=$LAB_DIR/inventory.state
TABLE=pgdr_e2e_closed_ports
on_exit "nft delete table inet $TABLE >/dev/null 2>&1"
nft -f - <<NFT
table inet $TABLE {
    chain out {
        type filter hook output priority 0; policy accept;
        ip daddr 198.18.0.0/24 tcp dport != 22 drop
    }
}
NFT

log "the restriction holds: HAProxy's write port does not answer from here, SSH does"
set +e
timeout 5 bash -c 'exec 3<>/dev/tcp/198.18.0.13/5000' 2>/dev/null
direct_rc=$?
timeout 5 bash -c 'exec 3<>/dev/tcp/198.18.0.13/22' 2>/dev/null
ssh_rc=$?
set -e
assert_eq "$([ $direct_rc -ne 0 ] && echo closed)" closed "port 5000 from this machine"
assert_eq "$ssh_rc" 0 "port 22 from this machine"

log "bootstrap through SSH only (the shared lab: every check and the verify stage forwarded)"
run_pgdr -i "$INV" bootstrap
assert_rc 0 "bootstrap"
wait_healthy 90

log "status"
run_pgdr -i "$INV" --output json status
assert_rc 0 "status"
assert_contains " pg1 pg2 pg3 " " $(json_get "$OUT" 'd["leader"]') " "a leader"

log "psql through a forwarded port"
run_pgdr -i "$INV" psql -- -XAtc "select pg_is_in_recovery()"
assert_rc 0 "pgdr psql"
assert_eq "$OUT" f "psql reaches the primary through HAProxy's write port"
run_pgdr -i "$INV" psql --target pg2 -- -XAtc "select pg_is_in_recovery()"
assert_rc 0 "pgdr psql --target pg2"
assert_eq "$OUT" t "psql reaches a replica directly on 5432"
run_pgdr -i "$INV" psql -- -XAtc "select 1/0"
assert_rc 1 "psql's own exit status comes back"

log "kill-primary drill with the probes forwarded over SSH"
run_pgdr -i "$INV" --output json drill --kill-primary --max-rto 90
assert_rc 0 "kill-primary drill"
assert_eq "$(json_get "$OUT" 'd["verdict"]')" pass "verdict"
assert_eq "$(json_get "$OUT" 'd["lost_acknowledged_writes"]')" 0 "lost writes"
assert_contains "$(json_get "$OUT" 'd["probe_vantage"]')" "via pg" "the report names its vantage host"
assert_eq "$(json_get "$OUT" 'd["probe_vantage"].split()[1] != d["old_primary"]')" True \
    "the probes did not run from the host the fault hit"
assert_eq "$(json_get "$OUT" 'd["probe_write_latency_ms"] is not None')" True "probe write latency"
log "probe write latency through SSH: $(json_get "$OUT" 'd["probe_write_latency_ms"]') ms"
wait_healthy 120

log "switchover"
LEADER=$(leader)
SYNC=$(sync_standby)
run_pgdr -i "$INV" switchover --to "$SYNC" --yes
assert_rc 0 "switchover to $SYNC"
assert_eq "$(leader)" "$SYNC" "the new leader"
wait_healthy 120

log "runbook run planned-switchover"
SYNC2=$(sync_standby)
run_pgdr -i "$INV" runbook run "$SRC_DIR/runbooks/planned-switchover.yaml" --param candidate="$SYNC2" \
    --yes --transcript "$WORK/sw"
assert_rc 0 "runbook planned-switchover"
assert_eq "$(leader)" "$SYNC2" "the runbook moved the leader to $SYNC2"
