/*
 * relayd TLS contexts, made in the master as root.  Trust boundary: the
 * key file is root's alone (root:root 0600); the master reads it through
 * the one whole-file reader (no symlink, no FIFO, a size cap) before it
 * forks, so no process that talks to a client ever opens it.  The copy in
 * our memory is wiped once OpenSSL has parsed it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "config.h"
#include "readfile.h"
#include "tls.h"

#define TLS_FILE_MAX (1024 * 1024) /* a PEM chain or key, generously */

static int tls_err(char *err, size_t errlen, int e, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The reason, then OpenSSL's own last error if it has one. */
static int
tls_err(char *err, size_t errlen, int e, const char *fmt, ...)
{
	char why[256] = "";
	unsigned long code;
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	(void)vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	if ((code = ERR_peek_last_error()) != 0) {
		ERR_error_string_n(code, why, sizeof(why));
		n = strlen(err);
		if (n < errlen)
			(void)snprintf(err + n, errlen - n, " (%s)", why);
	}
	ERR_clear_error();
	return -e;
}

/* The whole file into a memory BIO; the buffer is wiped and freed. */
static int
tls_read(int rootfd, const char *path, const char *what, BIO **biop, char *err,
    size_t errlen)
{
	char *buf = NULL;
	size_t len = 0;
	int rv;

	rv = readfile_trusted(rootfd, path, TLS_FILE_MAX, &buf, &len, NULL);
	if (rv < 0)
		return tls_err(err, errlen, -rv, "cannot read %s '%s': %s",
		    what, path, readfile_strerror(rv));
	/* BIO_new_mem_buf would only borrow buf: copy into a memory BIO. */
	if ((*biop = BIO_new(BIO_s_mem())) == NULL ||
	    BIO_write(*biop, buf, (int)len) != (int)len) {
		BIO_free(*biop);
		*biop = NULL;
		rv = tls_err(
		    err, errlen, ENOMEM, "%s '%s': out of memory", what, path);
	}
	explicit_bzero(buf, len);
	free(buf);
	return rv;
}

/* Certificate, then the chain, into ctx. */
static int
tls_use_chain(
    SSL_CTX *ctx, BIO *bio, const char *path, char *err, size_t errlen)
{
	X509 *x;

	if ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL)
		return tls_err(err, errlen, EINVAL,
		    "tls_cert '%s': no PEM certificate", path);
	if (SSL_CTX_use_certificate(ctx, x) != 1) {
		X509_free(x);
		return tls_err(err, errlen, EINVAL,
		    "tls_cert '%s': certificate refused", path);
	}
	X509_free(x);
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
		if (SSL_CTX_add0_chain_cert(ctx, x) != 1) {
			X509_free(x);
			return tls_err(err, errlen, EINVAL,
			    "tls_cert '%s': chain certificate refused", path);
		}
	/* The loop ends on "no start line": the end of the file. */
	ERR_clear_error();
	return 0;
}

static int
tls_use_key(SSL_CTX *ctx, BIO *bio, const char *path, char *err, size_t errlen)
{
	EVP_PKEY *pk;
	int ok;

	/* No passphrase callback: an encrypted key is an error, not a tty. */
	if ((pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)"")) == NULL)
		return tls_err(err, errlen, EINVAL,
		    "tls_key '%s': no unencrypted PEM private key", path);
	ok = SSL_CTX_use_PrivateKey(ctx, pk) == 1;
	EVP_PKEY_free(pk);
	if (!ok || SSL_CTX_check_private_key(ctx) != 1)
		return tls_err(err, errlen, EINVAL,
		    "tls_key '%s' does not match tls_cert", path);
	return 0;
}

static SSL_CTX *
tls_ctx_new(int minver)
{
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		return NULL;
	if (SSL_CTX_set_min_proto_version(
		ctx, minver == 13 ? TLS1_3_VERSION : TLS1_2_VERSION) != 1) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	/*
	 * Every session is a new child: a cache would die with it, and
	 * tickets would share one ticket key among all children.
	 */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	(void)SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_options(ctx,
	    SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION |
		SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(ctx,
	    SSL_MODE_ENABLE_PARTIAL_WRITE |
		SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	return ctx;
}

int
tls_ctx_load(int rootfd, const struct config *cfg, struct ssl_ctx_st **ctxp,
    char *err, size_t errlen)
{
	const char *cert = cfg->tls_cert, *key = cfg->tls_key;
	SSL_CTX *ctx = NULL;
	BIO *cb = NULL, *kb = NULL;
	int rv;

	*ctxp = NULL;
	ERR_clear_error();
	if ((ctx = tls_ctx_new(cfg->tls_min_version)) == NULL) {
		rv = tls_err(err, errlen, ENOMEM, "cannot make a TLS context");
		goto out;
	}
	/* A list OpenSSL makes nothing of would leave TLS 1.2 unusable. */
	if (cfg->tls_ciphers[0] != '\0' &&
	    SSL_CTX_set_cipher_list(ctx, cfg->tls_ciphers) != 1) {
		rv = tls_err(err, errlen, EINVAL,
		    "tls_ciphers: no cipher OpenSSL knows in '%s'",
		    cfg->tls_ciphers);
		goto out;
	}
	if ((rv = tls_read(rootfd, cert, "tls_cert", &cb, err, errlen)) < 0 ||
	    (rv = tls_use_chain(ctx, cb, cert, err, errlen)) < 0 ||
	    (rv = tls_read(rootfd, key, "tls_key", &kb, err, errlen)) < 0 ||
	    (rv = tls_use_key(ctx, kb, key, err, errlen)) < 0)
		goto out;
	*ctxp = ctx;
	ctx = NULL;
out:
	BIO_free(cb);
	BIO_free(kb); /* a mem BIO clears its buffer when freed */
	SSL_CTX_free(ctx);
	return rv;
}

void
tls_ctx_free(struct ssl_ctx_st *ctx)
{
	SSL_CTX_free(ctx);
}

void
tls_describe(struct ssl_st *ssl, char *buf, size_t len)
{
	const SSL_CIPHER *c = SSL_get_current_cipher(ssl);
	int alg = 0, bits;

	bits = c != NULL ? SSL_CIPHER_get_bits(c, &alg) : 0;
	(void)snprintf(buf, len, "%s with cipher %s (%d/%d bits)",
	    SSL_get_version(ssl), c != NULL ? SSL_CIPHER_get_name(c) : "none",
	    bits, alg);
}
