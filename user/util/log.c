// SPDX-License-Identifier: GPL-2.0
/* Levelled logging to stderr, rate limited per outsider where one is in
 * scope.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"

int log_level = LOG_NOTICE;

static const char *const level_names[] = {
	"emerg", "alert", "crit", "error", "warning", "notice", "info", "debug",
};

/* Each worker thread handles its own relays' frontends. */
__thread struct log_limit *log_scope;

static uint64_t log_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void log_line(int level, const struct timespec *ts, const char *name,
		     const char *line)
{
	fprintf(stderr, "[%5lld.%06ld] %s: %s%s%s\n", (long long)ts->tv_sec,
		ts->tv_nsec / 1000, level_names[level & 7], name ? name : "",
		name ? ": " : "", line);
}

void log_limit_init(struct log_limit *ll, const char *name)
{
	memset(ll, 0, sizeof(*ll));
	ll->name = name;
	ll->tokens = LOG_LIMIT_BURST;
	ll->stamp_ns = log_now_ns();
}

/* One line's worth of budget, if there is any. */
static bool log_limit_take(struct log_limit *ll)
{
	const uint64_t per = 1000000000ull / LOG_LIMIT_PER_SEC;
	uint64_t now = log_now_ns(), n = (now - ll->stamp_ns) / per;

	if (n) {
		if (ll->tokens + n >= LOG_LIMIT_BURST) {
			ll->tokens = LOG_LIMIT_BURST;
			ll->stamp_ns = now;
		} else {
			ll->tokens += n;
			ll->stamp_ns += n * per;
		}
	}
	if (!ll->tokens)
		return false;
	ll->tokens--;
	return true;
}

static void log_limit_summary(struct log_limit *ll, const struct timespec *ts)
{
	char line[128];

	if (LOG_WARNING > log_level) {
		ll->suppressed = 0;
		return;
	}
	snprintf(line, sizeof(line),
		 "%u log lines suppressed (more than %u a second)",
		 ll->suppressed, LOG_LIMIT_PER_SEC);
	log_line(LOG_WARNING, ts, ll->name, line);
	ll->suppressed = 0;
}

/* Does @line already say whose it is? */
static bool log_named(const char *line, const char *name)
{
	size_t n = strlen(name);

	return !strncmp(line, name, n) && line[n] == ':' && line[n + 1] == ' ';
}

void log_vmsg(int level, const char *fmt, va_list ap)
{
	struct log_limit *ll = log_scope;
	struct timespec ts;
	const char *name = NULL;
	char line[1024];
	size_t len;
	/* Debug lines are asked for by the operator, who gets them all. */
	bool charged = ll && level < LOG_DEBUG;

	if (level > log_level)
		return;
	if (charged && !log_limit_take(ll)) {
		ll->suppressed++;
		return;
	}
	/* One write per line, without the caller's trailing newline (libbpf
	 * supplies one), so lines from a library read like ours.
	 */
	vsnprintf(line, sizeof(line), fmt, ap);
	len = strlen(line);
	while (len && line[len - 1] == '\n')
		line[--len] = '\0';
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (charged && ll->suppressed)
		log_limit_summary(ll, &ts);
	if (ll && ll->name && !log_named(line, ll->name))
		name = ll->name;
	log_line(level, &ts, name, line);
}

void log_msg(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

void log_limit_flush(struct log_limit *ll, bool force)
{
	struct timespec ts;

	if (!ll->suppressed || (!log_limit_take(ll) && !force))
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	log_limit_summary(ll, &ts);
}
