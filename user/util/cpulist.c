// SPDX-License-Identifier: GPL-2.0
/* CPU-list style number lists (see cpulist.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "cpulist.h"

static int parse_num(const char **s, unsigned int max, unsigned int *v)
{
	unsigned long n;
	char *end;

	if (**s < '0' || **s > '9')
		return -EINVAL;
	errno = 0;
	n = strtoul(*s, &end, 10);
	if (errno || n > max)
		return -EINVAL;
	*v = n;
	*s = end;
	return 0;
}

int cpulist_parse(const char *s, unsigned int max, int *out, size_t nmax)
{
	size_t n = 0, i;

	for (;;) {
		unsigned int a, b, v;

		if (parse_num(&s, max, &a))
			return -EINVAL;
		b = a;
		if (*s == '-') {
			s++;
			if (parse_num(&s, max, &b) || b < a)
				return -EINVAL;
		}
		for (v = a; v <= b; v++) {
			for (i = 0; i < n; i++)
				if (out[i] == (int)v)
					return -EINVAL;
			if (n == nmax)
				return -E2BIG;
			out[n++] = v;
		}
		if (!*s || *s == '\n')
			return n;
		if (*s != ',' && *s != '+')
			return -EINVAL;
		s++;
	}
}

char *cpulist_format(const int *list, size_t n, char *buf, size_t len)
{
	size_t i = 0, off = 0;

	buf[0] = 0;
	while (i < n && off < len) {
		size_t j = i;

		while (j + 1 < n && list[j + 1] == list[j] + 1)
			j++;
		if (j > i + 1) {
			off += snprintf(buf + off, len - off, "%s%d-%d", off ? "," : "",
					list[i], list[j]);
		} else {
			/* Two in a row read better as "3,4". */
			off += snprintf(buf + off, len - off, "%s%d", off ? "," : "", list[i]);
			j = i;
		}
		i = j + 1;
	}
	return buf;
}
