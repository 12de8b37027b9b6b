/* SPDX-License-Identifier: GPL-2.0 */
/* Option tables: one row per option (name, type, range, help, parser) serves
 * parsing from a command line, a "key=value,..." spec and a config file, and
 * the usage, man page and README text, so an option is spelled once.
 */
#ifndef VXDP_OPTS_H
#define VXDP_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum opt_type {
	OPT_UINT,	/* unsigned int in [min, max], base 10 (8 with OPT_OCTAL) */
	OPT_ENUM,	/* one of @choices, stored as int or bool (by @size) */
	OPT_FUNC,	/* @parse does it all */
	OPT_FLAG,	/* no value (command line only) */
};

struct opt_choice {
	const char *name;
	int val;
};

struct opt;

/* Set the option from @val in @obj, or write why not into @err (without the
 * "key=value: " prefix, which the caller adds) and return -EINVAL.
 */
typedef int (*opt_parse_fn)(void *obj, const struct opt *o, const char *val,
			    char *err, size_t errlen);

#define OPT_REQUIRED	(1u << 0)	/* a spec without it is refused */
#define OPT_CLI		(1u << 1)	/* command line only, not in a file */
#define OPT_REPEAT	(1u << 2)	/* may be given more than once */
#define OPT_OCTAL	(1u << 3)	/* OPT_UINT written in octal */
#define OPT_HIDDEN	(1u << 4)	/* works, but no help text lists it (tests) */

struct opt {
	const char *name;
	char short_name;		/* command line letter, 0: none */
	enum opt_type type;
	size_t off, size;		/* the field in the target structure */
	unsigned long min, max;		/* OPT_UINT */
	const char *unit;		/* OPT_UINT: " microseconds", in errors */
	const struct opt_choice *choices;	/* OPT_ENUM, NULL-terminated */
	opt_parse_fn parse;		/* OPT_FUNC */
	const char *metavar;		/* "IFNAME" in "vf=IFNAME" */
	const char *help;		/* one paragraph, wrapped when printed */
	const char *def;		/* default, as text; NULL: none */
	unsigned int flags;
};

#define OPT_FIELD(type, field) \
	.off = offsetof(type, field), .size = sizeof(((type *)0)->field)

/* The row named @name (the whole string, or its first @len bytes). */
const struct opt *opt_find(const struct opt *t, size_t n, const char *name,
			   size_t len);

/* Set option @o from @val in @obj: 0, or -EINVAL with "name=val: why" in
 * @err.
 */
int opt_set(const struct opt *o, void *obj, const char *val, char *err,
	    size_t errlen);

/* Parse "key=value,key=value" into @obj: every key known, none twice
 * (unless OPT_REPEAT), every OPT_REQUIRED one present. @obj must already
 * hold the defaults.
 */
int opt_parse_spec(const struct opt *t, size_t n, void *obj, const char *spec,
		   char *err, size_t errlen);

/* Whether bit i of @seen (one per row of a table of at most 64 rows) covers
 * every OPT_REQUIRED row; the first missing one in @missing.
 */
bool opt_required_seen(const struct opt *t, size_t n, unsigned long long seen,
		       const struct opt **missing);

enum opt_fmt {
	OPT_FMT_TEXT,		/* usage text, 80 columns */
	OPT_FMT_MAN,		/* troff .TP paragraphs for a man page */
	OPT_FMT_MARKDOWN,	/* a README table */
};

/* Print the table's help, but not the rows with OPT_HIDDEN or any of the
 * @skip flags (OPT_CLI: the keys of a config file). @prefix "--" for
 * command line options (with their short letters), "" for spec keys
 * (key=METAVAR).
 */
void opt_print_help(FILE *f, const struct opt *t, size_t n, const char *prefix,
		    enum opt_fmt fmt, unsigned int skip);

/* @s for troff: '-' as "\-", a leading '.' or '\'' made text. */
void opt_man_escape(FILE *f, const char *s);

/* Parse an OPT_FMT name ("text", "man", "markdown"); -1 when unknown. */
int opt_fmt_parse(const char *s);

#endif
