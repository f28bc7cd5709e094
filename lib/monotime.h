/*
 * monotime: milliseconds on CLOCK_MONOTONIC, for deadlines and timeouts
 * that a change of the wall clock must not stretch or cut.
 */
#ifndef RELAY_MONOTIME_H
#define RELAY_MONOTIME_H

#include <stdint.h>

int64_t monotime_ms(void);

#endif
