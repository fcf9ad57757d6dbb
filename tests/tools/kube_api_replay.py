#!/usr/bin/env python3
"""A Kubernetes API server stand-in for tests: replays a recording, checking each request.

kube_api_replay.py RECORDING PORT_FILE LOG_FILE

Listens on 127.0.0.1 (an ephemeral port, written to PORT_FILE). RECORDING is a JSON list
of exchanges, answered in order:
  {"method": "POST", "path": "/api/v1/...", "query": {"labelSelector": "..."},
   "token": "test-token", "checks": [["/kind", "Secret"], ["/stringData/key", "~^[0-9a-f]{64}$"]],
   "status": 201, "body": {...}, "repeat": 2}
Each request must be the next exchange's method and path (query keys compared when given),
carry "Authorization: Bearer TOKEN", a JSON body with Content-Type application/json when
it has one, and satisfy every check (a JSON pointer into the body and the value it must
have; "~RE" is a regular expression; "?" only that it exists). A path or a query value
"~RE" is a regular expression too (names that carry a run id). "repeat": "*" answers
any number of matching requests, none included (a poll): a request that does not match
it goes to the next exchange. A request that does not
match is answered 599 with what was wrong, and logged as "FAIL ..." in LOG_FILE; each
request is logged as "ok METHOD PATH". A request after the recording ran out is a FAIL.
"""
import json
import re
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlsplit

recording = json.load(open(sys.argv[1]))
log = open(sys.argv[3], "a", buffering=1)
pos = {"i": 0, "left": None}


def pointer(doc, ptr):
    for part in ptr.strip("/").split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(doc, list):
            doc = doc[int(part)]
        else:
            doc = doc[part]
    return doc


def same(want, got):
    if isinstance(want, str) and want.startswith("~"):
        return isinstance(got, str) and re.search(want[1:], got) is not None
    return want == got


def problems(ex, method, url, headers, body):
    out = []
    u = urlsplit(url)
    if method != ex["method"] or not same(ex["path"], u.path):
        out.append("expected %s %s, got %s %s" % (ex["method"], ex["path"], method, u.path))
        return out
    q = {k: v[0] for k, v in parse_qs(u.query).items()}
    for k, v in ex.get("query", {}).items():
        if not same(v, q.get(k)):
            out.append("query %s: expected %r, got %r" % (k, v, q.get(k)))
    if headers.get("Authorization") != "Bearer " + ex.get("token", "test-token"):
        out.append("Authorization: got %r" % headers.get("Authorization"))
    if body is not None and headers.get("Content-Type") != "application/json":
        out.append("Content-Type: got %r" % headers.get("Content-Type"))
    if ex.get("checks") and body is None:
        out.append("no JSON body")
        return out
    for ptr, want in ex.get("checks", []):
        try:
            got = pointer(body, ptr)
        except (KeyError, IndexError, ValueError, TypeError):
            out.append("%s: missing" % ptr)
            continue
        if want == "?":
            continue
        if isinstance(want, str) and want.startswith("~"):
            if not isinstance(got, str) or not re.search(want[1:], got):
                out.append("%s: %r does not match %s" % (ptr, got, want[1:]))
        elif got != want:
            out.append("%s: expected %r, got %r" % (ptr, want, got))
    return out


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
            log.write("FAIL %s %s: the body is not JSON\n" % (self.command, self.path))
        if pos["i"] >= len(recording):
            log.write("FAIL %s %s: unexpected (the recording ran out)\n" % (self.command, self.path))
            return self.answer(599, {"kind": "Status", "message": "unexpected request"})
        ex = recording[pos["i"]]
        bad = problems(ex, self.command, self.path, self.headers, body)
        # A poll ("repeat": "*") ends at the first request that is not one of it.
        while bad and ex.get("repeat") == "*" and pos["i"] + 1 < len(recording):
            pos["i"] += 1
            pos["left"] = None
            ex = recording[pos["i"]]
            bad = problems(ex, self.command, self.path, self.headers, body)
        if ex.get("repeat") == "*":
            log.write("%s %s %s\n" % ("FAIL" if bad else "ok", self.command, urlsplit(self.path).path))
            return self.answer(599, {"kind": "Status", "message": "; ".join(bad)}) if bad else self.answer(
                ex.get("status", 200), ex.get("body", {}))
        if pos["left"] is None:
            pos["left"] = ex.get("repeat", 1)
        pos["left"] -= 1
        if pos["left"] <= 0:
            pos["i"] += 1
            pos["left"] = None
        if bad:
            log.write("FAIL %s %s: %s\n" % (self.command, self.path, "; ".join(bad)))
            return self.answer(599, {"kind": "Status", "message": "; ".join(bad)})
        log.write("ok %s %s\n" % (self.command, urlsplit(self.path).path))
        self.answer(ex.get("status", 200), ex.get("body", {}))

    do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = handle_any


srv = HTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[2] + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os  # noqa: E402

os.rename(sys.argv[2] + ".tmp", sys.argv[2])
srv.serve_forever()
