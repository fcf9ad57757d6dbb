#!/usr/bin/env bash
# deploy/kubernetes/*.yaml checked offline against the Kubernetes API's types
# (tests/tools/kube_manifest_check.py, from Debian's python3-kubernetes: unknown fields,
# wrong types, missing required fields, unknown kinds); planted broken manifests fail
# with the path of what is wrong; the agent DaemonSet's privileges are the ones
# src/fleet/kube.c creates (as tests/fixtures/kube/deploy.json checks them) and the
# RBAC grants nothing beyond the list in rbac.yaml.
set -u
. "$(dirname "$0")/lib/skip.sh"
SRC=${ASH_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
PY=/usr/bin/python3
CHK=$SRC/tests/tools/kube_manifest_check.py
D=$SRC/deploy/kubernetes
"$PY" -c 'import kubernetes, yaml' 2>/dev/null ||
  ash_skip_all "no python3-kubernetes for $PY (scripts/install-deps.sh --test installs it)"
T=$(mktemp -d /tmp/ash-km-XXXXXX)
trap 'rm -rf "$T"' EXIT
fail=0
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }

out=$("$PY" "$CHK" "$D"/*.yaml 2>&1); st=$?
check "deploy/kubernetes/*.yaml pass the API's types" '[ $st = 0 ]'
[ $st = 0 ] || echo "$out"
check "every kind is there" 'for k in Namespace ServiceAccount Role RoleBinding ClusterRole DaemonSet Job Service; do grep -q "^kind: $k$" "$D"/*.yaml || exit 1; done'
check "a README says how to apply them" '[ -s "$D/README.md" ]'

planted() { # NAME SED-EXPRESSION WANT
  local want=$3
  sed "$2" "$D/agent-daemonset.yaml" >"$T/$1.yaml"
  out=$("$PY" "$CHK" "$T/$1.yaml" 2>&1); st=$?
  check "planted $1: refused ($want)" '[ $st = 1 ] && echo "$out" | grep -qF "$want"'
  [ $st = 1 ] || echo "  got: $out"
}
planted unknown-field 's/^      hostPID: true/      hostPid: true/' "spec.template.spec: unknown field 'hostPid' in V1PodSpec"
planted wrong-type 's/^      hostPID: true/      hostPID: "yes"/' "spec.template.spec.hostPID: expected bool, got str 'yes'"
planted list-as-string 's/add: \[KILL, [A-Z_, ]*\]/add: KILL/' "capabilities.add: expected a list, got str"
planted no-selector '/^  selector:/,/^  template:/{/^  template:/!d}' "DaemonSet aftershock-agent.spec: Invalid value for 'selector', must not be 'None'"
planted bad-kind 's/^kind: DaemonSet/kind: DeamonSet/' "unknown kind apps/v1 DeamonSet"
printf 'kind: [\n' >"$T/notyaml.yaml"
out=$("$PY" "$CHK" "$T/notyaml.yaml" 2>&1); st=$?
check "planted non-YAML: refused" '[ $st = 1 ] && echo "$out" | grep -q "not YAML"'

# The privileges: the manifest's and the ones kube.c's DaemonSet is checked to have agree.
"$PY" - "$D" "$SRC/tests/fixtures/kube/deploy.json" >"$T/priv" 2>&1 <<'PY'
import json, sys, yaml
d, fixture = sys.argv[1], sys.argv[2]
ds = yaml.safe_load(open(d + "/agent-daemonset.yaml"))
spec = ds["spec"]["template"]["spec"]
sc = spec["containers"][0]["securityContext"]
checks = dict((p, v) for p, v in json.load(open(fixture))[1]["checks"])
code_caps = checks["/spec/template/spec/containers/0/securityContext/capabilities/add"]
print("caps", sc["capabilities"]["add"] == code_caps and sc["capabilities"]["drop"] == ["ALL"])
print("hostPID", spec["hostPID"] is True and not spec.get("hostNetwork") and sc["privileged"] is False)
print("no-proc-hostpath", all(v.get("hostPath", {}).get("path") != "/proc" for v in spec["volumes"]))
print("containerd-ro", any(m["mountPath"] == "/run/containerd" and m.get("readOnly") for m in spec["containers"][0]["volumeMounts"]))
print("no-token", spec["automountServiceAccountToken"] is False)
env = spec["containers"][0]["env"][0]
print("node", env["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName" and "$(NODE_NAME)" in spec["containers"][0]["args"])
rules = []
for doc in yaml.safe_load_all(open(d + "/rbac.yaml")):
    assert doc["kind"] != "ClusterRoleBinding"
    for r in doc.get("rules", []):
        for res in r["resources"]:
            for v in r["verbs"]:
                rules.append("%s/%s" % (res, v))
allowed = {"secrets/create", "secrets/delete", "daemonsets/create", "daemonsets/delete", "pods/get", "pods/list"}
print("rbac", set(rules) <= allowed and "*" not in "".join(rules))
PY
for k in caps hostPID no-proc-hostpath containerd-ro no-token node rbac; do
  check "privileges: $k" 'grep -qx "$k True" "$T/priv"'
done
grep -q Traceback "$T/priv" && cat "$T/priv"
ash_exit $fail
