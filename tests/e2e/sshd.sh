# A private OpenSSH server on 127.0.0.1 for tests: its own host keys, config and authorized key
# in a temporary directory, a free high port, started and stopped by the test (by PID).
# start_sshd DIR → sets SSHD_PORT, SSHD_PID, SSH_KEY (client private key), SSHD_DIR.

start_sshd() {
    SSHD_DIR=$1
    mkdir -p "$SSHD_DIR"
    chmod 700 "$SSHD_DIR"
    ssh-keygen -q -t ed25519 -N '' -f "$SSHD_DIR/host_ed25519" -C pgdr-test-host
    ssh-keygen -q -t ed25519 -N '' -f "$SSHD_DIR/client_ed25519" -C pgdr-test-client
    cp "$SSHD_DIR/client_ed25519.pub" "$SSHD_DIR/authorized_keys"
    chmod 600 "$SSHD_DIR/authorized_keys"
    SSH_KEY=$SSHD_DIR/client_ed25519
    SSHD_PORT=$(free_port)
    mkdir -p /run/sshd
    cat > "$SSHD_DIR/sshd_config" <<CFG
Port $SSHD_PORT
ListenAddress 127.0.0.1
HostKey $SSHD_DIR/host_ed25519
PidFile $SSHD_DIR/sshd.pid
AuthorizedKeysFile $SSHD_DIR/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
LogLevel VERBOSE
CFG
    /usr/sbin/sshd -D -e -f "$SSHD_DIR/sshd_config" 2>"$SSHD_DIR/sshd.log" &
    SSHD_PID=$!
    on_exit "kill $SSHD_PID 2>/dev/null; wait $SSHD_PID 2>/dev/null"
    local i
    for i in $(seq 1 50); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$SSHD_PORT") 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    cat "$SSHD_DIR/sshd.log" >&2
    fail "sshd did not start"
}

# The host key line as a known_hosts entry for 127.0.0.1:PORT.
known_hosts_line() {
    echo "[127.0.0.1]:$SSHD_PORT $(cut -d' ' -f1,2 "$SSHD_DIR/host_ed25519.pub")"
}
