#!/usr/bin/env python3
"""End-to-end: the real pgdr binary against the fake OVH API (tests/fake_ovh/fake_ovh.py).

Usage: test_ovh.py PGDR_BINARY
Starts the fake on a random loopback port, runs provision / destroy / ovh check|credential with
an inventory in a temporary directory, and stops the fake even when a check fails. Every pgdr
run uses -vvv, and no output may contain the application key, secret or consumer key.
"""

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE = os.path.join(HERE, "..", "fake_ovh", "fake_ovh.py")
PROJECT = "0123456789abcdef0123456789abcdef"
FAILURES = []
OUTPUTS = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        FAILURES.append(what)
    return cond


class Fake:
    def __init__(self, tmp, config):
        path = os.path.join(tmp, "fake.json")
        with open(path, "w") as f:
            json.dump(config, f)
        self.proc = subprocess.Popen([sys.executable, FAKE, "--config", path, "--ready-polls",
                                      "2"], stdout=subprocess.PIPE, text=True)
        self.port = int(self.proc.stdout.readline().strip())
        self.base = "http://127.0.0.1:%d" % self.port

    def control(self, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data,
                                     method="POST" if data is not None else "GET")
        with urllib.request.urlopen(req, timeout=10) as r:
            text = r.read().decode()
            return json.loads(text) if text else None

    def resources(self, kind=None):
        return [r for r in self.control("/_fake/state") if kind is None or r["kind"] == kind]

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def main():
    pgdr = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.environ["PGDR"])
    tmp = tempfile.mkdtemp(prefix="pgdr-e2e-ovh-")
    ak, as_, ck = secrets.token_hex(8), secrets.token_hex(16), secrets.token_hex(16)
    ck_get_only = secrets.token_hex(16)
    all_rules = [{"method": m, "path": "/*"} for m in ("GET", "POST", "PUT", "DELETE")]
    config = {
        "applications": {ak: as_},
        "consumers": {ck: {"application": ak, "rules": all_rules},
                      ck_get_only: {"application": ak,
                                    "rules": [{"method": "GET", "path": "/*"}]}},
        "projects": {PROJECT: {"name": "e2e", "regions": ["GRA11", "SBG5"]}},
    }
    fake = Fake(tmp, config)
    try:
        run_all(pgdr, tmp, fake, ak, as_, ck, ck_get_only)
    finally:
        fake.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    secrets_seen = [name for name, value in (("application key", ak),
                                             ("application secret", as_),
                                             ("consumer key", ck),
                                             ("restricted consumer key", ck_get_only))
                    if any(value in text for text in OUTPUTS)]
    check(not secrets_seen, "no key or secret in any output of %d runs at -vvv (seen: %s)"
          % (len(OUTPUTS) // 2, ", ".join(secrets_seen) or "none"))
    if FAILURES:
        print("\n%d check(s) failed:" % len(FAILURES))
        for f in FAILURES:
            print("  - " + f)
        return 1
    print("\nall checks passed")
    return 0


def run_all(pgdr, tmp, fake, ak, as_, ck, ck_get_only):
    home = os.path.join(tmp, "home")
    os.makedirs(home)
    with open(os.path.join(tmp, "id_e2e.pub"), "w") as f:
        f.write("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE2eTestKeyOnlyForTheFakeApi e2e\n")
    inventory = os.path.join(tmp, "cluster.yaml")
    with open(inventory, "w") as f:
        f.write("""cluster: e2e
release: trixie
network:
  cidr: 10.42.0.0/24
  ssh_allowed_cidrs: [203.0.113.0/24]
ssh: {user: debian}
hosts:
  - {name: pg1, region: GRA11, zone: a, services: [postgres, etcd, haproxy]}
  - {name: pg2, region: GRA11, zone: b, services: [postgres, etcd, haproxy]}
  - {name: pg3, region: GRA11, zone: c, services: [postgres, etcd, haproxy]}
provider:
  type: ovh
  ovh:
    project_id: %s
    regions: [GRA11]
    flavor: b3-8
    image: Debian 13
    ssh_public_key_file: id_e2e.pub
""" % PROJECT)
    state_file = os.path.join(tmp, "cluster.state", "state.json")
    base_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home, "NO_COLOR": "1",
                "OVH_ENDPOINT": fake.base + "/1.0", "OVH_APPLICATION_KEY": ak,
                "OVH_APPLICATION_SECRET": as_, "OVH_CONSUMER_KEY": ck}

    def pgdr_run(*args, env=None, timeout=180):
        e = dict(base_env)
        e.update(env or {})
        p = subprocess.run([pgdr, "-vvv"] + list(args), cwd=tmp, env=e, text=True,
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
        OUTPUTS.extend([p.stdout, p.stderr])
        return p

    def posts(path_part):
        return len([r for r in fake.control("/_fake/requests")
                    if r["method"] == "POST" and path_part in r["path"]])

    def auth_times():
        return len([r for r in fake.control("/_fake/requests") if r["path"] == "/1.0/auth/time"])

    def state():
        with open(state_file) as f:
            return json.load(f)

    # --- credentials and project access
    p = pgdr_run("ovh", "check", "-i", inventory)
    check(p.returncode == 0, "ovh check succeeds (rc %d)" % p.returncode)
    check("access rules" in p.stdout and "FAILED" not in p.stdout, "ovh check reports every check ok")

    # --- plan changes nothing
    p = pgdr_run("provision", "-i", inventory, "--plan")
    check(p.returncode == 0, "provision --plan succeeds (rc %d)" % p.returncode)
    check("8 to create" in p.stdout, "plan: 8 to create (key, net, subnet, sg, group, 3 instances)")
    check(fake.resources() == [], "plan created nothing")

    # --- provision with the API clock 2 hours ahead of this machine
    fake.control("/_fake/config", {"skew": 7200})
    times_before = auth_times()
    p = pgdr_run("provision", "-i", inventory)
    check(p.returncode == 0, "provision with a skewed API clock succeeds (rc %d): %s"
          % (p.returncode, p.stderr[-400:]))
    check(re.search(r"clock offset: 7(199|200) s", p.stderr) is not None,
          "the 7200 s clock offset was measured once and used")
    check(auth_times() - times_before == 1, "/auth/time was asked once in the run")
    instances = fake.resources("compute/instance")
    check(len(instances) == 3 and all(i["status"] == "READY" for i in instances),
          "3 instances READY")
    check(sorted(i["name"] for i in instances) == ["pgdr-e2e-pg1", "pgdr-e2e-pg2", "pgdr-e2e-pg3"],
          "instances are named pgdr-<cluster>-<host>")
    sg = fake.resources("securityGroup")
    check(len(sg) == 1, "one security group")
    if sg:
        rules = sorted((r["portRangeMin"], r["portRangeMax"], r["remoteIpPrefix"], r["protocol"],
                        r["direction"]) for r in sg[0]["spec"]["rules"])
        members = ["10.42.0.%d/32" % i for i in (10, 11, 12)]
        want = sorted([(lo, hi, m) for lo, hi in ((5432, 5432), (8008, 8008), (2379, 2380))
                       for m in members] +
                      [(5000, 5000, "10.42.0.0/24"), (5001, 5001, "10.42.0.0/24"),
                       (7000, 7000, "10.42.0.0/24"), (22, 22, "203.0.113.0/24")])
        check(rules == [w + ("TCP", "INGRESS") for w in want],
              "security group per role: cluster ports from the members, HAProxy's from the "
              "subnet, SSH from ssh_allowed_cidrs only")
    group = fake.resources("compute/instanceGroup")
    check(len(group) == 1 and group[0]["spec"]["policy"] == "ANTI_AFFINITY",
          "one anti-affinity group")
    check(all(i["spec"]["group"]["id"] == group[0]["id"] for i in instances) if group else False,
          "every instance is in the anti-affinity group")
    st = state()
    hosts = st.get("hosts", {})
    check(sorted(hosts) == ["pg1", "pg2", "pg3"], "state lists the 3 hosts")
    check([hosts[h]["address"] for h in sorted(hosts)] == ["10.42.0.10", "10.42.0.11",
                                                           "10.42.0.12"],
          "state: private addresses in the cluster subnet")
    check(all(hosts[h]["public_address"].startswith("192.0.2.") and hosts[h]["instance_id"]
              and hosts[h]["region"] == "GRA11" for h in hosts),
          "state: public addresses, instance ids and regions")
    check(st.get("provider", {}).get("regions", {}).get("GRA11", {}).get("network_id"),
          "state: provider ids recorded")
    check(oct(os.stat(state_file).st_mode & 0o777) == "0o600", "state file is 0600")

    # --- second run: nothing to do
    before = posts("/")
    p = pgdr_run("provision", "-i", inventory)
    check(p.returncode == 0 and "0 created, 0 updated, 0 deleted" in p.stdout,
          "re-run: 0 created, 0 updated, 0 deleted")
    check(posts("/") == before, "re-run sent no POST")
    p = pgdr_run("--output", "json", "provision", "-i", inventory, "--plan")
    plan = json.loads(p.stdout) if p.returncode == 0 else {}
    check(plan.get("create") == 0 and plan.get("update") == 0 and plan.get("delete") == 0,
          "--output json plan: nothing to create/update/delete")

    # --- destroy refuses without --yes when stdin is not a terminal
    p = pgdr_run("destroy", "-i", inventory)
    check(p.returncode == 2 and "--yes" in p.stderr, "destroy without --yes on a pipe is refused")
    check(len(fake.resources("compute/instance")) == 3, "refused destroy deleted nothing")

    # --- destroy, with a 503 on the way
    fake.control("/_fake/inject", {"method": "DELETE", "path": "/compute/instance/",
                                   "mode": "error", "status": 503, "count": 1})
    p = pgdr_run("destroy", "-i", inventory, "--yes")
    check(p.returncode == 0, "destroy --yes succeeds despite a 503 (rc %d): %s"
          % (p.returncode, p.stderr[-300:]))
    check(fake.resources() == [], "destroy: everything is gone")
    check(state().get("hosts") == {}, "destroy: state emptied")
    p = pgdr_run("destroy", "-i", inventory, "--yes")
    check(p.returncode == 0 and "nothing" in p.stdout, "destroy again: nothing to delete")

    # --- injected 429 / 5xx / timeouts: converges, no duplicate
    fake.control("/_fake/config", {"skew": -600})
    for rule in (
        {"method": "GET", "path": "/compute/instance$", "mode": "error", "status": 429,
         "retry_after": 1, "count": 1},
        {"method": "GET", "path": "/network$", "mode": "error", "status": 503, "count": 2},
        {"method": "GET", "path": "/securityGroup/", "mode": "error", "status": 500, "count": 1},
        {"method": "GET", "path": "/compute/instanceGroup/", "mode": "timeout", "delay": 3,
         "count": 1},
        {"method": "POST", "path": "/compute/instance$", "mode": "timeout_after_apply",
         "delay": 3, "count": 1},
        {"method": "POST", "path": "/compute/instance$", "mode": "error", "status": 500,
         "count": 1},
        {"method": "POST", "path": "/network$", "mode": "error", "status": 429, "retry_after": 1,
         "count": 1},
    ):
        fake.control("/_fake/inject", rule)
    p = pgdr_run("provision", "-i", inventory, "--api-timeout", "2")
    check(p.returncode == 0, "provision converges under 429/5xx/timeouts (rc %d): %s"
          % (p.returncode, p.stderr[-400:]))
    names = [i["name"] for i in fake.resources("compute/instance")]
    check(sorted(names) == ["pgdr-e2e-pg1", "pgdr-e2e-pg2", "pgdr-e2e-pg3"],
          "no duplicate instance after a timed-out POST (got %s)" % sorted(names))
    log = fake.control("/_fake/requests")
    seen = {str(r["status"]) for r in log}
    check({"429", "503", "500", "timeout", "applied-then-timeout"} <= seen,
          "every injected fault happened (%s)" % sorted(seen))
    check("checking by name" in p.stderr, "after an unknown POST outcome pgdr looked up by name")
    check(len(fake.resources("network")) == 1, "no duplicate network after a 429 on POST")
    p = pgdr_run("provision", "-i", inventory)
    check(p.returncode == 0 and "0 created" in p.stdout, "after faults, a re-run changes nothing")
    p = pgdr_run("destroy", "-i", inventory, "--yes")
    check(p.returncode == 0 and fake.resources() == [], "destroy after the fault run")

    # --- quota: a clear message, nothing created
    fake.control("/_fake/config", {"quota": {"GRA11": 2}, "skew": 0})
    p = pgdr_run("provision", "-i", inventory)
    check(p.returncode == 4, "quota exceeded: exit 4 (rc %d)" % p.returncode)
    check("quota" in p.stderr and "allows 2 more" in p.stderr and "nothing was created" in p.stderr,
          "quota: the message names the quota and says nothing was created")
    check(fake.resources() == [], "quota: nothing half-made")
    p = pgdr_run("provision", "-i", inventory, "--plan")
    check(p.returncode == 4 and "blocker: quota" in p.stdout, "quota: --plan shows the blocker")
    fake.control("/_fake/config", {"quota": {}})

    # --- bad credentials: clear errors, exit 4
    p = pgdr_run("provision", "-i", inventory, env={"OVH_APPLICATION_SECRET": "x" * 32})
    check(p.returncode == 4 and "Invalid signature" in p.stderr and "hint:" in p.stderr,
          "wrong application secret: exit 4, 'Invalid signature' with a hint (rc %d)"
          % p.returncode)
    p = pgdr_run("provision", "-i", inventory, env={"OVH_CONSUMER_KEY": "y" * 32})
    check(p.returncode == 4 and "This credential does not exist" in p.stderr,
          "unknown consumer key: exit 4 (rc %d)" % p.returncode)
    p = pgdr_run("provision", "-i", inventory, env={"OVH_APPLICATION_KEY": "z" * 16})
    check(p.returncode == 4 and "Invalid application key" in p.stderr,
          "unknown application key: exit 4 (rc %d)" % p.returncode)
    p = pgdr_run("provision", "-i", inventory, env={"OVH_CONSUMER_KEY": ck_get_only})
    check(p.returncode == 4 and
          "POST /v2/publicCloud/project/%s/" % PROJECT in p.stderr,
          "GET-only consumer key: exit 4 and the missing access rule is named (rc %d)"
          % p.returncode)
    p = pgdr_run("ovh", "check", "-i", inventory, env={"OVH_CONSUMER_KEY": ck_get_only})
    check(p.returncode == 4 and "missing POST" in p.stdout,
          "ovh check lists the missing access rules")
    p = pgdr_run("provision", "-i", inventory, env={"OVH_APPLICATION_SECRET": ""})
    check(p.returncode == 3 and "OVH_APPLICATION_SECRET" in p.stderr,
          "missing secret: exit 3 naming the variable")
    check(fake.resources() == [], "bad credentials created nothing")

    # --- a consumer key with the rules pgdr needs
    p = pgdr_run("ovh", "credential", "-i", inventory)
    check(p.returncode == 0 and "validation URL: http://127.0.0.1" in p.stdout
          and "POST /v2/publicCloud/project/%s/compute/instance" % PROJECT in p.stdout,
          "ovh credential prints the validation URL and the rules")
    check("POST /cloud/project/%s/user/*/s3Credentials" % PROJECT in p.stdout,
          "ovh credential asks for the Object Storage routes too")

    run_backup_storage(pgdr_run, fake, tmp)


def run_backup_storage(pgdr_run, fake, tmp):
    """Issue 14: the backups' bucket, S3 user, credential and policy in the backup region."""
    inventory = os.path.join(tmp, "backup.yaml")
    with open(inventory, "w") as f:
        f.write("""cluster: e2eb
release: trixie
network:
  cidr: 10.43.0.0/24
  ssh_allowed_cidrs: [203.0.113.0/24]
ssh: {user: debian}
hosts:
  - {name: pg1, region: GRA11, services: [postgres, etcd, haproxy]}
  - {name: pg2, region: GRA11, services: [postgres, etcd, haproxy]}
  - {name: pg3, region: GRA11, services: [postgres, etcd, haproxy]}
provider:
  type: ovh
  ovh:
    project_id: %s
    regions: [GRA11]
    backup_region: SBG5
    ssh_public_key_file: id_e2e.pub
""" % PROJECT)
    state_dir = os.path.join(tmp, "backup.state")
    secrets_file = os.path.join(state_dir, "secrets", "s3-credentials")
    base = "/1.0/cloud/project/%s" % PROJECT

    def storage():
        return fake.control("/_fake/storage")

    def calls(method, part):
        return [r for r in fake.control("/_fake/requests")
                if r["method"] == method and part in r["path"]]

    p = pgdr_run("provision", "-i", inventory, "--plan")
    check(p.returncode == 0 and re.search(r"create\s+bucket\s+pgdr-e2eb-backup\s+SBG5", p.stdout)
          and re.search(r"create\s+s3 user", p.stdout) and re.search(r"create\s+s3 credential",
                                                                      p.stdout)
          and re.search(r"create\s+s3 policy", p.stdout),
          "backup plan lists the bucket in SBG5, the S3 user, credential and policy")
    check("12 to create" in p.stdout, "backup plan: 8 + 4 to create")
    check("provider.ovh.backup_region is deprecated" in p.stderr
          and "bucket: pgdr-e2eb-backup" in p.stderr,
          "backup_region still works, with a warning that names the backup section to write")
    check(storage() == {"containers": [], "users": []}, "backup plan created nothing")

    p = pgdr_run("provision", "-i", inventory)
    check(p.returncode == 0, "provision with backup_region succeeds (rc %d): %s"
          % (p.returncode, p.stderr[-400:]))
    st = storage()
    containers, users = st["containers"], st["users"]
    check([(c["name"], c["region"]) for c in containers] == [("pgdr-e2eb-backup", "SBG5")],
          "one container pgdr-e2eb-backup in SBG5")
    check(len(users) == 1 and users[0]["role"] == "objectstore_operator"
          and users[0]["description"] == "pgdr-e2eb-backup",
          "one S3 user with the objectstore_operator role")
    creds = users[0]["credentials"] if users else {}
    check(len(creds) == 1, "one S3 credential")
    policy = json.loads(users[0]["policy"] or "{}") if users else {}
    resources = sorted(r for stmt in policy.get("Statement", []) for r in stmt["Resource"])
    check(resources == ["arn:aws:s3:::pgdr-e2eb-backup", "arn:aws:s3:::pgdr-e2eb-backup/*"],
          "the policy allows the bucket alone")
    polls = calls("GET", "%s/user/%d" % (base, users[0]["id"])) if users else []
    check(len(polls) >= 2, "the user was polled until ok (%d GETs)" % len(polls))
    with open(os.path.join(state_dir, "state.json")) as f:
        state_text = f.read()
    rec = json.loads(state_text).get("provider", {}).get("object_storage", {})
    access, secret = (list(creds.items()) or [("", "")])[0]
    check(rec.get("bucket") == "pgdr-e2eb-backup" and rec.get("region") == "SBG5"
          and rec.get("access_key") == access and rec.get("user_id") == str(users[0]["id"]),
          "state records region, bucket, user id and access key")
    check(secret and secret not in state_text, "the secret is not in the state")
    check(os.path.exists(secrets_file) and oct(os.stat(secrets_file).st_mode & 0o777) == "0o600",
          "secrets/s3-credentials is 0600")
    with open(secrets_file) as f:
        check(f.read() == "access_key=%s\nsecret_key=%s\n" % (access, secret),
              "secrets/s3-credentials holds access_key= and secret_key=")
    check(not any(secret in text for text in OUTPUTS), "the S3 secret is in no output at -vvv")

    before = len(calls("POST", "/"))
    p = pgdr_run("provision", "-i", inventory)
    check(p.returncode == 0 and "0 created, 0 updated, 0 deleted" in p.stdout,
          "backup re-run: 0 created, 0 updated, 0 deleted")
    check(len(calls("POST", "/")) == before, "backup re-run sent no POST")

    # Backups in the bucket: destroy keeps it (and its user and credential).
    fake.control("/_fake/object", {"region": "SBG5", "bucket": "pgdr-e2eb-backup",
                                   "key": "backup/db/backup.info", "size": 1234})
    p = pgdr_run("destroy", "-i", inventory, "--yes")
    check(p.returncode == 0, "destroy --yes with backups in the bucket succeeds (rc %d): %s"
          % (p.returncode, p.stderr[-300:]))
    check("--delete-backups" in p.stdout, "destroy says how to delete the backups")
    st = storage()
    check(len(st["containers"]) == 1 and len(st["users"]) == 1
          and len(st["users"][0]["credentials"]) == 1,
          "a bucket holding backups is kept with its user and credential")
    check(fake.resources() == [], "the instances and networks are gone")
    with open(os.path.join(state_dir, "state.json")) as f:
        check("object_storage" in json.load(f).get("provider", {}),
              "the state still records the kept bucket")
    check(os.path.exists(secrets_file), "the kept credential's secret file stays")

    # --delete-backups needs the typed cluster name, even with --yes.
    p = pgdr_run("destroy", "-i", inventory, "--yes", "--delete-backups")
    check(p.returncode == 2 and "--yes-really e2eb" in p.stderr,
          "--delete-backups --yes on a pipe is refused, naming --yes-really (rc %d)"
          % p.returncode)
    check(len(storage()["containers"]) == 1, "the refused --delete-backups deleted nothing")
    p = pgdr_run("destroy", "-i", inventory, "--delete-backups", "--yes-really", "wrong")
    check(p.returncode == 2 and len(storage()["containers"]) == 1,
          "--yes-really with another name is refused")
    p = pgdr_run("destroy", "-i", inventory, "--delete-backups", "--yes-really", "e2eb")
    check(p.returncode == 0, "destroy --delete-backups --yes-really e2eb (rc %d): %s"
          % (p.returncode, p.stderr[-300:]))
    check(storage() == {"containers": [], "users": []},
          "bucket, user and credential are deleted")
    order = [(r["method"], r["path"]) for r in fake.control("/_fake/requests")
             if "/storage/pgdr-e2eb-backup" in r["path"] and r["method"] != "GET"]
    check(order[-2:] == [("POST", base + "/region/SBG5/storage/pgdr-e2eb-backup/bulkDeleteObjects"),
                         ("DELETE", base + "/region/SBG5/storage/pgdr-e2eb-backup")],
          "the bucket is emptied (bulkDeleteObjects) before it is deleted")
    check(not os.path.exists(secrets_file), "the secret file is removed with the credential")


if __name__ == "__main__":
    sys.exit(main())
