/* SPDX-License-Identifier: GPL-2.0 */
/* Levelled logging (syslog levels 0-7) to stderr, the journal's stream or
 * syslog, each line naming the relay it is about, and a budget of lines for
 * what an outsider (a relay's frontend) can make us log.
 */
#ifndef VXDP_LOG_H
#define VXDP_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <syslog.h>

extern int log_level;

enum log_target {
	LOG_TARGET_AUTO,	/* the journal when stderr is its stream, else stderr */
	LOG_TARGET_STDERR,	/* "[monotonic] level: text" */
	LOG_TARGET_JOURNAL,	/* stderr with "<N>" priority prefixes (sd-daemon(3)) */
	LOG_TARGET_SYSLOG,	/* syslog(3), facility daemon */
};

/* Where lines go from now on; @ident names the program for syslog. */
void log_set_target(enum log_target t, const char *ident);

/* Until it is set again, lines this thread logs are about relay @name
 * (NULL: none) and start "name: " unless they already do. Returns the
 * previous name, to put back.
 */
const char *log_set_relay(const char *name);

void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vmsg(int level, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

#define pr_err(...)	log_msg(LOG_ERR, __VA_ARGS__)
#define pr_warn(...)	log_msg(LOG_WARNING, __VA_ARGS__)
#define pr_notice(...)	log_msg(LOG_NOTICE, __VA_ARGS__)
#define pr_info(...)	log_msg(LOG_INFO, __VA_ARGS__)
#define pr_debug(...)	do { if (log_level >= LOG_DEBUG) log_msg(LOG_DEBUG, __VA_ARGS__); } while (0)

/* A token bucket of log lines for one outsider: LOG_LIMIT_BURST lines at
 * once, then LOG_LIMIT_PER_SEC a second. Lines over it are dropped and
 * counted; the count is said in one line once the budget allows again.
 * Debug lines (--log-level 7, asked for) are not charged.
 */
#define LOG_LIMIT_BURST		20
#define LOG_LIMIT_PER_SEC	5

struct log_limit {
	const char *name;	/* every line charged to it starts "name: " */
	uint64_t stamp_ns;	/* CLOCK_MONOTONIC of the last refill */
	unsigned int tokens;
	unsigned int suppressed;
};

void log_limit_init(struct log_limit *ll, const char *name);

/* The outsider this thread's lines are charged to now, if any. */
extern __thread struct log_limit *log_scope;

/* Until log_limit_leave(), every line this thread logs (whichever module
 * it comes from) is the outsider's doing: charged to @ll and named after
 * it. Returns the scope to give back to log_limit_leave() (scopes nest).
 * Two thread-local stores: cheap enough for the datapath.
 */
static inline struct log_limit *log_limit_enter(struct log_limit *ll)
{
	struct log_limit *prev = log_scope;

	log_scope = ll;
	return prev;
}

static inline void log_limit_leave(struct log_limit *prev)
{
	log_scope = prev;
}

/* Say how many lines @ll suppressed, if any: now if its budget allows (the
 * outsider went quiet) or @force says so (it is gone for good).
 */
void log_limit_flush(struct log_limit *ll, bool force);

#endif
