// SPDX-License-Identifier: GPL-2.0
/* Levelled logging to stderr. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"

int log_level = LOG_NOTICE;

static const char *const level_names[] = {
	"emerg", "alert", "crit", "error", "warning", "notice", "info", "debug",
};

void log_vmsg(int level, const char *fmt, va_list ap)
{
	struct timespec ts;
	char line[1024];
	size_t len;

	if (level > log_level)
		return;
	/* One write per line, without the caller's trailing newline (libbpf
	 * supplies one), so lines from a library read like ours.
	 */
	vsnprintf(line, sizeof(line), fmt, ap);
	len = strlen(line);
	while (len && line[len - 1] == '\n')
		line[--len] = '\0';
	clock_gettime(CLOCK_MONOTONIC, &ts);
	fprintf(stderr, "[%5lld.%06ld] %s: %s\n", (long long)ts.tv_sec,
		ts.tv_nsec / 1000, level_names[level & 7], line);
}

void log_msg(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}
