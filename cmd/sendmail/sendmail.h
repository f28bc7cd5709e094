/*
 * relayd-sendmail: the sendmail(1)-compatible local submission command.
 * It runs as the calling user (never setuid) and hands the message to
 * relayd over the submit_socket in SMTP; relayd-sendmail(8).
 */
#ifndef RELAYD_SENDMAIL_H
#define RELAYD_SENDMAIL_H

#include <stddef.h>

#define SM_DEFAULT_SOCKET "/run/relayd/submit"
#define SM_ADDR_MAX 256 /* an address, as relayd takes it (<...> included) */

/* A growing byte buffer; the message, CRLF lines. */
struct sm_buf {
	char *p;
	size_t len, cap;
};

int sm_buf_add(struct sm_buf *b, const void *p, size_t n);

/* A list of addresses (recipients). */
struct sm_list {
	char **v;
	size_t n, cap;
};

int sm_list_add(struct sm_list *l, const char *s, size_t n);

/* What the options asked for. */
struct sm_opts {
	const char *sender; /* -f/-r, NULL: the user's own address */
	const char *fullname; /* -F */
	int dot_ends; /* no -i: a "." line ends the input */
	int from_headers; /* -t */
	int quiet; /* -oeq */
	int verbose; /* -v */
	const char *body; /* -B: "7BIT" or "8BITMIME", NULL none */
	char notify[40]; /* -N, as NOTIFY= wants it; "" none */
	const char *ret; /* -R: "FULL" or "HDRS", NULL none */
	char envid[256]; /* -V, xtext; "" none */
	struct sm_list rcpts;
};

/*
 * message.c: read stdin into msg (CRLF lines, the "." rule of -i), take
 * the -t recipients into o->rcpts and drop Bcc fields; *has_from when the
 * header section has a From field; *eightbit when any octet is 8-bit.
 * 0, or -errno.
 */
int sm_read_message(
    struct sm_opts *o, struct sm_buf *msg, int *has_from, int *eightbit);

/* Add the addresses of a To/Cc/Bcc field value to l; 0 or -ENOMEM. */
int sm_addr_list(struct sm_list *l, const char *v, size_t n);

/*
 * submit.c: the SMTP dialogue with relayd on the socket at path.
 * Returns a sysexits(3) code and prints the one line that says why.
 */
int sm_submit(const char *path, struct sm_opts *o, struct sm_buf *msg,
    int has_from, int eightbit);

/* -bs: the user's SMTP on stdin/stdout, to relayd and back. */
int sm_relay_stdio(const char *path, const struct sm_opts *o);

/* Messages (suppressed by -oeq). */
void sm_err(const struct sm_opts *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * connect() to the socket: fd, or -1 with the exit code in *code and a
 * line that ends with what (the consequence: "message not sent").
 */
int sm_connect(
    const char *path, const struct sm_opts *o, int *code, const char *what);

/* -bp, mailq: the caller's messages as relayd lists them (all for root). */
int sm_list(const char *path, const struct sm_opts *o);

#endif
