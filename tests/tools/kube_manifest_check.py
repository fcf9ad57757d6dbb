#!/usr/bin/python3
"""Check Kubernetes manifests offline against the API's types, as Debian ships them.

kube_manifest_check.py FILE.yaml...

No API server runs here, so `kubectl apply --dry-run=client` cannot even map a kind
(it asks the server's discovery), and `--validate=strict` downloads the server's OpenAPI
document. Debian's python3-kubernetes carries the API's types generated from that
OpenAPI document (openapi_types, attribute_map, required fields enforced by each model's
setters): this walks every document against them and reports, with the path:
  - a kind/apiVersion the client does not know;
  - a field the type does not have (what `kubectl --validate=strict` calls unknown);
  - a value of the wrong type (a string where an integer or a list is expected, ...);
  - a required field that is missing (the model's own client-side validation).
It does NOT check what only a server does: admission (Pod Security, quotas), defaults,
cross-object references (a Secret or ServiceAccount that exists), or fields newer than
the client's API version (python3-kubernetes 22.6: Kubernetes 1.22).
Exit 0 when every document passes, 1 with one line per problem otherwise.
"""
import re
import sys

import yaml
from kubernetes import client

problems = []


def cls_for(api_version, kind):
    # apps/v1 DaemonSet -> V1DaemonSet, autoscaling/v2beta2 ... -> V2beta2...
    version = api_version.rpartition("/")[2]
    return getattr(client.models, "V" + version[1:] + str(kind), None)


def check(value, typ, path):
    if value is None:
        return
    m = re.match(r"list\[(.*)\]$", typ)
    if m:
        if not isinstance(value, list):
            problems.append("%s: expected a list, got %s" % (path, type(value).__name__))
            return
        for i, v in enumerate(value):
            check(v, m.group(1), "%s[%d]" % (path, i))
        return
    m = re.match(r"dict\(str, (.*)\)$", typ)
    if m:
        if not isinstance(value, dict):
            problems.append("%s: expected a mapping, got %s" % (path, type(value).__name__))
            return
        for k, v in value.items():
            check(v, m.group(1), "%s.%s" % (path, k))
        return
    simple = {"str": str, "int": int, "bool": bool, "float": (int, float), "datetime": str, "date": str}
    if typ in simple:
        ok = isinstance(value, simple[typ]) and not (typ == "int" and isinstance(value, bool))
        if not ok:
            problems.append("%s: expected %s, got %s %r" % (path, typ, type(value).__name__, value))
        return
    if typ == "object":
        return  # IntOrString and friends: any scalar or mapping
    model = getattr(client.models, typ, None)
    if model is None:
        return
    if not isinstance(value, dict):
        problems.append("%s: expected a %s mapping, got %s" % (path, typ, type(value).__name__))
        return
    by_json = {j: a for a, j in model.attribute_map.items()}
    for k, v in value.items():
        if k not in by_json:
            problems.append("%s: unknown field %r in %s" % (path, k, typ))
            continue
        check(v, model.openapi_types[by_json[k]], "%s.%s" % (path, k))
    # Required fields: the model's setters refuse None for them (client-side validation).
    try:
        model(**{a: value[j] for a, j in model.attribute_map.items() if j in value})
    except ValueError as e:
        problems.append("%s: %s" % (path, str(e).replace("`", "'")))

for f in sys.argv[1:]:
    try:
        docs = list(yaml.safe_load_all(open(f)))
    except yaml.YAMLError as e:
        problems.append("%s: not YAML: %s" % (f, e))
        continue
    for i, d in enumerate(docs):
        if d is None:
            continue
        where = "%s[%d]" % (f, i)
        if not isinstance(d, dict) or "kind" not in d or "apiVersion" not in d:
            problems.append("%s: a manifest needs apiVersion and kind" % where)
            continue
        model = cls_for(d["apiVersion"], d["kind"])
        if model is None:
            problems.append("%s: unknown kind %s %s" % (where, d["apiVersion"], d["kind"]))
            continue
        where += " %s %s" % (d["kind"], (d.get("metadata") or {}).get("name", "?"))
        check(d, model.__name__, where)

for p in problems:
    print(p)
sys.exit(1 if problems else 0)
