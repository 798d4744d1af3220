# Shared helpers for pgdr's end-to-end tests (bash). Each test sources this file, registers its
# cleanup with `on_exit`, and uses the assertions below; the first failed assertion ends the test
# with a message (exit 1) after the cleanups ran.
set -u -o pipefail

PGDR=${PGDR:?set PGDR to the pgdr binary}
E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC_DIR=$(cd "$E2E_DIR/../.." && pwd)
TEST_NAME=$(basename "$0" .sh)
WORK=$(mktemp -d "/tmp/pgdr-e2e-$TEST_NAME.XXXXXX")
ASSERTIONS=0
_cleanups=()

on_exit() { _cleanups+=("$*"); }
_run_cleanups() {
    local rc=$?
    local i
    _E2E_RC=$rc  # for cleanups that depend on the outcome
    for ((i = ${#_cleanups[@]} - 1; i >= 0; i--)); do
        eval "${_cleanups[$i]}" || true
    done
    rm -rf "$WORK"
    if [ $rc -eq 0 ]; then
        echo "PASS $TEST_NAME ($ASSERTIONS assertions)"
    else
        echo "FAIL $TEST_NAME (exit $rc)"
    fi
    exit $rc
}
trap _run_cleanups EXIT
trap 'exit 130' INT TERM

fail() { echo "assertion failed: $*" >&2; exit 1; }
log() { echo "--- $*" >&2; }

# run_pgdr ARGS...: runs pgdr, capturing stdout in $OUT, stderr in $ERR, exit code in $RC.
run_pgdr() {
    set +e
    OUT=$("$PGDR" "$@" 2>"$WORK/stderr")
    RC=$?
    ERR=$(cat "$WORK/stderr")
    set -e
    return 0
}

assert_rc() {
    ASSERTIONS=$((ASSERTIONS + 1))
    # stderr first, then the end of stdout: a long plan's output must not hide the error.
    [ "$RC" -eq "$1" ] || fail "${2:-command}: expected exit $1, got $RC
stderr: $ERR
stdout (last 40 lines): $(tail -n 40 <<<"$OUT")"
}
assert_contains() {  # HAYSTACK NEEDLE [what]
    ASSERTIONS=$((ASSERTIONS + 1))
    case "$1" in *"$2"*) ;; *) fail "${3:-output} does not contain '$2':
$1" ;; esac
}
assert_not_contains() {
    ASSERTIONS=$((ASSERTIONS + 1))
    case "$1" in *"$2"*) fail "${3:-output} contains '$2':
$1" ;; *) ;; esac
}
assert_eq() {
    ASSERTIONS=$((ASSERTIONS + 1))
    [ "$1" = "$2" ] || fail "${3:-value}: expected '$2', got '$1'"
}
assert_le() {
    ASSERTIONS=$((ASSERTIONS + 1))
    awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }' || fail "${3:-value}: $1 > $2"
}
json_get() {  # JSON FILTER (python expression on `d`)
    /usr/bin/python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); print(eval(sys.argv[1]))' "$2" <<<"$1"
}
free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
