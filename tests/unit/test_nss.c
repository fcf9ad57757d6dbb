/* ash_nss_hosts_files_dns: which nsswitch.conf hosts lines a sandbox host
 * keeps, and the rewrite of the others (only that line changes). */
#include "env/nss.h"
#include "test_run.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static int rewrite(const char *in, char **out)
{
    return ash_nss_hosts_files_dns(in, strlen(in), out);
}

/* Debian's default, its order reversed, actions, a commented-out line,
 * another database whose name starts with "hosts", no hosts line. */
START_TEST(kept)
{
    const char *ok[] = {
        "passwd: files\nhosts:          files dns\nnetworks: files\n",
        "hosts: dns files",
        "hosts: files [NOTFOUND=return] dns\n",
        "hosts: files [ NOTFOUND = return ] dns\n",
        "hostsfoo: resolve\n",
        "# hosts: files resolve\npasswd: files systemd\n",
        "",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char *out = (char *)1;
        ck_assert_msg(rewrite(ok[i], &out) == 0, "rewrote: %s", ok[i]);
        ck_assert_ptr_null(out);
    }
}
END_TEST

/* systemd-resolved, mDNS, myhostname: the line becomes "hosts: files dns",
 * everything else stays byte for byte, a last line without a newline too. */
START_TEST(rewritten)
{
    struct {
        const char *in, *want;
    } t[] = {
        {"passwd: files systemd\nhosts: files resolve [!UNAVAIL=return] dns myhostname\nnetgroup: nis\n",
         "passwd: files systemd\nhosts: files dns\nnetgroup: nis\n"},
        {"hosts:  files mdns4_minimal [NOTFOUND=return] dns", "hosts: files dns"},
        {"  hosts:\tfiles dns myhostname\r\n", "hosts: files dns\n"},
        {"hosts: resolve\nhosts: files nis\n", "hosts: files dns\nhosts: files dns\n"},
        {"hosts: files\tdnsx\n", "hosts: files dns\n"},
        /* glibc 2.33+ strips no trailing comment: '#' and mdns4 are sources */
        {"hosts: files dns # mdns4\n", "hosts: files dns\n"},
        /* a hosts line as glibc reads one: blanks or colons after the name */
        {"hosts : resolve\n", "hosts: files dns\n"},
        {"hosts\tresolve dns\n", "hosts: files dns\n"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        char *out = NULL;
        ck_assert_int_eq(rewrite(t[i].in, &out), 1);
        ck_assert_str_eq(out, t[i].want);
        free(out);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("nss");
    TCase *tc = tcase_create("hosts");
    tcase_add_test(tc, kept);
    tcase_add_test(tc, rewritten);
    suite_add_tcase(s, tc);
    int failed = ash_test_failures(s, CK_FORK);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
