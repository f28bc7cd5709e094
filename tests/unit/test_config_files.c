/*
 * relayd.conf as files: the shipped sample parses and states the real
 * defaults, relayd.conf(5) documents every key (and no other), and
 * config_load() checks the file itself (owner, mode, size, links) in a
 * temporary directory.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "config_fixture.h"

static char *
slurp(const char *path, size_t *len)
{
	char *buf;
	FILE *f;

	assert_non_null(f = fopen(path, "r"));
	assert_non_null(buf = malloc(CONFIG_FILE_MAX));
	*len = fread(buf, 1, CONFIG_FILE_MAX, f);
	assert_int_equal(fclose(f), 0);
	return buf;
}

/* The sample parses, and every default it states is the real default. */
static void
test_sample(void **state)
{
	struct config *defaults = malloc(sizeof(*defaults));
	struct config_error err;
	size_t len;
	char *text = slurp(SRCDIR "/share/relayd.conf.sample", &len);
	int rv;

	(void)state;
	assert_non_null(defaults);
	config_defaults(defaults);
	config_defaults(cfg);
	rv = config_parse(text, len, "relayd.conf.sample", cfg, &err);
	if (rv != 0)
		fail_msg(
		    "%s:%zu: %s: %s", err.file, err.line, err.key, err.msg);
	assert_memory_equal(defaults, cfg, sizeof(*defaults));
	free(defaults);
	free(text);
}

/* The man page documents every key the parser knows, and no other. */
/* Keys the sample shows as "#key =": they need the host or other keys. */
static int
commented(const char *name)
{
	static const char *const keys[] = { "hostname", "tls", "smarthost_tls",
		"tls_min_version", "tls_ciphers" };
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(name, keys[i]) == 0)
			return 1;
	return 0;
}

static void
test_man_page_keys(void **state)
{
	static const char *const names[] = { "hostname", "run_as", "spool",
		"listen", "relay_from", "relay_domains", "relay_recipients",
		"smarthost", "resolver", "transport", "max_message_size",
		"max_line_length", "max_recipients", "max_children",
		"max_per_ip", "max_hops", "greet_pause", "timeout_greeting",
		"timeout_command", "timeout_data_init", "timeout_data_block",
		"timeout_data_term", "queue_lifetime", "retry", "chroot",
		"pidfile", "milter", "tls_cert", "tls_key", "tls", "smtp_tls",
		"smtp_tls_ca_file", "smarthost_tls", "smarthost_auth",
		"tls_min_version", "tls_ciphers" };
	struct config_error err;
	char line[128], *man, *sample;
	size_t i, len, slen;

	(void)state;
	man = slurp(SRCDIR "/share/man/relayd.conf.5", &len);
	man[len < CONFIG_FILE_MAX ? len : len - 1] = '\0';
	sample = slurp(SRCDIR "/share/relayd.conf.sample", &slen);
	sample[slen < CONFIG_FILE_MAX ? slen : slen - 1] = '\0';
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(line, sizeof(line), "\n.It Ic %s ", names[i]);
		if (strstr(man, line) == NULL)
			fail_msg("relayd.conf.5 lacks '.It Ic %s'", names[i]);
		snprintf(line, sizeof(line), "\n%s =", names[i]);
		/* Defaults that depend on the host or on other keys are
		 * shown commented out. */
		if (strstr(sample, line) == NULL && commented(names[i])) {
			snprintf(line, sizeof(line), "\n#%s =", names[i]);
		}
		if (strstr(sample, line) == NULL)
			fail_msg("sample lacks '%s ='", names[i]);
		/* ... and the parser knows it. */
		snprintf(line, sizeof(line), "[relayd]\n%s = \x01\n", names[i]);
		assert_int_equal(parse(line, &err), -EINVAL);
		assert_string_equal(err.key, names[i]);
		assert_null(strstr(err.msg, "unknown key"));
	}
	free(man);
	free(sample);
}

/* tls_cert, tls_key, tls and "/tls" listeners, and how they go together. */

static void
write_conf(int dirfd, const char *name, const char *text, mode_t mode)
{
	int fd;

	fd =
	    openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd != -1);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
}

static void
test_load(void **state)
{
	char dir[] = "/tmp/config-test.XXXXXX";
	struct config_error err;
	char *big;
	int rootfd, fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_true((rootfd = open(dir, O_RDONLY | O_DIRECTORY)) != -1);
	assert_int_equal(mkdirat(rootfd, "etc", 0755), 0);
	write_conf(rootfd, "etc/relayd.conf", "[relayd]\nmax_hops = 7\n", 0640);

	/* Absolute paths are taken under the root fd. */
	config_defaults(cfg);
	assert_int_equal(config_load(rootfd, "/etc/relayd.conf", cfg, &err), 0);
	assert_int_equal(cfg->max_hops, 7);

	write_conf(rootfd, "etc/bad.conf", "[relayd]\n\nmax_hops = x\n", 0600);
	assert_int_equal(
	    config_load(rootfd, "/etc/bad.conf", cfg, &err), -EINVAL);
	assert_string_equal(err.file, "/etc/bad.conf");
	assert_int_equal(err.line, 3);
	assert_string_equal(err.key, "max_hops");

	write_conf(rootfd, "etc/gw.conf", "[relayd]\n", 0660);
	assert_int_equal(config_load(rootfd, "etc/gw.conf", cfg, &err), -EPERM);
	assert_non_null(strstr(err.msg, "writable by group or others"));
	write_conf(rootfd, "etc/ow.conf", "[relayd]\n", 0602);
	assert_int_equal(config_load(rootfd, "etc/ow.conf", cfg, &err), -EPERM);

	write_conf(rootfd, "etc/foreign.conf", "[relayd]\n", 0640);
	assert_true((fd = openat(rootfd, "etc/foreign.conf", O_RDONLY)) != -1);
	assert_int_equal(fchown(fd, 4242, 4242), 0);
	assert_int_equal(close(fd), 0);
	assert_int_equal(
	    config_load(rootfd, "etc/foreign.conf", cfg, &err), -EPERM);
	assert_non_null(strstr(err.msg, "not owned by root"));

	assert_int_equal(symlinkat("relayd.conf", rootfd, "etc/link.conf"), 0);
	assert_int_equal(
	    config_load(rootfd, "etc/link.conf", cfg, &err), -ELOOP);
	assert_int_equal(
	    config_load(rootfd, "etc/missing.conf", cfg, &err), -ENOENT);
	assert_string_equal(err.msg, "No such file or directory");
	assert_int_equal(config_load(rootfd, "etc", cfg, &err), -EINVAL);
	assert_string_equal(err.msg, "not a regular file");
	assert_int_equal(config_load(rootfd, "/", cfg, &err), -EINVAL);

	/* 1 MiB of comments is fine, one byte more is not. */
	assert_non_null(big = malloc(CONFIG_FILE_MAX + 2));
	memset(big, '#', CONFIG_FILE_MAX + 1);
	big[CONFIG_FILE_MAX + 1] = '\0';
	for (size_t i = 100; i < CONFIG_FILE_MAX; i += 100)
		big[i] = '\n';
	write_conf(rootfd, "etc/big.conf", big, 0600);
	assert_int_equal(
	    config_load(rootfd, "etc/big.conf", cfg, &err), -EFBIG);
	big[CONFIG_FILE_MAX] = '\0';
	write_conf(rootfd, "etc/big.conf", big, 0600);
	assert_int_equal(config_load(rootfd, "etc/big.conf", cfg, &err), 0);
	free(big);

	/* AT_FDCWD: the path is used as given. */
	{
		char path[128];

		snprintf(path, sizeof(path), "%s/etc/relayd.conf", dir);
		assert_int_equal(config_load(AT_FDCWD, path, cfg, &err), 0);
	}

	const char *names[] = { "etc/relayd.conf", "etc/bad.conf",
		"etc/gw.conf", "etc/ow.conf", "etc/foreign.conf",
		"etc/link.conf", "etc/big.conf" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		assert_int_equal(unlinkat(rootfd, names[i], 0), 0);
	assert_int_equal(unlinkat(rootfd, "etc", AT_REMOVEDIR), 0);
	assert_int_equal(close(rootfd), 0);
	assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sample),
		cmocka_unit_test(test_man_page_keys),
		cmocka_unit_test(test_load),
	};

	return cmocka_run_group_tests(tests, config_setup, config_teardown);
}
