#!/usr/bin/env python3
# Writes report.json files whose timelines are as crowded as reports get, derived from a fixture:
#   OUT/burst20/: 20 events (faults, detections, remediations) within one second of t_inject;
#   OUT/dense-incident/: shaped like ioffice-dns-misresolution: three faults, detections and
#   remediations close together, long names, and an incident with its own clock and an assumed time.
# Used by tests/integration/report_browser.sh; `aftershock report DIR` renders them.
import copy, json, os, sys

src, out = sys.argv[1], sys.argv[2]
base = json.load(open(src))


def write(name, doc):
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    doc.pop("summary", None)
    json.dump(doc, open(os.path.join(d, "report.json"), "w"), indent=2)


burst = copy.deepcopy(base)
burst["scenario"] = "burst-20-events-in-one-second"
run = burst["runs"][0]
t0 = run["t_inject_ms"]
run["faults"] = [{"name": f"fault-{i}", "kind": "exec", "injected_ms": t0 + i * 100.0,
                  "reverted_ms": t0 + 9000.0 + i, "inject_latency_ms": 0.5, "error": None} for i in range(4)]
run["detections"] = [{"detector": f"detector-number-{i}", "at_ms": t0 + 150.0 + i * 60.0, "detail": "burst"}
                     for i in range(8)]
run["remediations"] = [{"name": f"remediation-step-{i}", "at_ms": t0 + 200.0 + i * 70.0, "ok": i % 3 != 2,
                        "error": None if i % 3 != 2 else "exit 1"} for i in range(8)]
run["timeline"] += [{"t_ms": d["at_ms"], "event": "detected", "detail": d["detector"]} for d in run["detections"]]
write("burst20", burst)

dense = copy.deepcopy(base)
dense["scenario"] = "ioffice-dns-misresolution-dense"
dense["title"] = "Server nodes stop resolving correctly in DNS; restarts fail until the DNS configuration changes"
dense["incident"] = {"source": "001_2679c349c9de04b3.txt", "title": "iOFFICE site access: nodes misresolving in DNS",
                     "fault_at": "08:15", "detected_at": "08:15", "mitigated_at": "13:50", "recovered_at": "14:10",
                     "assumed": ["detected_at"], "ttd_ms": 0.0, "ttr_ms": 21300000.0, "timescale": 1200,
                     "scaled_ttd_ms": 0.0, "scaled_ttr_ms": 17750.0, "ttd_basis": "assumed", "ttr_basis": "stated"}
run = dense["runs"][0]
t0 = run["t_inject_ms"]
run["faults"] = [
    {"name": "split-dns-answers-for-app-nodes", "kind": "dns", "injected_ms": t0, "reverted_ms": t0 + 11000.0,
     "inject_latency_ms": 0.3, "error": None},
    {"name": "restart-out-of-sequence", "kind": "process", "injected_ms": t0 + 120.0, "reverted_ms": t0 + 400.0,
     "inject_latency_ms": 2.1, "error": None},
    {"name": "stale-resolver-cache", "kind": "dns", "injected_ms": t0 + 180.0, "reverted_ms": t0 + 11000.0,
     "inject_latency_ms": 0.2, "error": None},
]
run["detections"] = [
    {"detector": "node-alerts", "at_ms": t0 + 210.0, "detail": "app-1 cannot resolve db"},
    {"detector": "dns-check", "at_ms": t0 + 230.0, "detail": "app-2 got 10.9.0.7 for db"},
    {"detector": "probes", "at_ms": t0 + 3320.705, "detail": "site probe failed 3 times"},
]
run["remediations"] = [
    {"name": "restart-app-nodes", "at_ms": t0 + 260.0, "ok": False, "error": "app-2 did not come back"},
    {"name": "change-dns-configuration", "at_ms": t0 + 10990.0, "ok": True, "error": None},
]
# Out of order on purpose: the renderers sort.
run["timeline"] = run["timeline"][:3] + [
    {"t_ms": t0 + 3528.888, "event": "remediation", "detail": "restart-app-nodes retried"},
    {"t_ms": t0 + 3320.705, "event": "detected", "detail": "probes: site probe failed 3 times"},
] + run["timeline"][3:]
write("dense-incident", dense)
