// SPDX-License-Identifier: GPL-2.0
/* The relay and daemon option tables, --relay spec parsing and the config
 * file: strict, so a typo is an error rather than a default.
 */
#include <errno.h>
#include <sched.h>
#include <grp.h>
#include <pwd.h>
#include <stddef.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "agent/failover_fsm.h"
#include "config.h"
#include "util/compiler.h"
#include "util/cpulist.h"
#include "vhost/guest_mem.h"

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

/* A size (config_parse_size()) into a uint64_t field. */
static int parse_size(void *obj, const struct opt *o, const char *val,
		      char *err, size_t errlen)
{
	if (config_parse_size(val, (uint64_t *)((char *)obj + o->off))) {
		snprintf(err, errlen, "expected a size like %s (K, M, G, T; 0: no limit)",
			 o->def);
		return -EINVAL;
	}
	return 0;
}

static int parse_mac(void *obj, const struct opt *o, const char *s, char *err,
		     size_t errlen)
{
	struct relay_cfg *c = obj;
	unsigned int b[6];
	char tail;
	int i;

	(void)o;
	/* Steering to a multicast address would swallow every group frame. */
	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3],
		   &b[4], &b[5], &tail) != 6 || (b[0] & 1)) {
		snprintf(err, errlen, "expected a unicast MAC like 52:54:00:12:34:56");
		return -EINVAL;
	}
	for (i = 0; i < 6; i++)
		c->mac[i] = b[i];
	c->has_mac = true;
	return 0;
}

/* A string field of the target: 1 to size - 1 bytes. */
static int parse_str(void *obj, const struct opt *o, const char *val,
		     char *err, size_t errlen)
{
	size_t len = strlen(val);

	if (!len || len >= o->size) {
		snprintf(err, errlen, "%s must be 1-%zu bytes",
			 o->metavar ? o->metavar : "value", o->size - 1);
		return -EINVAL;
	}
	memcpy((char *)obj + o->off, val, len + 1);
	return 0;
}

static int parse_ifname(void *obj, const struct opt *o, const char *val,
			char *err, size_t errlen)
{
	if (!parse_str(obj, o, val, err, errlen))
		return 0;
	snprintf(err, errlen, "interface names are 1-%zu characters", o->size - 1);
	return -EINVAL;
}

/* vf=IFNAME or vf=A+B (a bond: two VFs in active-backup). */
static int parse_vf(void *obj, const struct opt *o, const char *val,
		    char *err, size_t errlen)
{
	struct relay_cfg *c = obj;
	const char *plus = strchr(val, '+');
	size_t la = plus ? (size_t)(plus - val) : strlen(val);

	(void)o;
	if (plus && strchr(plus + 1, '+')) {
		snprintf(err, errlen, "a bond has two members: vf=A+B");
		return -EINVAL;
	}
	if (!la || la >= sizeof(c->vf) ||
	    (plus && (!plus[1] || strlen(plus + 1) >= sizeof(c->vf2)))) {
		snprintf(err, errlen, "interface names are 1-%zu characters%s",
			 sizeof(c->vf) - 1, plus ? " (vf=A+B: a bond of A and B)" : "");
		return -EINVAL;
	}
	if (plus && (size_t)strlen(plus + 1) == la && !strncmp(val, plus + 1, la)) {
		snprintf(err, errlen, "a bond's members are two different VFs");
		return -EINVAL;
	}
	memcpy(c->vf, val, la);
	c->vf[la] = 0;
	c->vf2[0] = 0;
	if (plus)
		strcpy(c->vf2, plus + 1);
	return 0;
}

void relay_cfg_vfs(const struct relay_cfg *c, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s", c->vf, relay_cfg_bond(c) ? "+" : "", c->vf2);
}

static bool valid_name(const char *s)
{
	if (!*s || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	/* Becomes a directory under /sys/fs/bpf/vxdp/. */
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.'))
			return false;
	return true;
}

static int parse_name(void *obj, const struct opt *o, const char *val,
		      char *err, size_t errlen)
{
	if (!valid_name(val) || parse_str(obj, o, val, err, errlen)) {
		snprintf(err, errlen, "use 1-%zu of [A-Za-z0-9._-]", o->size - 1);
		return -EINVAL;
	}
	return 0;
}

/* A user or group by name or number. */
static int lookup_id(const char *val, bool group, unsigned int *id)
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

static int parse_id(void *obj, const struct opt *o, const char *val,
		    char *err, size_t errlen)
{
	bool group = !strcmp(o->metavar, "GROUP");
	unsigned int id;

	if (lookup_id(val, group, &id)) {
		snprintf(err, errlen, "no such %s", group ? "group" : "user");
		return -EINVAL;
	}
	*(unsigned int *)((char *)obj + o->off) = id;
	return 0;
}

static int parse_perm(void *obj, const struct opt *o, const char *val,
		      char *err, size_t errlen)
{
	char *end;
	unsigned long m = strtoul(val, &end, 8);

	(void)o;
	if (!*val || *val == '-' || *end || m > 0777 || !(m & 0600)) {
		snprintf(err, errlen, "expected octal permissions like 0660, owner read-write");
		return -EINVAL;
	}
	((struct relay_cfg *)obj)->perm = m;
	return 0;
}

/* primary=PF:VF */
static int parse_primary(void *obj, const struct opt *o, const char *val,
			 char *err, size_t errlen)
{
	struct relay_cfg *c = obj;
	const char *colon = strrchr(val, ':');
	unsigned long vf;
	char *end;

	(void)o;
	if (!colon || colon == val || (size_t)(colon - val) >= sizeof(c->primary_pf) ||
	    !colon[1] || colon[1] == '-') {
		snprintf(err, errlen, "expected PF:VF, the PF's name and the VF's index (e.g. enp59s0f1:1)");
		return -EINVAL;
	}
	errno = 0;
	vf = strtoul(colon + 1, &end, 10);
	if (errno || *end || vf > 255) {
		snprintf(err, errlen, "the VF index is 0-255");
		return -EINVAL;
	}
	memcpy(c->primary_pf, val, colon - val);
	c->primary_pf[colon - val] = 0;
	c->primary_vf = (int)vf;
	return 0;
}

/* worker=N+N... or cpu=CPU+CPU...: where the lanes run. */
static int parse_place(void *obj, const struct opt *o, const char *val,
		       char *err, size_t errlen)
{
	struct relay_cfg *c = obj;
	bool cpu = !strcmp(o->name, "cpu");
	int n;

	if (c->nplace) {
		snprintf(err, errlen, "worker= and cpu= exclude each other");
		return -EINVAL;
	}
	n = cpulist_parse(val, cpu ? 4095 : WORKERS_MAX - 1, c->place, RELAY_PLACE_MAX);
	if (n <= 0) {
		snprintf(err, errlen, "expected %s numbers, e.g. 0 or 2+3 or 0-3 (at most %d)",
			 cpu ? "CPU" : "worker", RELAY_PLACE_MAX);
		return -EINVAL;
	}
	c->nplace = n;
	c->place_cpu = cpu;
	return 0;
}

static const struct opt_choice mode_choices[] = {
	{ "server", false }, { "client", true }, { NULL, 0 },
};
static const struct opt_choice xdp_mode_choices[] = {
	{ "auto", XDP_STEER_AUTO }, { "native", XDP_STEER_NATIVE },
	{ "skb", XDP_STEER_SKB }, { NULL, 0 },
};
static const struct opt_choice offloads_choices[] = {
	{ "on", RELAY_OFFLOADS_ON }, { "csum", RELAY_OFFLOADS_CSUM },
	{ "off", RELAY_OFFLOADS_OFF }, { NULL, 0 },
};
static const struct opt_choice poll_choices[] = {
	{ "adaptive", false }, { "busy", true }, { NULL, 0 },
};
static const struct opt_choice xsk_mode_choices[] = {
	{ "auto", XSK_PORT_AUTO }, { "copy", XSK_PORT_COPY },
	{ "zerocopy", XSK_PORT_ZEROCOPY }, { NULL, 0 },
};

#define RC(f) OPT_FIELD(struct relay_cfg, f)

const struct opt relay_opts[] = {
	{ .name = "vf", .type = OPT_FUNC, RC(vf), .parse = parse_vf,
	  .metavar = "IFNAME|A+B", .flags = OPT_REQUIRED,
	  .help = "the VF netdev; A+B: a bond of two VFs (usually on two PFs) in "
		  "active-backup: unicast from either goes to the guest (broadcast and "
		  "multicast from the active one only), the guest's frames go "
		  "out of the active one, which changes when its link goes down "
		  "(logged, then the guest's mac= announced by RARP on the new one)" },
	{ .name = "socket", .type = OPT_FUNC, RC(socket), .parse = parse_str,
	  .metavar = "PATH", .flags = OPT_REQUIRED,
	  .help = "the vhost-user socket" },
	{ .name = "mode", .type = OPT_ENUM, RC(client), .choices = mode_choices,
	  .metavar = "server|client", .def = "server",
	  .help = "server: the relay listens on PATH and QEMU connects; client: QEMU "
		  "listens (server=on) and the relay connects, reconnecting with backoff "
		  "whenever QEMU is away" },
	{ .name = "queues", .type = OPT_UINT, RC(queues), .min = 1, .max = 32,
	  .unit = " queue pairs", .metavar = "N", .def = "1",
	  .help = "guest queue pairs, 1-32; VF queue i feeds guest queue i, or a flow "
		  "hash spreads frames when the counts differ" },
	{ .name = "owner", .type = OPT_FUNC, RC(owner), .parse = parse_id,
	  .metavar = "USER", .help = "server mode: the socket's owner" },
	{ .name = "group", .type = OPT_FUNC, RC(group), .parse = parse_id,
	  .metavar = "GROUP", .help = "server mode: the socket's group" },
	{ .name = "perm", .type = OPT_FUNC, .parse = parse_perm,
	  .metavar = "MODE", .help = "server mode: the socket's octal mode, e.g. 0660" },
	{ .name = "mac", .type = OPT_FUNC, .parse = parse_mac, .metavar = "MAC",
	  .help = "only frames to MAC, broadcast and multicast go to the VM; the rest "
		  "stays with the host stack" },
	{ .name = "name", .type = OPT_FUNC, RC(name), .parse = parse_name,
	  .metavar = "NAME", .def = "the VF name",
	  .help = "relay name: pins maps at /sys/fs/bpf/vxdp/NAME, names the relay "
		  "in logs and vxdpctl" },
	{ .name = "xdp-mode", .type = OPT_ENUM, RC(xdp_mode),
	  .choices = xdp_mode_choices, .metavar = "auto|native|skb", .def = "auto",
	  .help = "XDP attach mode" },
	{ .name = "xsk-mode", .type = OPT_ENUM, RC(xsk_mode),
	  .choices = xsk_mode_choices, .metavar = "auto|copy|zerocopy", .def = "auto",
	  .help = "AF_XDP mode" },
	{ .name = "napi-defer", .type = OPT_UINT, RC(napi_defer), .min = 0, .max = 100,
	  .unit = " completions (0: leave the VF's NAPI alone)", .metavar = "N",
	  .def = "0",
	  .help = "with --busy-poll on, the VF's napi_defer_hard_irqs for AF_XDP busy "
		  "polling, set while the relay runs unless the VF has its own; 0 leaves "
		  "the VF alone (a deferred frame waits for napi-timeout whenever the "
		  "relay is not polling)" },
	{ .name = "napi-timeout", .type = OPT_UINT, RC(napi_timeout_us), .min = 1,
	  .max = 100000, .unit = " microseconds", .metavar = "US", .def = "200",
	  .help = "with --busy-poll on, the VF's gro_flush_timeout for AF_XDP busy "
		  "polling" },
	{ .name = "offloads", .type = OPT_ENUM, RC(offloads),
	  .choices = offloads_choices, .metavar = "on|csum|off", .def = "on",
	  .help = "what the guest may leave to the relay: on, checksums and TCP "
		  "segmentation both ways (VIRTIO_NET_F_CSUM/GUEST_CSUM, HOST_TSO4/6, "
		  "GUEST_TSO4/6), so the guest sends TCP in frames of up to 64 KiB and "
		  "receives runs of one flow's segments joined; csum, checksums only; "
		  "off, none: frames cross complete" },
	{ .name = "poll", .type = OPT_ENUM, RC(poll_busy), .choices = poll_choices,
	  .metavar = "adaptive|busy", .def = "adaptive",
	  .help = "adaptive: after frames, poll for the daemon's --busy-poll window, "
		  "then sleep, so an idle relay costs no CPU; busy: the relay's worker "
		  "polls without ever sleeping while the relay is open, like DPDK, for "
		  "the lowest latency at the cost of one CPU at 100% even when idle "
		  "(the worker's other relays are polled too)" },
	{ .name = "mem-max", .type = OPT_FUNC, RC(mem_max), .parse = parse_size,
	  .metavar = "SIZE", .def = "64G",
	  .help = "guest memory the frontend may have the relay map (K, M, G, T; 0: "
		  "no limit); a memory table or region beyond it is refused" },
	{ .name = "primary", .type = OPT_FUNC, .parse = parse_primary,
	  .metavar = "PF:VF",
	  .help = "failover: the VM's passthrough VF (VF index VF of PF), the primary "
		  "its virtio-net (this relay, failover=on) stands by for; the agent moves "
		  "mac= between the two paths across live migrations (sriov backend; needs "
		  "mac=)" },
	{ .name = "primary-port", .type = OPT_FUNC, RC(primary_port), .parse = parse_ifname,
	  .metavar = "IFNAME",
	  .help = "failover with a Linux bridge standing in for the NIC's switch: the "
		  "primary's port on it (a VF representor, or QEMU's tap behind an emulated "
		  "primary); the bridge is its master (bridge backend; needs mac=)" },
	{ .name = "relay-port", .type = OPT_FUNC, RC(relay_port), .parse = parse_ifname,
	  .metavar = "IFNAME", .def = "the VF itself",
	  .help = "with primary-port=: this relay's port on that bridge (its VF's "
		  "representor)" },
	{ .name = "qmp", .type = OPT_FUNC, RC(qmp), .parse = parse_str, .metavar = "PATH",
	  .help = "failover: the VM's QMP socket (QEMU -qmp unix:PATH,server=on,wait=off, "
		  "a monitor of its own), for its unplug and migration events; without it "
		  "the agent goes by the relay's view and netlink" },
	{ .name = "unplug-grace", .type = OPT_UINT, RC(unplug_grace_ms), .min = 10,
	  .max = 60000, .unit = " ms", .metavar = "MS", .def = "300",
	  .help = "failover: how long a migrating VM stays on its primary after QEMU "
		  "asked the guest to unplug it, unless the guest's traffic or QEMU shows "
		  "it let go sooner" },
	{ .name = "primary-grace", .type = OPT_UINT, RC(primary_grace_ms), .min = 10,
	  .max = 60000, .unit = " ms", .metavar = "MS", .def = "2000",
	  .help = "failover: how long a VM starting here (a boot, a migration's "
		  "destination, a cancelled migration) stays on the standby before its "
		  "primary gets the MAC, unless the guest sends on the primary sooner" },
	{ .name = "worker", .type = OPT_FUNC, .parse = parse_place,
	  .metavar = "N[+N...]",
	  .help = "run on worker N (numbered from 0), never moved; with several, "
		  "queue pair k runs on the k-th (round robin). Default: the least "
		  "loaded worker, preferably on the VF's NUMA node, each queue pair "
		  "placed and balanced on its own when the VF has a queue for each" },
	{ .name = "cpu", .type = OPT_FUNC, .parse = parse_place,
	  .metavar = "CPU[+CPU...]",
	  .help = "as worker=, naming the workers by the CPU --cpus put them on" },
};
const size_t relay_nopts = ARRAY_SIZE(relay_opts);

void relay_cfg_init(struct relay_cfg *c)
{
	/* Whole, padding included: relay_cfg_equal() compares bytes. */
	memset(c, 0, sizeof(*c));
	c->queues = 1;
	c->napi_defer = RELAY_NAPI_DEFER_DEFAULT;
	c->napi_timeout_us = RELAY_NAPI_TIMEOUT_US_DEFAULT;
	c->mem_max = GUEST_MEM_LIMIT_DEFAULT;
	c->owner = (uid_t)-1;
	c->group = (gid_t)-1;
	c->primary_vf = -1;
	c->unplug_grace_ms = FO_UNPLUG_GRACE_MS;
	c->primary_grace_ms = FO_PRIMARY_GRACE_MS;
}

int relay_cfg_finish(struct relay_cfg *c, char *err, size_t errlen)
{
	if (!c->vf[0] || !c->socket[0]) {
		snprintf(err, errlen, "vf= and socket= are required");
		return -EINVAL;
	}
	if (c->client && (c->owner != (uid_t)-1 || c->group != (gid_t)-1 || c->perm)) {
		snprintf(err, errlen, "owner=, group= and perm= are for mode=server: in client mode QEMU creates the socket");
		return -EINVAL;
	}
	if (c->primary_pf[0] && c->primary_port[0]) {
		snprintf(err, errlen, "primary= (a VF) and primary-port= (a bridge port): one or the other");
		return -EINVAL;
	}
	if (c->relay_port[0] && !c->primary_port[0]) {
		snprintf(err, errlen, "relay-port= goes with primary-port=");
		return -EINVAL;
	}
	if (relay_cfg_failover(c) && !c->has_mac) {
		snprintf(err, errlen, "failover (primary=, primary-port=) needs the VM's mac=");
		return -EINVAL;
	}
	if (relay_cfg_bond(c) && !c->has_mac) {
		snprintf(err, errlen, "a bond (vf=A+B) needs the VM's mac=, announced after a switch");
		return -EINVAL;
	}
	if (relay_cfg_bond(c) && c->queues > RELAY_BOND_MAX_QUEUES) {
		snprintf(err, errlen, "a bond (vf=A+B) has at most %d queue pairs",
			 RELAY_BOND_MAX_QUEUES);
		return -EINVAL;
	}
	if (c->qmp[0] && !relay_cfg_failover(c)) {
		snprintf(err, errlen, "qmp= is for failover: give primary= or primary-port=");
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

int relay_cfg_parse(struct relay_cfg *c, const char *spec, char *err,
		    size_t errlen)
{
	relay_cfg_init(c);
	if (strlen(spec) >= 1024) {
		snprintf(err, errlen, "relay spec too long");
		return -EINVAL;
	}
	if (opt_parse_spec(relay_opts, relay_nopts, c, spec, err, errlen))
		return -EINVAL;
	return relay_cfg_finish(c, err, errlen);
}

const char *relay_cfg_collides(const struct relay_cfg *a,
			       const struct relay_cfg *b)
{
	bool vf = !strcmp(a->vf, b->vf) ||
		  (a->vf2[0] && (!strcmp(a->vf2, b->vf) || !strcmp(a->vf2, b->vf2))) ||
		  (b->vf2[0] && !strcmp(a->vf, b->vf2));

	return vf ? "vf" :
	       !strcmp(a->socket, b->socket) ? "socket" :
	       !strcmp(a->name, b->name) ? "name" : NULL;
}

int relay_cfg_check_unique(const struct relay_cfg *c, unsigned int n,
			   char *err, size_t errlen)
{
	unsigned int i, j;

	for (i = 0; i < n; i++) {
		for (j = 0; j < i; j++) {
			const char *what = relay_cfg_collides(&c[i], &c[j]);

			if (what) {
				snprintf(err, errlen, "relays %u (%s) and %u (%s) share the same %s",
					 j + 1, c[j].name, i + 1, c[i].name, what);
				return -EINVAL;
			}
		}
	}
	return 0;
}

bool relay_cfg_equal(const struct relay_cfg *a, const struct relay_cfg *b)
{
	return !memcmp(a, b, sizeof(*a));
}

/* Daemon options ------------------------------------------------------------ */

static int parse_relay_arg(void *obj, const struct opt *o, const char *val,
			   char *err, size_t errlen)
{
	struct daemon_cfg *d = obj;
	char why[256];

	(void)o;
	if (d->nrelays == RELAY_MAX) {
		snprintf(err, errlen, "at most %d relays", RELAY_MAX);
		return -EINVAL;
	}
	if (relay_cfg_parse(&d->relay[d->nrelays], val, why, sizeof(why))) {
		snprintf(err, errlen, "%s", why);
		return -EINVAL;
	}
	d->nrelays++;
	return 0;
}

static int parse_cpus(void *obj, const struct opt *o, const char *val,
		      char *err, size_t errlen)
{
	struct daemon_cfg *d = obj;
	int n = cpulist_parse(val, CPU_SETSIZE - 1, d->cpus, WORKERS_MAX);

	(void)o;
	if (n <= 0) {
		snprintf(err, errlen, "expected a CPU list like 0-3,8 (at most %d CPUs)",
			 WORKERS_MAX);
		return -EINVAL;
	}
	d->ncpus = n;
	return 0;
}

static int parse_control(void *obj, const struct opt *o, const char *val,
			 char *err, size_t errlen)
{
	if (!strcmp(val, "none")) {
		((struct daemon_cfg *)obj)->control[0] = '\0';
		return 0;
	}
	return parse_str(obj, o, val, err, errlen);
}

static const struct opt_choice log_target_choices[] = {
	{ "auto", LOG_TARGET_AUTO }, { "stderr", LOG_TARGET_STDERR },
	{ "journal", LOG_TARGET_JOURNAL }, { "syslog", LOG_TARGET_SYSLOG },
	{ NULL, 0 },
};

#define DC(f) OPT_FIELD(struct daemon_cfg, f)

const struct opt daemon_opts[] = {
	{ .name = "config", .short_name = 'c', .type = OPT_FUNC, DC(config),
	  .parse = parse_str, .metavar = "FILE", .flags = OPT_CLI,
	  .help = "read daemon options and relays from FILE (see vxdp-relay.conf); "
		  "SIGHUP reads it again and adds, removes or re-creates the relays "
		  "that changed" },
	{ .name = "test-config", .short_name = 't', .type = OPT_FLAG, DC(test_only),
	  .flags = OPT_CLI,
	  .help = "check the options and the config file, say what is wrong, exit (0: "
		  "they are fine); nothing is started" },
	{ .name = "relay", .short_name = 'r', .type = OPT_FUNC, .parse = parse_relay_arg,
	  .metavar = "SPEC", .flags = OPT_CLI | OPT_REPEAT,
	  .help = "add a relay, SPEC is KEY=VALUE,... with the relay options below "
		  "(repeatable; at most 256 relays in all)" },
	{ .name = "workers", .short_name = 'w', .type = OPT_UINT, DC(workers),
	  .min = 1, .max = WORKERS_MAX, .metavar = "N", .def = "1, or one per --cpus CPU",
	  .help = "threads running the relays, 1-256; a new relay (each queue pair of "
		  "one, when its VF has a queue for each) goes to the least loaded" },
	{ .name = "cpus", .short_name = 'C', .type = OPT_FUNC, .parse = parse_cpus,
	  .metavar = "LIST",
	  .help = "pin the workers to these CPUs (e.g. 2-5,8), worker i to the i-th, "
		  "round robin; default: no pinning" },
	{ .name = "balance-interval", .type = OPT_UINT, DC(balance_ms), .min = 0,
	  .max = 60000, .unit = " milliseconds", .metavar = "MS", .def = "1000",
	  .help = "with several workers, measure their load this often and move a "
		  "busy lane (a relay's queue pair) from the busiest to the idlest when "
		  "that evens them out; 0: never move" },
	{ .name = "busy-poll", .short_name = 'b', .type = OPT_UINT, DC(busy_poll_us),
	  .min = 0, .max = 1000, .unit = " (microseconds)", .metavar = "US", .def = "50",
	  .help = "after a round that moved frames, look for more for up to US "
		  "microseconds before sleeping, 0-1000 (0: always sleep); an idle "
		  "relay never polls (see the relay option poll=busy)" },
	{ .name = "mem-max", .short_name = 'm', .type = OPT_FUNC, DC(mem_max),
	  .parse = parse_size, .metavar = "SIZE", .def = "4T",
	  .help = "guest memory all relays together may map (K, M, G, T; 0: no "
		  "limit)" },
	{ .name = "log-level", .short_name = 'l', .type = OPT_UINT, DC(log_level),
	  .min = 0, .max = 7, .metavar = "N", .def = "5",
	  .help = "0 (emerg) .. 7 (debug)" },
	{ .name = "log-target", .type = OPT_ENUM, DC(log_target),
	  .choices = log_target_choices, .metavar = "auto|stderr|journal|syslog",
	  .def = "auto",
	  .help = "where log lines go: stderr with monotonic timestamps; journal: "
		  "stderr with the journal's <N> priority prefixes (what systemd reads "
		  "from a service); syslog: syslog(3), facility daemon; auto: journal "
		  "when stderr is the journal's stream (JOURNAL_STREAM), else stderr. "
		  "Lines about a relay start with its name" },
	{ .name = "xsk-single-buffer", .type = OPT_FLAG, DC(xsk_single_buffer),
	  .flags = OPT_CLI | OPT_HIDDEN,
	  .help = "AF_XDP sockets without multi-buffer, as on kernels before 6.6 "
		  "(for tests)" },
	{ .name = "control", .short_name = 's', .type = OPT_FUNC, DC(control),
	  .parse = parse_control, .metavar = "PATH", .def = VXDP_CONTROL_DEFAULT,
	  .help = "the control socket vxdpctl talks to (mode 0660, its directory is "
		  "created; under systemd the default is in the unit's runtime directory, "
		  "$RUNTIME_DIRECTORY/control.sock); none: no control socket" },
	{ .name = "control-group", .short_name = 'g', .type = OPT_FUNC,
	  DC(control_group), .parse = parse_id, .metavar = "GROUP",
	  .help = "the control socket's group, whose members may use vxdpctl" },
};
const size_t daemon_nopts = ARRAY_SIZE(daemon_opts);

void daemon_cfg_init(struct daemon_cfg *d)
{
	memset(d, 0, sizeof(*d));
	d->busy_poll_us = 50;
	d->balance_ms = 1000;
	d->log_level = 5;
	d->mem_max = GUEST_MEM_TOTAL_LIMIT_DEFAULT;
	snprintf(d->control, sizeof(d->control), "%s", VXDP_CONTROL_DEFAULT);
	d->control_group = (gid_t)-1;
}

unsigned int daemon_cfg_workers(const struct daemon_cfg *d)
{
	return d->workers ? d->workers : d->ncpus ? d->ncpus : 1;
}

/* Config file ---------------------------------------------------------------- */

struct conf_state {
	const char *path;
	struct daemon_cfg *d;
	struct relay_cfg *relay;	/* the [relay NAME] being read */
	unsigned int relay_line;
	unsigned long long seen;	/* keys of this section */
	bool in_daemon;
	unsigned int first_file_relay;
};

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static int conf_end_relay(struct conf_state *st, char *err, size_t errlen)
{
	const struct opt *miss;
	char why[256];
	unsigned int i;

	if (!st->relay)
		return 0;
	if (!opt_required_seen(relay_opts, relay_nopts, st->seen, &miss)) {
		snprintf(err, errlen, "%s:%u: [relay %s]: %s= is required", st->path,
			 st->relay_line, st->relay->name, miss->name);
		return -EINVAL;
	}
	if (relay_cfg_finish(st->relay, why, sizeof(why))) {
		snprintf(err, errlen, "%s:%u: [relay %s]: %s", st->path, st->relay_line,
			 st->relay->name, why);
		return -EINVAL;
	}
	for (i = 0; i < st->d->nrelays; i++) {
		const char *what = relay_cfg_collides(&st->d->relay[i], st->relay);

		if (what) {
			snprintf(err, errlen, "%s:%u: [relay %s]: same %s as relay %s",
				 st->path, st->relay_line, st->relay->name, what,
				 st->d->relay[i].name);
			return -EINVAL;
		}
	}
	st->d->nrelays++;
	st->relay = NULL;
	return 0;
}

static int conf_section(struct conf_state *st, char *s, unsigned int line,
			char *err, size_t errlen)
{
	char *end = strchr(s, ']'), *name, why[256];

	if (!end || *trim(end + 1)) {
		snprintf(err, errlen, "%s:%u: expected [daemon] or [relay NAME]", st->path, line);
		return -EINVAL;
	}
	*end = '\0';
	s = trim(s + 1);
	if (conf_end_relay(st, err, errlen))
		return -EINVAL;
	st->in_daemon = false;
	st->seen = 0;
	if (!strcmp(s, "daemon")) {
		st->in_daemon = true;
		return 0;
	}
	if (strncmp(s, "relay", 5) || (s[5] != ' ' && s[5] != '\t')) {
		snprintf(err, errlen, "%s:%u: unknown section [%s]: expected [daemon] or [relay NAME]",
			 st->path, line, s);
		return -EINVAL;
	}
	name = trim(s + 5);
	if (st->d->nrelays == RELAY_MAX) {
		snprintf(err, errlen, "%s:%u: [relay %s]: at most %d relays", st->path, line,
			 name, RELAY_MAX);
		return -EINVAL;
	}
	st->relay = &st->d->relay[st->d->nrelays];
	st->relay_line = line;
	relay_cfg_init(st->relay);
	if (opt_set(opt_find(relay_opts, relay_nopts, "name", 0), st->relay, name,
		    why, sizeof(why))) {
		snprintf(err, errlen, "%s:%u: [relay %s]: %s", st->path, line, name, why);
		return -EINVAL;
	}
	return 0;
}

static int conf_key(struct conf_state *st, char *s, unsigned int line,
		    char *err, size_t errlen)
{
	char *eq = strchr(s, '='), *key, *val, why[256];
	const struct opt *t = st->relay ? relay_opts : daemon_opts, *o;
	size_t n = st->relay ? relay_nopts : daemon_nopts;

	if (!st->relay && !st->in_daemon) {
		snprintf(err, errlen, "%s:%u: '%s' before any [daemon] or [relay NAME] section",
			 st->path, line, s);
		return -EINVAL;
	}
	if (!eq) {
		snprintf(err, errlen, "%s:%u: '%s': expected key = value", st->path, line, s);
		return -EINVAL;
	}
	*eq = '\0';
	key = trim(s);
	val = trim(eq + 1);
	o = opt_find(t, n, key, 0);
	if (!o || (o->flags & OPT_CLI)) {
		snprintf(err, errlen, "%s:%u: key '%s': unknown in [%s]", st->path, line, key,
			 st->relay ? "relay" : "daemon");
		return -EINVAL;
	}
	if (st->relay && !strcmp(key, "name")) {
		snprintf(err, errlen, "%s:%u: key 'name': the section header names the relay",
			 st->path, line);
		return -EINVAL;
	}
	if (st->seen & (1ull << (o - t))) {
		snprintf(err, errlen, "%s:%u: key '%s' given twice", st->path, line, key);
		return -EINVAL;
	}
	st->seen |= 1ull << (o - t);
	if (opt_set(o, st->relay ? (void *)st->relay : (void *)st->d, val, why, sizeof(why))) {
		snprintf(err, errlen, "%s:%u: key '%s': %s", st->path, line, key, why);
		return -EINVAL;
	}
	return 0;
}

int conf_load(const char *path, struct daemon_cfg *d, char *err, size_t errlen)
{
	struct conf_state st = { .path = path, .d = d };
	unsigned int line = 0;
	size_t cap = 0;
	char *buf = NULL;
	int err_no = 0;
	FILE *f;

	f = fopen(path, "re");
	if (!f) {
		err_no = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return err_no;
	}
	while (getline(&buf, &cap, f) > 0) {
		char *s = trim(buf);

		line++;
		if (!*s || *s == '#' || *s == ';')
			continue;
		err_no = *s == '[' ? conf_section(&st, s, line, err, errlen) :
				     conf_key(&st, s, line, err, errlen);
		if (err_no)
			break;
	}
	if (!err_no && ferror(f)) {
		err_no = -EIO;
		snprintf(err, errlen, "%s: read error", path);
	}
	if (!err_no)
		err_no = conf_end_relay(&st, err, errlen);
	free(buf);
	fclose(f);
	return err_no;
}
