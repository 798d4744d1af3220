#!/usr/bin/env python3
"""A fake OVH API for pgdr's tests (Python 3 stdlib only, loopback only).

It checks requests the way the real API does (application key, consumer key and its access
rules, timestamp window, "$1$" SHA-1 signature over AS+CK+METHOD+URL+BODY+TS) and models what
pgdr uses: v1 /auth/time (from a clock that can be skewed), /auth/credential,
/auth/currentCredential, /cloud/project/{p} (project, flavor with quota, image, instance status
and the power actions reboot/stop/start), and v2 /v2/publicCloud/project/{p}/... sshKey,
network, network/{id}/subnet, securityGroup, compute/instanceGroup, compute/instance with
resourceStatus CREATING -> READY and DELETING -> 404 after some polls and/or seconds.
Object Storage (v1): /cloud/project/{p}/region/{R}/storage[/{name}[/object|/bulkDeleteObjects]]
(a non-empty container cannot be deleted: 409), /user[/{id}] (status creating -> ok after one
poll), /user/{id}/s3Credentials[/{access}], /user/{id}/policy (a JSON document as a string).

Faults are injected through the test-only control endpoint (no authentication, /_fake/...):
  POST /_fake/inject  {"method":"POST","path":"regex","mode":"error|timeout|timeout_after_apply|slow",
                       "status":503,"count":1,"delay":3,"retry_after":1}
  POST /_fake/config  {"skew":3600,"ready_polls":2,"ready_seconds":0,"quota":{"GRA11":2},"window":180}
  GET  /_fake/state   every resource;  GET /_fake/requests  the request log
  POST /_fake/remove  {"kind":"compute/instance","name":...}  drop resources at once (benchmarks)
  GET  /_fake/storage  containers and S3 users;  POST /_fake/object {"region","bucket","key"}
Usage: fake_ovh.py --config FILE [--port 0] [--ready-polls N] [--ready-seconds S] [--skew S]
The chosen port is printed on stdout as soon as the server listens.
"""

import argparse
import hashlib
import ipaddress
import json
import re
import socketserver
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

LOCK = threading.RLock()
CONF = {}          # applications, consumers, projects (from --config)
SETTINGS = {"skew": 0, "ready_polls": 2, "ready_seconds": 0.0, "window": 180, "page_size": 0,
            "quota": {}}
RESOURCES = {}     # id -> record
INJECTIONS = []
REQUEST_LOG = []
POWER = {}         # instance id -> {"status", "target", "since", "polls"}
COUNTER = {"query": 0, "public_ip": 10, "user": 1000}
CONTAINERS = {}    # (project, region, name) -> {"name", "region", "objects": {key: size}}
USERS = {}         # id -> {"id", "description", "role", "polls", "credentials": {access: secret},
                   #        "policy"}
BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")

V2_KINDS = ["sshKey", "network", "subnet", "securityGroup", "compute/instanceGroup",
            "compute/instance"]
PROTOCOLS = {"AH", "DCCP", "EGP", "ESP", "GRE", "ICMP", "ICMPV6", "IGMP", "OSPF", "PGM", "RSVP",
             "SCTP", "TCP", "UDP", "UDPLITE", "VRRP"}
HTML_ERROR = ("<html><head><title>{0} {1}</title></head><body><center><h1>{0} {1}</h1>"
              "</center><hr><center>fake-ovh</center></body></html>")


def server_now():
    return time.time() + SETTINGS["skew"]


def now_iso():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class ApiError(Exception):
    def __init__(self, status, cls, message, code=None):
        super().__init__(message)
        self.status, self.cls, self.message, self.code = status, cls, message, code

    def body(self):
        b = {"class": self.cls, "message": self.message}
        if self.code:
            b["errorCode"] = self.code
            b["httpCode"] = "%d %s" % (self.status, {400: "Bad Request", 401: "Unauthorized",
                                                      403: "Forbidden", 404: "Not Found",
                                                      409: "Conflict"}.get(self.status, ""))
        return b


def bad(message, code=None):
    return ApiError(400, "Client::BadRequest", message, code)


def not_found(what="The requested object does not exist"):
    return ApiError(404, "Client::NotFound", what)


# ---------------------------------------------------------------- authentication
def rule_allows(rules, method, path):
    for r in rules:
        if r.get("method") != method:
            continue
        # OVH's wildcard: '*' matches any run of characters, '/' included.
        pattern = "^" + ".*".join(re.escape(part) for part in r.get("path", "").split("*")) + "$"
        if re.match(pattern, path, re.S):
            return True
    return False


def authenticate(handler, method, url, body, rule_path, signed):
    ak = handler.headers.get("X-Ovh-Application")
    apps = CONF.get("applications", {})
    if not ak or ak not in apps:
        raise ApiError(403, "Client::Forbidden", "Invalid application key", "INVALID_KEY")
    if not signed:
        return None
    ck = handler.headers.get("X-Ovh-Consumer")
    if not ck:
        raise ApiError(401, "Client::Unauthorized", "You must login first", "NOT_AUTHENTICATED")
    consumer = CONF.get("consumers", {}).get(ck)
    if consumer is None or consumer.get("application") != ak:
        raise ApiError(403, "Client::Forbidden", "This credential does not exist",
                       "INVALID_CREDENTIAL")
    if consumer.get("state", "validated") != "validated":
        raise ApiError(403, "Client::Forbidden", "This credential is not valid",
                       "INVALID_CREDENTIAL")
    ts_text = handler.headers.get("X-Ovh-Timestamp", "")
    try:
        ts = int(ts_text)
    except ValueError:
        raise bad("Invalid timestamp", "INVALID_TIMESTAMP")
    if abs(ts - server_now()) > SETTINGS["window"]:
        raise bad("Invalid timestamp: the query is out of the time window", "INVALID_TIMESTAMP")
    pre = "+".join([apps[ak], ck, method, url, body, ts_text])
    expected = "$1$" + hashlib.sha1(pre.encode("utf-8")).hexdigest()
    if handler.headers.get("X-Ovh-Signature") != expected:
        raise bad("Invalid signature", "INVALID_SIGNATURE")
    if not rule_allows(consumer.get("rules", []), method, rule_path):
        raise ApiError(403, "Client::Forbidden", "This call has not been granted",
                       "NOT_GRANTED_CALL")
    return consumer


# ---------------------------------------------------------------- resources
def project_or_404(pid):
    p = CONF.get("projects", {}).get(pid)
    if p is None:
        raise not_found("This service does not exist")
    return p


def advance(rec, poll):
    """CREATING/UPDATING -> READY, DELETING -> gone, after enough polls and seconds."""
    if poll:
        rec["polls"] += 1
    due = (rec["polls"] >= SETTINGS["ready_polls"] and
           time.time() - rec["changed"] >= SETTINGS["ready_seconds"])
    if rec["status"] in ("CREATING", "UPDATING") and due:
        rec["status"] = "READY"
        rec["checksum"] = uuid.uuid4().hex
        rec["currentState"] = current_state(rec)
    elif rec["status"] == "DELETING" and due:
        RESOURCES.pop(rec["id"], None)
        POWER.pop(rec["id"], None)
        return False
    return True


def current_state(rec):
    spec = rec["targetSpec"]
    if rec["kind"] == "compute/instance":
        nets = []
        for n in spec.get("networks", []):
            if n.get("autoAssignPublicIp") or n.get("public"):
                COUNTER["public_ip"] += 1
                nets.append({"id": "ext-net-" + spec["location"]["region"], "public": True,
                             "addresses": [{"ip": "192.0.2.%d" % (COUNTER["public_ip"] % 250),
                                            "type": "FIXED", "version": 4,
                                            "mac": "fa:16:3e:00:00:01"}]})
            else:
                nets.append({"id": n.get("id"), "subnetId": n.get("subnetId"), "public": False,
                             "addresses": [{"ip": n.get("ip"), "type": "FIXED", "version": 4,
                                            "mac": "fa:16:3e:00:00:02"}]})
        return {"name": spec["name"], "location": spec["location"], "networks": nets,
                "flavor": {"id": spec["flavor"]["id"], "name": "b3-8"},
                "image": {"id": spec["image"]["id"]}, "powerState": "ACTIVE",
                "securityGroups": spec.get("securityGroups"), "group": spec.get("group"),
                "sshKeyName": spec.get("sshKeyName"), "locked": False}
    state = {k: v for k, v in spec.items()}
    if rec["kind"] == "securityGroup":
        state["rules"] = [dict(r, id=str(uuid.uuid4())) for r in spec.get("rules", [])]
        state["defaultRules"] = [{"direction": "EGRESS", "ethernetType": "IPV4",
                                  "id": str(uuid.uuid4())}]
    return state


def envelope(rec):
    return {"id": rec["id"], "checksum": rec["checksum"], "createdAt": rec["createdAt"],
            "updatedAt": rec["updatedAt"], "resourceStatus": rec["status"],
            "currentTasks": [], "targetSpec": rec["targetSpec"],
            "currentState": rec.get("currentState")}


def new_record(kind, project, spec, parent=None):
    rid = str(uuid.uuid4())
    rec = {"id": rid, "kind": kind, "project": project, "parent": parent, "targetSpec": spec,
           "status": "CREATING", "polls": 0, "changed": time.time(), "checksum": uuid.uuid4().hex,
           "createdAt": now_iso(), "updatedAt": now_iso(), "currentState": None}
    RESOURCES[rid] = rec
    return rec


def live(kind, project, parent=None):
    out = []
    for rec in list(RESOURCES.values()):
        if rec["kind"] == kind and rec["project"] == project and (
                parent is None or rec["parent"] == parent):
            if advance(rec, False):
                out.append(rec)
    return out


def get_live(rid, kind, project):
    rec = RESOURCES.get(rid)
    if rec is None or rec["kind"] != kind or rec["project"] != project:
        raise not_found()
    if not advance(rec, True):
        raise not_found()
    return rec


def need_ready(rid, kind, project, what):
    rec = RESOURCES.get(rid)
    if rec is None or rec["kind"] != kind or rec["project"] != project:
        raise bad("%s %s does not exist" % (what, rid))
    advance(rec, False)
    if rec["status"] != "READY":
        raise bad("%s %s is not READY (%s)" % (what, rid, rec["status"]))
    return rec


def flavors(pid, region):
    project = project_or_404(pid)
    quota = SETTINGS["quota"].get(region, project.get("quota", {}).get(region, 20))
    used = len([r for r in live("compute/instance", pid)
                if r["targetSpec"]["location"]["region"] == region])
    out = []
    for name, vcpus, ram in (("b3-8", 2, 8), ("b3-16", 4, 16), ("d2-4", 2, 4)):
        out.append({"id": "flavor-%s-%s" % (region.lower(), name), "name": name,
                    "region": region, "vcpus": vcpus, "ram": ram, "disk": 50,
                    "osType": "linux", "type": "ovh.ssd.cpu", "available": True,
                    "quota": max(0, quota - used)})
    return out


def images(region):
    return [
        {"id": "image-%s-debian13-gpu" % region.lower(), "name": "Debian 13", "region": region,
         "status": "active", "flavorType": "t1", "type": "linux", "user": "debian"},
        {"id": "image-%s-debian13" % region.lower(), "name": "Debian 13", "region": region,
         "status": "active", "flavorType": None, "type": "linux", "user": "debian"},
        {"id": "image-%s-debian12" % region.lower(), "name": "Debian 12", "region": region,
         "status": "active", "flavorType": None, "type": "linux", "user": "debian"},
    ]


def check_location(spec, project):
    loc = spec.get("location") or {}
    region = loc.get("region")
    if region not in project.get("regions", []):
        raise bad("Invalid value(s) received: location.region: %r is not enabled" % region)
    return region


def validate_create(kind, pid, spec, parent):
    project = project_or_404(pid)
    if not isinstance(spec, dict) or not spec.get("name"):
        raise bad("Invalid value(s) received: targetSpec.name is required")
    region = check_location(spec, project)
    if kind == "subnet":
        net = need_ready(parent, "network", pid, "network")
        if net["targetSpec"]["location"]["region"] != region:
            raise bad("subnet region differs from its network's")
        ipaddress.ip_network(spec.get("cidr", ""))
    elif kind == "securityGroup":
        for r in spec.get("rules") or []:
            if r.get("direction") not in ("INGRESS", "EGRESS") or \
               r.get("ethernetType") not in ("IPV4", "IPV6") or \
               (r.get("protocol") is not None and r["protocol"] not in PROTOCOLS):
                raise bad("Invalid value(s) received: rules: %s" % json.dumps(r))
            if r.get("remoteIpPrefix") and r.get("remoteGroup"):
                raise bad("remoteIpPrefix and remoteGroup are exclusive")
            if r.get("remoteIpPrefix"):
                ipaddress.ip_network(r["remoteIpPrefix"])
    elif kind == "compute/instanceGroup":
        if spec.get("policy") not in ("AFFINITY", "ANTI_AFFINITY"):
            raise bad("Invalid value(s) received: policy")
    elif kind == "compute/instance":
        if spec.get("flavor", {}).get("id") not in [f["id"] for f in flavors(pid, region)]:
            raise bad("Invalid value(s) received: flavor.id unknown in %s" % region)
        if spec.get("image", {}).get("id") not in [i["id"] for i in images(region)]:
            raise bad("Invalid value(s) received: image.id unknown in %s" % region)
        if not any(r["targetSpec"]["name"] == spec.get("sshKeyName")
                   for r in live("sshKey", pid)):
            raise bad("SSH key %r does not exist" % spec.get("sshKeyName"))
        for n in spec.get("networks") or []:
            if n.get("id"):
                net = need_ready(n["id"], "network", pid, "network")
                sub = need_ready(n.get("subnetId"), "subnet", pid, "subnet")
                if n.get("ip"):
                    if ipaddress.ip_address(n["ip"]) not in ipaddress.ip_network(
                            sub["targetSpec"]["cidr"]):
                        raise bad("ip %s is outside the subnet" % n["ip"])
                    for other in live("compute/instance", pid):
                        for on in other["targetSpec"].get("networks") or []:
                            if on.get("id") == net["id"] and on.get("ip") == n["ip"]:
                                raise ApiError(409, "Client::Conflict",
                                               "IP address %s is already in use" % n["ip"])
        for sg in spec.get("securityGroups") or []:
            need_ready(sg.get("id"), "securityGroup", pid, "security group")
        if spec.get("group"):
            need_ready(spec["group"].get("id"), "compute/instanceGroup", pid, "instance group")
        quota = [f for f in flavors(pid, region) if f["id"] == spec["flavor"]["id"]][0]["quota"]
        if quota <= 0:
            raise ApiError(403, "Client::Forbidden",
                           "Quota exceeded: no more instances allowed in region %s" % region)


def check_delete(kind, pid, rec):
    if kind == "network":
        if live("subnet", pid, rec["id"]):
            raise bad("Network %s still has subnets" % rec["id"])
        for inst in live("compute/instance", pid):
            if any(n.get("id") == rec["id"] for n in inst["targetSpec"].get("networks") or []):
                raise ApiError(409, "Client::Conflict", "Network is in use by an instance")
    if kind == "subnet":
        for inst in live("compute/instance", pid):
            if any(n.get("subnetId") == rec["id"]
                   for n in inst["targetSpec"].get("networks") or []):
                raise ApiError(409, "Client::Conflict", "Subnet is in use by an instance")
    if kind in ("securityGroup", "compute/instanceGroup"):
        for inst in live("compute/instance", pid):
            spec = inst["targetSpec"]
            used = [g.get("id") for g in spec.get("securityGroups") or []]
            used += [(spec.get("group") or {}).get("id")]
            if rec["id"] in used:
                raise ApiError(409, "Client::Conflict", "%s is in use by an instance" % kind)


V2_ROUTE = re.compile(r"^/v2/publicCloud/project/([^/]+)/(.*)$")


def handle_v2(method, path, body):
    m = V2_ROUTE.match(path)
    if not m:
        raise not_found("Got an invalid (or empty) URL")
    pid, rest = m.group(1), m.group(2)
    project_or_404(pid)
    parts = rest.split("/")
    if parts[0] == "sshKey":
        return handle_ssh_key(method, pid, parts[1:], body)
    if parts[0] == "network" and len(parts) >= 3 and parts[2] == "subnet":
        kind, parent, rid = "subnet", parts[1], (parts[3] if len(parts) > 3 else None)
        if RESOURCES.get(parent, {}).get("kind") != "network":
            raise not_found()
    elif parts[0] == "compute" and len(parts) >= 2:
        kind, parent, rid = "compute/" + parts[1], None, (parts[2] if len(parts) > 2 else None)
    else:
        kind, parent, rid = parts[0], None, (parts[1] if len(parts) > 1 else None)
    if kind not in V2_KINDS:
        raise not_found("Got an invalid (or empty) URL")
    if rid is None:
        if method == "GET":
            return 200, [envelope(r) for r in live(kind, pid, parent)]
        if method == "POST":
            spec = (body or {}).get("targetSpec")
            validate_create(kind, pid, spec, parent)
            rec = new_record(kind, pid, spec, parent)
            if kind == "compute/instance":
                POWER[rec["id"]] = {"status": "ACTIVE", "target": None, "since": 0, "polls": 0}
            return 200, envelope(rec)
        raise ApiError(405, "Client::MethodNotAllowed", "Method not allowed")
    if method == "GET":
        return 200, envelope(get_live(rid, kind, pid))
    rec = get_live(rid, kind, pid)
    if method == "DELETE":
        if rec["status"] != "DELETING":
            check_delete(kind, pid, rec)
            rec["status"], rec["changed"], rec["polls"] = "DELETING", time.time(), 0
        return 200, None
    if method == "PUT":
        if rec["status"] != "READY":
            raise ApiError(409, "Client::Conflict", "Resource is not READY")
        if (body or {}).get("checksum") != rec["checksum"]:
            raise ApiError(409, "Client::Conflict::ChecksumMismatch", "Checksum mismatch")
        spec = dict(rec["targetSpec"])
        spec.update(body.get("targetSpec") or {})
        rec["targetSpec"], rec["status"] = spec, "UPDATING"
        rec["changed"], rec["polls"], rec["updatedAt"] = time.time(), 0, now_iso()
        return 200, envelope(rec)
    raise ApiError(405, "Client::MethodNotAllowed", "Method not allowed")


def handle_ssh_key(method, pid, rest, body):
    keys = [r for r in RESOURCES.values() if r["kind"] == "sshKey" and r["project"] == pid]
    shape = lambda r: {"name": r["targetSpec"]["name"], "publicKey": r["targetSpec"]["publicKey"],
                       "createdAt": r["createdAt"], "updatedAt": r["updatedAt"]}
    if not rest:
        if method == "GET":
            return 200, [shape(r) for r in keys]
        if method == "POST":
            body = body or {}
            if not body.get("name") or not body.get("publicKey"):
                raise bad("Invalid value(s) received: name, publicKey")
            if any(r["targetSpec"]["name"] == body["name"] for r in keys):
                raise ApiError(409, "Client::Conflict", "SSH key already exists")
            rec = new_record("sshKey", pid, {"name": body["name"],
                                             "publicKey": body["publicKey"]})
            rec["status"] = "READY"  # synchronous
            return 200, shape(rec)
        raise ApiError(405, "Client::MethodNotAllowed", "Method not allowed")
    match = [r for r in keys if r["targetSpec"]["name"] == rest[0]]
    if not match:
        raise not_found()
    if method == "GET":
        return 200, shape(match[0])
    if method == "DELETE":
        RESOURCES.pop(match[0]["id"], None)
        return 200, None
    raise ApiError(405, "Client::MethodNotAllowed", "Method not allowed")


def v1_instance_status(rid, pid, poll):
    rec = RESOURCES.get(rid)
    if rec is None or rec["kind"] != "compute/instance" or rec["project"] != pid:
        raise not_found("Instance not found")
    if not advance(rec, False):
        raise not_found("Instance not found")
    if rec["status"] == "CREATING":
        return "BUILD"
    if rec["status"] == "DELETING":
        return "DELETING"
    p = POWER[rid]
    if p["target"]:
        if poll:
            p["polls"] += 1
        if p["polls"] >= SETTINGS["ready_polls"] and \
           time.time() - p["since"] >= SETTINGS["ready_seconds"]:
            p["status"], p["target"] = p["target"], None
    return p["status"]


def handle_v1(handler, method, path, query, body):
    if path == "/auth/time":
        return 200, int(server_now())
    if path == "/auth/currentCredential":
        c = handler.consumer
        return 200, {"credentialId": 1, "applicationId": 1, "status": c.get("state", "validated"),
                     "rules": c.get("rules", []), "creation": now_iso(),
                     "expiration": None, "lastUse": now_iso(), "allowedIPs": None,
                     "ovhSupport": False}
    m = re.match(r"^/cloud/project/([^/]+)(/.*)?$", path)
    if not m:
        raise not_found("Got an invalid (or empty) URL")
    pid, rest = m.group(1), m.group(2) or ""
    project = project_or_404(pid)
    if rest == "" and method == "GET":
        return 200, {"project_id": pid, "projectName": project.get("name", "pgdr-tests"),
                     "description": project.get("name", "pgdr-tests"), "status": "ok",
                     "access": "full", "planCode": "project.2018"}
    if rest == "/flavor" and method == "GET":
        region = query.get("region", [None])[0]
        regions = [region] if region else project.get("regions", [])
        return 200, [f for r in regions for f in flavors(pid, r)]
    if rest == "/image" and method == "GET":
        region = query.get("region", [None])[0]
        regions = [region] if region else project.get("regions", [])
        return 200, [i for r in regions for i in images(r)]
    m = re.match(r"^/region/([^/]+)/storage(/.*)?$", rest)
    if m:
        return handle_storage(method, pid, project, m.group(1), m.group(2) or "", query, body)
    m = re.match(r"^/user(/.*)?$", rest)
    if m:
        return handle_user(method, pid, m.group(1) or "", body)
    m = re.match(r"^/instance/([^/]+)(/(reboot|stop|start))?$", rest)
    if m:
        rid, action = m.group(1), m.group(3)
        if action is None and method == "GET":
            status = v1_instance_status(rid, pid, True)
            rec = RESOURCES[rid]
            return 200, {"id": rid, "name": rec["targetSpec"]["name"], "status": status,
                         "region": rec["targetSpec"]["location"]["region"]}
        if action and method == "POST":
            status = v1_instance_status(rid, pid, False)
            p = POWER[rid]
            if action == "reboot":
                if (body or {}).get("type") not in ("soft", "hard"):
                    raise bad("Invalid value(s) received: type")
                if status != "ACTIVE":
                    raise ApiError(409, "Client::Conflict", "Instance is %s" % status)
                p["status"] = "HARD_REBOOT" if body["type"] == "hard" else "REBOOT"
                p["target"] = "ACTIVE"
            elif action == "stop":
                if status != "ACTIVE":
                    raise ApiError(409, "Client::Conflict", "Instance is %s" % status)
                p["target"] = "SHUTOFF"
            else:
                if status != "SHUTOFF":
                    raise ApiError(409, "Client::Conflict", "Instance is %s" % status)
                p["target"] = "ACTIVE"
            p["since"], p["polls"] = time.time(), 0
            return 200, None
    raise not_found("Got an invalid (or empty) URL")


# ---------------------------------------------------------------- Object Storage (v1)
def container_json(c):
    return {"name": c["name"], "region": c["region"],
            "virtualHost": "%s.s3.%s.io.cloud.ovh.net" % (c["name"], s3_region(c["region"])),
            "ownerId": None, "objectsCount": len(c["objects"]),
            "objectsSize": sum(c["objects"].values()), "createdAt": now_iso()}


def s3_region(region):
    r = region.lower().rstrip("0123456789")
    return r[:-2] if len(r) > 2 and r[-2] == "-" and r[-1].isalpha() else r


def handle_storage(method, pid, project, region, rest, query, body):
    if region not in project.get("regions", []):
        raise not_found("Region %s does not exist or is not enabled" % region)
    if rest == "" and method == "GET":
        return 200, [container_json(c) for (p, r, _), c in sorted(CONTAINERS.items())
                     if p == pid and r == region]
    if rest == "" and method == "POST":
        body = body or {}
        unknown = set(body) - {"name", "versioning", "encryption", "objectLock", "ownerId",
                               "replication", "lifecycle", "tags"}
        name = body.get("name")
        if unknown or not isinstance(name, str) or not BUCKET_RE.match(name):
            raise bad("Invalid value(s) received: name")
        if any(k[0] == pid and k[2] == name for k in CONTAINERS):
            raise ApiError(409, "Client::Conflict::AlreadyExists",
                           "Container %s already exists" % name)
        CONTAINERS[(pid, region, name)] = {"name": name, "region": region, "objects": {}}
        return 200, container_json(CONTAINERS[(pid, region, name)])
    m = re.match(r"^/([^/]+)(/(object|bulkDeleteObjects))?$", rest)
    c = CONTAINERS.get((pid, region, m.group(1))) if m else None
    if c is None:
        raise not_found("Container not found")
    sub = m.group(3)
    if sub is None and method == "GET":
        return 200, container_json(c)
    if sub is None and method == "DELETE":
        if c["objects"]:
            raise ApiError(409, "Client::Conflict", "The bucket you tried to delete is not empty")
        del CONTAINERS[(pid, region, c["name"])]
        return 200, None
    if sub == "object" and method == "GET":
        return 200, [{"key": k, "versionId": None, "size": v}
                     for k, v in sorted(c["objects"].items())[:1000]]
    if sub == "bulkDeleteObjects" and method == "POST":
        objects = (body or {}).get("objects")
        if not isinstance(objects, list) or not objects or \
                not all(isinstance(o, dict) and isinstance(o.get("key"), str) for o in objects):
            raise bad("Invalid value(s) received: objects")
        for o in objects:
            c["objects"].pop(o["key"], None)
        return 200, {"deleted": [{"key": o["key"]} for o in objects], "errors": []}
    raise not_found("Got an invalid (or empty) URL")


def user_json(u, status=None):
    return {"id": u["id"], "username": "user-%d" % u["id"], "description": u["description"],
            "status": status or ("creating" if u["polls"] < 1 else "ok"),
            "roles": [{"name": u["role"]}], "creationDate": now_iso()}


def handle_user(method, pid, rest, body):
    if rest == "" and method == "GET":
        return 200, [user_json(u) for u in USERS.values() if u["project"] == pid]
    if rest == "" and method == "POST":
        body = body or {}
        if set(body) - {"description", "role", "roles"} or \
                body.get("role") not in ("objectstore_operator", "administrator"):
            raise bad("Invalid value(s) received: role")
        COUNTER["user"] += 1
        u = {"id": COUNTER["user"], "project": pid, "description": body.get("description", ""),
             "role": body["role"], "polls": 0, "credentials": {}, "policy": None}
        USERS[u["id"]] = u
        out = user_json(u, "creating")
        out["password"] = uuid.uuid4().hex
        return 200, out
    m = re.match(r"^/(\d+)(/(s3Credentials|policy)(/([^/]+))?)?$", rest)
    u = USERS.get(int(m.group(1))) if m else None
    if u is None or u["project"] != pid:
        raise not_found("User not found")
    sub, access = m.group(3), m.group(5)
    if sub is None and method == "GET":
        out = user_json(u)
        u["polls"] += 1
        return 200, out
    if sub is None and method == "DELETE":
        del USERS[u["id"]]
        return 200, None
    if sub == "s3Credentials" and access is None and method == "GET":
        return 200, [{"access": a, "userId": str(u["id"]), "tenantId": "fake"}
                     for a in u["credentials"]]
    if sub == "s3Credentials" and access is None and method == "POST":
        if body not in (None, {}):
            raise bad("Invalid value(s) received: this call takes no body")
        a, secret = uuid.uuid4().hex[:20].upper(), uuid.uuid4().hex
        u["credentials"][a] = secret
        return 200, {"access": a, "secret": secret, "userId": str(u["id"]), "tenantId": "fake"}
    if sub == "s3Credentials" and access is not None and method == "DELETE":
        if access not in u["credentials"]:
            raise not_found("Credential not found")
        del u["credentials"][access]
        return 200, None
    if sub == "policy" and method == "GET":
        return 200, {"policy": u["policy"] or ""}
    if sub == "policy" and method == "POST":
        text = (body or {}).get("policy")
        try:
            doc = json.loads(text)
            ok = isinstance(doc.get("Statement"), list)
        except (TypeError, ValueError, AttributeError):
            ok = False
        if not ok:
            raise bad("Invalid value(s) received: policy")
        u["policy"] = text
        return 200, None
    raise not_found("Got an invalid (or empty) URL")


# ---------------------------------------------------------------- control endpoint
def handle_control(method, path, body):
    if path == "/_fake/inject" and method == "POST":
        rule = {"method": None, "path": ".*", "mode": "error", "status": 503, "count": 1,
                "delay": 3.0, "retry_after": None}
        rule.update(body or {})
        INJECTIONS.append(rule)
        return 200, {"injections": len(INJECTIONS)}
    if path == "/_fake/config" and method == "POST":
        SETTINGS.update(body or {})
        return 200, SETTINGS
    if path == "/_fake/state" and method == "GET":
        for rec in list(RESOURCES.values()):
            advance(rec, False)
        return 200, [{"kind": r["kind"], "id": r["id"], "name": r["targetSpec"].get("name"),
                      "status": r["status"], "parent": r["parent"], "spec": r["targetSpec"]}
                     for r in RESOURCES.values()]
    if path == "/_fake/requests" and method == "GET":
        return 200, REQUEST_LOG
    if path == "/_fake/remove" and method == "POST":
        kind, name = (body or {}).get("kind"), (body or {}).get("name")
        for rid in [r["id"] for r in RESOURCES.values() if r["kind"] == kind and
                    (name is None or r["targetSpec"].get("name") == name)]:
            RESOURCES.pop(rid, None)
            POWER.pop(rid, None)
        return 200, None
    if path == "/_fake/reset" and method == "POST":
        RESOURCES.clear(), INJECTIONS.clear(), REQUEST_LOG.clear(), POWER.clear()
        CONTAINERS.clear(), USERS.clear()
        return 200, None
    if path == "/_fake/storage" and method == "GET":
        return 200, {"containers": [dict(container_json(c), objects=sorted(c["objects"]))
                                    for c in CONTAINERS.values()],
                     "users": [{"id": u["id"], "description": u["description"],
                                "role": u["role"], "credentials": u["credentials"],
                                "policy": u["policy"]} for u in USERS.values()]}
    if path == "/_fake/object" and method == "POST":
        for (p, r, n), c in CONTAINERS.items():
            if r == body["region"] and n == body["bucket"]:
                c["objects"][body["key"]] = int(body.get("size", 1))
                return 200, None
        raise not_found("Container not found")
    raise not_found()


def take_injection(method, path):
    for rule in INJECTIONS:
        if rule["count"] <= 0:
            continue
        if rule["method"] and rule["method"] != method:
            continue
        if not re.search(rule["path"], path):
            continue
        rule["count"] -= 1
        return dict(rule)
    return None


# ---------------------------------------------------------------- HTTP
class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-ovh/1.0"

    def log_message(self, fmt, *args):  # quiet: the request log is served at /_fake/requests
        pass

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def send(self, status, payload, raw=None, headers=None):
        data = raw if raw is not None else (b"" if payload is None and status == 200 else
                                            json.dumps(payload).encode())
        if payload is None and raw is None:
            data = b"null"
        try:
            self.send_response(status)
            COUNTER["query"] += 1
            self.send_header("X-Ovh-Queryid", "FAKE.ext-1.%08x.%d" % (id(self) & 0xffffffff,
                                                                     COUNTER["query"]))
            ctype = "text/html" if raw is not None else "application/json; charset=utf-8"
            self.send_header("Content-Type", ctype)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True

    def dispatch(self, method):
        length = int(self.headers.get("Content-Length") or 0)
        body_bytes = self.rfile.read(length) if length else b""
        body_text = body_bytes.decode("utf-8", "replace")
        split = urlsplit(self.path)
        path, query = split.path, parse_qs(split.query)
        entry = {"method": method, "path": self.path, "status": None, "time": time.time()}
        if path.startswith("/_fake/"):
            with LOCK:
                try:
                    status, payload = handle_control(method, path,
                                                     json.loads(body_text) if body_text else None)
                except ApiError as e:
                    status, payload = e.status, e.body()
            return self.send(status, payload)

        with LOCK:
            REQUEST_LOG.append(entry)
            rule = take_injection(method, path)
        if rule and rule["mode"] in ("timeout", "slow"):
            time.sleep(float(rule["delay"]))
            if rule["mode"] == "timeout":
                entry["status"] = "timeout"
                self.close_connection = True
                return
        if rule and rule["mode"] == "error":
            status = int(rule["status"])
            entry["status"] = status
            headers = {}
            if rule.get("retry_after") is not None:
                headers["Retry-After"] = str(rule["retry_after"])
            if status == 429:
                return self.send(429, {"class": "Client::TooManyRequests",
                                       "message": "Too many requests"}, headers=headers)
            text = {500: "Internal Server Error", 502: "Bad Gateway",
                    503: "Service Unavailable"}.get(status, "Error")
            return self.send(status, None, raw=HTML_ERROR.format(status, text).encode(),
                             headers=headers)

        status, payload = self.handle_api(method, path, query, body_text)
        entry["status"] = status
        if rule and rule["mode"] == "timeout_after_apply":
            time.sleep(float(rule["delay"]))  # applied, but the client gives up waiting
            entry["status"] = "applied-then-timeout"
        self.send(status, payload)

    def handle_api(self, method, path, query, body_text):
        url = "http://%s%s" % (self.headers.get("Host", ""), self.path)
        try:
            body = json.loads(body_text) if body_text else None
        except ValueError:
            return 400, bad("Invalid JSON body").body()
        with LOCK:
            try:
                if path.startswith("/1.0/"):
                    api_path = path[len("/1.0"):]
                    unsigned = api_path in ("/auth/time", "/auth/credential")
                    if api_path == "/auth/time":
                        return handle_v1(self, method, api_path, query, body)
                    self.consumer = authenticate(self, method, url, body_text, api_path,
                                                 not unsigned)
                    if api_path == "/auth/credential" and method == "POST":
                        return self.credential(body)
                    return handle_v1(self, method, api_path, query, body)
                if path.startswith("/v2/"):
                    self.consumer = authenticate(self, method, url, body_text, path, True)
                    return handle_v2(method, path, body)
                raise not_found("Got an invalid (or empty) URL")
            except ApiError as e:
                return e.status, e.body()
            except (ValueError, KeyError, TypeError) as e:
                return 400, bad("Invalid value(s) received: %s" % e).body()

    def credential(self, body):
        rules = (body or {}).get("accessRules")
        if not isinstance(rules, list) or not rules:
            raise bad("Invalid value(s) received: accessRules")
        ck = uuid.uuid4().hex
        CONF.setdefault("consumers", {})[ck] = {
            "application": self.headers.get("X-Ovh-Application"), "rules": rules,
            "state": "pendingValidation"}
        return 200, {"consumerKey": ck, "state": "pendingValidation",
                     "validationUrl": "http://%s/auth/?credentialToken=%s" % (
                         self.headers.get("Host", ""), uuid.uuid4().hex)}


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", required=True, help="JSON: applications, consumers, projects")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--ready-polls", type=int, default=2)
    ap.add_argument("--ready-seconds", type=float, default=0.0)
    ap.add_argument("--skew", type=int, default=0, help="server clock offset, seconds")
    ap.add_argument("--window", type=int, default=180, help="accepted timestamp skew, seconds")
    args = ap.parse_args()
    with open(args.config) as f:
        CONF.update(json.load(f))
    SETTINGS.update({"ready_polls": args.ready_polls, "ready_seconds": args.ready_seconds,
                     "skew": args.skew, "window": args.window})
    server = Server(("127.0.0.1", args.port), Handler)
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
