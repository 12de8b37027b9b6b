/* SPDX-License-Identifier: GPL-2.0 */
/* The control protocol, shared by the daemon's control socket and vxdpctl:
 * one JSON object per line each way.
 *
 *   request:  {"version": 1, "command": "stats", "args": {"name": "vm1"}}
 *   reply:    {"version": 1, "ok": true, "result": {...}}
 *             {"version": 1, "ok": false, "error": "no relay named 'vm1'"}
 *
 * Commands: hello, add {spec}, del {name}, list, show {name},
 * stats [{name}], failover, failover-event {mac, event}, workers. A request
 * is at most CTL_REQ_MAX bytes with its newline.
 */
#ifndef VXDP_CTL_PROTO_H
#define VXDP_CTL_PROTO_H

#include <stddef.h>
#include <json-c/json.h>

#include "config.h"
#include "daemon.h"
#include "relay.h"

#define CTL_PROTO_VERSION 1
#define CTL_REQ_MAX 4096

enum ctl_cmd {
	CTL_HELLO,
	CTL_ADD,
	CTL_DEL,
	CTL_LIST,
	CTL_SHOW,
	CTL_STATS,
	CTL_FAILOVER,
	CTL_FAILOVER_EVENT,
	CTL_WORKERS,
	CTL_NCMDS,
};

struct ctl_req {
	enum ctl_cmd cmd;
	char name[RELAY_NAME_MAX];	/* del, show, stats ("" for all) */
	char spec[1024];		/* add: as --relay */
	char mac[18];			/* failover-event: the VM's MAC */
	char event[48];			/* failover-event: the event's name */
};

const char *ctl_cmd_name(enum ctl_cmd cmd);

/* Parse one request line (without or with its newline). 0, or -EINVAL with
 * the reason in @err (then the reply is an error naming it).
 */
int ctl_req_parse(const char *buf, size_t len, struct ctl_req *req, char *err,
		  size_t errlen);

/* A request line for vxdpctl; malloc'ed, with its newline. */
char *ctl_req_format(enum ctl_cmd cmd, const char *name, const char *spec);
/* failover-event's request line. */
char *ctl_req_format_event(const char *mac, const char *event);

/* Reply lines (malloc'ed, with the newline); _ok takes @result over. */
char *ctl_reply_ok(json_object *result);
char *ctl_reply_err(const char *msg);

/* Parse a reply line: 0 with @result (owned by the returned @root, which
 * the caller puts), or -EINVAL (malformed: @err) / -EREMOTEIO (the daemon's
 * error: @err holds its message).
 */
int ctl_reply_parse(const char *buf, json_object **root, json_object **result,
		    char *err, size_t errlen);

/* The per-queue counters by name, in the order they are printed. */
struct ctl_counter {
	const char *key;	/* JSON key */
	const char *label;	/* for people */
	size_t off;		/* in struct relay_queue_stats */
	unsigned int flags;
};
#define CTL_C_BYTES	(1u << 0)	/* bytes, not frames */
#define CTL_C_DROP	(1u << 1)	/* a drop reason */
#define CTL_C_KERNEL	(1u << 2)	/* the kernel's (XDP_STATISTICS) */
extern const struct ctl_counter ctl_counters[];
extern const size_t ctl_ncounters;

static inline uint64_t ctl_counter_get(const struct relay_queue_stats *q,
				       const struct ctl_counter *c)
{
	return *(const uint64_t *)((const char *)q + c->off);
}

json_object *ctl_relay_json(const struct daemon_relay_info *info);
json_object *ctl_stats_json(const char *name, const struct relay_stats *st);
/* Back from ctl_stats_json()'s form: 0 or -EINVAL. */
int ctl_stats_from_json(json_object *o, struct relay_stats *st);

#endif
