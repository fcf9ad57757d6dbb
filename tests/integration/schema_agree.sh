#!/usr/bin/env bash
# scenarios/schema.json agrees with the C parser: every valid fixture and every
# bundled scenario validates; invalid fixtures marked "# schema: reject" are
# rejected by the schema, those marked "# schema: accept" (errors only the
# parser can see: references, cycles, duplicate names) are accepted by it.
set -u
. "$(dirname "$0")/lib/skip.sh"
src=${ASH_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}

for py in python3 /usr/bin/python3; do
    if "$py" -c 'import jsonschema, yaml' 2>/dev/null; then
        PY=$py
        break
    fi
done
if [ -z "${PY:-}" ]; then
    ash_skip_all "python3 with jsonschema and yaml is needed (apt install python3-jsonschema python3-yaml)"
fi

exec "$PY" - "$src" <<'EOF'
import glob, json, os, re, sys
import jsonschema, yaml

src = sys.argv[1]

# YAML 1.2 core schema, as libyaml-based aftershock and editors read it: PyYAML's
# YAML 1.1 defaults would turn 09:30 into 570 and `no` into False.
class CoreLoader(yaml.SafeLoader):
    pass

CoreLoader.yaml_implicit_resolvers = {}
for tag, regexp, first in [
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", list("tTfF")),
    ("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", list("-+0123456789")),
    ("tag:yaml.org,2002:float",
     r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
     list("-+0123456789.")),
]:
    CoreLoader.add_implicit_resolver(tag, re.compile(regexp), first)

def construct_int(loader, node):
    v = loader.construct_scalar(node)
    if v.startswith("0o"):
        return int(v[2:], 8)
    if v.startswith("0x"):
        return int(v[2:], 16)
    return int(v)

CoreLoader.add_constructor("tag:yaml.org,2002:int", construct_int)

with open(os.path.join(src, "scenarios/schema.json")) as f:
    schema = json.load(f)
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)

failures = 0
checked = 0

def load(path):
    with open(path) as f:
        return yaml.load(f, Loader=CoreLoader)

def first_error(doc):
    errs = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    return errs[0] if errs else None

valid = sorted(glob.glob(os.path.join(src, "tests/fixtures/scenarios/valid/*.yaml")))
bundled = sorted(glob.glob(os.path.join(src, "scenarios/*.yaml")))
invalid = sorted(glob.glob(os.path.join(src, "tests/fixtures/scenarios/invalid/*.yaml")))
# Floors at the counts when they were set: a glob that finds fewer lost files.
for what, found, floor in (("valid fixtures", valid, 3), ("bundled scenarios", bundled, 8),
                           ("invalid fixtures", invalid, 46)):
    if len(found) < floor:
        failures += 1
        print(f"FAIL {len(found)} {what} found, at least {floor} expected")
for path in valid + bundled:
    checked += 1
    try:
        e = first_error(load(path))
    except yaml.YAMLError as ex:
        e = ex
    if e is not None:
        failures += 1
        where = "/".join(str(p) for p in getattr(e, "absolute_path", []))
        print(f"FAIL {os.path.relpath(path, src)}: the schema rejects a valid scenario at '{where}': "
              f"{getattr(e, 'message', e)}")
    else:
        print(f"ok   {os.path.relpath(path, src)}")

for path in invalid:
    checked += 1
    rel = os.path.relpath(path, src)
    with open(path) as f:
        head = [f.readline(), f.readline()]
    m = re.match(r"# schema: (reject|accept)\s*$", head[1])
    if not head[0].startswith("# error: ") or not m:
        failures += 1
        print(f"FAIL {rel}: needs '# error: LINE:COL: message' and '# schema: reject|accept' as its first lines")
        continue
    try:
        e = first_error(load(path))
        rejected = e is not None
        why = e.message if e is not None else ""
    except yaml.YAMLError as ex:
        rejected, why = True, str(ex).splitlines()[0]
    if rejected != (m.group(1) == "reject"):
        failures += 1
        print(f"FAIL {rel}: the schema {'rejects' if rejected else 'accepts'} it, the fixture says "
              f"'schema: {m.group(1)}' {why}")
    else:
        print(f"ok   {rel} (schema {m.group(1)}s)")

print(f"{checked} files, {failures} disagreements")
sys.exit(1 if failures else 0)
EOF
