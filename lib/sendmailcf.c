/*
 * sendmailcf: find and set sendmail's RunAsUser in sendmail.mc (the m4
 * source Debian keeps) or in a hand-written sendmail.cf, and read
 * Debian's HANDS_OFF.  The text is root's configuration, but a line we
 * do not understand is never rewritten: only relayctl's own marked line
 * is corrected, anything else that disagrees is a conflict for a human.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sendmailcf.h"

#define LINE_MAX_LEN 4096 /* longer lines are never ours */

/* One line of text: [s, s + n), without its '\n'. */
struct line {
	const char *s;
	size_t n;
	size_t no; /* 1-based */
};

/* The next line after l (l->s NULL: the first); 0 at the end. */
static int
next_line(const char *text, size_t len, struct line *l)
{
	const char *p, *end = text + len, *nl;

	p = l->s == NULL ? text : l->s + l->n + 1;
	if (p >= end)
		return 0;
	nl = memchr(p, '\n', (size_t)(end - p));
	l->s = p;
	l->n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
	l->no++;
	return 1;
}

/* The line with leading blanks skipped, as a NUL-ended copy in buf. */
static const char *
trimmed(const struct line *l, char *buf, size_t size)
{
	const char *s = l->s;
	size_t n = l->n;

	while (n > 0 && (*s == ' ' || *s == '\t'))
		s++, n--;
	if (n >= size)
		n = size - 1; /* a cut line never matches ours */
	memcpy(buf, s, n);
	buf[n] = '\0';
	return buf;
}

static const char *
skip_blanks(const char *s)
{
	return s + strspn(s, " \t");
}

int
sendmailcf_is_account(const char *value, const char *user, const char *group)
{
	size_t n = strlen(user);

	if (strncmp(value, user, n) != 0)
		return 0;
	return value[n] == '\0' ||
	    (value[n] == ':' && strcmp(value + n + 1, group) == 0);
}

/*
 * "define(`confRUN_AS_USER', `VALUE')dnl ..." -> 1 and VALUE in val, the
 * marker after it in *ours.  0 for any other line.
 */
static int
mc_define(const char *s, char *val, size_t size, int *ours)
{
	const char *v, *end;

	if (strncmp(s, "define(", 7) != 0)
		return 0;
	s = skip_blanks(s + 7);
	s += *s == '`';
	if (strncmp(s, "confRUN_AS_USER", 15) != 0)
		return 0;
	s += 15;
	s += *s == '\'';
	s = skip_blanks(s);
	if (*s++ != ',')
		return 0;
	v = skip_blanks(s);
	if (*v == '`')
		end = strchr(++v, '\'');
	else
		end = v + strcspn(v, ") \t");
	if (end == NULL)
		return 0;
	(void)snprintf(val, size, "%.*s", (int)(end - v), v);
	*ours = strstr(end, "dnl # " SENDMAILCF_MARK) != NULL;
	return 1;
}

/* "O RunAsUser=VALUE" -> 1 and VALUE (trailing blanks cut). */
static int
cf_option_line(const char *s, const char *name, char *val, size_t size)
{
	size_t n = strlen(name), vl;

	if (s[0] != 'O' || (s[1] != ' ' && s[1] != '\t'))
		return 0;
	s = skip_blanks(s + 1);
	if (strncmp(s, name, n) != 0 || s[n] != '=')
		return 0;
	s += n + 1;
	vl = strlen(s);
	while (vl > 0 && strchr(" \t\r", s[vl - 1]) != NULL)
		vl--;
	(void)snprintf(val, size, "%.*s", (int)vl, s);
	return 1;
}

/* out = text with [at, at + cut) replaced by add. */
static int
splice(struct sendmailcf_edit *e, const char *text, size_t len, size_t at,
    size_t cut, const char *add)
{
	size_t an = strlen(add), nl = at > 0 && text[at - 1] != '\n';

	e->outlen = len - cut + an + nl;
	if ((e->out = malloc(e->outlen + 1)) == NULL)
		return -ENOMEM;
	memcpy(e->out, text, at);
	if (nl)
		e->out[at] = '\n';
	memcpy(e->out + at + nl, add, an);
	memcpy(e->out + at + nl + an, text + at + cut, len - at - cut);
	e->out[e->outlen] = '\0';
	return 0;
}

/* Characters that would change the meaning of our m4 or cf line. */
static int
bad_name(const char *s)
{
	return s[0] == '\0' || strlen(s) > 32 ||
	    strpbrk(s, "`'(),:#$\\\" \t\r\n") != NULL;
}

static void
edit_reset(struct sendmailcf_edit *e)
{
	memset(e, 0, sizeof(*e));
	e->state = SENDMAILCF_ADD;
}

/* One more RunAsUser setting found at line no: fold it into e->state. */
static void
seen(struct sendmailcf_edit *e, int *count, int *fix_at, const char *val,
    int ours, size_t no, const char *user, const char *group)
{
	int same = sendmailcf_is_account(val, user, group);

	(void)strlcpy(e->found, val, sizeof(e->found));
	e->line = no;
	if (++*count > 1)
		e->state = e->state == SENDMAILCF_SAME && same ? SENDMAILCF_SAME
							       : SENDMAILCF_DUP;
	else if (same)
		e->state = SENDMAILCF_SAME;
	else if (ours) {
		e->state = SENDMAILCF_FIX;
		*fix_at = 1;
	} else
		e->state = SENDMAILCF_CONFLICT;
}

int
sendmailcf_mc_run_as(const char *text, size_t len, const char *user,
    const char *group, struct sendmailcf_edit *e)
{
	struct line l = { 0 }, fix = { 0 };
	char buf[LINE_MAX_LEN], val[128], want[160];
	size_t insert = len, insert_no = 0;
	int count = 0, ours, fix_at = 0;
	const char *s;

	edit_reset(e);
	if (memchr(text, '\0', len) != NULL || bad_name(user) ||
	    bad_name(group))
		return -EINVAL;
	while (next_line(text, len, &l)) {
		s = trimmed(&l, buf, sizeof(buf));
		if (insert == len &&
		    (strncmp(s, "MAILER_DEFINITIONS", 18) == 0 ||
			strncmp(s, "MAILER(", 7) == 0)) {
			insert = (size_t)(l.s - text);
			insert_no = l.no;
		}
		if (!mc_define(s, val, sizeof(val), &ours))
			continue;
		fix_at = 0;
		seen(e, &count, &fix_at, val, ours, l.no, user, group);
		if (fix_at)
			fix = l;
	}
	(void)snprintf(want, sizeof(want),
	    "define(`confRUN_AS_USER', `%s:%s')dnl # " SENDMAILCF_MARK "\n",
	    user, group);
	if (e->state == SENDMAILCF_ADD) {
		e->line = insert_no ? insert_no : l.no + 1;
		return splice(e, text, len, insert, 0, want);
	}
	if (e->state == SENDMAILCF_FIX)
		return splice(e, text, len, (size_t)(fix.s - text),
		    fix.n + (fix.s + fix.n < text + len), want);
	return 0;
}

int
sendmailcf_cf_run_as(const char *text, size_t len, const char *user,
    const char *group, struct sendmailcf_edit *e)
{
	struct line l = { 0 }, fix = { 0 };
	char buf[LINE_MAX_LEN], val[128], want[192];
	size_t insert = 0, insert_no = 1;
	int count = 0, fix_at = 0, marked = 0;
	const char *s;

	edit_reset(e);
	if (memchr(text, '\0', len) != NULL || bad_name(user) ||
	    bad_name(group))
		return -EINVAL;
	while (next_line(text, len, &l)) {
		s = trimmed(&l, buf, sizeof(buf));
		if (s[0] == 'O' && (s[1] == ' ' || s[1] == '\t')) {
			insert = (size_t)(l.s - text) + l.n +
			    (l.s + l.n < text + len);
			insert_no = l.no + 1;
		}
		if (cf_option_line(s, "RunAsUser", val, sizeof(val))) {
			fix_at = 0;
			seen(
			    e, &count, &fix_at, val, marked, l.no, user, group);
			if (fix_at)
				fix = l;
		}
		marked = s[0] == '#' && strstr(s, SENDMAILCF_MARK) != NULL;
	}
	if (e->state == SENDMAILCF_FIX) {
		(void)snprintf(
		    want, sizeof(want), "O RunAsUser=%s:%s\n", user, group);
		return splice(e, text, len, (size_t)(fix.s - text),
		    fix.n + (fix.s + fix.n < text + len), want);
	}
	if (e->state != SENDMAILCF_ADD)
		return 0;
	(void)snprintf(want, sizeof(want),
	    "# RunAsUser: " SENDMAILCF_MARK "\nO RunAsUser=%s:%s\n", user,
	    group);
	e->line = insert_no;
	return splice(e, text, len, insert, 0, want);
}

int
sendmailcf_cf_option(
    const char *text, size_t len, const char *name, char *out, size_t outlen)
{
	struct line l = { 0 };
	char buf[LINE_MAX_LEN];
	int found = 0;

	out[0] = '\0';
	while (next_line(text, len, &l))
		if (cf_option_line(
			trimmed(&l, buf, sizeof(buf)), name, out, outlen))
			found = 1;
	return found;
}

int
sendmailcf_hands_off(const char *text, size_t len)
{
	struct line l = { 0 };
	char buf[512];
	const char *s;
	size_t n;
	int on = 0;

	while (next_line(text, len, &l)) {
		s = trimmed(&l, buf, sizeof(buf));
		if (strncmp(s, "HANDS_OFF", 9) != 0)
			continue;
		s = skip_blanks(s + 9);
		if (*s++ != '=')
			continue;
		s += strspn(s, "\"'");
		n = strcspn(s, "\"'; \t#");
		on = !(n == 2 && strncmp(s, "No", 2) == 0);
	}
	return on;
}

void
sendmailcf_edit_free(struct sendmailcf_edit *e)
{
	if (e == NULL)
		return;
	free(e->out);
	e->out = NULL;
	e->outlen = 0;
}
