/* Test tool: the fleet coordinator deploying its agents on a Docker Swarm
 * (src/fleet/swarm.c, swarm_wait.c, coord.c), until `aftershock run` has a
 * `fleet:` section that does it (docs/fleet.md).
 *
 *   ash_fleetswarm --docker-host unix://MANAGER.sock --listen ADDR --image IMG
 *       --exe PATH --journal-dir DIR --run ID [--state-dir TEMPLATE]
 *       [--engine-socket TEMPLATE] [--scenario FILE --node NODE --fault NAME
 *       [--hold]] [--wrong-key]
 *
 * Listens on ADDR:0, journals in DIR, deploys, waits for every node's agent and
 * prints "hello NODE" for each; with a scenario, sends it to NODE, injects FAULT
 * ("injected NODE FAULT"), then reverts it ("reverted NODE FAULT"), or with
 * --hold prints "holding" and keeps the leases alive until killed. NODE "all":
 * every node. A fault that fails prints "failed NODE FAULT: WHY" and the tool
 * goes on (the script says what that means). Ends by
 * telling every agent bye and removing the service and the secret ("removed").
 * --wrong-key hands the agents a key that is not the coordinator's.
 * Exit 0 done, 1 failed (stderr says why), 2 usage. */
#include "fleet/coord.h"
#include "fleet/psk.h"
#include "fleet/swarm.h"
#include "fleet/swarm_wait.h"
#include "sys/journal.h"
#include "sys/loop.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEC 1000000000LL

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = calloc(1, 1 << 20);
    size_t n = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
    (void)n;
    fclose(f);
    return buf;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"docker-host", 1, NULL, 'H'}, {"listen", 1, NULL, 'l'},
                                         {"image", 1, NULL, 'i'},       {"exe", 1, NULL, 'e'},
                                         {"journal-dir", 1, NULL, 'j'}, {"run", 1, NULL, 'r'},
                                         {"state-dir", 1, NULL, 's'},   {"engine-socket", 1, NULL, 'S'},
                                         {"scenario", 1, NULL, 'c'},    {"node", 1, NULL, 'n'},
                                         {"fault", 1, NULL, 'f'},       {"hold", 0, NULL, 'h'},
                                         {"wrong-key", 0, NULL, 'w'},   {NULL, 0, NULL, 0}};
    struct ash_swarm_opts so = {0};
    const char *listen = NULL, *jdir = NULL, *scen = NULL, *node = NULL, *fault = NULL;
    int hold = 0, wrong = 0, c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'H':
            so.docker_host = optarg;
            break;
        case 'l':
            listen = optarg;
            break;
        case 'i':
            so.image = optarg;
            break;
        case 'e':
            so.exe = optarg;
            break;
        case 'j':
            jdir = optarg;
            break;
        case 'r':
            so.run_id = optarg;
            break;
        case 's':
            so.state_dir = optarg;
            break;
        case 'S':
            so.engine_socket = optarg;
            break;
        case 'c':
            scen = optarg;
            break;
        case 'n':
            node = optarg;
            break;
        case 'f':
            fault = optarg;
            break;
        case 'h':
            hold = 1;
            break;
        case 'w':
            wrong = 1;
            break;
        default:
            return 2;
        }
    }
    if (!listen || !jdir || !so.run_id || (scen && (!node || !fault))) {
        fprintf(stderr, "usage: see the comment at the top of tests/tools/ash_fleetswarm.c\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    ash_error_t err = {0};
    ash_loop *loop = NULL;
    struct ash_journal *j = NULL;
    struct ash_coord *co = NULL;
    struct ash_swarm *sw = NULL;
    json_t *nodes = NULL;
    char *text = NULL;
    int ret = 1;
    struct ash_psk key, other;
    char hex[80], addr[300];
    if (ash_psk_generate(&key, &err) < 0 || ash_psk_generate(&other, &err) < 0)
        goto out;
    ash_psk_hex(wrong ? &other : &key, hex, sizeof hex);
    if (ash_loop_new(&loop, &err) < 0 || ash_journal_open(jdir, so.run_id, &j, &err) < 0)
        goto out;
    struct ash_coord_opts co_o = {.listen = listen, .key = &key, .run_id = so.run_id};
    if (ash_coord_new(loop, &co_o, &co, &err) < 0)
        goto out;
    /* The address without its port, then the port it got. */
    snprintf(addr, sizeof addr, "%.*s:%d", (int)(strrchr(listen, ':') - listen), listen, ash_coord_port(co));
    so.connect = addr;
    so.key_hex = hex;
    so.journal = j;
    if (ash_swarm_deploy(&so, &sw, &err) < 0)
        goto out;
    printf("deployed %s %s\n", ash_swarm_service(sw), ash_swarm_secret(sw));
    if (ash_swarm_wait_agents(sw, co, 60 * SEC, &nodes, &err) < 0) {
        if (*ash_coord_last_refusal(co))
            printf("refused: %s\n", ash_coord_last_refusal(co));
        goto out;
    }
    size_t i;
    json_t *n;
    json_array_foreach(nodes, i, n)
    {
        const json_t *h = ash_coord_hello(co, json_string_value(n));
        printf("hello %s\n", json_string_value(json_object_get(h, "node")));
    }
    if (scen && !(text = slurp(scen))) {
        fprintf(stderr, "ash_fleetswarm: cannot read %s\n", scen);
        goto out;
    }
    json_array_foreach(nodes, i, n)
    {
        const char *nd = json_string_value(n);
        if (!scen || (strcmp(node, "all") != 0 && strcmp(node, nd) != 0))
            continue;
        if (ash_coord_wait_clock(co, nd, 10 * SEC, &err) < 0 ||
            ash_coord_send_scenario(co, nd, "swarm", text, 20 * SEC, &err) < 0)
            goto out;
        ash_error_t fe = {0};
        if (ash_coord_inject(co, nd, fault, 30 * SEC, NULL, &fe) < 0) {
            printf("failed %s %s: %s\n", nd, fault, fe.msg);
            continue;
        }
        printf("injected %s %s\n", nd, fault);
        if (!hold) {
            if (ash_coord_revert(co, nd, fault, 30 * SEC, NULL, &err) < 0)
                goto out;
            printf("reverted %s %s\n", nd, fault);
        }
    }
    if (scen && hold) {
        printf("holding\n");
        ash_loop_run(loop, &err); /* until killed */
        goto out;
    }
    ret = 0;
out:
    if (ret)
        fprintf(stderr, "ash_fleetswarm: %s\n", err.msg);
    json_array_foreach(nodes, i, n) ash_coord_bye(co, json_string_value(n), NULL);
    ash_error_t e2 = {0};
    if (sw && ash_swarm_remove(sw, &e2) < 0) {
        fprintf(stderr, "ash_fleetswarm: %s\n", e2.msg);
        ret = 1;
    } else if (sw) {
        printf("removed\n");
    }
    ash_coord_free(co);
    if (j)
        ash_journal_close(j, true);
    ash_loop_free(loop);
    json_decref(nodes);
    free(text);
    return ret;
}
