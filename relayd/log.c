/*
 * relayd logging: one line per event to syslog (LOG_MAIL) or to stderr
 * as "relayd: MSG". Emitting log lines is this module's whole job; it is
 * the one place in relayd that writes to stderr besides main's usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "log.h"

static int log_dest = LOG_TO_STDERR;
static int log_opened;

void
log_init(int dest)
{
	if ((dest & LOG_TO_SYSLOG) && !log_opened) {
		openlog("relayd", LOG_PID | LOG_NDELAY, LOG_MAIL);
		log_opened = 1;
	}
	log_dest = dest;
}

static void log_vemit(int pri, const char *why, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void
log_vemit(int pri, const char *why, const char *fmt, va_list ap)
{
	char msg[1024];
	int saved = errno;

	/* A truncated log line is still worth emitting. */
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_dest & LOG_TO_SYSLOG) {
		if (why != NULL)
			syslog(pri, "%s: %s", msg, why);
		else
			syslog(pri, "%s", msg);
	}
	if (log_dest & LOG_TO_STDERR) {
		if (why != NULL)
			(void)fprintf(stderr, "relayd: %s: %s\n", msg, why);
		else
			(void)fprintf(stderr, "relayd: %s\n", msg);
		(void)fflush(stderr);
	}
	errno = saved;
}

void
log_warn(const char *fmt, ...)
{
	const char *why = strerror(errno);
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_WARNING, why, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_WARNING, NULL, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_INFO, NULL, fmt, ap);
	va_end(ap);
}

void
fatal(int code, const char *fmt, ...)
{
	const char *why = strerror(errno);
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_CRIT, why, fmt, ap);
	va_end(ap);
	exit(code);
}

void
fatalx(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_CRIT, NULL, fmt, ap);
	va_end(ap);
	exit(code);
}
