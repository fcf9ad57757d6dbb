/* The coordinator's Kubernetes API calls (fleet/kube.c) against a recorded-response
 * server on loopback (tests/tools/kube_api_replay.py): it checks every request's method,
 * path, query, bearer token and body shape, and replays the API's answers (Status
 * objects included). Create Secret + DaemonSet, wait until agents are Ready on the
 * expected nodes, list pods by selector into (node, pod, container), delete both (a
 * Secret already gone is fine); a 403 from RBAC says who may not do what and where to
 * fix it; agents that never get ready name the node and why; a killed coordinator's
 * objects are deleted by `aftershock recover` from its journal, through a kubeconfig. */
#include "fleet/kube.h"
#include "test_skip.h"
#include "test_run.h"

#include <check.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

static char dir[64];
static char srv_port[16];
static pid_t srv_pid;

static const char *src_dir(void)
{
    const char *s = getenv("ASH_SOURCE_DIR");
    return s ? s : "..";
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

/* Start the replay server on recording NAME; the service account dir is dir/sa. */
static bool serve(const char *name)
{
    if (access("/usr/bin/python3", X_OK) != 0) {
        ash_test_skip("no /usr/bin/python3 for the recorded-response server (scripts/install-deps.sh --test)");
        return false;
    }
    snprintf(dir, sizeof dir, "/tmp/ash-kube-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char rec[4096], port[128], log[128], sa[128], p[200];
    snprintf(rec, sizeof rec, "%s/tests/fixtures/kube/%s.json", src_dir(), name);
    snprintf(port, sizeof port, "%s/port", dir);
    snprintf(log, sizeof log, "%s/log", dir);
    snprintf(sa, sizeof sa, "%s/sa", dir);
    mkdir(sa, 0700);
    snprintf(p, sizeof p, "%s/token", sa);
    write_file(p, "test-token\n");
    snprintf(p, sizeof p, "%s/namespace", sa);
    write_file(p, "chaos");
    char script[4096];
    snprintf(script, sizeof script, "%s/tests/tools/kube_api_replay.py", src_dir());
    srv_pid = fork();
    ck_assert_int_ge(srv_pid, 0);
    if (srv_pid == 0) {
        execl("/usr/bin/python3", "python3", script, rec, port, log, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200; i++) {
        FILE *f = fopen(port, "r");
        if (f) {
            ck_assert_ptr_nonnull(fgets(srv_port, sizeof srv_port, f));
            fclose(f);
            return true;
        }
        usleep(20000);
    }
    ck_abort_msg("the replay server did not start");
    return false;
}

/* Stop the server (by its pid) and return its log. */
static char *stop(void)
{
    kill(srv_pid, SIGTERM);
    waitpid(srv_pid, NULL, 0);
    char log[128];
    snprintf(log, sizeof log, "%s/log", dir);
    FILE *f = fopen(log, "r");
    static char text[8192];
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    text[n] = '\0';
    if (f)
        fclose(f);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
    return text;
}

static struct ash_kube *open_sa(void)
{
    char sa[128], server[64];
    snprintf(sa, sizeof sa, "%s/sa", dir);
    snprintf(server, sizeof server, "http://127.0.0.1:%s", srv_port);
    struct ash_kube *k = NULL;
    ash_error_t err = {0};
    ck_assert_msg(ash_kube_open_incluster(sa, server, &k, &err) == 0, "%s", err.msg);
    ck_assert_str_eq(ash_kube_namespace(k), "chaos");
    return k;
}

static const struct ash_kube_agents agents = {
    .ns = "chaos",
    .run = "r1",
    .image = "aftershock:test",
    .connect = "coord.chaos.svc:7443",
    .key_hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
    .lease_ns = 3000000000,
};

START_TEST(test_deploy_wait_list_remove)
{
    if (!serve("deploy"))
        return;
    struct ash_kube *k = open_sa();
    ash_error_t err = {0};
    ck_assert_msg(ash_kube_deploy_agents(k, &agents, NULL, &err) == 0, "%s", err.msg);
    const char *nodes[] = {"node-a", "node-b"};
    /* The first answer has node-b's agent still creating: it polls again. */
    ck_assert_msg(ash_kube_wait_agents(k, &agents, nodes, 2, 5 * 1000000000LL, 10000000, &err) == 0, "%s", err.msg);
    struct ash_kube_target *t = NULL;
    size_t n = 0;
    ck_assert_msg(ash_kube_list_targets(k, "shop", "app=web,tier=front", "web", &t, &n, &err) == 0, "%s", err.msg);
    /* web-2 is Pending: no container an agent could find. */
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(t[0].node, "node-a");
    ck_assert_str_eq(t[0].pod, "web-0");
    ck_assert_str_eq(t[0].container, "web");
    ck_assert_str_eq(t[1].node, "node-b");
    ck_assert_str_eq(t[1].pod, "web-1");
    free(t);
    /* By name (a field selector), the container left out of a pod of two: refused. */
    ck_assert_msg(ash_kube_list_targets(k, "shop", "web-0", "sidecar", &t, &n, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(t[0].container, "sidecar");
    free(t);
    ck_assert_int_lt(ash_kube_list_targets(k, "shop", "app=web", "", &t, &n, &err), 0);
    ck_assert_msg(
        strstr(err.msg, "pod shop/web-0 has more than one container (its containers: web, sidecar): name one"), "%s",
        err.msg);
    ck_assert_int_lt(ash_kube_list_targets(k, "shop", "web-2", "web", &t, &n, &err), 0);
    ck_assert_msg(strstr(err.msg, "no running pod in shop is named web-2"), "%s", err.msg);
    /* The Secret answers 404 (already gone): removal still succeeds. */
    ck_assert_msg(ash_kube_remove_agents(k, &agents, &err) == 0, "%s", err.msg);
    ash_kube_close(k);
    char *log = stop();
    ck_assert_msg(!strstr(log, "FAIL"), "%s", log);
    ck_assert_msg(strstr(log, "ok DELETE /api/v1/namespaces/chaos/secrets/aftershock-key-r1"), "%s", log);
}
END_TEST

START_TEST(test_forbidden_says_who_and_where)
{
    if (!serve("forbidden"))
        return;
    struct ash_kube *k = open_sa();
    ash_error_t err = {0};
    ck_assert_int_lt(ash_kube_deploy_agents(k, &agents, NULL, &err), 0);
    ck_assert_int_eq(ash_kube_status(k), 403);
    ck_assert_msg(strstr(err.msg, "cannot create the agents' key Secret aftershock-key-r1"), "%s", err.msg);
    ck_assert_msg(strstr(err.msg, "403 secrets is forbidden: User \"system:serviceaccount:chaos:aftershock-"
                                  "coordinator\" cannot create resource \"secrets\""),
                  "%s", err.msg);
    ck_assert_msg(strstr(err.msg, "deploy/kubernetes/rbac.yaml, bound in this namespace)"), "%s", err.msg);
    ck_assert_int_eq(err.code, EACCES);
    ash_kube_close(k);
    /* Nothing after the refused Secret: no DaemonSet was attempted (it would be a FAIL). */
    char *log = stop();
    ck_assert_msg(!strstr(log, "FAIL"), "%s", log);
}
END_TEST

/* The Secret made, the DaemonSet refused: removal (every exit path) deletes the Secret. */
START_TEST(test_half_deployed_is_removed)
{
    if (!serve("ds_forbidden"))
        return;
    struct ash_kube *k = open_sa();
    ash_error_t err = {0};
    ck_assert_int_lt(ash_kube_deploy_agents(k, &agents, NULL, &err), 0);
    ck_assert_msg(strstr(err.msg, "cannot create the agents' DaemonSet aftershock-agent-r1: kubernetes: POST "
                                  "/apis/apps/v1/namespaces/chaos/daemonsets: 403 daemonsets.apps is forbidden"),
                  "%s", err.msg);
    ck_assert_msg(ash_kube_remove_agents(k, &agents, &err) == 0, "%s", err.msg);
    ash_kube_close(k);
    char *log = stop();
    ck_assert_msg(!strstr(log, "FAIL"), "%s", log);
    ck_assert_msg(strstr(log, "ok DELETE /api/v1/namespaces/chaos/secrets/aftershock-key-r1"), "%s", log);
}
END_TEST

START_TEST(test_agents_never_ready)
{
    if (!serve("stuck"))
        return;
    struct ash_kube *k = open_sa();
    ash_error_t err = {0};
    const char *nodes[] = {"node-a", "node-b", "node-c"};
    ck_assert_int_lt(ash_kube_wait_agents(k, &agents, nodes, 3, 300000000, 50000000, &err), 0);
    ck_assert_msg(strstr(err.msg, "not ready after 0s: node-b: Pending (ImagePullBackOff), node-c: no agent pod "
                                  "scheduled there"),
                  "%s", err.msg);
    ash_kube_close(k);
    char *log = stop();
    ck_assert_msg(!strstr(log, "FAIL"), "%s", log);
}
END_TEST

START_TEST(test_recover_deletes_leftovers)
{
    if (!serve("recover"))
        return;
    char kc[128], state[128], text[1024];
    snprintf(kc, sizeof kc, "%s/kubeconfig", dir);
    snprintf(state, sizeof state, "%s/state", dir);
    mkdir(state, 0700);
    snprintf(text, sizeof text,
             "apiVersion: v1\nkind: Config\ncurrent-context: test\n"
             "clusters:\n- name: c1\n  cluster:\n    server: http://127.0.0.1:%s/\n"
             "users:\n- name: u1\n  user:\n    token: kc-token\n"
             "contexts:\n- name: other\n  context: {cluster: nope, user: nope}\n"
             "- name: test\n  context:\n    cluster: c1\n    user: u1\n    namespace: chaos\n",
             srv_port);
    write_file(kc, text);
    /* The coordinator is a child that deploys and dies (a journal whose writer still
     * runs is not recover's to replay). */
    pid_t c = fork();
    ck_assert_int_ge(c, 0);
    if (c == 0) {
        struct ash_kube *k = NULL;
        struct ash_journal *j = NULL;
        ash_error_t err = {0};
        if (ash_kube_open(kc, &k, &err) < 0 || strcmp(ash_kube_namespace(k), "chaos") != 0 ||
            ash_journal_open(state, "r1", &j, &err) < 0 || ash_kube_deploy_agents(k, &agents, j, &err) < 0 ||
            ash_journal_pending(j) != 2) {
            fprintf(stderr, "coordinator: %s\n", err.msg);
            _exit(1);
        }
        _exit(0); /* killed mid-run: nothing removed, the journal stays */
    }
    int cst;
    waitpid(c, &cst, 0);
    ck_assert_msg(WIFEXITED(cst) && WEXITSTATUS(cst) == 0, "the deploying child failed");
    char cmd[600];
    const char *b = getenv("ASH_BUILD_DIR");
    snprintf(cmd, sizeof cmd, "%s/aftershock recover --state-dir %s >%s/recover.out 2>&1", b ? b : ".", state, dir);
    int st = system(cmd);
    char out[2048] = "";
    char outp[200];
    snprintf(outp, sizeof outp, "%s/recover.out", dir);
    FILE *f = fopen(outp, "r");
    if (f) {
        out[fread(out, 1, sizeof out - 1, f)] = '\0';
        fclose(f);
    }
    char *log = stop();
    ck_assert_msg(st == 0, "recover failed (%d): %s\n%s", st, out, log);
    ck_assert_msg(!strstr(log, "FAIL"), "%s", log);
    /* Newest first: the DaemonSet (whose pods mount the Secret), then the Secret. */
    const char *ds = strstr(log, "ok DELETE /apis/apps/v1/namespaces/chaos/daemonsets/aftershock-agent-r1");
    const char *sec = strstr(log, "ok DELETE /api/v1/namespaces/chaos/secrets/aftershock-key-r1");
    ck_assert_msg(ds && sec && ds < sec, "%s", log);
}
END_TEST

START_TEST(test_bad_config)
{
    ash_error_t err = {0};
    struct ash_kube *k = NULL;
    unsetenv("KUBERNETES_SERVICE_HOST");
    ck_assert_int_lt(ash_kube_open(NULL, &k, &err), 0);
    ck_assert_msg(strstr(err.msg, "not in a pod (no KUBERNETES_SERVICE_HOST)"), "%s", err.msg);
    ck_assert_int_lt(ash_kube_open("/nonexistent/kubeconfig", &k, &err), 0);
    ck_assert_msg(strstr(err.msg, "cannot open kubeconfig /nonexistent/kubeconfig"), "%s", err.msg);
    char kc[] = "/tmp/ash-kubeconfig-XXXXXX";
    int fd = mkstemp(kc);
    ck_assert_int_ge(fd, 0);
    close(fd);
    write_file(kc, "apiVersion: v1\ncurrent-context: x\nusers:\n- name: u\n  user:\n    exec: {command: aws}\n"
                   "clusters:\n- name: c\n  cluster: {server: 'https://k:6443'}\n"
                   "contexts:\n- name: x\n  context: {cluster: c, user: u}\n");
    ck_assert_int_lt(ash_kube_open(kc, &k, &err), 0);
    ck_assert_msg(strstr(err.msg, "exec plugin"), "%s", err.msg);
    write_file(kc, "apiVersion: v1\ncurrent-context: y\n");
    ck_assert_int_lt(ash_kube_open(kc, &k, &err), 0);
    ck_assert_msg(strstr(err.msg, "no current-context with a cluster"), "%s", err.msg);
    unlink(kc);
    ck_assert_int_lt(ash_kube_open_incluster("/nonexistent", "https://x", &k, &err), 0);
    ck_assert_msg(strstr(err.msg, "cannot read the service account token /nonexistent/token"), "%s", err.msg);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("kube");
    TCase *tc = tcase_create("api");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_deploy_wait_list_remove);
    tcase_add_test(tc, test_forbidden_says_who_and_where);
    tcase_add_test(tc, test_half_deployed_is_removed);
    tcase_add_test(tc, test_agents_never_ready);
    tcase_add_test(tc, test_recover_deletes_leftovers);
    tcase_add_test(tc, test_bad_config);
    suite_add_tcase(s, tc);
    int failed = ash_test_failures(s, CK_FORK);
    return ash_test_exit(failed);
}
