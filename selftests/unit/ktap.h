/* SPDX-License-Identifier: GPL-2.0 */
/* Minimal KTAP/TAP output for C unit tests, kselftest style: plan, one line
 * per check, exit 0 (pass), 1 (fail) or 4 (skip).
 */
#ifndef VXDP_KTAP_H
#define VXDP_KTAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define KSFT_PASS 0
#define KSFT_FAIL 1
#define KSFT_SKIP 4

static unsigned int ktap_nr, ktap_failed;

static inline void ktap_plan(unsigned int n)
{
	printf("TAP version 13\n1..%u\n", n);
	fflush(stdout);
}

static inline void ktap_skip_all(const char *why)
{
	printf("TAP version 13\n1..0 # SKIP %s\n", why);
	exit(KSFT_SKIP);
}

static inline __attribute__((format(printf, 2, 3)))
int ktap_result(int ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s %u - ", ok ? "ok" : "not ok", ++ktap_nr);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	if (!ok)
		ktap_failed++;
	return ok;
}

static inline __attribute__((format(printf, 1, 2)))
void ktap_diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* Check @cond; on failure print the expression and where. */
#define KTAP_CHECK(cond, name)						\
	(ktap_result(!!(cond), "%s", name) ? 1 :			\
	 (ktap_diag("%s:%d: failed: %s", __FILE__, __LINE__, #cond), 0))

static inline int ktap_finish(void)
{
	return ktap_failed ? KSFT_FAIL : KSFT_PASS;
}

#endif
