// SPDX-License-Identifier: GPL-2.0
/* Levelled logging to stderr. */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "log.h"

int log_level = LOG_NOTICE;

static const char *const level_names[] = {
	"emerg", "alert", "crit", "error", "warning", "notice", "info", "debug",
};

void log_msg(int level, const char *fmt, ...)
{
	struct timespec ts;
	va_list ap;

	if (level > log_level)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	fprintf(stderr, "[%5lld.%06ld] %s: ", (long long)ts.tv_sec,
		ts.tv_nsec / 1000, level_names[level & 7]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
