/*
 * Unit tests for lib/sendmailcf.c: where confRUN_AS_USER goes in a .mc,
 * which existing values are the account, ours to correct, or a conflict;
 * "O RunAsUser=" in a hand-written sendmail.cf; Debian's HANDS_OFF.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sendmailcf.h"

#define OURS                                             \
	"define(`confRUN_AS_USER', `relay:relay')dnl # " \
	"relayctl setup --mta sendmail\n"
#define HEAD "divert(0)dnl\nOSTYPE(`debian')dnl\n"
#define TAIL "MAILER_DEFINITIONS\nMAILER(`local')dnl\nMAILER(`smtp')dnl\n"

static void
mc(const char *text, enum sendmailcf_state want, const char *out)
{
	struct sendmailcf_edit e;

	assert_int_equal(
	    sendmailcf_mc_run_as(text, strlen(text), "relay", "relay", &e), 0);
	assert_int_equal(e.state, want);
	if (out == NULL)
		assert_null(e.out);
	else {
		assert_non_null(e.out);
		assert_int_equal(e.outlen, strlen(out));
		assert_string_equal(e.out, out);
	}
	sendmailcf_edit_free(&e);
}

static void
test_mc_add(void **state)
{
	(void)state;
	mc(HEAD TAIL, SENDMAILCF_ADD, HEAD OURS TAIL);
	/* only MAILER( lines, indented */
	mc(HEAD "  MAILER(`smtp')dnl\n", SENDMAILCF_ADD,
	    HEAD OURS "  MAILER(`smtp')dnl\n");
	/* no MAILER line: at the end, after a missing final newline */
	mc(HEAD "FEATURE(`x')dnl", SENDMAILCF_ADD,
	    HEAD "FEATURE(`x')dnl\n" OURS);
	/* commented out: not set */
	mc(HEAD "dnl define(`confRUN_AS_USER', `mail')dnl\n" TAIL,
	    SENDMAILCF_ADD,
	    HEAD "dnl define(`confRUN_AS_USER', `mail')dnl\n" OURS TAIL);
}

static void
test_mc_same(void **state)
{
	(void)state;
	mc(HEAD OURS TAIL, SENDMAILCF_SAME, NULL);
	/* hand-written, same account, with or without the group */
	mc(HEAD "define(`confRUN_AS_USER',`relay:relay')dnl\n" TAIL,
	    SENDMAILCF_SAME, NULL);
	mc(HEAD "  define( `confRUN_AS_USER' , `relay')dnl\n" TAIL,
	    SENDMAILCF_SAME, NULL);
	/* twice, both the account */
	mc(HEAD OURS "define(`confRUN_AS_USER', `relay')dnl\n" TAIL,
	    SENDMAILCF_SAME, NULL);
}

static void
test_mc_fix_and_conflict(void **state)
{
	const char *old = "define(`confRUN_AS_USER', `nobody:nogroup')dnl # "
			  "relayctl setup --mta sendmail\n";
	struct sendmailcf_edit e;
	char *text;

	(void)state;
	if (asprintf(&text, HEAD "%s" TAIL, old) < 0)
		fail();
	mc(text, SENDMAILCF_FIX, HEAD OURS TAIL);
	free(text);
	/* someone else's choice */
	text = HEAD "define(`confRUN_AS_USER', `mail:mail')dnl\n" TAIL;
	assert_int_equal(
	    sendmailcf_mc_run_as(text, strlen(text), "relay", "relay", &e), 0);
	assert_int_equal(e.state, SENDMAILCF_CONFLICT);
	assert_string_equal(e.found, "mail:mail");
	assert_int_equal(e.line, 3);
	assert_null(e.out);
	/* the user right, the group another one */
	mc(HEAD "define(`confRUN_AS_USER', `relay:smmsp')dnl\n" TAIL,
	    SENDMAILCF_CONFLICT, NULL);
	/* a prefix of the name is not the name */
	mc(HEAD "define(`confRUN_AS_USER', `relayx')dnl\n" TAIL,
	    SENDMAILCF_CONFLICT, NULL);
	/* ours and another: a human keeps one */
	mc(HEAD OURS "define(`confRUN_AS_USER', `mail')dnl\n" TAIL,
	    SENDMAILCF_DUP, NULL);
}

static void
test_mc_refused_input(void **state)
{
	struct sendmailcf_edit e;

	(void)state;
	assert_int_equal(
	    sendmailcf_mc_run_as("a\0b", 3, "relay", "relay", &e), -EINVAL);
	/* a name that would change the m4 line */
	assert_int_equal(
	    sendmailcf_mc_run_as(TAIL, strlen(TAIL), "re'lay", "relay", &e),
	    -EINVAL);
	assert_int_equal(
	    sendmailcf_mc_run_as(TAIL, strlen(TAIL), "relay", "a)dnl", &e),
	    -EINVAL);
}

static void
cf(const char *text, enum sendmailcf_state want, const char *out)
{
	struct sendmailcf_edit e;

	assert_int_equal(
	    sendmailcf_cf_run_as(text, strlen(text), "relay", "relay", &e), 0);
	assert_int_equal(e.state, want);
	if (out == NULL)
		assert_null(e.out);
	else
		assert_string_equal(e.out, out);
	sendmailcf_edit_free(&e);
}

#define CF_OURS                                                          \
	"# RunAsUser: relayctl setup --mta sendmail\nO RunAsUser=relay:" \
	"relay\n"

static void
test_cf(void **state)
{
	(void)state;
	cf("V10\nO A=1\n#O RunAsUser=x\nO B=2\nS0\n", SENDMAILCF_ADD,
	    "V10\nO A=1\n#O RunAsUser=x\nO B=2\n" CF_OURS "S0\n");
	cf("V10\nS0\n", SENDMAILCF_ADD, CF_OURS "V10\nS0\n");
	cf("O RunAsUser=relay  \n", SENDMAILCF_SAME, NULL);
	cf("O RunAsUser=smmta:smmsp\n", SENDMAILCF_CONFLICT, NULL);
	cf("# RunAsUser: relayctl setup --mta sendmail\nO RunAsUser=x:y\n"
	   "O C=3\n",
	    SENDMAILCF_FIX, CF_OURS "O C=3\n");
	cf("O RunAsUser=relay\nO RunAsUser=mail\n", SENDMAILCF_DUP, NULL);
}

static void
test_cf_option(void **state)
{
	const char *t = "O PidFile=/a\n#O PidFile=/b\n O  PidFile=/c \n"
			"O PidFileX=/d\n";
	char v[16];

	(void)state;
	assert_int_equal(
	    sendmailcf_cf_option(t, strlen(t), "PidFile", v, sizeof(v)), 1);
	assert_string_equal(v, "/c");
	assert_int_equal(
	    sendmailcf_cf_option(t, strlen(t), "RunAsUser", v, sizeof(v)), 0);
	assert_string_equal(v, "");
}

static void
hands(const char *text, int want)
{
	assert_int_equal(sendmailcf_hands_off(text, strlen(text)), want);
}

static void
test_hands_off(void **state)
{
	(void)state;
	hands("", 0); /* Debian's default is "No" */
	hands("HANDS_OFF=\"No\";\n", 0);
	hands("#HANDS_OFF=\"Yes\";\nHANDS_OFF=\"No\";\n", 0);
	hands("HANDS_OFF=\"Yes\";\n", 1);
	hands("HANDS_OFF='No';\nHANDS_OFF=\"Yes\";\n", 1); /* last wins */
	hands("HANDS_OFF=\"Yes\";\nHANDS_OFF=No\n", 0);
	/* the scripts test != 'No': anything else is hands off */
	hands("HANDS_OFF=\"no\";\n", 1);
	hands("HANDS_OFF=\"\";\n", 1);
	hands("HANDS_OFFX=\"Yes\";\n", 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mc_add),
		cmocka_unit_test(test_mc_same),
		cmocka_unit_test(test_mc_fix_and_conflict),
		cmocka_unit_test(test_mc_refused_input),
		cmocka_unit_test(test_cf),
		cmocka_unit_test(test_cf_option),
		cmocka_unit_test(test_hands_off),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
