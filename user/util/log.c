// SPDX-License-Identifier: GPL-2.0
/* Levelled logging to stderr, the journal's stream or syslog, rate limited
 * per outsider where one is in scope.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "clock.h"
#include "log.h"

int log_level = LOG_NOTICE;

static enum log_target log_target = LOG_TARGET_STDERR;

static const char *const level_names[] = {
	"emerg", "alert", "crit", "error", "warning", "notice", "info", "debug",
};

/* Each worker thread handles its own relays' frontends. */
__thread struct log_limit *log_scope;
/* The relay the calling thread works for (a worker's open, close, VF
 * event).
 */
static __thread const char *log_relay;

/* systemd passes JOURNAL_STREAM=DEV:INODE when stdout/stderr are connected
 * to the journal; compare with stderr itself, which may have been
 * redirected since (sd-daemon(3)).
 */
static bool stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2 || fstat(2, &st))
		return false;
	return st.st_dev == dev && st.st_ino == ino;
}

void log_set_target(enum log_target t, const char *ident)
{
	if (log_target == LOG_TARGET_SYSLOG)
		closelog();
	if (t == LOG_TARGET_AUTO)
		t = stderr_is_journal() ? LOG_TARGET_JOURNAL : LOG_TARGET_STDERR;
	if (t == LOG_TARGET_SYSLOG)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	log_target = t;
}

const char *log_set_relay(const char *name)
{
	const char *prev = log_relay;

	log_relay = name;
	return prev;
}

static void log_line(int level, const char *name, const char *line)
{
	struct timespec ts;

	switch (log_target) {
	case LOG_TARGET_SYSLOG:
		syslog(level, "%s%s%s", name ? name : "", name ? ": " : "", line);
		break;
	case LOG_TARGET_JOURNAL:
		/* The journal stamps and levels it: "<N>" is the priority. */
		fprintf(stderr, "<%d>%s%s%s\n", level & 7, name ? name : "",
			name ? ": " : "", line);
		break;
	default:
		clock_gettime(CLOCK_MONOTONIC, &ts);
		fprintf(stderr, "[%5lld.%06ld] %s: %s%s%s\n", (long long)ts.tv_sec,
			ts.tv_nsec / 1000, level_names[level & 7], name ? name : "",
			name ? ": " : "", line);
	}
}

void log_limit_init(struct log_limit *ll, const char *name)
{
	memset(ll, 0, sizeof(*ll));
	ll->name = name;
	ll->tokens = LOG_LIMIT_BURST;
	ll->stamp_ns = mono_ns();
}

/* One line's worth of budget, if there is any. */
static bool log_limit_take(struct log_limit *ll)
{
	const uint64_t per = 1000000000ull / LOG_LIMIT_PER_SEC;
	uint64_t now = mono_ns(), n = (now - ll->stamp_ns) / per;

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

static void log_limit_summary(struct log_limit *ll)
{
	char line[128];

	if (LOG_WARNING > log_level) {
		ll->suppressed = 0;
		return;
	}
	snprintf(line, sizeof(line),
		 "%u log lines suppressed (more than %u a second)",
		 ll->suppressed, LOG_LIMIT_PER_SEC);
	log_line(LOG_WARNING, ll->name, line);
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
	const char *name = ll && ll->name ? ll->name : log_relay;
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
	if (charged && ll->suppressed)
		log_limit_summary(ll);
	if (name && log_named(line, name))
		name = NULL;
	log_line(level, name, line);
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
	if (!ll->suppressed || (!log_limit_take(ll) && !force))
		return;
	log_limit_summary(ll);
}
