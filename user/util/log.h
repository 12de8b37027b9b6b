/* SPDX-License-Identifier: GPL-2.0 */
/* Levelled logging to stderr (syslog levels 0-7), with a once-only variant
 * for events a guest can trigger repeatedly.
 */
#ifndef VXDP_LOG_H
#define VXDP_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <syslog.h>

extern int log_level;

void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vmsg(int level, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

#define pr_err(...)	log_msg(LOG_ERR, __VA_ARGS__)
#define pr_warn(...)	log_msg(LOG_WARNING, __VA_ARGS__)
#define pr_notice(...)	log_msg(LOG_NOTICE, __VA_ARGS__)
#define pr_info(...)	log_msg(LOG_INFO, __VA_ARGS__)
#define pr_debug(...)	do { if (log_level >= LOG_DEBUG) log_msg(LOG_DEBUG, __VA_ARGS__); } while (0)

#endif
