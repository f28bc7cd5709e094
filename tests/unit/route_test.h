/*
 * A transport map and its parser for the route unit tests
 * (test_route.c, test_route_table.c): one copy of the fixture.
 */
#ifndef TEST_ROUTE_TEST_H
#define TEST_ROUTE_TEST_H

static const char map[] =
    "# transport map\n"
    "\n"
    "example.org      [10.0.0.1]:2525\n"
    ".example.org     relay.example.net\n"
    "  .b.example.org\t[relay-b.example.net]\n"
    "a.b.example.org  relay-ab.example.net:587 # comment\n"
    "Mixed.Case.TEST  [IPv6:2001:db8::1]:26\r\n"
    ".org             [192.0.2.9]\n";

static inline struct route_table *
parse_ok(const char *text)
{
	struct route_table *t = NULL;
	char err[256];
	int rc = route_table_parse(
	    text, strlen(text), "transport", &t, err, sizeof(err));

	if (rc != 0)
		fail_msg("parse: %d %s", rc, err);
	return t;
}

#endif
