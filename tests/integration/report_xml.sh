#!/bin/bash
# Renders every report fixture (via `test_report --render`) and checks the outputs with a real XML parser:
# JUnit structure and counts, the HTML page and its SVG timelines (one strip per probe, one rect per sample), the index.
set -euo pipefail
. "$(dirname "$0")/lib/skip.sh"

build=${ASH_BUILD_DIR:-build}
bin="$build/tests/test_report"
if [ ! -x "$bin" ]; then
    echo "report_xml: $bin is missing; build the project first (cmake --build $build)" >&2
    exit 1
fi
if ! command -v python3 >/dev/null 2>&1; then
    ash_skip_all "python3 is not installed (needed for xml.etree); apt-get install python3"
fi

out=$(mktemp -d "${TMPDIR:-/tmp}/ash-report-xml-XXXXXX")
trap 'rm -rf -- "$out"' EXIT

"$bin" --render "$out"

python3 - "$out" <<'PY'
import json, os, sys
import xml.etree.ElementTree as ET

out = sys.argv[1]
SVG = "{http://www.w3.org/2000/svg}"
XHTML = "{http://www.w3.org/1999/xhtml}"
fixtures = ["pass", "fail", "aborted", "repeat3", "nulls", "setup_error"]
problems = []

def check(cond, what):
    if not cond:
        problems.append(what)

def check_junit(path, reports):
    root = ET.parse(path).getroot()
    check(root.tag == "testsuites", f"{path}: root is {root.tag}")
    suites = root.findall("testsuite")
    check(len(suites) == len(reports), f"{path}: {len(suites)} suites for {len(reports)} reports")
    total = {"tests": 0, "failures": 0, "errors": 0}
    for suite, rep in zip(suites, reports):
        cases = suite.findall("testcase")
        runs = rep["runs"] or []
        check(len(cases) == max(1, len(runs)), f"{path}: {len(cases)} testcases for {len(runs)} runs")
        check(int(suite.get("tests")) == len(cases), f"{path}: tests attribute disagrees with testcases")
        f = sum(1 for c in cases if c.find("failure") is not None)
        e = sum(1 for c in cases if c.find("error") is not None)
        check(int(suite.get("failures")) == f, f"{path}: failures attribute {suite.get('failures')} != {f}")
        check(int(suite.get("errors")) == e, f"{path}: errors attribute {suite.get('errors')} != {e}")
        check(suite.get("name") == rep["scenario"], f"{path}: suite name {suite.get('name')}")
        for case, run in zip(cases, runs):
            check(case.get("name") == f"{rep['scenario']} run {run['index']}", f"{path}: case name {case.get('name')}")
            props = {p.get("name"): p.get("value") for p in case.find("properties")}
            want = "null" if run.get("ttd_ms") is None else "%.3f" % run.get("ttd_ms")
            check(props.get("ttd_ms") == want, f"{path}: ttd_ms property {props.get('ttd_ms')} != {want}")
            check(props.get("detected_by") == (run.get("detected_by") or "null"), f"{path}: detected_by property")
            missed = [x["name"] for x in run.get("expectations") or [] if x["met"] is False]
            fail = case.find("failure")
            if fail is not None:
                for name in missed:
                    check(name in fail.get("message"), f"{path}: failure message lacks {name}")
        for k in total:
            total[k] += int(suite.get(k))
    for k in total:
        check(int(root.get(k)) == total[k], f"{path}: testsuites {k} {root.get(k)} != {total[k]}")

def check_html(path, rep):
    root = ET.parse(path).getroot()
    check(root.tag == XHTML + "html", f"{path}: root is {root.tag}")
    check(not list(root.iter(XHTML + "script")), f"{path}: has a script")
    svgs = list(root.iter(SVG + "svg"))
    runs = rep["runs"] or []
    check(len(svgs) == len(runs), f"{path}: {len(svgs)} timelines for {len(runs)} runs")
    for svg, run in zip(svgs, runs):
        strips = [g for g in svg.iter(SVG + "g") if g.get("class") == "probe-strip"]
        probes = run.get("probes") or []
        check(len(strips) == len(probes), f"{path}: {len(strips)} strips for {len(probes)} probes")
        for g, p in zip(strips, probes):
            check(g.get("data-probe") == p["name"], f"{path}: strip {g.get('data-probe')} for probe {p['name']}")
            rects = [r for r in g.iter(SVG + "rect") if r.get("class") in ("ok", "bad")]
            series = p["series"] or []
            check(len(rects) == len(series), f"{path}: {len(rects)} sample rects for {len(series)} samples")
            bad = sum(1 for r in rects if r.get("class") == "bad")
            check(bad == sum(1 for s in series if not s[2]), f"{path}: failed-sample rects disagree")
        faults = [g for g in svg.iter(SVG + "g") if g.get("class") == "fault"]
        injected = [f for f in run.get("faults") or [] if f["injected_ms"] is not None]
        check(len(faults) == len(injected), f"{path}: {len(faults)} fault windows for {len(injected)} faults")
        markers = [g.get("class") for g in svg.iter(SVG + "g") if (g.get("class") or "").startswith("marker")]
        check(("marker inject" in markers) == (run.get("t_inject_ms") is not None), f"{path}: t_inject marker")
        check(("marker recover" in markers) == (run.get("ttr_ms") is not None), f"{path}: recovery marker")
        det = sum(1 for m in markers if m == "marker detect")
        check(det == len(run.get("detections") or []), f"{path}: {det} detection markers")

reports = []
for name in fixtures:
    d = os.path.join(out, name)
    rep = json.load(open(os.path.join(d, "report.json")))
    reports.append(rep)
    check_junit(os.path.join(d, "junit.xml"), [rep])
    check_html(os.path.join(d, "report.html"), rep)
    md = open(os.path.join(d, "report.md"), encoding="utf-8").read()
    check(md.startswith("# aftershock: "), f"{name}/report.md: no title")
check_junit(os.path.join(out, "all-junit.xml"), reports)

index = ET.parse(os.path.join(out, "index.html")).getroot()
links = [a.get("href") for a in index.iter(XHTML + "a")]
check(sorted(links) == sorted(f"{n}/report.html" for n in fixtures), f"index links: {links}")
for link in links:
    check(os.path.isfile(os.path.join(out, link)), f"index links to missing {link}")
# Newest first: started_at descending.
order = [l.split("/")[0] for l in links]
stamps = [next(r["started_at"] for n, r in zip(fixtures, reports) if n == d) for d in order]
check(stamps == sorted(stamps, reverse=True), f"index order {order}")

# The variant pair (test_report --render writes it into variants/): the
# comparison section parses and holds the known difference.
vindex = ET.parse(os.path.join(out, "variants", "index.html")).getroot()
vtext = " ".join("".join(e.itertext()) for e in vindex.iter(XHTML + "td"))
check("2.00 s sooner (-66.4%" in vtext, f"variants/index.html: no known difference in {vtext[:300]!r}")
check(os.path.isfile(os.path.join(out, "variants", "comparison.md")), "variants/comparison.md missing")

if problems:
    print("\n".join("report_xml: " + p for p in problems))
    sys.exit(1)
print(f"report_xml: {len(fixtures)} fixtures rendered; JUnit, HTML/SVG and index parse and agree with report.json")
PY

# A second, independent parser (libxml2-utils: scripts/install-deps.sh --test).
if ! command -v xmllint >/dev/null 2>&1; then
    echo "report_xml: xmllint is not installed (apt-get install libxml2-utils; scripts/install-deps.sh --test does)" >&2
    exit 1
fi
xmllint --noout "$out"/*/junit.xml "$out"/all-junit.xml "$out"/*/report.html "$out"/index.html \
    "$out"/variants/index.html "$out"/variants/*/report.html
