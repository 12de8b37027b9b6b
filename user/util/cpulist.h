/* SPDX-License-Identifier: GPL-2.0 */
/* Lists of small numbers, as the kernel writes CPU lists ("0-3,8,10-11"):
 * for --cpus, a relay's cpu= and worker= ('+' separates there, a relay
 * spec being comma-separated already) and sysfs's node cpulists.
 */
#ifndef VXDP_CPULIST_H
#define VXDP_CPULIST_H

#include <stddef.h>

/* Parse @s: numbers and ranges A-B, separated by ',' or '+', each at most
 * @max; into @out in the order given (at most @nmax; duplicates refused).
 * Returns how many, or -EINVAL (malformed, out of range, a duplicate) or
 * -E2BIG (more than @nmax).
 */
int cpulist_parse(const char *s, unsigned int max, int *out, size_t nmax);

/* @list (@n numbers) as "0-3,8" into @buf; returns @buf. */
char *cpulist_format(const int *list, size_t n, char *buf, size_t len);

#endif
