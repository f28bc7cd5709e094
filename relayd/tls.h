/*
 * relayd TLS contexts: the server certificate and key, loaded by the
 * master (root) before any child exists and inherited by the SMTP
 * children, which never open the key file (doc/design.md, "relayd:
 * processes and trust boundaries").
 */
#ifndef RELAYD_TLS_H
#define RELAYD_TLS_H

#include <stddef.h>

struct ssl_ctx_st;
struct ssl_st;

struct config;

/*
 * Read cfg->tls_cert (PEM: certificate, then its chain) and cfg->tls_key
 * (PEM private key) under rootfd through the one whole-file reader, and
 * make a server context of them: cfg->tls_min_version and later, the
 * cfg->tls_ciphers list for TLS 1.2 (OpenSSL's default when empty), no
 * renegotiation, no session cache or tickets.  The key must match the
 * certificate.  0 with *ctxp set, or -errno with a one-line reason in err.
 */
int tls_ctx_load(int rootfd, const struct config *cfg, struct ssl_ctx_st **ctxp,
    char *err, size_t errlen);

void tls_ctx_free(struct ssl_ctx_st *ctx);

/*
 * What an established connection uses, for Received: and the log:
 * "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)".
 */
void tls_describe(struct ssl_st *ssl, char *buf, size_t len);

#endif /* RELAYD_TLS_H */
