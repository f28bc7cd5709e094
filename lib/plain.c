/* plain: see plain.h. */
#include <endian.h>
#include <stdint.h>
#include <string.h>

#include "plain.h"

size_t
plain_len(const char *p, size_t n)
{
	const uint64_t ones = 0x0101010101010101ULL;
	uint64_t w, cr, lf, hit;
	size_t i;

	for (i = 0; n - i >= 8; i += 8) {
		memcpy(&w, p + i, 8);
		/* the common word first: no octet below 14 ('\r' + 1) at all */
		if (((w - ones * 14) & ~w & ones * 0x80) == 0)
			continue;
		w = le64toh(w); /* p[i] is the low octet */
		cr = w ^ (ones * '\r');
		lf = w ^ (ones * '\n');
		/* high bit set in 0 octets, falsely only above a real one */
		hit = ((w - ones) & ~w) | ((cr - ones) & ~cr) |
		    ((lf - ones) & ~lf);
		hit &= ones * 0x80;
		if (hit != 0)
			return i + (size_t)__builtin_ctzll(hit) / 8;
	}
	while (i < n && p[i] != '\r' && p[i] != '\n' && p[i] != '\0')
		i++;
	return i;
}
