// SPDX-License-Identifier: GPL-2.0
/* Option tables: generic parsing and help printing (see opts.h). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "opts.h"

const struct opt *opt_find(const struct opt *t, size_t n, const char *name,
			   size_t len)
{
	size_t i;

	if (!len)
		len = strlen(name);
	for (i = 0; i < n; i++)
		if (strlen(t[i].name) == len && !strncmp(t[i].name, name, len))
			return &t[i];
	return NULL;
}

static int opt_set_uint(const struct opt *o, void *obj, const char *val)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(val, &end, o->flags & OPT_OCTAL ? 8 : 10);
	/* strtoul takes "-1" as ULONG_MAX; a sign is never meant. */
	if (errno || !*val || *end || *val == '-' || *val == '+' ||
	    v < o->min || v > o->max)
		return -EINVAL;
	if (o->size == sizeof(unsigned int))
		*(unsigned int *)((char *)obj + o->off) = v;
	else if (o->size == sizeof(unsigned short))
		*(unsigned short *)((char *)obj + o->off) = v;
	else
		*(unsigned long *)((char *)obj + o->off) = v;
	return 0;
}

static int opt_set_enum(const struct opt *o, void *obj, const char *val)
{
	const struct opt_choice *c;

	for (c = o->choices; c->name; c++) {
		if (strcmp(c->name, val))
			continue;
		if (o->size == sizeof(bool))
			*(bool *)((char *)obj + o->off) = c->val;
		else
			*(int *)((char *)obj + o->off) = c->val;
		return 0;
	}
	return -EINVAL;
}

/* "a, b or c" */
static void opt_choices_text(const struct opt *o, char *buf, size_t len)
{
	const struct opt_choice *c;
	size_t used = 0;

	buf[0] = '\0';
	for (c = o->choices; c->name && used < len; c++) {
		const char *sep = c == o->choices ? "" : c[1].name ? ", " : " or ";
		int k = snprintf(buf + used, len - used, "%s%s", sep, c->name);

		if (k < 0)
			break;
		used += k;
	}
}

int opt_set(const struct opt *o, void *obj, const char *val, char *err,
	    size_t errlen)
{
	char why[200] = "";
	int ret = 0;

	switch (o->type) {
	case OPT_UINT:
		ret = opt_set_uint(o, obj, val);
		if (ret)
			snprintf(why, sizeof(why), o->flags & OPT_OCTAL ?
				 "expected octal %lo to %lo%s" : "expected %lu to %lu%s",
				 o->min, o->max, o->unit ? o->unit : "");
		break;
	case OPT_ENUM:
		ret = opt_set_enum(o, obj, val);
		if (ret) {
			char list[120];

			opt_choices_text(o, list, sizeof(list));
			snprintf(why, sizeof(why), "expected %s", list);
		}
		break;
	case OPT_FUNC:
		ret = o->parse(obj, o, val, why, sizeof(why));
		break;
	case OPT_FLAG:
		if (!val) {
			*(bool *)((char *)obj + o->off) = true;
			return 0;
		}
		ret = -EINVAL;
		snprintf(why, sizeof(why), "takes no value");
		break;
	}
	if (ret)
		snprintf(err, errlen, "%s=%s: %s", o->name, val ? val : "", why);
	return ret;
}

bool opt_required_seen(const struct opt *t, size_t n, unsigned long long seen,
		       const struct opt **missing)
{
	size_t i;

	for (i = 0; i < n && i < 64; i++) {
		if ((t[i].flags & OPT_REQUIRED) && !(seen & (1ull << i))) {
			if (missing)
				*missing = &t[i];
			return false;
		}
	}
	return true;
}

int opt_parse_spec(const struct opt *t, size_t n, void *obj, const char *spec,
		   char *err, size_t errlen)
{
	unsigned long long seen = 0;
	const char *p = spec;
	const struct opt *miss;
	char val[512];

	while (*p) {
		const char *end = strchrnul(p, ','), *eq = memchr(p, '=', end - p);
		const struct opt *o;
		size_t idx;

		if (end == p) {
			p++;		/* ",," or a trailing comma: harmless */
			continue;
		}
		if (!eq || eq == p) {
			snprintf(err, errlen, "'%.*s': expected key=value", (int)(end - p), p);
			return -EINVAL;
		}
		o = opt_find(t, n, p, eq - p);
		if (!o || (o->flags & OPT_CLI)) {
			snprintf(err, errlen, "unknown key '%.*s'", (int)(eq - p), p);
			return -EINVAL;
		}
		idx = o - t;
		if ((seen & (1ull << idx)) && !(o->flags & OPT_REPEAT)) {
			snprintf(err, errlen, "'%s' given twice", o->name);
			return -EINVAL;
		}
		seen |= 1ull << idx;
		if ((size_t)(end - eq - 1) >= sizeof(val)) {
			snprintf(err, errlen, "%s=: value too long", o->name);
			return -EINVAL;
		}
		memcpy(val, eq + 1, end - eq - 1);
		val[end - eq - 1] = '\0';
		if (opt_set(o, obj, val, err, errlen))
			return -EINVAL;
		p = *end ? end + 1 : end;
	}
	if (!opt_required_seen(t, n, seen, &miss)) {
		snprintf(err, errlen, "%s= is required", miss->name);
		return -EINVAL;
	}
	return 0;
}

int opt_fmt_parse(const char *s)
{
	if (!s || !strcmp(s, "text"))
		return OPT_FMT_TEXT;
	if (!strcmp(s, "man"))
		return OPT_FMT_MAN;
	if (!strcmp(s, "markdown"))
		return OPT_FMT_MARKDOWN;
	return -1;
}

/* "--workers N", "-w, --workers N" or "vf=IFNAME" */
static void opt_head(const struct opt *o, const char *prefix, bool shorts,
		     char *buf, size_t len)
{
	bool cli = prefix[0] == '-';
	int k = 0;

	if (cli && shorts)
		k = o->short_name ? snprintf(buf, len, "-%c, ", o->short_name) :
				    snprintf(buf, len, "    ");
	if (k < 0)
		k = 0;
	snprintf(buf + k, len - k, "%s%s%s%s", prefix, o->name,
		 o->metavar ? (cli ? " " : "=") : "", o->metavar ? o->metavar : "");
}

/* @text wrapped to @width columns, every line after the first indented by
 * @indent (the first continues where the caller left the cursor, @col).
 */
static void print_wrapped(FILE *f, const char *text, unsigned int col,
			  unsigned int indent, unsigned int width)
{
	const char *p = text;

	while (*p) {
		const char *w = p;
		size_t wl;

		while (*w == ' ')
			w++;
		wl = strcspn(w, " ");
		if (!wl)
			break;
		if (col > indent && col + 1 + wl > width) {
			fprintf(f, "\n%*s", indent, "");
			col = indent;
		} else if (col > indent) {
			fputc(' ', f);
			col++;
		}
		fwrite(w, 1, wl, f);
		col += wl;
		p = w + wl;
	}
	fputc('\n', f);
}

/* The help with "(default X)" appended. */
static void opt_help_text(const struct opt *o, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s%s", o->help, o->flags & OPT_REQUIRED ? " (required)" : "",
		 o->def ? " (default " : "", o->def ? o->def : "");
	if (o->def && strlen(buf) + 1 < len)
		strcat(buf, ")");
}

/* A markdown table cell: '|' would end it. */
static void md_cell(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '|')
			fputc('\\', f);
		fputc(*s, f);
	}
}

/* troff: a leading '.' or '\'' would be a request; backslashes escape. */
void opt_man_escape(FILE *f, const char *s)
{
	if (*s == '.' || *s == '\'')
		fputs("\\&", f);
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\e", f);
		else if (*s == '-')
			fputs("\\-", f);
		else
			fputc(*s, f);
	}
}

void opt_print_help(FILE *f, const struct opt *t, size_t n, const char *prefix,
		    enum opt_fmt fmt, unsigned int skip)
{
	char head[96], help[1024];
	size_t i;

	if (fmt == OPT_FMT_MARKDOWN)
		fprintf(f, "| option | meaning |\n|---|---|\n");
	for (i = 0; i < n; i++) {
		const struct opt *o = &t[i];

		if (o->flags & (skip | OPT_HIDDEN))
			continue;
		opt_help_text(o, help, sizeof(help));
		switch (fmt) {
		case OPT_FMT_TEXT:
			opt_head(o, prefix, true, head, sizeof(head));
			fprintf(f, "  %s", head);
			if (strlen(head) + 2 >= 24) {
				fprintf(f, "\n%*s", 24, "");
				print_wrapped(f, help, 24, 24, 80);
			} else {
				fprintf(f, "%*s", (int)(22 - strlen(head)), "");
				print_wrapped(f, help, 24, 24, 80);
			}
			break;
		case OPT_FMT_MAN:
			opt_head(o, prefix, true, head, sizeof(head));
			fputs(".TP\n.B ", f);
			opt_man_escape(f, head);
			fputc('\n', f);
			opt_man_escape(f, help);
			fputc('\n', f);
			break;
		case OPT_FMT_MARKDOWN:
			opt_head(o, prefix, false, head, sizeof(head));
			fputs("| `", f);
			md_cell(f, head);
			fputs("` | ", f);
			md_cell(f, help);
			fputs(" |\n", f);
			break;
		}
	}
}
