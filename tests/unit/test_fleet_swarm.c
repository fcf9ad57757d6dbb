/* The Swarm deploy (src/fleet/swarm.c) against a fake engine on a unix socket
 * (libmicrohttpd): what it asks the engine for, in which order, what it
 * journals first, what it removes when a step fails, and bad input refused
 * before anything is asked. The real swarm is tests/integration/fleet_swarm.sh. */
#include "fleet/swarm.h"
#include "kinds.h"
#include "sys/journal.h"
#include "test_util.h"
#include "test_run.h"

#include <check.h>
#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define KEY "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

/* The fake engine: answers by path, logs "METHOD PATH" lines, keeps the bodies. */
struct engine {
    pthread_mutex_t mu;
    char log[4096];
    json_t *secret_body, *service_body;
    unsigned secret_status, service_status, delete_status;
};

struct upload {
    char *data;
    size_t len;
};

static enum MHD_Result answer(struct MHD_Connection *conn, unsigned status, const char *json)
{
    char *copy = strdup(json);
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(copy), copy, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)version;
    struct engine *e = cls;
    struct upload *u = *con_cls;
    if (!u) {
        *con_cls = calloc(1, sizeof *u);
        return MHD_YES;
    }
    if (*upload_data_size) {
        char *d = realloc(u->data, u->len + *upload_data_size + 1);
        memcpy(d + u->len, upload_data, *upload_data_size);
        u->data = d;
        u->len += *upload_data_size;
        d[u->len] = '\0';
        *upload_data_size = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&e->mu);
    size_t off = strlen(e->log);
    snprintf(e->log + off, sizeof e->log - off, "%s %s\n", method, url);
    json_t *body = u->data ? json_loads(u->data, 0, NULL) : NULL;
    unsigned status = 200;
    const char *reply = "{}";
    if (strcmp(url, "/v1.41/secrets/create") == 0) {
        json_decref(e->secret_body);
        e->secret_body = json_incref(body);
        status = e->secret_status;
        reply = status < 400 ? "{\"ID\":\"sec-id-1\"}" : "{\"message\":\"rpc error: name conflicts\"}";
    } else if (strcmp(url, "/v1.41/services/create") == 0) {
        json_decref(e->service_body);
        e->service_body = json_incref(body);
        status = e->service_status;
        reply = status < 400 ? "{\"ID\":\"svc-id-1\"}" : "{\"message\":\"malformed spec\"}";
    } else if (strcmp(method, "DELETE") == 0) {
        status = e->delete_status;
        reply = status < 400 ? "" : "{\"message\":\"not found\"}";
    } else {
        status = 404;
        reply = "{\"message\":\"page not found\"}";
    }
    pthread_mutex_unlock(&e->mu);
    json_decref(body);
    enum MHD_Result r = answer(conn, status, reply);
    free(u->data);
    free(u);
    *con_cls = NULL;
    return r;
}

struct fx {
    char dir[64], sock[128], host[160];
    struct engine e;
    struct MHD_Daemon *mhd;
    struct ash_journal *j;
};

static void fx_start(struct fx *f)
{
    memset(f, 0, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/ash-fsw-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(f->dir));
    snprintf(f->sock, sizeof f->sock, "%s/engine.sock", f->dir);
    snprintf(f->host, sizeof f->host, "unix://%s", f->sock);
    pthread_mutex_init(&f->e.mu, NULL);
    f->e.secret_status = 201;
    f->e.service_status = 201;
    f->e.delete_status = 200;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", f->sock);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(fd, 16), 0);
    f->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, on_request, &f->e,
                              MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_END);
    ck_assert_ptr_nonnull(f->mhd);
    ash_error_t err = {0};
    ck_assert_msg(ash_journal_open(f->dir, "t1", &f->j, &err) == 0, "%s", err.msg);
}

static void fx_stop(struct fx *f)
{
    MHD_stop_daemon(f->mhd);
    json_decref(f->e.secret_body);
    json_decref(f->e.service_body);
    ash_journal_close(f->j, true);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    ck_assert_int_eq(system(cmd), 0);
}

static struct ash_swarm_opts opts(struct fx *f)
{
    return (struct ash_swarm_opts){.docker_host = f->host,
                                   .run_id = "t1",
                                   .image = "agent:1",
                                   .connect = "10.0.0.5:7443",
                                   .key_hex = KEY,
                                   .lease = "2s",
                                   .engine_socket = "/var/run/docker.sock",
                                   .journal = f->j};
}

static const char *str_at(json_t *j, const char *path)
{
    /* "a.b.c" through objects; "a.0.b" through arrays. */
    char buf[200];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *save = NULL, *p = strtok_r(buf, ".", &save); p && j; p = strtok_r(NULL, ".", &save))
        j = json_is_array(j) ? json_array_get(j, (size_t)atoi(p)) : json_object_get(j, p);
    return json_string_value(j);
}

START_TEST(test_deploy_and_remove)
{
    struct fx f;
    fx_start(&f);
    struct ash_swarm_opts o = opts(&f);
    struct ash_swarm *s = NULL;
    ash_error_t err = {0};
    ck_assert_msg(ash_swarm_deploy(&o, &s, &err) == 0, "%s", err.msg);
    ck_assert_str_eq(f.e.log, "POST /v1.41/secrets/create\nPOST /v1.41/services/create\n");
    /* Both journaled before they were made, pending until removed. */
    ck_assert_uint_eq(ash_journal_pending(f.j), 2);
    /* The secret: its name, the run's label, the key file's bytes in base64. */
    ck_assert_str_eq(str_at(f.e.secret_body, "Name"), "aftershock-key-t1");
    ck_assert_str_eq(
        json_string_value(json_object_get(json_object_get(f.e.secret_body, "Labels"), "org.aftershock.run")), "t1");
    ck_assert_str_eq(str_at(f.e.secret_body, "Data"),
                     "MDAxMTIyMzM0NDU1NjY3Nzg4OTlhYWJiY2NkZGVlZmYwMDExMjIzMzQ0NTU2Njc3ODg5OWFhYmJjY2RkZWVmZg==");
    /* The service: global, the secret by its ID, the node's name by a template in
     * Env, the agent's arguments, capabilities, no restart, the host's network. */
    json_t *sv = f.e.service_body;
    ck_assert_str_eq(str_at(sv, "Name"), "aftershock-agent-t1");
    ck_assert(json_is_object(json_object_get(json_object_get(sv, "Mode"), "Global")));
    ck_assert_str_eq(str_at(sv, "TaskTemplate.ContainerSpec.Secrets.0.SecretID"), "sec-id-1");
    ck_assert_str_eq(str_at(sv, "TaskTemplate.ContainerSpec.Secrets.0.File.Name"), "aftershock-fleet.key");
    ck_assert_str_eq(str_at(sv, "TaskTemplate.ContainerSpec.Env.0"), "AFTERSHOCK_NODE={{.Node.Hostname}}");
    char *args = json_dumps(
        json_object_get(json_object_get(json_object_get(sv, "TaskTemplate"), "ContainerSpec"), "Args"), JSON_COMPACT);
    ck_assert_str_eq(args, "[\"agent\",\"--connect\",\"10.0.0.5:7443\",\"--key-file\",\"/run/secrets/"
                           "aftershock-fleet.key\",\"--state-dir\",\"/host-run/aftershock\",\"--lease\",\"2s\"]");
    free(args);
    ck_assert_str_eq(str_at(sv, "TaskTemplate.ContainerSpec.CapabilityAdd.2"), "CAP_SYS_ADMIN");
    ck_assert_str_eq(str_at(sv, "TaskTemplate.RestartPolicy.Condition"), "none");
    ck_assert_str_eq(str_at(sv, "TaskTemplate.Networks.0.Target"), "host");
    ck_assert_str_eq(str_at(sv, "TaskTemplate.ContainerSpec.Mounts.2.Target"), "/var/run/docker.sock");
    f.e.log[0] = '\0';
    ck_assert_msg(ash_swarm_remove(s, &err) == 0, "%s", err.msg);
    /* The service first: a secret a service names cannot be removed. */
    ck_assert_str_eq(f.e.log, "DELETE /v1.41/services/aftershock-agent-t1\nDELETE /v1.41/secrets/aftershock-key-t1\n");
    ck_assert_uint_eq(ash_journal_pending(f.j), 0);
    fx_stop(&f);
}
END_TEST

START_TEST(test_failed_service_removes_secret)
{
    struct fx f;
    fx_start(&f);
    f.e.service_status = 400;
    struct ash_swarm_opts o = opts(&f);
    struct ash_swarm *s = NULL;
    ash_error_t err = {0};
    ck_assert_int_eq(ash_swarm_deploy(&o, &s, &err), -1);
    ck_assert_ptr_null(s);
    ck_assert_msg(strstr(err.msg, "cannot create the swarm service 'aftershock-agent-t1'") &&
                      strstr(err.msg, "malformed spec"),
                  "%s", err.msg);
    ck_assert_str_eq(f.e.log, "POST /v1.41/secrets/create\nPOST /v1.41/services/create\n"
                              "DELETE /v1.41/secrets/aftershock-key-t1\n");
    ck_assert_uint_eq(ash_journal_pending(f.j), 0);
    fx_stop(&f);
}
END_TEST

START_TEST(test_existing_secret_not_removed)
{
    /* A name conflict: the secret is someone else's (another run with this id): left alone. */
    struct fx f;
    fx_start(&f);
    f.e.secret_status = 409;
    struct ash_swarm_opts o = opts(&f);
    struct ash_swarm *s = NULL;
    ash_error_t err = {0};
    ck_assert_int_eq(ash_swarm_deploy(&o, &s, &err), -1);
    ck_assert_msg(strstr(err.msg, "cannot create the swarm secret 'aftershock-key-t1'") &&
                      strstr(err.msg, "name conflicts"),
                  "%s", err.msg);
    ck_assert_str_eq(f.e.log, "POST /v1.41/secrets/create\n");
    ck_assert_uint_eq(ash_journal_pending(f.j), 0);
    fx_stop(&f);
}
END_TEST

START_TEST(test_bad_input_asks_nothing)
{
    struct fx f;
    fx_start(&f);
    struct ash_swarm *s = NULL;
    ash_error_t err = {0};
    struct ash_swarm_opts o = opts(&f);
    o.run_id = "../x";
    ck_assert_int_eq(ash_swarm_deploy(&o, &s, &err), -1);
    ck_assert_int_eq(err.klass, ASH_ERR_USAGE);
    ck_assert_msg(strstr(err.msg, "run id '../x'"), "%s", err.msg);
    o = opts(&f);
    o.image = "";
    ck_assert_int_eq(ash_swarm_deploy(&o, &s, &err), -1);
    ck_assert_int_eq(err.klass, ASH_ERR_USAGE);
    o = opts(&f);
    o.docker_host = "unix:///nonexistent/aftershock-test.sock";
    ck_assert_int_eq(ash_swarm_deploy(&o, &s, &err), -1);
    ck_assert_int_eq(err.klass, ASH_ERR_ENVIRONMENT);
    ck_assert_msg(strstr(err.msg, "/nonexistent/aftershock-test.sock"), "%s", err.msg);
    ck_assert_str_eq(f.e.log, "");
    ck_assert_uint_eq(ash_journal_pending(f.j), 0);
    fx_stop(&f);
}
END_TEST

START_TEST(test_recover_undo_ops)
{
    struct fx f;
    fx_start(&f);
    const struct ash_undo_op *svc = ash_undo_op_find("swarm.service"), *sec = ash_undo_op_find("swarm.secret");
    ck_assert_ptr_nonnull(svc);
    ck_assert_ptr_nonnull(sec);
    ash_error_t err = {0};
    json_t *rec = json_pack("{s:s, s:s}", "host", f.host, "name", "aftershock-agent-t9");
    ck_assert_msg(svc->undo(rec, &err) == 0, "%s", err.msg);
    json_decref(rec);
    /* Gone already (removed by hand, or by the run before it died): undone. */
    f.e.delete_status = 404;
    rec = json_pack("{s:s, s:s}", "host", f.host, "name", "aftershock-key-t9");
    ck_assert_msg(sec->undo(rec, &err) == 0, "%s", err.msg);
    json_decref(rec);
    /* A record naming something not aftershock's is not acted on. */
    rec = json_pack("{s:s, s:s}", "host", f.host, "name", "web");
    ck_assert_int_eq(svc->undo(rec, &err), -1);
    ck_assert_msg(strstr(err.msg, "not removing it"), "%s", err.msg);
    json_decref(rec);
    ck_assert_str_eq(f.e.log, "DELETE /v1.41/services/aftershock-agent-t9\nDELETE /v1.41/secrets/aftershock-key-t9\n");
    fx_stop(&f);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("fleet_swarm");
    TCase *tc = tcase_create("deploy");
    tcase_add_test(tc, test_deploy_and_remove);
    tcase_add_test(tc, test_failed_service_removes_secret);
    tcase_add_test(tc, test_existing_secret_not_removed);
    tcase_add_test(tc, test_bad_input_asks_nothing);
    tcase_add_test(tc, test_recover_undo_ops);
    suite_add_tcase(s, tc);
    int failed = ash_test_failures(s, CK_FORK);
    return ash_test_exit(failed);
}
