/*
 * Delivery status notifications (RFC 3464 bounces): the multipart/report
 * a failed delivery sends back to the envelope sender, built as a queue
 * file that the runner delivers like any other message.
 */
#ifndef RELAYD_DSN_H
#define RELAYD_DSN_H

#include <stddef.h>
#include <stdint.h>

#include "queue.h"

/* RET=FULL returns at most this much of the message, else headers only. */
#define DSN_FULL_MAX ((size_t)10 * 1024 * 1024)
/*
 * Headers only: at most this much of the header section (Postfix's
 * header_size_limit), cut after a line end.
 */
#define DSN_HDRS_MAX ((size_t)100 * 1024)

/*
 * 1 if recipient r of qf should appear in a failure DSN: the sender is not
 * <> (never a bounce for a bounce) and r has no NOTIFY or a NOTIFY that
 * includes FAILURE.
 */
int dsn_wanted(const struct queue_file *qf, const struct queue_rcpt *r);

/*
 * The bounce for the recipients rcpt[idx[0..n)] of qf, whose error fields
 * give Status and Diagnostic-Code ("X.Y.Z text"; an SMTP reply text is
 * reported as "smtp;", anything else as "X-Relayd;").  Recipients for
 * which dsn_wanted() is 0 are left out.  The result *out is a new queue
 * file (fresh id, arrival now, sender <>, one pending recipient: the
 * original sender) holding a multipart/report; report-type=
 * delivery-status message from MAILER-DAEMON@hostname: a text part, the
 * message/delivery-status part (message/global-delivery-status for an
 * SMTPUTF8 message) and the original headers (text/rfc822-headers, up to
 * DSN_HDRS_MAX octets) or, with RET=FULL from a trusted client
 * (QUEUE_F_TRUSTED: against backscatter to a forged sender) and at most
 * DSN_FULL_MAX octets, the whole message (message/rfc822).  Only what is
 * quoted is read of qf's message (queue_msg_read(): it may be in the
 * locked queue file).  *out is NULL when no DSN is due.  Returns 0,
 * -EINVAL, -ENOMEM, or the error of reading the message.
 */
int dsn_build(const struct queue_file *qf, const size_t *idx, size_t n,
    const char *hostname, int64_t now, struct queue_file **out);

#endif /* RELAYD_DSN_H */
