#!/usr/bin/env bash
# The lab's S3 endpoint without a lab: `pgdr lab s3-serve` on 127.0.0.1 with its own CA,
# driven over HTTPS by a SigV4 client (tests/e2e/s3_sigv4.py) and by curl.
# Needs: $PGDR (the binary), python3, curl. No root, no lab, loopback only.
set -u
here=$(cd "$(dirname "$0")" && pwd)
pgdr=${PGDR:?set PGDR to the pgdr binary}
tmp=$(mktemp -d /tmp/pgdr-e2e-s3-XXXXXX)
server_pid=""
failures=0
cleanup() {
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; fi
    rm -rf "$tmp"
}
trap cleanup EXIT
check() {  # check DESCRIPTION COMMAND...
    local what=$1; shift
    if "$@"; then echo "ok   $what"; else echo "FAIL $what"; failures=$((failures + 1)); fi
}
start_server() {
    rm -f "$tmp/s3/port"
    "$pgdr" -v lab s3-serve --dir "$tmp" --address 127.0.0.1 --port 0 >>"$tmp/server.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 100); do
        [ -s "$tmp/s3/port" ] && break
        sleep 0.1
    done
    port=$(cat "$tmp/s3/port" 2>/dev/null | tr -d '\n')
}
stop_server() {
    kill "$server_pid"; wait "$server_pid" 2>/dev/null; server_pid=""
}
s3() {  # s3 METHOD TARGET [BODY_FILE]: status on line 1, body after
    python3 "$here/s3_sigv4.py" --endpoint "127.0.0.1:$port" --region lab \
        --credentials "$tmp/s3/credentials" --ca "$tmp/s3/ca.pem" "$@"
}
mode() { stat -c %a "$1"; }

start_server
check "s3-serve listens and writes its port (${port:-none})" test -n "${port:-}"
[ -n "${port:-}" ] || { cat "$tmp/server.log"; exit 1; }
check "credentials file is 0600" test "$(mode "$tmp/s3/credentials")" = 600
check "server key is 0600" test "$(mode "$tmp/s3/server.key")" = 600
check "credentials file has access_key= and secret_key= lines" \
    grep -qE '^access_key=PGDRLAB' "$tmp/s3/credentials"

# HTTPS: verified with the lab CA, refused without it.
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$tmp/s3/ca.pem" "https://127.0.0.1:$port/pgdr-lab")
check "curl with the lab CA: TLS verified, an unsigned request is refused (HTTP $code)" test "$code" = 403
curl -s -o /dev/null "https://127.0.0.1:$port/" ; rc=$?
check "curl without the lab CA: certificate verification fails (curl exit $rc)" test "$rc" = 60
python3 "$here/s3_sigv4.py" --endpoint "127.0.0.1:$port" --region lab \
    --credentials "$tmp/s3/credentials" GET /pgdr-lab >/dev/null 2>"$tmp/notls.err"; rc=$?
check "SigV4 client with the system CAs only: TLS refused (exit $rc)" test "$rc" = 3

# Objects in the bucket.
printf 'pgbackrest archive segment\n' >"$tmp/obj"
out=$(s3 PUT /pgdr-lab/archive/db/000000010000000000000001 "$tmp/obj")
check "PutObject: 200" test "$(head -1 <<<"$out")" = 200
out=$(s3 GET /pgdr-lab/archive/db/000000010000000000000001)
check "GetObject returns the bytes" test "$(sed -n 2p <<<"$out")" = "pgbackrest archive segment"
out=$(s3 GET '/pgdr-lab?list-type=2&prefix=archive/')
check "ListObjectsV2 lists the key" grep -q '<Key>archive/db/000000010000000000000001</Key>' <<<"$out"

# The credential is scoped to the lab bucket; a wrong secret is refused.
out=$(s3 PUT /other-bucket)
check "CreateBucket of another bucket: 403 AccessDenied" \
    test "$(head -1 <<<"$out")" = 403 -a -n "$(grep -o AccessDenied <<<"$out")"
out=$(s3 --secret-override wrong-secret GET /pgdr-lab/archive/db/000000010000000000000001)
check "a wrong secret: 403 SignatureDoesNotMatch" grep -q SignatureDoesNotMatch <<<"$out"

# A restart keeps the credential, the certificate and the objects.
cert_before=$(sha256sum <"$tmp/s3/server.pem")
stop_server
start_server
check "restarted" test -n "${port:-}"
check "the certificate is kept across restarts" test "$(sha256sum <"$tmp/s3/server.pem")" = "$cert_before"
out=$(s3 GET /pgdr-lab/archive/db/000000010000000000000001)
check "the object is still there after a restart" test "$(sed -n 2p <<<"$out")" = "pgbackrest archive segment"
check "the request log names no secret" \
    bash -c "! grep -qF \"$(sed -n 's/^secret_key=//p' "$tmp/s3/credentials")\" '$tmp/server.log'"

echo
if [ "$failures" -gt 0 ]; then
    echo "$failures check(s) failed"; echo "--- server log"; cat "$tmp/server.log"; exit 1
fi
echo "all checks passed"
