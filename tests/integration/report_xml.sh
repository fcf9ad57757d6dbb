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
    check('value="null"' not in open(path, encoding="utf-8").read(), f"{path}: a property says the string null")
    suites = root.findall("testsuite")
    # One suite per scenario run (one for a report without runs).
    want_suites = sum(max(1, len(r["runs"] or [])) for r in reports)
    check(len(suites) == want_suites, f"{path}: {len(suites)} suites for {want_suites} runs")
    total = {"tests": 0, "failures": 0, "errors": 0}
    pairs = []
    for rep in reports:
        runs = rep["runs"] or [None]
        pairs += [(rep, run) for run in runs]
    for suite, (rep, run) in zip(suites, pairs):
        cases = suite.findall("testcase")
        check(int(suite.get("tests")) == len(cases), f"{path}: tests attribute disagrees with testcases")
        f = sum(1 for c in cases if c.find("failure") is not None)
        e = sum(1 for c in cases if c.find("error") is not None)
        check(int(suite.get("failures")) == f, f"{path}: failures attribute {suite.get('failures')} != {f}")
        check(int(suite.get("errors")) == e, f"{path}: errors attribute {suite.get('errors')} != {e}")
        n = len(rep["runs"] or [])
        want_name = rep["scenario"] if n <= 1 else f"{rep['scenario']} (run {run['index']} of {n})"
        check(suite.get("name") == want_name, f"{path}: suite name {suite.get('name')} != {want_name}")
        names = [c.get("name") for c in cases]
        check(names[0] == "run", f"{path}: first testcase is {names[0]}, not run")
        for k, c in enumerate(cases):
            check(c.get("classname") == "aftershock." + rep["scenario"], f"{path}: classname {c.get('classname')}")
        if run is None:
            check(cases[0].find("error") is not None, f"{path}: a report without runs has no errored run case")
            for k in total:
                total[k] += int(suite.get(k))
            continue
        # One testcase per expectation and per verify check, failing exactly when it was missed.
        exps = run.get("expectations") or []
        checks = run.get("verify") or []
        check(names[1:] == [x["name"] for x in exps] + ["verify: " + v["name"] for v in checks],
              f"{path}: testcases {names}")
        for c, x in zip(cases[1:], exps):
            check((c.find("failure") is not None) == (x["met"] is False), f"{path}: {x['name']} failure disagrees")
        for c, v in zip(cases[1 + len(exps):], checks):
            check((c.find("failure") is not None) == (v["met"] is not True), f"{path}: verify {v['name']} disagrees")
        props = {p.get("name"): p.get("value") for p in suite.find("properties")}
        for key, status in (("ttd_ms", "ttd.status"), ("ttr_ms", "ttr.status")):
            if run.get(key) is None:
                check(key not in props, f"{path}: {key} property for a figure not reached")
                check(props.get(status) in ("not detected", "not recovered"), f"{path}: {status} {props.get(status)}")
            else:
                check(props.get(key) == "%.3f" % run[key], f"{path}: {key} property {props.get(key)}")
                check(props.get(status) == "measured", f"{path}: {status} {props.get(status)}")
        check(props.get("detected_by") == run.get("detected_by"), f"{path}: detected_by property")
        check(props.get("resolution_ms") == ("%.3f" % run["resolution_ms"] if run.get("resolution_ms") is not None
                                             else None), f"{path}: resolution_ms property")
        inc = rep.get("incident")
        if inc:
            for w in ("ttd", "ttr"):
                want = "unknown" if inc.get(w + "_ms") is None else inc.get(w + "_basis", "stated")
                check(props.get(f"incident.{w}.basis") == want, f"{path}: incident.{w}.basis {props.get(f'incident.{w}.basis')} != {want}")
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
# The cards at the top and the run table each link every report once, in the same order.
cards = next(d for d in index.iter(XHTML + "div") if d.get("class") == "cards")
card_links = [a.get("href") for a in cards.iter(XHTML + "a")]
table = next(index.iter(XHTML + "table"))
links = [a.get("href") for a in table.iter(XHTML + "a")]
check(card_links == links, f"index cards {card_links} and table {links} disagree")
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
xmllint --noout "$out"/*/junit.xml "$out"/all-junit.xml "$out"/*/report.html "$out"/*/gameday.html "$out"/index.html \
    "$out"/variants/index.html "$out"/variants/*/report.html

# A JUnit consumer's view: every junit.xml validates against the Jenkins/Ant junit shape
# (tests/fixtures/junit/junit.xsd), and the schema does reject what is broken.
xsd="$(dirname "$0")/../fixtures/junit/junit.xsd"
xmllint --noout --schema "$xsd" "$out"/*/junit.xml "$out"/all-junit.xml "$out"/variants/*/junit.xml 2>"$out/xsd.log" || {
    cat "$out/xsd.log" >&2
    echo "report_xml: a junit.xml does not validate against $xsd" >&2
    exit 1
}
bad=0
for broken in \
    '<testsuites><testsuite name="s" tests="1" failures="0" errors="0" time="1"><testcase classname="c" time="0"/></testsuite></testsuites>' \
    '<testsuites><testsuite name="s" tests="1" failures="0" errors="0" time="1" timestamp="2025-03-14T09:30:00.001Z"/></testsuites>' \
    '<testsuites><testsuite name="s" tests="1" errors="0" time="1"/></testsuites>' \
    '<testsuites><testsuite name="s" tests="1" failures="0" errors="0" time="1"><testcase name="a" classname="c" time="0"><failure/><error/></testcase></testsuite></testsuites>'; do
    printf '%s\n' "$broken" >"$out/broken.xml"
    if xmllint --noout --schema "$xsd" "$out/broken.xml" 2>/dev/null; then
        echo "report_xml: the JUnit schema accepted a broken document: $broken" >&2
        bad=1
    fi
done
[ "$bad" = 0 ] || exit 1
echo "report_xml: every junit.xml validates against $xsd; 4 broken documents rejected"
