#!/usr/bin/env python3
"""A minimal S3 client (AWS Signature Version 4, path-style, HTTPS) for the e2e tests of the
lab's S3 endpoint: python3's standard library only.

Usage: s3_sigv4.py --endpoint HOST:PORT --region R --credentials FILE [--ca FILE | --no-ca]
                   METHOD PATH [BODY_FILE]
Prints the HTTP status on the first line, then the response body. Exit 0 whatever the status;
exit 3 when TLS verification fails (the message on stderr).
"""
import argparse
import datetime
import hashlib
import hmac
import http.client
import ssl
import sys
import urllib.parse


def read_keys(path):
    keys = {}
    with open(path) as f:
        for line in f:
            if "=" in line and not line.lstrip().startswith("#"):
                k, v = line.split("=", 1)
                keys[k.strip()] = v.strip()
    return keys["access_key"], keys["secret_key"]


def canonical_query(query):
    pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
    enc = [(urllib.parse.quote(k, safe="-_.~"), urllib.parse.quote(v, safe="-_.~"))
           for k, v in pairs]
    return "&".join("%s=%s" % kv for kv in sorted(enc))


def sign(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--region", required=True)
    ap.add_argument("--credentials", required=True)
    ap.add_argument("--ca")
    ap.add_argument("--secret-override")
    ap.add_argument("method")
    ap.add_argument("target")
    ap.add_argument("body", nargs="?")
    a = ap.parse_args()
    access, secret = read_keys(a.credentials)
    if a.secret_override:
        secret = a.secret_override
    body = open(a.body, "rb").read() if a.body else b""
    path, _, query = a.target.partition("?")
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = now.strftime("%Y%m%d")
    payload = hashlib.sha256(body).hexdigest()
    headers = {"host": a.endpoint, "x-amz-date": amz_date, "x-amz-content-sha256": payload}
    signed = sorted(headers)
    canonical = "\n".join([a.method, urllib.parse.quote(path, safe="/-_.~"),
                           canonical_query(query),
                           "".join("%s:%s\n" % (h, headers[h]) for h in signed),
                           ";".join(signed), payload])
    scope = "%s/%s/s3/aws4_request" % (day, a.region)
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    k = sign(("AWS4" + secret).encode(), day)
    k = sign(k, a.region)
    k = sign(k, "s3")
    k = sign(k, "aws4_request")
    signature = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = ("AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, "
                                "Signature=%s" % (access, scope, ";".join(signed), signature))
    ctx = ssl.create_default_context(cafile=a.ca) if a.ca else ssl.create_default_context()
    host, _, port = a.endpoint.rpartition(":")
    conn = http.client.HTTPSConnection(host, int(port), context=ctx, timeout=10)
    try:
        conn.request(a.method, a.target, body=body, headers=headers)
    except ssl.SSLError as e:
        print("TLS: %s" % e, file=sys.stderr)
        return 3
    r = conn.getresponse()
    print(r.status)
    sys.stdout.write(r.read().decode("utf-8", "replace"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
