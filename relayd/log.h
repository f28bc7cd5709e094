/*
 * relayd logging: syslog(3) facility mail, or stderr with a "relayd: "
 * prefix in the foreground and during start-up. fatal()/fatalx() are for
 * start-up in main only; running processes log and return.
 */
#ifndef RELAYD_LOG_H
#define RELAYD_LOG_H

#include <stdarg.h>

#define LOG_TO_STDERR 0x1
#define LOG_TO_SYSLOG 0x2

/* Where lines go from now on; the first LOG_TO_SYSLOG opens syslog. */
void log_init(int dest);
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Log (fatal: with strerror(errno)) and exit with status code. */
void fatal(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));
void fatalx(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

#endif
