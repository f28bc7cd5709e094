/*
 * SMTP client TLS and AUTH: the client context, the handshake after
 * STARTTLS (or first, for a wrapper port), certificate checks, and AUTH
 * PLAIN/LOGIN to the smarthost.  The next hop is untrusted: a handshake
 * that fails where the policy requires TLS is a deferral, never a fall
 * back to clear text, and credentials are sent only once TLS is up.
 * Buffers that held credentials are wiped.
 */
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "config.h"
#include "monotime.h"
#include "readfile.h"
#include "smtpc_int.h"
#include "tls.h"

#define SMTPC_CA_FILE_MAX (4 * 1024 * 1024) /* a CA bundle, generously */

/* Every certificate of the PEM file cafile into ctx's trust store. */
static int
smtpc_ca_load(
    SSL_CTX *ctx, int rootfd, const char *cafile, char *err, size_t errlen)
{
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	char *buf = NULL;
	size_t len = 0, n = 0;
	BIO *bio = NULL;
	X509 *x;
	int rv;

	rv = readfile_at(rootfd, cafile, SMTPC_CA_FILE_MAX, &buf, &len, NULL);
	if (rv < 0) {
		(void)snprintf(err, errlen, "smtp_tls_ca_file '%s': %s", cafile,
		    readfile_strerror(rv));
		return rv;
	}
	rv = -ENOMEM;
	if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL)
		goto out;
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (X509_STORE_add_cert(store, x) == 1)
			n++;
		X509_free(x);
	}
	ERR_clear_error();
	rv = 0;
	if (n == 0) {
		rv = -EINVAL;
		(void)snprintf(err, errlen,
		    "smtp_tls_ca_file '%s': no PEM certificate", cafile);
	}
out:
	if (rv == -ENOMEM)
		(void)snprintf(err, errlen, "out of memory");
	BIO_free(bio);
	free(buf);
	return rv;
}

int
smtpc_tls_ctx(int rootfd, const char *cafile, struct ssl_ctx_st **ctxp,
    char *err, size_t errlen)
{
	SSL_CTX *ctx;
	int rv = 0;

	*ctxp = NULL;
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
		SSL_CTX_free(ctx);
		(void)snprintf(err, errlen, "cannot make a TLS client context");
		ERR_clear_error();
		return -ENOMEM;
	}
	SSL_CTX_set_options(
	    ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(ctx,
	    SSL_MODE_ENABLE_PARTIAL_WRITE |
		SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (cafile[0] != '\0')
		rv = smtpc_ca_load(ctx, rootfd, cafile, err, errlen);
	else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
		(void)snprintf(err, errlen, "cannot use the system CA store");
		rv = -EIO;
	}
	ERR_clear_error();
	if (rv < 0) {
		SSL_CTX_free(ctx);
		return rv;
	}
	*ctxp = ctx;
	return 0;
}

/* Check the chain and host (a name, or an address literal's address). */
static int
smtpc_tls_verify_setup(SSL *ssl, const char *host, int verify)
{
	unsigned char a[sizeof(struct in6_addr)];
	int ip = inet_pton(AF_INET, host, a) == 1 ||
	    inet_pton(AF_INET6, host, a) == 1;

	if (!ip && host[0] != '\0' && SSL_set_tlsext_host_name(ssl, host) != 1)
		return -1;
	if (!verify) {
		SSL_set_verify(ssl, SSL_VERIFY_NONE, NULL);
		return 0;
	}
	SSL_set_verify(ssl, SSL_VERIFY_PEER, NULL);
	if (host[0] == '\0')
		return -1;
	if (ip)
		return X509_VERIFY_PARAM_set1_ip_asc(
			   SSL_get0_param(ssl), host) == 1
		    ? 0
		    : -1;
	SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	return SSL_set1_host(ssl, host) == 1 ? 0 : -1;
}

/* Why the handshake failed: the certificate check, or OpenSSL's error. */
static void
smtpc_tls_why(struct smtpc *c, int r, char *why, size_t len)
{
	long vr = SSL_get_verify_result(c->ssl);
	unsigned long e = ERR_peek_last_error();

	if (vr != X509_V_OK)
		(void)snprintf(why, len, "certificate verification failed: %s",
		    X509_verify_cert_error_string(vr));
	else if (e != 0)
		(void)snprintf(why, len, "%s", ERR_reason_error_string(e));
	else if (c->why[0] != '\0')
		(void)snprintf(why, len, "%s", c->why);
	else
		(void)snprintf(why, len, "%s",
		    SSL_get_error(c->ssl, r) == SSL_ERROR_SYSCALL
			? "connection closed during the handshake"
			: "handshake error");
	ERR_clear_error();
}

int
smtpc_tls_start(struct smtpc *c, const struct smtpc_tls *tls, const char *host,
    unsigned timeout, struct smtpc_status *st)
{
	long long deadline = monotime_ms() + (long long)timeout * 1000;
	int verify = tls->level >= CONFIG_TLSC_VERIFY, r, e, w;
	char why[200];

	st->tls_failed = 1;
	c->broken = 1; /* until the handshake is done */
	if (tls->ctx == NULL) {
		smtpc_status_set(st, 0, "4.7.5", 1,
		    "TLS to %s impossible: no TLS client context (see the "
		    "queue runner's log)",
		    c->peer);
		return -1;
	}
	ERR_clear_error();
	if ((c->ssl = SSL_new(tls->ctx)) == NULL ||
	    SSL_set_fd(c->ssl, c->fd) != 1 ||
	    smtpc_tls_verify_setup(c->ssl, host, verify) != 0) {
		smtpc_status_set(st, 0, "4.7.5", 1,
		    "TLS with %s: cannot set up the connection", c->peer);
		ERR_clear_error();
		return -1;
	}
	for (;;) {
		ERR_clear_error();
		errno = 0;
		if ((r = SSL_connect(c->ssl)) == 1)
			break;
		e = SSL_get_error(c->ssl, r);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
			smtpc_tls_why(c, r, why, sizeof(why));
			smtpc_status_set(st, 0, "4.7.5", 1,
			    "TLS handshake with %s failed: %s", c->peer, why);
			return -1;
		}
		w = smtpc_io_wait(
		    c, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
		if (w <= 0) {
			smtpc_status_set(st, 0, "4.7.5", 1,
			    "TLS handshake with %s failed: %s", c->peer,
			    w == 0 ? "timeout" : strerror(errno));
			return -1;
		}
	}
	c->broken = 0;
	c->verified = verify;
	st->tls_failed = 0;
	tls_describe(c->ssl, c->tlsinfo, sizeof(c->tlsinfo));
	return 0;
}

/* "AUTH PLAIN" initial response or a LOGIN answer: base64 of s[0..n). */
static int
smtpc_b64_cmd(
    char *cmd, size_t len, const char *prefix, const char *s, size_t n)
{
	size_t p = strlen(prefix);

	if (p + 4 * ((n + 2) / 3) + 1 > len)
		return -1;
	memcpy(cmd, prefix, p);
	(void)EVP_EncodeBlock(
	    (unsigned char *)cmd + p, (const unsigned char *)s, (int)n);
	return 0;
}

/* Send cmd (wiped afterwards), read the reply; 0 if its code is want. */
static int
smtpc_auth_step(struct smtpc *c, char *cmd, int want, struct smtpc_status *st)
{
	int rv = smtpc_io_cmd(c, cmd, c->to.helo) != 0 ||
	    smtpc_io_flush(c, c->to.helo) != 0;

	explicit_bzero(cmd, SMTPC_CMD_MAX);
	smtpc_io_wipe(c);
	if (rv) {
		smtpc_status_lost(c, "during AUTH", st);
		return -1;
	}
	if (smtpc_io_reply(c, c->to.helo) != 0) {
		smtpc_status_lost(c, "after AUTH", st);
		return -1;
	}
	if (c->reply.code == want)
		return 0;
	smtpc_status_reply(c, st);
	if (c->reply.code == 421)
		c->broken = 1;
	if (c->reply.code / 100 != 4 && c->reply.code / 100 != 5) {
		/* 334 where 235 was due, 2xx where 334 was due: nonsense. */
		st->code = 0;
		st->temporary = 1;
		(void)strlcpy(st->status, "4.7.0", sizeof(st->status));
	}
	return -1;
}

static int
smtpc_auth_plain(
    struct smtpc *c, const struct smtpc_tls *tls, struct smtpc_status *st)
{
	char raw[2 * SMTPC_AUTH_FIELD_MAX + 3], cmd[SMTPC_CMD_MAX];
	size_t u = strlen(tls->user), p = strlen(tls->pass), n;
	int rv;

	if (u > SMTPC_AUTH_FIELD_MAX || p > SMTPC_AUTH_FIELD_MAX) {
		smtpc_status_set(st, 0, "4.7.0", 1, "credentials too long");
		return -1;
	}
	/* authzid empty, authcid, password (RFC 4616). */
	raw[0] = '\0';
	memcpy(raw + 1, tls->user, u);
	raw[1 + u] = '\0';
	memcpy(raw + 2 + u, tls->pass, p);
	n = 2 + u + p;
	rv = smtpc_b64_cmd(cmd, sizeof(cmd), "AUTH PLAIN ", raw, n);
	explicit_bzero(raw, sizeof(raw));
	if (rv != 0) {
		explicit_bzero(cmd, sizeof(cmd));
		smtpc_status_set(st, 0, "4.7.0", 1, "credentials too long");
		return -1;
	}
	return smtpc_auth_step(c, cmd, 235, st);
}

static int
smtpc_auth_login(
    struct smtpc *c, const struct smtpc_tls *tls, struct smtpc_status *st)
{
	char cmd[SMTPC_CMD_MAX];

	if (strlen(tls->user) > SMTPC_AUTH_FIELD_MAX ||
	    strlen(tls->pass) > SMTPC_AUTH_FIELD_MAX) {
		smtpc_status_set(st, 0, "4.7.0", 1, "credentials too long");
		return -1;
	}
	(void)strlcpy(cmd, "AUTH LOGIN", sizeof(cmd));
	if (smtpc_auth_step(c, cmd, 334, st) != 0)
		return -1;
	(void)smtpc_b64_cmd(
	    cmd, sizeof(cmd), "", tls->user, strlen(tls->user)); /* fits */
	if (smtpc_auth_step(c, cmd, 334, st) != 0)
		return -1;
	(void)smtpc_b64_cmd(cmd, sizeof(cmd), "", tls->pass, strlen(tls->pass));
	return smtpc_auth_step(c, cmd, 235, st);
}

int
smtpc_tls_auth(
    struct smtpc *c, const struct smtpc_tls *tls, struct smtpc_status *st)
{
	char text[sizeof(st->text)];
	int rv;

	if (c->ssl == NULL) {
		/* Never in clear, whatever the server offers. */
		smtpc_status_set(st, 0, "4.7.0", 1,
		    "not sending credentials to %s without TLS", c->peer);
		return -1;
	}
	if (!(c->ext & SMTPC_EXT_AUTH))
		return 0; /* it does not ask for a login */
	if (c->auth & SMTPC_AUTH_PLAIN)
		rv = smtpc_auth_plain(c, tls, st);
	else if (c->auth & SMTPC_AUTH_LOGIN)
		rv = smtpc_auth_login(c, tls, st);
	else {
		smtpc_status_set(st, 0, "4.7.0", 1,
		    "%s offers no AUTH mechanism we have (PLAIN, LOGIN)",
		    c->peer);
		return -1;
	}
	if (rv == 0)
		return 0;
	/*
	 * A refused login is our configuration's fault, not the message's:
	 * defer it, as Postfix's smtp_sasl_auth_soft_bounce, so a wrong
	 * password does not bounce the queue.
	 */
	if (st->code / 100 == 5) {
		st->temporary = 1;
		st->status[0] = '4';
	}
	if (st->code != 0) {
		/* The server's reply, cut if need be, follows ours. */
		if (snprintf(text, sizeof(text),
			"SASL authentication with %s failed: %s", c->peer,
			st->text) < 0)
			text[0] = '\0';
		(void)strlcpy(st->text, text, sizeof(st->text));
	}
	return -1;
}

void
smtpc_tls_end(struct smtpc *c)
{
	if (c->ssl == NULL)
		return;
	/* One close_notify, no waiting for the server's. */
	if (!c->broken)
		(void)SSL_shutdown(c->ssl);
	SSL_free(c->ssl);
	c->ssl = NULL;
	ERR_clear_error();
}

const char *
smtpc_tls_info(const struct smtpc *c, int *verified)
{
	if (verified != NULL)
		*verified = c->ssl != NULL && c->verified;
	return c->tlsinfo;
}
