// SPDX-License-Identifier: GPL-2.0
/*
 * test-trace.c - dnbd-replay's trace parser and replay model
 * (bench/trace.c): the dependencies and think times it computes for a
 * small trace, client and kind filtering, and the line numbers and
 * reasons of the lines it rejects.
 */
#include <string.h>

#include "check.h"
#include "../../bench/trace.h"

int main(void);

static int parse(struct trace *t, const char *s, const char *client,
		 char *err, size_t errlen)
{
	memset(t, 0, sizeof(*t));
	err[0] = '\0';
	return trace_parse(t, s, strlen(s), client, err, errlen);
}

/*
 * Reads (0-based, as kept): 0 at 0, answered at 100; 1 and 2 both sent at
 * 150, after 0's answer (a concurrent group); 3, another client's, at 210;
 * 4 at 400, when 1 (300), 2 (350) and 3 (210) were answered: it depends
 * on 2, the last answer; 5 at 460 on 4 (450); 6, the same address from
 * another port, at 500 on 5 (470).  A retry, an unknown kind and a blank
 * line are skipped; the last line has no newline.
 */
static const char good[] =
	"# dnbd-trace 1\n"
	"# time_us done_us client image offset length kind\n"
	"0 100 10.0.0.1:1000 demo 0 4096 read\n"
	"150 300 10.0.0.1:1000 demo 4096 1400 read\n"
	"150 350 10.0.0.1:1000 demo 8192 700 read\n"
	"200 260 10.0.0.1:1000 demo 8192 700 retry\n"
	"210 210 10.0.0.2:1000 demo 0 100 read\n"
	"400 450 10.0.0.1:1000 demo 100000 1 read\n"
	"\n"
	"460 470 10.0.0.1:1000 demo 5 10 read\n"
	"500 600 10.0.0.1:2000 other 7 3 read\n"
	"500 500 10.0.0.1:1000 demo 9 1 later-kind";	/* no newline */

static void test_model(void)
{
	struct trace t;
	char err[256];

	/* Every client's reads: the trace's 7 read lines. */
	CHECK_EQ(parse(&t, good, NULL, err, sizeof(err)), 0);
	CHECK_EQ(t.n, 7);
	CHECK_EQ(t.lines, 9);
	CHECK_EQ(t.skipped, 2);
	if (t.n == 7) {
		CHECK_EQ(t.r[0].dep, TRACE_NO_DEP);
		CHECK_EQ(t.r[0].think_us, 0);
		CHECK_EQ(t.r[0].line, 3);
		CHECK_EQ(t.r[1].dep, 0);
		CHECK_EQ(t.r[1].think_us, 50);
		CHECK_EQ(t.r[2].dep, 0);	/* the same group as 1 */
		CHECK_EQ(t.r[2].think_us, 50);
		/* 10.0.0.2's read at 210: read 0 answered at 100. */
		CHECK_EQ(t.r[3].dep, 0);
		CHECK_EQ(t.r[3].think_us, 110);
		CHECK_EQ(t.r[3].line, 7);
		/* At 400: answered are 0 (100), 1 (300), 2 (350), 3 (210). */
		CHECK_EQ(t.r[4].dep, 2);
		CHECK_EQ(t.r[4].think_us, 50);
		CHECK_EQ(t.r[4].offset, 100000);
		CHECK_EQ(t.r[4].length, 1);
		CHECK_EQ(t.r[5].dep, 4);
		CHECK_EQ(t.r[5].think_us, 10);
		CHECK_EQ(t.r[5].line, 10);
		CHECK_EQ(t.r[6].dep, 5);
		CHECK_EQ(t.r[6].think_us, 30);
		CHECK_EQ(t.bytes, 4096 + 1400 + 700 + 100 + 1 + 10 + 3);
		CHECK_EQ(t.think_us, 0 + 50 + 50 + 110 + 50 + 10 + 30);
	}
	trace_free(&t);

	/* One client, every port: 10.0.0.1 has 6 reads. */
	CHECK_EQ(parse(&t, good, "10.0.0.1", err, sizeof(err)), 0);
	CHECK_EQ(t.n, 6);
	trace_free(&t);

	/* One client and port: 10.0.0.1:1000's 5 reads; the model runs on
	 * them alone (10.0.0.2's read is gone). */
	CHECK_EQ(parse(&t, good, "10.0.0.1:1000", err, sizeof(err)), 0);
	CHECK_EQ(t.n, 5);
	if (t.n == 5) {
		CHECK_EQ(t.r[3].offset, 100000);
		CHECK_EQ(t.r[3].dep, 2);
		CHECK_EQ(t.r[4].dep, 3);
	}
	trace_free(&t);

	/* A prefix of an address is not that address. */
	CHECK_EQ(parse(&t, good, "10.0.0.", err, sizeof(err)), -1);
	CHECK(strstr(err, "no read lines of client 10.0.0.") != NULL);
	CHECK(t.r == NULL);
	CHECK_EQ(parse(&t, good, "10.0.0.1:100", err, sizeof(err)), -1);
}

/* Ties: of two reads answered at the same time, the later one. */
static void test_ties(void)
{
	struct trace t;
	char err[256];

	CHECK_EQ(parse(&t, "10 20 a:1 i 0 1 read\n"
			   "10 20 a:1 i 1 1 read\n"
			   "20 30 a:1 i 2 1 read\n"
			   "25 40 a:1 i 3 1 read\n"
			   "31 31 a:1 i 4 1 read\n", NULL, err, sizeof(err)), 0);
	CHECK_EQ(t.n, 5);
	if (t.n == 5) {
		CHECK_EQ(t.r[0].dep, TRACE_NO_DEP);
		CHECK_EQ(t.r[0].think_us, 10);
		CHECK_EQ(t.r[1].dep, TRACE_NO_DEP);
		CHECK_EQ(t.r[2].dep, 1);
		CHECK_EQ(t.r[2].think_us, 0);
		CHECK_EQ(t.r[3].dep, 1);	/* 2 answered at 30 > 25 */
		CHECK_EQ(t.r[3].think_us, 5);
		CHECK_EQ(t.r[4].dep, 2);	/* 3 answered at 40 > 31 */
		CHECK_EQ(t.r[4].think_us, 1);
	}
	trace_free(&t);
}

/* expect_bad_n(trace, len, line, what): rejected, naming the line and
 * why. */
static void expect_bad_n(const char *s, size_t len, unsigned int line,
			 const char *what)
{
	struct trace t;
	char err[256], want[32];

	snprintf(want, sizeof(want), "%u: ", line);
	memset(&t, 0, sizeof(t));
	err[0] = '\0';
	CHECK_EQ(trace_parse(&t, s, len, NULL, err, sizeof(err)), -1);
	CHECK(t.r == NULL && t.n == 0);
	if (strncmp(err, want, strlen(want)) || !strstr(err, what)) {
		fprintf(stderr, "for %.60s: got \"%s\", expected \"%s...%s\"\n",
			s, err, want, what);
		CHECK(0);
	}
}

static void expect_bad(const char *s, unsigned int line, const char *what)
{
	expect_bad_n(s, strlen(s), line, what);
}

static void test_rejects(void)
{
	char line[400];

	expect_bad("0 1 a:1 i 0 1 read\n0 1 a:1 i 0 1\n", 2, "6 fields");
	expect_bad("0 1 a:1 i 0 1 read x\n", 1, "more than 7 fields");
	expect_bad("#\n0 1 a:1  i 0 1 read\n", 2, "empty field 4");
	expect_bad("0 1 a:1 i 0 1 read \n", 1, "more than 7 fields");
	expect_bad(" 0 1 a:1 i 0 1 read\n", 1, "empty field 1");
	expect_bad("5 4 a:1 i 0 1 read\n", 1, "done_us 4 is before time_us 5");
	expect_bad("5 9 a:1 i 0 1 read\n4 9 a:1 i 0 1 read\n", 2,
		   "before the previous");
	expect_bad("0 1 a:1 i 0 0 read\n", 1, "length 0");
	expect_bad("0 1 a:1 i 0 67108865 read\n", 1, "length 67108865");
	expect_bad("0 1 a:1 i 18446744073709551615 1 read\n", 1, "overflows");
	expect_bad("0 1 a:1 i 18446744073709551616 1 read\n", 1, "bad offset");
	expect_bad("0 1 a:1 i 99999999999999999999 1 read\n", 1, "bad offset");
	expect_bad("0 1 a:1 i -1 1 read\n", 1, "bad offset");
	expect_bad("0 1 a:1 i +1 1 read\n", 1, "bad offset");
	expect_bad("0 1 a:1 i 0x10 1 read\n", 1, "bad offset");
	expect_bad("0 x1 a:1 i 0 1 read\n", 1, "bad done_us");
	expect_bad("0 1 a:1 i 0 1 read\r\n", 1, "bad kind");
	expect_bad("0 1 a:1 i\t 0 1 read\n", 1, "bad image");
	expect_bad("# dnbd-trace 2\n0 1 a:1 i 0 1 read\n", 1,
		   "not a dnbd-trace 1");
	expect_bad_n("0 1 a:1 i 0 1 read\n0 1 a:1 i 0 1 re\0d\n", 37, 2, "NUL");
	memset(line, '1', sizeof(line));
	memcpy(line, "0 1 a:1 i 0 1 read\n", 19);
	line[19 + 256] = '\0';
	expect_bad(line, 2, "longer than 255");
	line[19 + 255] = '\0';		/* 255 bytes: long, not too long */
	expect_bad(line, 2, "1 fields");
}

static void test_empty(void)
{
	struct trace t;
	char err[256];

	CHECK_EQ(parse(&t, "", NULL, err, sizeof(err)), -1);
	CHECK(strstr(err, "no read lines") != NULL);
	CHECK_EQ(parse(&t, "# dnbd-trace 1\n0 1 a:1 i 0 1 retry\n", NULL, err,
		       sizeof(err)), -1);
	CHECK(strstr(err, "no read lines (1 data lines)") != NULL);
}

int main(void)
{
	test_model();
	test_ties();
	test_rejects();
	test_empty();
	return check_report("test-trace");
}
