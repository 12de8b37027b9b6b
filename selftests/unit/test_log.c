// SPDX-License-Identifier: GPL-2.0
/* Unit tests for the per-outsider log budget (util/log.h): what a hostile
 * frontend makes a relay log is capped, counted and named. stderr goes to a
 * temporary file; time passing is simulated by moving the bucket's stamp.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ktap.h"
#include "util/log.h"

#define NR_TESTS 10

static FILE *cap;

/* Lines written to stderr since the last call, into @buf. */
static int captured(char *buf, size_t len)
{
	size_t n;
	int lines = 0;
	char *p;

	fflush(stderr);
	clearerr(cap);		/* EOF last time is no EOF now */
	n = fread(buf, 1, len - 1, cap);
	buf[n] = '\0';
	for (p = buf; (p = strchr(p, '\n')); p++)
		lines++;
	return lines;
}

/* Pretend @secs seconds passed for @ll. */
static void age(struct log_limit *ll, unsigned int secs)
{
	ll->stamp_ns -= secs * 1000000000ull;
}

int main(void)
{
	static char buf[1 << 16];
	struct log_limit ll, other, *prev;
	int i, n;

	char path[] = "/tmp/vxdp-test-log.XXXXXX", self[64];
	int fd = mkstemp(path);

	/* stderr writes the file, another open of it reads at its own pace. */
	if (fd < 0 || dup2(fd, STDERR_FILENO) < 0)
		return KSFT_FAIL;
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	cap = fopen(self, "r");
	unlink(path);
	if (!cap)
		return KSFT_FAIL;
	setvbuf(stderr, NULL, _IONBF, 0);
	log_level = LOG_INFO;

	ktap_plan(NR_TESTS);
	log_limit_init(&ll, "relayA");
	log_limit_init(&other, "relayB");

	prev = log_limit_enter(&ll);
	for (i = 0; i < 1000; i++)
		pr_warn("relayA: bad message %d", i);
	n = captured(buf, sizeof(buf));
	KTAP_CHECK(n == LOG_LIMIT_BURST, "1000 lines in a burst: the first 20 are logged");
	KTAP_CHECK(ll.suppressed == 1000 - LOG_LIMIT_BURST, "the rest counted as suppressed");
	KTAP_CHECK(strstr(buf, "warning: relayA: bad message 0\n") &&
		   !strstr(buf, "relayA: relayA:"), "a line naming its relay is left as it is");

	pr_debug("relayA: not shown at this level");
	pr_info("from guest_mem, unnamed");
	n = captured(buf, sizeof(buf));
	KTAP_CHECK(n == 0 && ll.suppressed == 981, "over budget: nothing logged");
	log_level = LOG_DEBUG;
	pr_debug("asked for");
	log_level = LOG_INFO;
	n = captured(buf, sizeof(buf));
	KTAP_CHECK(n == 1 && strstr(buf, "debug: relayA: asked for") && ll.suppressed == 981,
		   "debug lines, asked for, are not charged (but named)");

	age(&ll, 1);
	pr_info("from guest_mem, unnamed");
	n = captured(buf, sizeof(buf));
	KTAP_CHECK(n == 2 && strstr(buf, "relayA: 981 log lines suppressed") &&
		   strstr(buf, "info: relayA: from guest_mem, unnamed"),
		   "a second later: the count said, then the line, named");

	log_limit_leave(prev);
	for (i = 0; i < 30; i++)
		pr_notice("daemon line %d", i);
	n = captured(buf, sizeof(buf));
	KTAP_CHECK(n == 30 && !strstr(buf, "relayA"), "outside the scope: not charged, not named");

	/* Scopes nest and budgets are per relay. */
	prev = log_limit_enter(&other);
	for (i = 0; i < 25; i++)
		pr_err("relayB: %d", i);
	log_limit_leave(prev);
	n = captured(buf, sizeof(buf));
	KTAP_CHECK(n == LOG_LIMIT_BURST && other.suppressed == 5 && ll.suppressed == 0,
		   "each relay has its own budget");

	log_limit_flush(&other, false);
	n = captured(buf, sizeof(buf));
	KTAP_CHECK(n == 0 && other.suppressed == 5, "flush without budget: the count waits");
	log_limit_flush(&other, true);
	n = captured(buf, sizeof(buf));
	KTAP_CHECK(n == 1 && strstr(buf, "relayB: 5 log lines suppressed") && !other.suppressed,
		   "forced flush (relay gone): the count said");
	return ktap_finish();
}
