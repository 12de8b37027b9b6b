// SPDX-License-Identifier: GPL-2.0
/* The control protocol's messages (see ctl_proto.h), with json-c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_proto.h"
#include "util/compiler.h"
#include "util/cpulist.h"

static const char *const cmd_names[CTL_NCMDS] = {
	[CTL_HELLO] = "hello",
	[CTL_ADD] = "add",
	[CTL_DEL] = "del",
	[CTL_LIST] = "list",
	[CTL_SHOW] = "show",
	[CTL_STATS] = "stats",
	[CTL_FAILOVER] = "failover",
	[CTL_FAILOVER_EVENT] = "failover-event",
	[CTL_WORKERS] = "workers",
};

const char *ctl_cmd_name(enum ctl_cmd cmd)
{
	return cmd < CTL_NCMDS ? cmd_names[cmd] : "?";
}

#define QS(f) offsetof(struct relay_queue_stats, f)

const struct ctl_counter ctl_counters[] = {
	{ "to_guest_frames", "to guest frames", QS(to_guest), 0 },
	{ "to_guest_bytes", "to guest bytes", QS(to_guest_bytes), CTL_C_BYTES },
	{ "from_guest_frames", "from guest frames", QS(from_guest), 0 },
	{ "from_guest_bytes", "from guest bytes", QS(from_guest_bytes), CTL_C_BYTES },
	{ "drop_no_guest", "dropped: no guest ring", QS(drop_no_guest), CTL_C_DROP },
	{ "drop_no_buffer", "dropped: no guest buffer", QS(drop_no_buffer), CTL_C_DROP },
	{ "drop_too_big", "dropped: too big for guest", QS(drop_too_big), CTL_C_DROP },
	{ "drop_bad_frame", "dropped: bad guest frame", QS(drop_bad_frame), CTL_C_DROP },
	{ "drop_broken_ring", "dropped: broken ring", QS(drop_broken_ring), CTL_C_DROP },
	{ "drop_vf_down", "dropped: VF down or gone", QS(drop_vf_down), CTL_C_DROP },
	{ "xsk_rx_dropped", "kernel: XSK rx dropped", QS(xsk_rx_dropped),
	  CTL_C_DROP | CTL_C_KERNEL },
	{ "xsk_rx_ring_full", "kernel: XSK rx ring full", QS(xsk_rx_ring_full),
	  CTL_C_DROP | CTL_C_KERNEL },
	{ "xsk_fill_ring_empty", "kernel: XSK fill ring empty", QS(xsk_fill_ring_empty),
	  CTL_C_DROP | CTL_C_KERNEL },
	{ "xsk_invalid", "kernel: XSK invalid descriptors", QS(xsk_invalid),
	  CTL_C_DROP | CTL_C_KERNEL },
};
const size_t ctl_ncounters = ARRAY_SIZE(ctl_counters);

/* A string member of @args into @dst: 0, 1 when absent, -EINVAL. */
static int get_str(json_object *args, const char *key, char *dst, size_t size,
		   char *err, size_t errlen)
{
	json_object *v;
	const char *s;

	if (!args || !json_object_object_get_ex(args, key, &v))
		return 1;
	if (!json_object_is_type(v, json_type_string)) {
		snprintf(err, errlen, "args.%s: expected a string", key);
		return -EINVAL;
	}
	s = json_object_get_string(v);
	if (strlen(s) >= size) {
		snprintf(err, errlen, "args.%s: longer than %zu bytes", key, size - 1);
		return -EINVAL;
	}
	strcpy(dst, s);
	return 0;
}

int ctl_req_parse(const char *buf, size_t len, struct ctl_req *req, char *err,
		  size_t errlen)
{
	struct json_tokener *tok;
	json_object *root, *v, *args = NULL;
	const char *cmd;
	int ret = -EINVAL, r, r2;
	unsigned int i;

	memset(req, 0, sizeof(*req));
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	tok = json_tokener_new();
	if (!tok) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	root = json_tokener_parse_ex(tok, buf, len);
	if (!root || json_tokener_get_parse_end(tok) != len) {
		snprintf(err, errlen, "malformed request: %s",
			 root ? "trailing data" :
			 json_tokener_error_desc(json_tokener_get_error(tok)));
		goto out;
	}
	if (!json_object_is_type(root, json_type_object)) {
		snprintf(err, errlen, "malformed request: expected a JSON object");
		goto out;
	}
	if (!json_object_object_get_ex(root, "version", &v) ||
	    !json_object_is_type(v, json_type_int) ||
	    json_object_get_int(v) != CTL_PROTO_VERSION) {
		snprintf(err, errlen, "unsupported protocol version (this daemon speaks %d)",
			 CTL_PROTO_VERSION);
		goto out;
	}
	if (!json_object_object_get_ex(root, "command", &v) ||
	    !json_object_is_type(v, json_type_string)) {
		snprintf(err, errlen, "malformed request: no \"command\"");
		goto out;
	}
	cmd = json_object_get_string(v);
	for (i = 0; i < CTL_NCMDS && strcmp(cmd_names[i], cmd); i++)
		;
	if (i == CTL_NCMDS) {
		snprintf(err, errlen, "unknown command '%.40s'", cmd);
		goto out;
	}
	req->cmd = i;
	if (json_object_object_get_ex(root, "args", &args) &&
	    !json_object_is_type(args, json_type_object)) {
		snprintf(err, errlen, "malformed request: \"args\" must be an object");
		goto out;
	}
	r = get_str(args, "name", req->name, sizeof(req->name), err, errlen);
	if (r < 0)
		goto out;
	if ((req->cmd == CTL_DEL || req->cmd == CTL_SHOW) && r) {
		snprintf(err, errlen, "%s: args.name (the relay) is required", cmd);
		goto out;
	}
	r = get_str(args, "spec", req->spec, sizeof(req->spec), err, errlen);
	if (r < 0)
		goto out;
	if (req->cmd == CTL_ADD && r) {
		snprintf(err, errlen, "add: args.spec (vf=IFNAME,socket=PATH,...) is required");
		goto out;
	}
	r = get_str(args, "mac", req->mac, sizeof(req->mac), err, errlen);
	if (r < 0)
		goto out;
	r2 = get_str(args, "event", req->event, sizeof(req->event), err, errlen);
	if (r2 < 0)
		goto out;
	if (req->cmd == CTL_FAILOVER_EVENT && (r || r2)) {
		snprintf(err, errlen, "failover-event: args.mac and args.event are required");
		goto out;
	}
	ret = 0;
out:
	json_object_put(root);
	json_tokener_free(tok);
	return ret;
}

/* @o as one line, newline included; takes @o. */
static char *json_line(json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	char *line = NULL;

	if (s && asprintf(&line, "%s\n", s) < 0)
		line = NULL;
	json_object_put(o);
	return line;
}

char *ctl_req_format(enum ctl_cmd cmd, const char *name, const char *spec)
{
	json_object *o = json_object_new_object(), *args = json_object_new_object();

	json_object_object_add(o, "version", json_object_new_int(CTL_PROTO_VERSION));
	json_object_object_add(o, "command", json_object_new_string(ctl_cmd_name(cmd)));
	if (name && *name)
		json_object_object_add(args, "name", json_object_new_string(name));
	if (spec)
		json_object_object_add(args, "spec", json_object_new_string(spec));
	json_object_object_add(o, "args", args);
	return json_line(o);
}

char *ctl_req_format_event(const char *mac, const char *event)
{
	json_object *o = json_object_new_object(), *args = json_object_new_object();

	json_object_object_add(o, "version", json_object_new_int(CTL_PROTO_VERSION));
	json_object_object_add(o, "command",
			       json_object_new_string(ctl_cmd_name(CTL_FAILOVER_EVENT)));
	json_object_object_add(args, "mac", json_object_new_string(mac));
	json_object_object_add(args, "event", json_object_new_string(event));
	json_object_object_add(o, "args", args);
	return json_line(o);
}

char *ctl_reply_ok(json_object *result)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "version", json_object_new_int(CTL_PROTO_VERSION));
	json_object_object_add(o, "ok", json_object_new_boolean(1));
	json_object_object_add(o, "result", result ? result : json_object_new_object());
	return json_line(o);
}

char *ctl_reply_err(const char *msg)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "version", json_object_new_int(CTL_PROTO_VERSION));
	json_object_object_add(o, "ok", json_object_new_boolean(0));
	json_object_object_add(o, "error", json_object_new_string(msg));
	return json_line(o);
}

int ctl_reply_parse(const char *buf, json_object **root, json_object **result,
		    char *err, size_t errlen)
{
	json_object *o, *v;

	*root = *result = NULL;
	o = json_tokener_parse(buf);
	if (!o || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "ok", &v)) {
		snprintf(err, errlen, "malformed reply from the daemon");
		json_object_put(o);
		return -EINVAL;
	}
	if (!json_object_get_boolean(v)) {
		snprintf(err, errlen, "%s",
			 json_object_object_get_ex(o, "error", &v) ?
			 json_object_get_string(v) : "error (no message)");
		json_object_put(o);
		return -EREMOTEIO;
	}
	if (!json_object_object_get_ex(o, "result", result)) {
		snprintf(err, errlen, "malformed reply from the daemon: no result");
		json_object_put(o);
		return -EINVAL;
	}
	*root = o;
	return 0;
}

static const char *const origin_names[] = {
	[RELAY_FROM_CLI] = "command line",
	[RELAY_FROM_FILE] = "config file",
	[RELAY_FROM_CONTROL] = "control socket",
};

static const char *const xdp_mode_names[] = { "auto", "native", "skb" };
static const char *const xsk_mode_names[] = { "auto", "copy", "zerocopy" };

/* [{"queue_pairs": "0,2", "worker": 1}, ...]: where each lane runs. */
static json_object *ctl_lanes_json(const struct daemon_relay_info *info)
{
	json_object *a = json_object_new_array();
	unsigned int k;

	for (k = 0; k < info->nlanes; k++) {
		json_object *l = json_object_new_object();
		int qp[RELAY_MAX_QUEUES], nq = 0;
		uint32_t m = info->lane[k].qps;
		char list[160];

		while (m) {
			qp[nq++] = __builtin_ctz(m);
			m &= m - 1;
		}
		json_object_object_add(l, "queue_pairs",
				       json_object_new_string(cpulist_format(qp, nq, list,
									     sizeof(list))));
		json_object_object_add(l, "worker", json_object_new_int(info->lane[k].worker));
		json_object_array_add(a, l);
	}
	return a;
}

json_object *ctl_relay_json(const struct daemon_relay_info *info)
{
	const struct relay_cfg *c = &info->cfg;
	json_object *o = json_object_new_object();
	char vf[RELAY_VFS_MAX];

	json_object_object_add(o, "name", json_object_new_string(c->name));
	relay_cfg_vfs(c, vf, sizeof(vf));
	json_object_object_add(o, "vf", json_object_new_string(vf));
	json_object_object_add(o, "socket", json_object_new_string(c->socket));
	json_object_object_add(o, "mode", json_object_new_string(c->client ? "client" : "server"));
	json_object_object_add(o, "queues", json_object_new_int(c->queues));
	if (c->has_mac) {
		char mac[18];

		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", c->mac[0],
			 c->mac[1], c->mac[2], c->mac[3], c->mac[4], c->mac[5]);
		json_object_object_add(o, "mac", json_object_new_string(mac));
	}
	json_object_object_add(o, "xdp-mode",
			       json_object_new_string(xdp_mode_names[c->xdp_mode % 3]));
	json_object_object_add(o, "xsk-mode",
			       json_object_new_string(xsk_mode_names[c->xsk_mode % 3]));
	json_object_object_add(o, "napi-defer", json_object_new_int(c->napi_defer));
	json_object_object_add(o, "napi-timeout", json_object_new_int(c->napi_timeout_us));
	json_object_object_add(o, "poll", json_object_new_string(c->poll_busy ? "busy" : "adaptive"));
	json_object_object_add(o, "mem-max", json_object_new_uint64(c->mem_max));
	if (c->owner != (uid_t)-1)
		json_object_object_add(o, "owner", json_object_new_int64(c->owner));
	if (c->group != (gid_t)-1)
		json_object_object_add(o, "group", json_object_new_int64(c->group));
	if (c->perm) {
		char perm[16];

		snprintf(perm, sizeof(perm), "%04o", c->perm);
		json_object_object_add(o, "perm", json_object_new_string(perm));
	}
	if (c->primary_pf[0]) {
		char pri[IF_NAMESIZE + 8];

		snprintf(pri, sizeof(pri), "%s:%d", c->primary_pf, c->primary_vf);
		json_object_object_add(o, "primary", json_object_new_string(pri));
	}
	if (c->primary_port[0])
		json_object_object_add(o, "primary-port", json_object_new_string(c->primary_port));
	if (c->relay_port[0])
		json_object_object_add(o, "relay-port", json_object_new_string(c->relay_port));
	if (c->qmp[0])
		json_object_object_add(o, "qmp", json_object_new_string(c->qmp));
	if (relay_cfg_failover(c)) {
		json_object_object_add(o, "unplug-grace", json_object_new_int(c->unplug_grace_ms));
		json_object_object_add(o, "primary-grace", json_object_new_int(c->primary_grace_ms));
	}
	json_object_object_add(o, "worker", json_object_new_int(info->worker));
	json_object_object_add(o, "worker_tid", json_object_new_int(info->worker_tid));
	if (c->nplace) {
		char list[160];

		json_object_object_add(o, c->place_cpu ? "cpu" : "workers",
				       json_object_new_string(cpulist_format(c->place, c->nplace,
									     list, sizeof(list))));
	}
	json_object_object_add(o, "pinned", json_object_new_boolean(info->pinned));
	json_object_object_add(o, "node", json_object_new_int(info->node));
	json_object_object_add(o, "lanes", ctl_lanes_json(info));
	json_object_object_add(o, "moves", json_object_new_uint64(info->moves));
	json_object_object_add(o, "origin", json_object_new_string(origin_names[info->origin]));
	return o;
}

static json_object *queue_json(const struct relay_queue_stats *q)
{
	json_object *o = json_object_new_object();
	size_t i;

	for (i = 0; i < ctl_ncounters; i++)
		json_object_object_add(o, ctl_counters[i].key,
				       json_object_new_uint64(ctl_counter_get(q, &ctl_counters[i])));
	return o;
}

json_object *ctl_stats_json(const char *name, const struct relay_stats *st)
{
	json_object *o = json_object_new_object(), *qs = json_object_new_array(), *x;
	unsigned int i;

	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "connected", json_object_new_boolean(st->connected));
	json_object_object_add(o, "connects", json_object_new_uint64(st->connects));
	json_object_object_add(o, "refused", json_object_new_uint64(st->refused));
	json_object_object_add(o, "vf_queues", json_object_new_int(st->vf_queues));
	json_object_object_add(o, "zerocopy", json_object_new_boolean(st->zerocopy));
	json_object_object_add(o, "total", queue_json(&st->total));
	for (i = 0; i < st->nqueues && i < RELAY_MAX_QUEUES; i++)
		json_object_array_add(qs, queue_json(&st->q[i]));
	json_object_object_add(o, "queues", qs);
	x = json_object_new_object();
	json_object_object_add(x, "redirected", json_object_new_uint64(st->xdp.redirected));
	json_object_object_add(x, "redirected_bytes", json_object_new_uint64(st->xdp.redirected_bytes));
	json_object_object_add(x, "passed", json_object_new_uint64(st->xdp.passed));
	json_object_object_add(x, "passed_bytes", json_object_new_uint64(st->xdp.passed_bytes));
	json_object_object_add(x, "dropped", json_object_new_uint64(st->xdp.dropped));
	json_object_object_add(x, "dropped_bytes", json_object_new_uint64(st->xdp.dropped_bytes));
	json_object_object_add(o, "xdp", x);
	if (st->nmembers) {
		json_object *b = json_object_new_object(), *ms = json_object_new_array();

		json_object_object_add(b, "switches", json_object_new_uint64(st->switches));
		for (i = 0; i < st->nmembers && i < ARRAY_SIZE(st->member); i++) {
			const struct relay_member_stats *m = &st->member[i];
			json_object *j = json_object_new_object();

			json_object_object_add(j, "vf", json_object_new_string(m->vf));
			json_object_object_add(j, "active", json_object_new_boolean(m->active));
			json_object_object_add(j, "running", json_object_new_boolean(m->running));
			json_object_object_add(j, "queues", json_object_new_int(m->queues));
			json_object_object_add(j, "rx_frames", json_object_new_uint64(m->rx_frames));
			json_object_object_add(j, "tx_frames", json_object_new_uint64(m->tx_frames));
			json_object_object_add(j, "activations", json_object_new_uint64(m->activations));
			json_object_object_add(j, "announced", json_object_new_uint64(m->announced));
			json_object_object_add(j, "xdp_passed", json_object_new_uint64(m->xdp_passed));
			json_object_array_add(ms, j);
		}
		json_object_object_add(b, "members", ms);
		json_object_object_add(o, "bond", b);
	}
	return o;
}

static uint64_t get_u64(json_object *o, const char *key, bool *ok);

/* A bond's "bond" object back into @st; absent: not a bond. */
static bool bond_from_json(json_object *o, struct relay_stats *st)
{
	json_object *b, *ms, *v;
	bool ok = true;
	size_t i, n;

	if (!json_object_object_get_ex(o, "bond", &b))
		return true;
	if (!json_object_object_get_ex(b, "members", &ms) ||
	    !json_object_is_type(ms, json_type_array))
		return false;
	n = json_object_array_length(ms);
	if (n > ARRAY_SIZE(st->member))
		return false;
	st->nmembers = n;
	st->switches = get_u64(b, "switches", &ok);
	for (i = 0; i < n; i++) {
		struct relay_member_stats *m = &st->member[i];
		json_object *j = json_object_array_get_idx(ms, i);

		if (!json_object_object_get_ex(j, "vf", &v) || !json_object_is_type(v, json_type_string))
			return false;
		snprintf(m->vf, sizeof(m->vf), "%s", json_object_get_string(v));
		if (json_object_object_get_ex(j, "active", &v))
			m->active = json_object_get_boolean(v);
		if (json_object_object_get_ex(j, "running", &v))
			m->running = json_object_get_boolean(v);
		m->queues = get_u64(j, "queues", &ok);
		m->rx_frames = get_u64(j, "rx_frames", &ok);
		m->tx_frames = get_u64(j, "tx_frames", &ok);
		m->activations = get_u64(j, "activations", &ok);
		m->announced = get_u64(j, "announced", &ok);
		m->xdp_passed = get_u64(j, "xdp_passed", &ok);
	}
	return ok;
}

static uint64_t get_u64(json_object *o, const char *key, bool *ok)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int)) {
		*ok = false;
		return 0;
	}
	return json_object_get_uint64(v);
}

static bool queue_from_json(json_object *o, struct relay_queue_stats *q)
{
	bool ok = true;
	size_t i;

	if (!json_object_is_type(o, json_type_object))
		return false;
	for (i = 0; i < ctl_ncounters; i++)
		*(uint64_t *)((char *)q + ctl_counters[i].off) =
			get_u64(o, ctl_counters[i].key, &ok);
	return ok;
}

int ctl_stats_from_json(json_object *o, struct relay_stats *st)
{
	json_object *v, *qs, *x;
	bool ok = true;
	size_t i, n;

	memset(st, 0, sizeof(*st));
	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "total", &v) || !queue_from_json(v, &st->total) ||
	    !json_object_object_get_ex(o, "queues", &qs) ||
	    !json_object_is_type(qs, json_type_array) ||
	    !json_object_object_get_ex(o, "xdp", &x))
		return -EINVAL;
	n = json_object_array_length(qs);
	if (n > RELAY_MAX_QUEUES)
		return -EINVAL;
	st->nqueues = n;
	for (i = 0; i < n; i++)
		if (!queue_from_json(json_object_array_get_idx(qs, i), &st->q[i]))
			return -EINVAL;
	st->connects = get_u64(o, "connects", &ok);
	st->refused = get_u64(o, "refused", &ok);
	st->vf_queues = get_u64(o, "vf_queues", &ok);
	if (json_object_object_get_ex(o, "connected", &v))
		st->connected = json_object_get_boolean(v);
	if (json_object_object_get_ex(o, "zerocopy", &v))
		st->zerocopy = json_object_get_boolean(v);
	st->xdp.redirected = get_u64(x, "redirected", &ok);
	st->xdp.redirected_bytes = get_u64(x, "redirected_bytes", &ok);
	st->xdp.passed = get_u64(x, "passed", &ok);
	st->xdp.passed_bytes = get_u64(x, "passed_bytes", &ok);
	st->xdp.dropped = get_u64(x, "dropped", &ok);
	st->xdp.dropped_bytes = get_u64(x, "dropped_bytes", &ok);
	ok = ok && bond_from_json(o, st);
	return ok ? 0 : -EINVAL;
}
