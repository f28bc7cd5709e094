/*
 * plain: where a run of plain octets ends (no CR, LF or NUL: the middle
 * of a line), found a word at a time, for the passes over a message that
 * take such runs whole (the DATA decoder, the queue's message check,
 * delivery's size scan and dot-stuffing).
 */
#ifndef RELAY_PLAIN_H
#define RELAY_PLAIN_H

#include <stddef.h>

/* Octets before the first CR, LF or NUL in p[0..n) (n if none). */
size_t plain_len(const char *p, size_t n);

#endif
