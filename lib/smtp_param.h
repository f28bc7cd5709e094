/*
 * ESMTP parameter limits and values that outlive the SMTP session: the
 * SMTP parser (relayd) accepts them and the queue file format (lib/queue)
 * stores them, so both programs agree on one definition.
 */
#ifndef RELAY_SMTP_PARAM_H
#define RELAY_SMTP_PARAM_H

#define SMTP_ENVID_MAX 100 /* ENVID= value, xtext-encoded (RFC 3461 4.4) */
#define SMTP_ORCPT_MAX 500 /* ORCPT= value, xtext-encoded (RFC 3461 4.2) */

/* NOTIFY= bits (RFC 3461 4.1); NEVER excludes the others */
#define SMTP_NOTIFY_NEVER 0x01
#define SMTP_NOTIFY_SUCCESS 0x02
#define SMTP_NOTIFY_FAILURE 0x04
#define SMTP_NOTIFY_DELAY 0x08

#endif /* RELAY_SMTP_PARAM_H */
