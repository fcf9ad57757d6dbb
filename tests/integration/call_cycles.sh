#!/usr/bin/env bash
# No call cycle between the library's object files (issue 13): every file calls
# only files below it, so a file can be read, linked and tested with what it
# calls. nm lists each object's defined and undefined global symbols; an object
# that leaves a symbol undefined which another defines calls it. A strongly
# connected component of more than one object is a cycle: the test names its
# files and the symbols that tie them, and fails.
set -u
. "$(dirname "$0")/lib/skip.sh"
build=${ASH_BUILD_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/build}

command -v nm >/dev/null || ash_skip_all "nm is needed (apt install binutils)"
for py in python3 /usr/bin/python3; do
    if "$py" -c 'import sys' 2>/dev/null; then
        PY=$py
        break
    fi
done
[ -n "${PY:-}" ] || ash_skip_all "python3 is needed"

# The library's objects: one object library per layer (CMakeLists.txt, ash_<layer>).
mapfile -t objs < <(find "$build/CMakeFiles" -path '*/ash_*.dir/*' -name '*.o' | sort)
[ "${#objs[@]}" -gt 0 ] || ash_skip_all "no library objects under $build/CMakeFiles (build first)"

# "object<TAB>kind<TAB>symbol", kind D (defined) or U (undefined).
nm -A --defined-only --extern-only "${objs[@]}" 2>/dev/null |
    awk '{ n = split($1, a, ":"); if (NF >= 3 && $2 !~ /^[wvU]$/) print a[1] "\tD\t" $3 }' >"$build/call_cycles.syms"
nm -A --undefined-only "${objs[@]}" 2>/dev/null |
    awk '{ n = split($1, a, ":"); print a[1] "\tU\t" $NF }' >>"$build/call_cycles.syms"

exec "$PY" - "$build" <<'EOF'
import collections, sys

build = sys.argv[1]
defined, needs = {}, collections.defaultdict(set)
for line in open(build + "/call_cycles.syms"):
    obj, kind, sym = line.rstrip("\n").split("\t")
    if kind == "D":
        defined[sym] = obj
    else:
        needs[obj].add(sym)

edges = collections.defaultdict(dict)  # caller -> callee -> symbols
for obj, syms in needs.items():
    for sym in syms:
        callee = defined.get(sym)
        if callee and callee != obj:
            edges[obj].setdefault(callee, set()).add(sym)

# Tarjan's strongly connected components, iterative (the graph is a few hundred nodes).
index, low, on, stack, sccs, counter = {}, {}, set(), [], [], [0]
nodes = sorted(set(edges) | {c for e in edges.values() for c in e})
for root in nodes:
    if root in index:
        continue
    work = [(root, iter(sorted(edges.get(root, {}))))]
    index[root] = low[root] = counter[0]; counter[0] += 1
    stack.append(root); on.add(root)
    while work:
        node, it = work[-1]
        nxt = next(it, None)
        if nxt is not None:
            if nxt not in index:
                index[nxt] = low[nxt] = counter[0]; counter[0] += 1
                stack.append(nxt); on.add(nxt)
                work.append((nxt, iter(sorted(edges.get(nxt, {})))))
            elif nxt in on:
                low[node] = min(low[node], index[nxt])
            continue
        work.pop()
        if work:
            low[work[-1][0]] = min(low[work[-1][0]], low[node])
        if low[node] == index[node]:
            comp = []
            while True:
                w = stack.pop(); on.discard(w); comp.append(w)
                if w == node:
                    break
            if len(comp) > 1:
                sccs.append(sorted(comp))

def short(obj):
    i = obj.find("/src/")
    return obj[i + 1:-2] if i >= 0 else obj

for comp in sccs:
    print("call cycle between %s:" % ", ".join(short(o) for o in comp))
    for a in comp:
        for b in comp:
            if b in edges.get(a, {}):
                print("  %s -> %s: %s" % (short(a), short(b), ", ".join(sorted(edges[a][b]))))
if sccs:
    print("%d call cycle(s): move the shared piece into a lower file, or pass it in" % len(sccs))
    sys.exit(1)
print("no call cycle between %d library objects" % len(nodes))
EOF
