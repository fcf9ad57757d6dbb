/* Readiness ownership (issue 22 item 6): endpoint parsing, sock_diag listeners
 * by port, and socket holders inside / outside a process tree. */
#include "engine/ready_owner.h"
#include "sys/procsock.h"
#include "sys/sockdiag.h"
#include "test_run.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static bool endpoint(const char *tcp, const char *http, char *host, unsigned *port)
{
    char t[256], u[256];
    snprintf(t, sizeof t, "%s", tcp ? tcp : "");
    snprintf(u, sizeof u, "%s", http ? http : "");
    struct ash_ready_spec r = {.tcp = tcp ? t : NULL, .http = http ? u : NULL};
    return ash_ready_endpoint(&r, host, 256, port);
}

START_TEST(endpoints)
{
    char h[256];
    unsigned p;
    ck_assert(endpoint("127.0.0.1:18080", NULL, h, &p));
    ck_assert_str_eq(h, "127.0.0.1");
    ck_assert_uint_eq(p, 18080);
    ck_assert(endpoint("[::1]:8443", NULL, h, &p));
    ck_assert_str_eq(h, "::1");
    ck_assert_uint_eq(p, 8443);
    ck_assert(endpoint(NULL, "http://127.0.0.1:8080/healthz", h, &p));
    ck_assert_str_eq(h, "127.0.0.1");
    ck_assert_uint_eq(p, 8080);
    ck_assert(endpoint(NULL, "http://localhost/x?y", h, &p));
    ck_assert_str_eq(h, "localhost");
    ck_assert_uint_eq(p, 80);
    ck_assert(endpoint(NULL, "https://u:pw@[::1]/", h, &p));
    ck_assert_str_eq(h, "::1");
    ck_assert_uint_eq(p, 443);
    ck_assert(!endpoint("127.0.0.1", NULL, h, &p));
    ck_assert(!endpoint("127.0.0.1:99999", NULL, h, &p));
}
END_TEST

static int listen_any(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(listen(fd, 4), 0);
    socklen_t l = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &l);
    *port = ntohs(sa.sin_port);
    return fd;
}

START_TEST(listeners_and_holders)
{
    uint16_t port;
    int fd = listen_any(&port);
    struct stat st;
    ck_assert_int_eq(fstat(fd, &st), 0);
    struct ash_listener ls[8];
    size_t n = 0;
    ash_error_t err = {0};
    ck_assert_msg(ash_tcp_listeners(-1, port, ls, 8, &n, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(ls[0].inode, (uint64_t)st.st_ino);
    ck_assert_int_eq(ls[0].family, AF_INET);
    ck_assert_uint_eq(ls[0].port, port);
    uint64_t ino = ls[0].inode;
    pid_t mine, other;
    /* This process holds it: in its own tree. */
    ash_socket_holders(getpid(), &ino, 1, &mine, &other);
    ck_assert_int_eq(mine, getpid());
    /* A child's tree does not include its parent: the holder is "other". */
    int sync[2];
    ck_assert_int_eq(pipe(sync), 0);
    pid_t child = fork();
    if (child == 0) {
        close(fd);
        /* Only once the child no longer holds the socket may the parent look. */
        if (write(sync[1], "x", 1) != 1)
            _exit(1);
        pause();
        _exit(0);
    }
    char c;
    ck_assert_int_eq(read(sync[0], &c, 1), 1);
    close(sync[0]);
    close(sync[1]);
    ash_socket_holders(child, &ino, 1, &mine, &other);
    ck_assert_int_eq(mine, 0);
    ck_assert_int_eq(other, getpid());
    ck_assert(ash_proc_in_tree(child, getpid()));
    ck_assert(!ash_proc_in_tree(getpid(), child));
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    close(fd);
    /* Closed: nothing listens on the port any more. */
    ck_assert_int_eq(ash_tcp_listeners(-1, port, ls, 8, &n, &err), 0);
    ck_assert_uint_eq(n, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ready_owner");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, endpoints);
    tcase_add_test(tc, listeners_and_holders);
    suite_add_tcase(s, tc);
    int failed = ash_test_failures(s, CK_FORK);
    return failed ? 1 : 0;
}
