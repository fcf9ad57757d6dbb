#!/bin/bash
# Opens index.html and report.html pages in headless Chromium at 1400 px and at phone width (390 px) and
# reads the rendered layout: fails when two texts of a timeline overlap, a text leaves its SVG, text is
# smaller than 12 px or below WCAG AA contrast, the page overflows sideways or a card/banner's text
# leaves its box, or the page fetches anything but itself (Chromium's own network log is read, not the
# HTML source).
#
# Pages: every report fixture re-rendered with `aftershock report DIR`, a synthetic run with 20 events
# in one second, a dense incident run shaped like ioffice-dns-misresolution (several faults, detections
# and remediations close together), real replays of ioffice-dns-misresolution (the densest bundled
# scenario) and askcody-memory-exhaustion (tests/fixtures/reports/replayed/), and the index.html. Screenshots of every page at both
# The game-day summaries (gameday.html) of every run directory too, among them the marks fixture
# (tests/fixtures/reports/gameday.json: marks, a note, a guardrail trip). A fleet run's section, with long node names.
# widths are kept under BUILD/report-screenshots/ as artifacts.
#
# The check itself must be able to fail: a planted page with overlapping labels, one that fetches an
# image and one with 9 px text are each expected to be caught.
set -euo pipefail
. "$(dirname "$0")/lib/skip.sh"

build=${ASH_BUILD_DIR:-build}
here=$(cd "$(dirname "$0")" && pwd)
bin="$build/tests/test_report"
ash="$build/aftershock"
for b in "$bin" "$ash"; do
    if [ ! -x "$b" ]; then
        echo "report_browser: $b is missing; build the project first (cmake --build $build)" >&2
        exit 1
    fi
done
chrome=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chrome" ]; then
    echo "report_browser: chromium is not installed (apt-get install --no-install-recommends chromium;" \
        "scripts/install-deps.sh --test does)" >&2
    exit 1
fi
shots="$(cd "$build" && pwd)/report-screenshots"
rm -rf -- "$shots"
mkdir -p "$shots"
out=$(mktemp -d "${TMPDIR:-/tmp}/ash-report-browser-XXXXXX")
trap 'rm -rf -- "$out"' EXIT

"$bin" --render "$out" >/dev/null

# The synthetic and dense runs: derived from the pass fixture, re-rendered by the CLI from report.json.
python3 "$here/lib/dense_reports.py" "$here/../fixtures/reports/pass.json" "$out"
# Real replays, as recorded (tests/fixtures/reports/replayed/): the densest bundled scenario.
for f in "$here"/../fixtures/reports/replayed/*.json; do
    name=$(basename "$f" .json)
    mkdir -p "$out/replayed-$name"
    cp "$f" "$out/replayed-$name/report.json"
done
# The game-day summary with people's marks, a note and a guardrail trip (gameday.html).
mkdir -p "$out/gameday"
cp "$here/../fixtures/reports/gameday.json" "$out/gameday/report.json"
# A fleet run's section (report.md/html "Fleet"): three nodes with long names, a lost probe's reason.
mkdir -p "$out/fleet"
python3 - "$here/../fixtures/reports/pass.json" "$out/fleet/report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
nodes = ["staging-eu-west-1-worker-%02d.internal.example" % i for i in range(3)]
r["runs"][0]["fleet"] = {
    "engine": "swarm", "listen": "10.0.0.1:7411", "clock_bound_ms": 0.813, "fault_bound_ms": 0.412, "probe_bound_ms": 0.401,
    "nodes": [{"node": n, "connected": i != 2, "offset_ms": 1234.567 * (i + 1) if i != 2 else None,
               "bound_ms": 0.4 if i != 2 else None, "rtt_ms": 0.8 if i != 2 else None, "clock_rounds": 16 if i != 2 else 0}
              for i, n in enumerate(nodes)],
    "faults": [{"name": "maintenance-lock", "node": nodes[0], "inject_bound_ms": 0.412, "revert_bound_ms": 0.398}],
    "probes": [{"name": "checkout-from-the-other-data-centre", "node": nodes[2], "from": "container:" + nodes[2] + "-web",
                "samples": 1234, "bound_ms": 0.401,
                "lost": "the agent of node %s stopped answering (lease lapsed after 3 s): its samples ended early" % nodes[2]}]}
json.dump(r, open(sys.argv[2], "w"))
PY
for d in "$out"/*/; do
    [ -f "$d/report.json" ] || continue
    "$ash" report "$d" >/dev/null
done

measure_js=$(
    cat <<'JS'
<script>(function () {
  var out = {overlaps: [], outside: [], small: [], overflow: [], contrast: [], boxes: 0};
  function box(e) { var r = e.getBoundingClientRect(); return {l: r.left, r: r.right, t: r.top, b: r.bottom}; }
  function name(e) { return (e.textContent || '').slice(0, 60); }
  var svgs = document.querySelectorAll('svg');
  for (var s = 0; s < svgs.length; s++) {
    var svg = svgs[s], sb = box(svg), texts = svg.querySelectorAll('text'), bs = [];
    var scale = svg.getScreenCTM() ? svg.getScreenCTM().a : 1;
    for (var i = 0; i < texts.length; i++) {
      var b = box(texts[i]);
      if (b.r - b.l <= 0) continue;
      bs.push([b, texts[i]]);
      out.boxes++;
      if (b.l < sb.l - 0.5 || b.r > sb.r + 0.5 || b.t < sb.t - 0.5 || b.b > sb.b + 0.5)
        out.outside.push(name(texts[i]));
      var px = parseFloat(getComputedStyle(texts[i]).fontSize) * scale;
      if (px < 11.95) out.small.push(name(texts[i]) + ' ' + px.toFixed(1) + 'px');
    }
    for (var i = 0; i < bs.length; i++)
      for (var j = 0; j < i; j++) {
        var a = bs[i][0], c = bs[j][0];
        if (a.l < c.r - 0.5 && c.l < a.r - 0.5 && a.t < c.b - 0.5 && c.t < a.b - 0.5)
          out.overlaps.push(name(bs[i][1]) + ' | ' + name(bs[j][1]));
      }
  }
  /* HTML text: at least 12 px wherever there is some. */
  var all = document.body.getElementsByTagName('*');
  for (var i = 0; i < all.length; i++) {
    var e = all[i];
    if (e.closest('svg') || e.id === 'ash-layout') continue;
    var own = false;
    for (var n = e.firstChild; n; n = n.nextSibling) if (n.nodeType === 3 && n.textContent.trim()) own = true;
    if (!own) continue;
    var px = parseFloat(getComputedStyle(e).fontSize);
    if (px < 11.95) out.small.push(e.tagName + ' ' + name(e) + ' ' + px + 'px');
  }
  /* WCAG AA contrast of every text against what is behind it: 4.5:1, 3:1 for large text
     (24 px, or 18.66 px bold). HTML: the nearest opaque background, translucent ones blended
     over it; SVG text: the drawing's white background. */
  function rgba(c) {
    var m = /rgba?\(([^)]+)\)/.exec(c || '');
    if (!m) return null;
    var p = m[1].split(',').map(parseFloat);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  }
  function over(top, bottom) {
    var a = top[3];
    return [top[0] * a + bottom[0] * (1 - a), top[1] * a + bottom[1] * (1 - a), top[2] * a + bottom[2] * (1 - a), 1];
  }
  function background(e) {
    var layers = [];
    for (var n = e; n && n.nodeType === 1; n = n.parentElement) {
      var b = rgba(getComputedStyle(n).backgroundColor);
      if (b && b[3] > 0) { layers.push(b); if (b[3] >= 1) break; }
    }
    var bg = [255, 255, 255, 1];
    for (var i = layers.length - 1; i >= 0; i--) bg = over(layers[i], bg);
    return bg;
  }
  function lum(c) {
    var v = c.slice(0, 3).map(function (x) { x /= 255; return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4); });
    return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2];
  }
  function ratio(a, b) { var x = lum(a), y = lum(b); return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05); }
  var texts = document.body.getElementsByTagName('*');
  for (var i = 0; i < texts.length; i++) {
    var e = texts[i], inSvg = !!e.closest('svg');
    if (e.id === 'ash-layout' || e.tagName.toLowerCase() === 'title') continue;
    var own = false;
    for (var n = e.firstChild; n; n = n.nextSibling) if (n.nodeType === 3 && n.textContent.trim()) own = true;
    if (!own) continue;
    var cs = getComputedStyle(e), fg = rgba(inSvg ? cs.fill : cs.color);
    if (!fg) continue;
    var bg = inSvg ? [255, 255, 255, 1] : background(e);
    fg = over(fg, bg);
    var px = parseFloat(cs.fontSize), bold = parseInt(cs.fontWeight, 10) >= 700;
    var need = (px >= 24 || (px >= 18.66 && bold)) ? 3 : 4.5, r = ratio(fg, bg);
    if (r < need) out.contrast.push(name(e) + ' ' + r.toFixed(2) + ':1 (needs ' + need + ')');
  }
  /* The page itself never scrolls sideways (tables and timelines scroll in their own boxes),
     and the banner's and cards' text stays inside them. */
  if (document.documentElement.scrollWidth > window.innerWidth + 1)
    out.overflow.push('page is ' + document.documentElement.scrollWidth + 'px wide in a ' + window.innerWidth + 'px window');
  var frames = document.querySelectorAll('header, header *, .card, .card *');
  for (var i = 0; i < frames.length; i++)
    if (frames[i].scrollWidth > frames[i].clientWidth + 1 && getComputedStyle(frames[i]).display !== 'inline')
      out.overflow.push(frames[i].tagName + '.' + frames[i].className + ': ' + name(frames[i]));
  var pre = document.createElement('pre');
  pre.id = 'ash-layout';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();</script>
JS
)

chrome_run() { # chrome_run NETLOG WIDTH HEIGHT ARGS...
    local netlog=$1 width=$2 height=$3
    shift 3
    timeout 60 "$chrome" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync --disable-extensions \
        --disable-default-apps --host-resolver-rules="MAP * ~NOTFOUND" --user-data-dir="$out/profile" \
        --hide-scrollbars --window-size="$width,$height" --log-net-log="$netlog" "$@" 2>/dev/null
}

# check PAGE LABEL: prints problems, returns 1 when there are any.
check() {
    local page=$1 label=$2 rc=0 width
    for width in 1400 390; do
        local copy="${page%.html}.check-$width.html" netlog="$out/net-$label-$width.json"
        # The measuring script goes into a copy only; the page under test is not changed.
        python3 - "$page" "$copy" "$measure_js" <<'PY'
import sys
src, dst, js = sys.argv[1:4]
html = open(src, encoding="utf-8").read()
assert "</body>" in html, src
open(dst, "w", encoding="utf-8").write(html.replace("</body>", js + "</body>", 1))
PY
        chrome_run "$netlog" "$width" 1200 --dump-dom "file://$copy" >"$out/dom-$label-$width.html" || true
        chrome_run "$out/net-shot.json" "$width" 2400 --screenshot="$shots/$label-$width.png" \
            "file://$page" >/dev/null || true
        python3 - "$out/dom-$label-$width.html" "$netlog" "$page" "$label@$width" <<'PY' || rc=1
import html, json, re, sys
dom, netlog, page, label = sys.argv[1:5]
text = open(dom, encoding="utf-8", errors="replace").read()
m = re.search(r'<pre id="ash-layout">(.*?)</pre>', text, re.S)
problems = []
if not m:
    problems.append("the page did not render (no layout result from Chromium)")
else:
    r = json.loads(html.unescape(m.group(1)))
    if r["boxes"] == 0 and "index" not in label and "-gameday@" not in label:  # the summary has no SVG
        problems.append("no SVG text was measured")
    for k, what in (("overlaps", "texts overlap"), ("outside", "text outside its SVG"),
                    ("small", "text under 12 px"), ("overflow", "text leaves its frame"),
                    ("contrast", "contrast below WCAG AA")):
        for x in r[k][:10]:
            problems.append(f"{what}: {x}")
# Every URL Chromium asked for: only the page itself (file://) may be fetched.
try:
    log = json.load(open(netlog))
except ValueError:
    # Chromium may leave the closing brackets off when killed; the events are still there.
    raw = open(netlog).read().rstrip().rstrip(",")
    log = json.loads(raw + ("]}" if not raw.endswith("}") else ""))
# Chromium's own background requests (component updates, time) carry the initiator "not an origin";
# a request the page makes carries the page's origin ("null" for a file:// page).
for ev in log.get("events", []):
    p = ev.get("params") or {}
    url = p.get("url")
    if not isinstance(url, str) or "initiator" not in p or p["initiator"] == "not an origin":
        continue
    if not url.startswith(("file://", "data:", "about:")):
        problems.append(f"fetches {url}")
for p in sorted(set(problems)):
    print(f"report_browser: {label}: {p}")
sys.exit(1 if problems else 0)
PY
    done
    return $rc
}

fail=0
pages=0
for page in "$out"/index.html "$out"/*/report.html "$out"/*/gameday.html; do
    label=$(basename "$(dirname "$page")")
    [ "$page" = "$out/index.html" ] && label=index
    case $page in */gameday.html) label="$label-gameday" ;; esac
    check "$page" "$label" || fail=1
    pages=$((pages + 1))
done
if [ "$pages" -lt 10 ]; then
    echo "report_browser: only $pages pages were checked" >&2
    fail=1
fi

# The checker must catch what it claims to: overlapping labels, a fetch, small text.
mkdir -p "$out/planted"
cat >"$out/planted/overlap.html" <<'HTML'
<!DOCTYPE html><html><body><svg width="300" height="60" viewBox="0 0 300 60"><text x="10" y="30" style="font-size:14px">detected: one</text><text x="30" y="32" style="font-size:14px">remediation: two</text></svg></body></html>
HTML
cat >"$out/planted/fetch.html" <<'HTML'
<!DOCTYPE html><html><body><svg width="300" height="60"><text x="10" y="30" style="font-size:14px">fine</text></svg><img src="http://reports.example.invalid/logo.png" alt=""/></body></html>
HTML
cat >"$out/planted/small.html" <<'HTML'
<!DOCTYPE html><html><body><svg width="300" height="60"><text x="10" y="30" style="font-size:9px">tiny</text></svg></body></html>
HTML
cat >"$out/planted/contrast.html" <<'HTML'
<!DOCTYPE html><html><body><svg width="300" height="60"><text x="10" y="30" style="font-size:14px">fine</text></svg><p style="color:#aaa;font-size:14px">pale grey</p></body></html>
HTML
for p in overlap fetch small contrast; do
    if check "$out/planted/$p.html" "planted-$p" >"$out/planted/$p.out"; then
        echo "report_browser: the planted '$p' page passed the check: the check is broken" >&2
        fail=1
    fi
done
grep -q "texts overlap: remediation: two | detected: one" "$out/planted/overlap.out" ||
    { echo "report_browser: planted overlap not named" >&2; fail=1; }
grep -q "fetches http://reports.example.invalid/logo.png" "$out/planted/fetch.out" ||
    { echo "report_browser: planted fetch not seen in the network log" >&2; fail=1; }
grep -q "text under 12 px: tiny" "$out/planted/small.out" ||
    { echo "report_browser: planted small text not found" >&2; fail=1; }
grep -q "contrast below WCAG AA: pale grey" "$out/planted/contrast.out" ||
    { echo "report_browser: planted low-contrast text not found" >&2; fail=1; }

if [ "$fail" -ne 0 ]; then
    echo "report_browser: FAILED (screenshots in $shots)" >&2
    exit 1
fi
echo "report_browser: $pages pages at 1400 and 390 px: no overlapping or escaping text, nothing under 12 px," \
    "contrast WCAG AA, no fetches; screenshots in $shots"
