// SPDX-License-Identifier: GPL-2.0
/* --relay spec parsing: strict, so a typo is an error rather than a default. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "util/compiler.h"
#include "vhost/guest_mem.h"

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	char tail;
	int i;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3],
		   &b[4], &b[5], &tail) != 6)
		return -EINVAL;
	for (i = 0; i < 6; i++)
		mac[i] = b[i];
	/* Steering to a multicast address would swallow every group frame. */
	if (mac[0] & 1)
		return -EINVAL;
	return 0;
}

int config_parse_size(const char *s, uint64_t *bytes)
{
	static const char units[] = "KMGT";
	unsigned long long n;
	const char *u;
	char *end;
	int shift = 0;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	if (*end) {
		u = strchr(units, *end);
		if (!u || !*u)
			return -EINVAL;
		shift = 10 * (u - units + 1);
		end++;
		if (!strcmp(end, "iB"))
			end += 2;
		if (*end)
			return -EINVAL;
	}
	if (shift && n > UINT64_MAX >> shift)
		return -EINVAL;
	*bytes = (uint64_t)n << shift;
	return 0;
}

static int copy_str(char *dst, size_t size, const char *val)
{
	size_t len = strlen(val);

	if (!len || len >= size)
		return -EINVAL;
	memcpy(dst, val, len + 1);
	return 0;
}

static bool valid_name(const char *s)
{
	/* Becomes a directory under /sys/fs/bpf/vxdp/. */
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.'))
			return false;
	return true;
}

/* A user or group by name or number. */
static int parse_id(const char *val, bool group, unsigned int *id)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(val, &end, 10);
	if (!errno && *val && !*end && v < (unsigned int)-1) {
		*id = v;
		return 0;
	}
	if (group) {
		struct group *g = getgrnam(val);

		if (!g)
			return -ENOENT;
		*id = g->gr_gid;
	} else {
		struct passwd *pw = getpwnam(val);

		if (!pw)
			return -ENOENT;
		*id = pw->pw_uid;
	}
	return 0;
}

static int parse_kv(struct relay_cfg *c, const char *key, const char *val,
		    char *err, size_t errlen)
{
	if (!strcmp(key, "vf")) {
		if (copy_str(c->vf, sizeof(c->vf), val)) {
			snprintf(err, errlen, "vf=%s: interface names are 1-%zu characters",
				 val, sizeof(c->vf) - 1);
			return -EINVAL;
		}
	} else if (!strcmp(key, "socket")) {
		if (copy_str(c->socket, sizeof(c->socket), val)) {
			snprintf(err, errlen, "socket=%s: path must be 1-%zu bytes",
				 val, sizeof(c->socket) - 1);
			return -EINVAL;
		}
	} else if (!strcmp(key, "mac")) {
		if (parse_mac(val, c->mac)) {
			snprintf(err, errlen, "mac=%s: expected a unicast MAC like 52:54:00:12:34:56", val);
			return -EINVAL;
		}
		c->has_mac = true;
	} else if (!strcmp(key, "name")) {
		if (copy_str(c->name, sizeof(c->name), val) || !valid_name(val) ||
		    !strcmp(val, ".") || !strcmp(val, "..")) {
			snprintf(err, errlen, "name=%s: use 1-%zu of [A-Za-z0-9._-]",
				 val, sizeof(c->name) - 1);
			return -EINVAL;
		}
	} else if (!strcmp(key, "xdp-mode")) {
		if (!strcmp(val, "auto"))
			c->xdp_mode = XDP_STEER_AUTO;
		else if (!strcmp(val, "native"))
			c->xdp_mode = XDP_STEER_NATIVE;
		else if (!strcmp(val, "skb"))
			c->xdp_mode = XDP_STEER_SKB;
		else {
			snprintf(err, errlen, "xdp-mode=%s: expected auto, native or skb", val);
			return -EINVAL;
		}
	} else if (!strcmp(key, "xsk-mode")) {
		if (!strcmp(val, "auto"))
			c->xsk_mode = XSK_PORT_AUTO;
		else if (!strcmp(val, "copy"))
			c->xsk_mode = XSK_PORT_COPY;
		else if (!strcmp(val, "zerocopy"))
			c->xsk_mode = XSK_PORT_ZEROCOPY;
		else {
			snprintf(err, errlen, "xsk-mode=%s: expected auto, copy or zerocopy", val);
			return -EINVAL;
		}
	} else if (!strcmp(key, "queues")) {
		char *end;
		unsigned long n = strtoul(val, &end, 10);

		if (!*val || *end || n < 1 || n > 32) {
			snprintf(err, errlen, "queues=%s: expected 1 to 32 queue pairs", val);
			return -EINVAL;
		}
		c->queues = n;
	} else if (!strcmp(key, "napi-defer") || !strcmp(key, "napi-timeout")) {
		bool defer = !strcmp(key, "napi-defer");
		unsigned long max = defer ? 100 : 100000;
		char *end;
		unsigned long n = strtoul(val, &end, 10);

		if (!*val || *val == '-' || *end || n > max || (!defer && !n)) {
			snprintf(err, errlen, "%s=%s: expected %s", key, val,
				 defer ? "0 to 100 completions (0: leave the VF's NAPI alone)" :
					 "1 to 100000 microseconds");
			return -EINVAL;
		}
		if (defer)
			c->napi_defer = n;
		else
			c->napi_timeout_us = n;
	} else if (!strcmp(key, "mem-max")) {
		if (config_parse_size(val, &c->mem_max)) {
			snprintf(err, errlen, "mem-max=%s: expected a size like 64G (K, M, G, T; 0: no limit)",
				 val);
			return -EINVAL;
		}
	} else if (!strcmp(key, "mode")) {
		if (!strcmp(val, "server") || !strcmp(val, "client")) {
			c->client = !strcmp(val, "client");
		} else {
			snprintf(err, errlen, "mode=%s: expected server or client", val);
			return -EINVAL;
		}
	} else if (!strcmp(key, "owner") || !strcmp(key, "group")) {
		bool group = key[0] == 'g';
		unsigned int id;

		if (parse_id(val, group, &id)) {
			snprintf(err, errlen, "%s=%s: no such %s", key, val,
				 group ? "group" : "user");
			return -EINVAL;
		}
		if (group)
			c->group = id;
		else
			c->owner = id;
	} else if (!strcmp(key, "perm")) {
		char *end;
		unsigned long m = strtoul(val, &end, 8);

		if (!*val || *end || m > 0777 || !(m & 0600)) {
			snprintf(err, errlen, "perm=%s: expected octal permissions like 0660, owner read-write", val);
			return -EINVAL;
		}
		c->perm = m;
	} else {
		snprintf(err, errlen, "unknown key '%s' (known: vf, socket, mac, name, queues, mode, owner, group, perm, xdp-mode, xsk-mode, napi-defer, napi-timeout, mem-max)", key);
		return -EINVAL;
	}
	return 0;
}

int relay_cfg_parse(struct relay_cfg *c, const char *spec, char *err,
		    size_t errlen)
{
	char buf[512], *save = NULL, *tok;
	unsigned int seen = 0;
	static const char *const keys[] = {
		"vf", "socket", "mac", "name", "xdp-mode", "xsk-mode",
		"mode", "owner", "group", "perm", "queues", "napi-defer",
		"napi-timeout", "mem-max",
	};

	memset(c, 0, sizeof(*c));
	c->queues = 1;
	c->napi_defer = RELAY_NAPI_DEFER_DEFAULT;
	c->napi_timeout_us = RELAY_NAPI_TIMEOUT_US_DEFAULT;
	c->mem_max = GUEST_MEM_LIMIT_DEFAULT;
	c->owner = (uid_t)-1;
	c->group = (gid_t)-1;
	if (strlen(spec) >= sizeof(buf)) {
		snprintf(err, errlen, "relay spec too long");
		return -EINVAL;
	}
	strcpy(buf, spec);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		unsigned int i;

		if (!eq || eq == tok) {
			snprintf(err, errlen, "'%s': expected key=value", tok);
			return -EINVAL;
		}
		*eq = '\0';
		for (i = 0; i < ARRAY_SIZE(keys); i++) {
			if (strcmp(tok, keys[i]))
				continue;
			if (seen & (1u << i)) {
				snprintf(err, errlen, "'%s' given twice", tok);
				return -EINVAL;
			}
			seen |= 1u << i;
		}
		if (parse_kv(c, tok, eq + 1, err, errlen))
			return -EINVAL;
	}
	if (!c->vf[0] || !c->socket[0]) {
		snprintf(err, errlen, "vf= and socket= are required");
		return -EINVAL;
	}
	if (c->client && (c->owner != (uid_t)-1 || c->group != (gid_t)-1 || c->perm)) {
		snprintf(err, errlen, "owner=, group= and perm= are for mode=server: in client mode QEMU creates the socket");
		return -EINVAL;
	}
	if (!c->name[0]) {
		if (!valid_name(c->vf)) {
			snprintf(err, errlen, "vf=%s cannot name the relay: give name=", c->vf);
			return -EINVAL;
		}
		strcpy(c->name, c->vf);
	}
	return 0;
}

int relay_cfg_check_unique(const struct relay_cfg *c, unsigned int n,
			   char *err, size_t errlen)
{
	unsigned int i, j;

	for (i = 0; i < n; i++) {
		for (j = 0; j < i; j++) {
			const char *what = !strcmp(c[i].vf, c[j].vf) ? "vf" :
					   !strcmp(c[i].socket, c[j].socket) ? "socket" :
					   !strcmp(c[i].name, c[j].name) ? "name" : NULL;
			if (what) {
				snprintf(err, errlen, "relays %u and %u share the same %s", j + 1, i + 1, what);
				return -EINVAL;
			}
		}
	}
	return 0;
}
