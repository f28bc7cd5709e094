/*
 * check tls: relayd.conf's tls_cert and tls_key.  The key must stay
 * root's (relayd's master reads it before any child exists, so the relay
 * account never needs it), must match the certificate, and the
 * certificate must not have expired or expire within 14 days.  Both are
 * read through the one whole-file reader, never written.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "check.h"
#include "readfile.h"
#include "walk.h"

#define TLS_FILE_MAX (1024 * 1024)
#define EXPIRY_DAYS 14

static const char fix_key[] = "chown root:root and chmod 0600 it";

/* The relay account could read st by its mode (its own or its group's). */
static int
relay_reads(const struct check *c, const struct stat *st)
{
	if (st->st_mode & S_IROTH)
		return 1;
	if (!c->have_ids)
		return 0;
	if (st->st_uid == c->uid)
		return (st->st_mode & S_IRUSR) != 0;
	/* With an ACL the group bits are its mask: any entry may read. */
	return st->st_gid == c->gid && (st->st_mode & S_IRGRP) != 0;
}

/* The file parsed by fn into *out; a finding (not an error) if it fails. */
static int
load(struct check *c, const char *path, const char *what, void **out,
    void *(*fn)(BIO *), struct stat *st)
{
	char *buf = NULL, actual[256];
	size_t len = 0;
	BIO *bio = NULL;
	int rv;

	*out = NULL;
	rv = readfile_trusted(c->rootfd, path, TLS_FILE_MAX, &buf, &len, st);
	if (rv < 0) {
		snprintf(actual, sizeof(actual), "cannot read it: %s",
		    readfile_strerror(rv));
		return check_add(c, "tls.unreadable", SEV_UNSAFE, path, what,
		    actual, "fix the file or the path in relayd.conf");
	}
	if ((bio = BIO_new_mem_buf(buf, (int)len)) != NULL)
		*out = fn(bio);
	BIO_free(bio);
	explicit_bzero(buf, len);
	free(buf);
	ERR_clear_error();
	if (*out == NULL)
		return check_add(c, "tls.unreadable", SEV_UNSAFE, path, what,
		    "not one", "fix the file or the path in relayd.conf");
	return 0;
}

static void *
read_cert(BIO *b)
{
	return PEM_read_bio_X509(b, NULL, NULL, NULL);
}

static void *
read_key(BIO *b)
{
	return PEM_read_bio_PrivateKey(b, NULL, NULL, (void *)"");
}

static int
check_expiry(struct check *c, X509 *x)
{
	const ASN1_TIME *end = X509_get0_notAfter(x);
	char actual[128];
	int days = 0, secs = 0;

	if (!ASN1_TIME_diff(&days, &secs, NULL, end))
		return check_add(c, "tls.cert_expired", SEV_UNSAFE,
		    c->cfg.tls_cert, "a valid expiry date", "unreadable date",
		    "renew the certificate");
	if (days < 0 || (days == 0 && secs <= 0)) {
		snprintf(actual, sizeof(actual), "expired %d days ago", -days);
		return check_add(c, "tls.cert_expired", SEV_UNSAFE,
		    c->cfg.tls_cert, "not expired", actual,
		    "renew the certificate, then 'relayctl reload'");
	}
	if (days < EXPIRY_DAYS) {
		snprintf(actual, sizeof(actual), "expires in %d days", days);
		return check_add(c, "tls.cert_expiring", SEV_UNSAFE,
		    c->cfg.tls_cert, "valid for 14 days or more", actual,
		    "renew the certificate, then 'relayctl reload'");
	}
	return 0;
}

/* The key's own stat, through root's symlinks as relayd reads it. */
static int
key_stat(const struct check *c, struct stat *st)
{
	int fd = walk_open_trusted(c->rootfd, c->cfg.tls_key, O_PATH, st);

	if (fd < 0)
		return fd;
	(void)close(fd);
	return 0;
}

int
check_tls(struct check *c)
{
	void *x = NULL, *pk = NULL;
	struct stat st;
	int rv = 0;

	if (!c->cfg_ok || c->cfg.tls_cert[0] == '\0')
		return 0;
	/* The mode first: a key the relay can read is unsafe, parsed or not. */
	if (key_stat(c, &st) == 0 && S_ISREG(st.st_mode) &&
	    relay_reads(c, &st) &&
	    (rv = check_add(c, "tls.key_readable", SEV_UNSAFE, c->cfg.tls_key,
		 "root:root 0600", "readable by the relay account", fix_key)) <
		0)
		return rv;
	if ((rv = load(c, c->cfg.tls_cert, "a PEM certificate", &x, read_cert,
		 &st)) < 0 ||
	    (x != NULL && (rv = check_expiry(c, x)) < 0))
		goto out;
	/* Not root: the key is (rightly) closed to us; nothing to say. */
	if (geteuid() != 0 &&
	    faccessat(c->rootfd, c->cfg.tls_key + strspn(c->cfg.tls_key, "/"),
		R_OK, AT_EACCESS) != 0)
		goto out;
	if ((rv = load(c, c->cfg.tls_key, "an unencrypted PEM private key", &pk,
		 read_key, &st)) < 0)
		goto out;
	if (x != NULL && pk != NULL && X509_check_private_key(x, pk) != 1)
		rv = check_add(c, "tls.key_mismatch", SEV_UNSAFE,
		    c->cfg.tls_key, "the key of tls_cert", "another key",
		    "install the key that belongs to the certificate");
	ERR_clear_error();
out:
	X509_free(x);
	EVP_PKEY_free(pk);
	return rv;
}
