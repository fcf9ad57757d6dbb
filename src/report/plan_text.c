/* The text form of a plan (`aftershock plan`, `run --dry-run`): one section per phase, in
 * the order the run acts. Reads the plan document only. */
#include <aftershock/aftershock.h>
#include <aftershock/text.h>

#include <string.h>

#define P(...) ash_text_fprintf(out, ASH_TEXT_KEEP_NEWLINE, __VA_ARGS__)

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static bool num(const json_t *o, const char *key, double *v)
{
    const json_t *j = json_object_get(o, key);
    if (!json_is_number(j))
        return false;
    *v = json_number_value(j);
    return true;
}

/* "1.5 s" / "250 ms" */
static const char *dur(char *buf, size_t len, double ms_v)
{
    if (ms_v >= 1000 || ms_v == 0)
        snprintf(buf, len, "%g s", ms_v / 1000);
    else
        snprintf(buf, len, "%g ms", ms_v);
    return buf;
}

static void print_argv(FILE *out, const json_t *argv)
{
    size_t i;
    json_t *a;
    json_array_foreach(argv, i, a)
    {
        const char *s = json_string_value(a);
        bool quote = !s[0] || strpbrk(s, " \t'\"\\$`") != NULL;
        P("%s%s%s%s", i ? " " : "", quote ? "'" : "", s, quote ? "'" : "");
    }
}

static void print_config(FILE *out, json_t *conf)
{
    const char *k;
    json_t *v;
    bool first = true;
    json_object_foreach(conf, k, v)
    {
        char *t = json_is_string(v) ? NULL : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        P("%s%s=%s", first ? "" : ", ", k, t ? t : json_string_value(v));
        free(t);
        first = false;
    }
}

static void print_objects(FILE *out, const json_t *objs)
{
    size_t i;
    json_t *o;
    json_array_foreach(objs, i, o)
    {
        const char *j = json_string_value(json_object_get(o, "journal"));
        P("               - %s %s (%s): %s%s%s%s\n", str(o, "type"), str(o, "name"), str(o, "where"), str(o, "detail"),
          j ? " [journal: " : "", j ? j : "", j ? "]" : "");
    }
}

void ash_plan_print(FILE *out, const json_t *plan)
{
    char b1[32], b2[32], b3[32];
    double v = 0;
    int step = 1;
    P("plan: %s (%s), %s mode\n", str(plan, "scenario"), str(plan, "file"), str(plan, "mode"));
    P("%s\n", str(plan, "title"));
    if (json_is_true(json_object_get(plan, "run_id_is_placeholder")))
        P("run id: %s stands for the id each run picks (6 hex digits; --run-id ID to show one)\n", str(plan, "run_id"));
    else
        P("run id: %s\n", str(plan, "run_id"));
    P("Nothing has been started, built or injected. A run would, in this order:\n\n");

    const json_t *sb = json_object_get(plan, "sandbox");
    if (json_is_object(sb)) {
        P("%d. build the sandbox (cgroups %s):\n", step++, str(sb, "cgroup_mode"));
        P("     bridge %s in hub network namespace %s, on %s\n", str(sb, "bridge"), str(sb, "hub_netns"),
          str(sb, "subnet"));
        P("     joined to this namespace by veth %s <-> %s (the gateway, here); nftables table inet %s drops "
          "forwarding out of the subnet\n",
          str(sb, "uplink"), str(sb, "gateway_link"), str(sb, "egress_guard_nft_table"));
        P("     run cgroup:");
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(sb, "cgroup"), i, c) P(" %s", json_string_value(c));
        P("\n     generated /etc files under %s\n", str(sb, "files"));
        json_t *h;
        json_array_foreach(json_object_get(sb, "hosts"), i, h)
        {
            const char *node = json_string_value(json_object_get(h, "node"));
            if (node) {
                P("     host %-12s built by node %s's agent at its address here, joined to the bridge by a VXLAN "
                  "ashx<run> (fleet.hosts)\n",
                  str(h, "name"), node);
                continue;
            }
            P("     host %-12s netns %s, link %s <-> eth0, cgroup", str(h, "name"), str(h, "netns"), str(h, "veth"));
            size_t k;
            json_array_foreach(json_object_get(h, "cgroup"), k, c) P(" %s", json_string_value(c));
            json_t *mem = json_object_get(h, "memory");
            if (json_is_integer(mem))
                P(", memory %.1f MiB", (double)json_integer_value(mem) / 1048576.0);
            else if (json_is_string(mem))
                P(", memory %s", json_string_value(mem));
            if (num(h, "cpu", &v))
                P(", cpu %g", v);
            P("\n");
        }
    }
    const json_t *dns = json_object_get(plan, "dns");
    if (json_is_object(dns))
        P("%d. start the run's DNS server on %s (%zu extra records)\n", step++, str(dns, "listen"),
          json_array_size(json_object_get(dns, "records")));
    const json_t *fleet = json_object_get(plan, "fleet");
    if (json_is_object(fleet)) {
        size_t k;
        json_t *n;
        P("%d. fleet: listen on %s, ", step++, str(fleet, "listen"));
        if (json_object_get(fleet, "deploy"))
            P("deploy the agents through %s (%s), ", str(fleet, "engine"), str(fleet, "deploy"));
        P("wait up to ");
        num(fleet, "wait_ms", &v);
        P("%s for an agent of each node (", dur(b1, sizeof b1, v));
        json_array_foreach(json_object_get(fleet, "nodes"), k, n) P("%s%s", k ? ", " : "", json_string_value(n));
        P("; one missing: exit 3, nothing harmed), map each one's clock, send it the scenario; key %s\n",
          str(fleet, "key_file"));
    }
    const json_t *svcs = json_object_get(plan, "services");
    if (json_array_size(svcs)) {
        P("%d. start the services, dependencies first, each waited for until ready:\n", step++);
        size_t i;
        json_t *s;
        json_array_foreach(svcs, i, s)
        {
            const char *host = json_string_value(json_object_get(s, "host"));
            P("     %s%s%s: ", str(s, "name"), host ? " on host " : " (local)", host ? host : "");
            print_argv(out, json_object_get(s, "command"));
            const json_t *r = json_object_get(s, "ready");
            if (json_is_object(r)) {
                P("\n       ready: ");
                if (json_object_get(r, "http"))
                    P("http %s", str(r, "http"));
                else if (json_object_get(r, "tcp"))
                    P("tcp %s", str(r, "tcp"));
                else
                    print_argv(out, json_object_get(r, "exec"));
                if (num(r, "timeout_ms", &v))
                    P(" within %s", dur(b1, sizeof b1, v));
            }
            P("; restart %s", str(s, "restart"));
            if (json_object_get(s, "user") && !json_is_null(json_object_get(s, "user")))
                P("; as user %s", str(s, "user"));
            if (json_is_true(json_object_get(s, "seccomp_launcher")))
                P("; under the seccomp launcher (%s)", str(s, "seccomp_syscalls"));
            P("\n");
        }
    }
    const json_t *probes = json_object_get(plan, "probes"), *dets = json_object_get(plan, "detectors");
    P("%d. watch: %zu probe%s, %zu detector%s (detectors listen from the start)\n", step++, json_array_size(probes),
      json_array_size(probes) == 1 ? "" : "s", json_array_size(dets), json_array_size(dets) == 1 ? "" : "s");
    size_t i;
    json_t *p;
    json_array_foreach(probes, i, p)
    {
        num(p, "every_ms", &v);
        P("     probe %s (%s)%s%s%s%s%s every %s: ", str(p, "name"), str(p, "kind"),
          json_is_string(json_object_get(p, "from")) ? " from " : "", str(p, "from"),
          json_is_string(json_object_get(p, "node")) ? " (sampled by node " : "", str(p, "node"),
          json_is_string(json_object_get(p, "node")) ? "'s agent)" : "", dur(b1, sizeof b1, v));
        print_config(out, json_object_get(p, "config"));
        P("\n");
    }
    json_array_foreach(dets, i, p)
    {
        P("     detector %s (%s): ", str(p, "name"), str(p, "kind"));
        print_config(out, json_object_get(p, "config"));
        P("\n");
    }
    const json_t *guards = json_object_get(plan, "guardrails");
    json_array_foreach(guards, i, p)
        P("     guardrail %s: abort (revert everything) when %s\n", str(p, "name"), str(p, "condition"));
    const json_t *ex = json_object_get(plan, "expect");
    num(ex, "warmup_ms", &v);
    P("%d. verify the steady state: every probe healthy for %s (up to 10 s more to get there; nothing is injected "
      "otherwise)\n",
      step++, dur(b1, sizeof b1, v));
    const json_t *faults = json_object_get(plan, "faults");
    P("%d. inject %zu fault%s (offsets from the end of the warm-up):\n", step++, json_array_size(faults),
      json_array_size(faults) == 1 ? "" : "s");
    json_array_foreach(faults, i, p)
    {
        num(p, "at_ms", &v);
        P("     +%-9s %s (%s)%s%s; revert %s\n", dur(b1, sizeof b1, v), str(p, "name"), str(p, "kind"),
          json_is_string(json_object_get(p, "node")) ? " on node " : "",
          json_is_string(json_object_get(p, "node")) ? str(p, "node") : "", str(p, "revert"));
        P("               %s\n", str(p, "mechanism"));
        print_objects(out, json_object_get(p, "objects"));
        if (json_is_string(json_object_get(p, "cannot_run")))
            P("               cannot run here: %s\n", str(p, "cannot_run"));
    }
    const json_t *rems = json_object_get(plan, "remediations");
    if (json_array_size(rems)) {
        P("%d. remediate:\n", step++);
        json_array_foreach(rems, i, p)
        {
            if (num(p, "at_ms", &v))
                P("     +%-9s %s: %s ", dur(b1, sizeof b1, v), str(p, "name"), str(p, "action"));
            else if (json_is_string(json_object_get(p, "follows"))) {
                num(p, "after_ms", &v);
                P("     %s succeeded + %s: %s: %s ", str(p, "follows"), dur(b1, sizeof b1, v), str(p, "name"),
                  str(p, "action"));
            } else {
                num(p, "after_detection_ms", &v);
                P("     detected + %s: %s: %s ", dur(b1, sizeof b1, v), str(p, "name"), str(p, "action"));
            }
            print_config(out, json_object_get(p, "config"));
            P("\n");
        }
    }
    P("%d. observe until stable for %s after the last revert", step++,
      dur(b1, sizeof b1, num(ex, "stable_for_ms", &v) ? v : 0));
    P(", or the timeout %s\n", dur(b2, sizeof b2, num(ex, "timeout_ms", &v) ? v : 0));
    if (num(ex, "detect_within_ms", &v))
        P("     expect: detected within %s\n", dur(b1, sizeof b1, v));
    if (num(ex, "recover_within_ms", &v))
        P("     expect: recovered within %s\n", dur(b1, sizeof b1, v));
    const json_t *ver = json_object_get(plan, "verify");
    if (json_array_size(ver)) {
        P("%d. verify (before anything is reverted):\n", step++);
        json_array_foreach(ver, i, p)
        {
            P("     %s (expect %s): ", str(p, "name"), str(p, "expect"));
            print_argv(out, json_object_get(p, "command"));
            P("\n");
        }
    }
    P("%d. revert every fault still in effect (newest first), stop the services, tear down what was built, write "
      "the reports to %s/\n\n",
      step++, str(plan, "run_dir"));
    const json_t *du = json_object_get(plan, "duration");
    double exp_ms = 0, max_ms = 0;
    num(du, "expected_ms", &exp_ms);
    num(du, "max_ms", &max_ms);
    P("duration: about %s after the services are up (%s); at most %s\n", dur(b1, sizeof b1, exp_ms), str(du, "note"),
      dur(b3, sizeof b3, max_ms));
    const json_t *j = json_object_get(plan, "journal");
    P("journal: %s holds an undo record before each change (", str(j, "path"));
    json_array_foreach(json_object_get(j, "records"), i, p) P("%s%s", i ? ", " : "", json_string_value(p));
    P("); removed when everything is undone, replayed by `aftershock recover` otherwise\n");
    P("control: `aftershock abort` and `aftershock mark` reach the run at %s\n", str(plan, "control_socket"));
    json_array_foreach(json_object_get(plan, "resolved"), i, p)
    {
        size_t k;
        const json_t *d;
        json_array_foreach(json_object_get(p, "described"), k, d)
            P("target now: %s is %s (%s:%d:%d)\n", str(p, "item"), json_string_value(d), str(p, "file"),
              (int)json_integer_value(json_object_get(p, "line")), (int)json_integer_value(json_object_get(p, "col")));
    }
    const json_t *env = json_object_get(plan, "environment");
    if (json_is_true(json_object_get(env, "ok"))) {
        P("environment: this machine can run it\n");
    } else {
        P("environment: this machine cannot run it:\n");
        json_array_foreach(json_object_get(env, "problems"), i, p) P("  - %s\n", json_string_value(p));
    }
}
