/*
 * Unit tests for lib/milter_proto: packets we build have the length field
 * and the limits libmilter expects, and the reply decoder takes each known
 * reply in its exact form and refuses everything else.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "milter_proto.h"

static struct milter_pkt pkt;

static int
decode(const char *buf, size_t len, struct milter_reply *r)
{
	return milter_reply_decode((const unsigned char *)buf, len, r);
}

static void
test_build(void **state)
{
	static const unsigned char want[] = { 0, 0, 0, 13, 'O', 0, 0, 0, 6, 0,
		0, 1, 0xff, 0, 0x1f, 0xff, 0xff };
	static char big[MILTER_PKT_MAX];

	(void)state;
	milter_pkt_start(&pkt, MILTER_C_OPTNEG);
	milter_pkt_u32(&pkt, MILTER_VERSION);
	milter_pkt_u32(&pkt, MILTER_A_ALL);
	milter_pkt_u32(&pkt, MILTER_P_ALL);
	assert_int_equal(milter_pkt_finish(&pkt), 0);
	assert_int_equal(pkt.len, sizeof(want));
	assert_memory_equal(pkt.buf, want, sizeof(want));
	/* A body chunk of 65535 octets fits; one more octet does not. */
	milter_pkt_start(&pkt, MILTER_C_BODY);
	milter_pkt_add(&pkt, big, MILTER_CHUNK);
	assert_int_equal(milter_pkt_finish(&pkt), 0);
	assert_int_equal(pkt.len, 4 + 1 + MILTER_CHUNK);
	milter_pkt_add(&pkt, "x", 1);
	assert_int_equal(milter_pkt_finish(&pkt), -E2BIG);
}

static void
test_frame(void **state)
{
	static const unsigned char zero[4] = { 0, 0, 0, 0 },
				   one[4] = { 0, 0, 0, 1 },
				   max[4] = { 0, 1, 0, 0 },
				   over[4] = { 0, 1, 0, 1 },
				   huge[4] = { 0xff, 0xff, 0xff, 0xff };
	size_t len = 0;

	(void)state;
	assert_int_equal(milter_frame_len(zero, &len), -EMSGSIZE);
	assert_int_equal(milter_frame_len(one, &len), 0);
	assert_int_equal(len, 1);
	assert_int_equal(milter_frame_len(max, &len), 0);
	assert_int_equal(len, MILTER_PKT_MAX);
	assert_int_equal(milter_frame_len(over, &len), -EMSGSIZE);
	assert_int_equal(milter_frame_len(huge, &len), -EMSGSIZE);
}

static void
test_decode_good(void **state)
{
	struct milter_reply r;

	(void)state;
	assert_int_equal(decode("O\0\0\0\6\0\0\0\x11\0\0\0\x20", 13, &r), 0);
	assert_int_equal(r.version, 6);
	assert_int_equal(r.actions, 0x11);
	assert_int_equal(r.protocol, 0x20);
	assert_int_equal(decode("c", 1, &r), 0);
	assert_int_equal(r.cmd, MILTER_R_CONTINUE);
	assert_int_equal(decode("hX-A\0v\0", 7, &r), 0);
	assert_string_equal(r.s1, "X-A");
	assert_string_equal(r.s2, "v");
	assert_int_equal(decode("m\0\0\0\2Subject\0\0", 14, &r), 0);
	assert_int_equal(r.index, 2);
	assert_string_equal(r.s1, "Subject");
	assert_string_equal(r.s2, "");
	assert_int_equal(decode("e<a@b>\0", 7, &r), 0);
	assert_null(r.s2);
	assert_int_equal(decode("e<a@b>\0SIZE=1\0", 14, &r), 0);
	assert_string_equal(r.s2, "SIZE=1");
	assert_int_equal(decode("y550 5.7.1 no\0", 14, &r), 0);
	assert_int_equal(r.code, 550);
	assert_int_equal(decode("y451-4.7.1 a\r\n451 4.7.1 b\0", 26, &r), 0);
	assert_int_equal(r.code, 451);
	assert_int_equal(decode("bany\0octets", 11, &r), 0);
	assert_int_equal(r.len, 10);
}

static void
test_decode_bad(void **state)
{
	static const struct {
		const char *buf;
		size_t len;
	} bad[] = {
		{ "", 0 },
		{ "Z", 1 },
		{ "cx", 2 },
		{ "O\0\0\0\6\0\0\0", 9 },
		{ "hX-A\0v", 6 },
		{ "hX-A\0", 5 },
		{ "hX-A\0v\0junk", 11 },
		{ "m\0\0\0", 4 },
		{ "y250 ok\0", 8 },
		{ "y550 5.7.1 no", 13 },
		{ "y550 bad\x01\0", 10 },
		{ "y550-a\r\n451 b\0", 14 },
		{ "y550 a\rb\0", 9 },
		{ "y5x0 a\0", 7 },
		{ "+<a@b>", 6 },
	};
	struct milter_reply r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (decode(bad[i].buf, bad[i].len, &r) != -EPROTO)
			fail_msg("case %zu decoded", i);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build),
		cmocka_unit_test(test_frame),
		cmocka_unit_test(test_decode_good),
		cmocka_unit_test(test_decode_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
