/*
 * testgen: what the differential tests (test_*_diff.c) generate their
 * input with: splitmix64 (the same streams on every libc) seeded from
 * RELAY_TEST_SEED, and a growing buffer.
 */
#ifndef RELAY_TEST_TESTGEN_H
#define RELAY_TEST_TESTGEN_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state;

static inline uint64_t
rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline size_t
below(size_t n)
{
	return n == 0 ? 0 : (size_t)(rng() % n);
}

struct buf {
	char *p;
	size_t len, cap;
};

static inline void
put(struct buf *b, const char *p, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

/* RELAY_TEST_SEED, else dflt; printed, so a failure can be replayed. */
static inline unsigned long
pick_seed(unsigned long dflt)
{
	const char *env = getenv("RELAY_TEST_SEED");
	unsigned long seed = dflt;

	if (env != NULL && *env != '\0')
		seed = strtoul(env, NULL, 0);
	print_message(
	    "random seed %lu (set RELAY_TEST_SEED to change it)\n", seed);
	return seed;
}

#endif /* RELAY_TEST_TESTGEN_H */
