#!/usr/bin/env bash
# docs/incidents.md lists every bundled scenario (scenarios/*.yaml and
# scenarios/prometheus/*.yaml, issue 18): a row of its scenario table names it
# (by its path under scenarios/ when in a subdirectory), and the row of its
# incident (the number of incident.source) in the chain table names it in the
# scenarios column, in full or as a suffix ("`-alerting`") of a name before it.
set -u
. "$(dirname "$0")/lib/skip.sh"
src=${ASH_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
python3 -c 'import yaml' 2>/dev/null || ash_skip_all "python3 with yaml is needed (apt install python3-yaml)"
exec python3 - "$src" <<'PY'
import glob, os, re, sys, yaml
src = sys.argv[1]
doc = open(os.path.join(src, "docs/incidents.md")).read().splitlines()
table = [l for l in doc if l.startswith("| `")]          # the scenario table's rows
chain = [l for l in doc if re.match(r"\| \d{3} ", l)]   # the chain table's rows
files = sorted(glob.glob(src + "/scenarios/*.yaml") + glob.glob(src + "/scenarios/*/*.yaml"))
fail, n = 0, 0
def check(ok, what):
    global fail
    print(("ok   " if ok else "FAIL ") + what)
    fail |= not ok
for f in files:
    sc = yaml.safe_load(open(f))
    if not isinstance(sc, dict) or "incident" not in sc:
        continue
    n += 1
    rel = os.path.relpath(f, src + "/scenarios")[:-len(".yaml")]
    check(any(l.startswith("| `%s` |" % rel) for l in table), "%s: a row of the scenario table" % rel)
    num = os.path.basename(sc["incident"]["source"])[:3]
    rows = [l for l in chain if l.startswith("| %s " % num)]
    names = set()
    for r in rows:
        cells = r.split("|")
        full = None
        for tok in re.findall(r"`([^`]+)`", cells[2] if len(cells) > 2 else ""):
            if tok.startswith("-") and full:
                names.add(full + tok)
            else:
                full = tok
                names.add(tok)
    check(rel in names, "%s: incident %s's row names it in its scenarios column (%s)" % (rel, num, sorted(names)))
check(n >= 12, "at least 12 bundled incident scenarios (got %d)" % n)
sys.exit(1 if fail else 0)
PY
