// SPDX-License-Identifier: GPL-2.0
/* Unit tests of the control protocol (daemon/ctl_proto.h): requests parse
 * strictly with a message naming what is wrong, and what the daemon writes
 * vxdpctl reads back unchanged.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/ctl_proto.h"
#include "ktap.h"

static int bad(const char *req, const char *want)
{
	struct ctl_req r;
	char err[256] = "";

	if (ctl_req_parse(req, strlen(req), &r, err, sizeof(err)) != -EINVAL)
		return 0;
	if (!strstr(err, want)) {
		ktap_diag("'%s': message '%s' lacks '%s'", req, err, want);
		return 0;
	}
	return 1;
}

int main(void)
{
	struct relay_stats *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	json_object *root, *res, *o;
	struct ctl_req r;
	char err[256], *line;
	const char *s;
	unsigned int q;
	size_t i;
	int ok;

	ktap_plan(14);

	s = "{\"version\":1,\"command\":\"stats\",\"args\":{\"name\":\"vm1\"}}\n";
	ok = !ctl_req_parse(s, strlen(s), &r, err, sizeof(err));
	KTAP_CHECK(ok && r.cmd == CTL_STATS && !strcmp(r.name, "vm1"), "stats with a name");
	s = "{\"version\":1,\"command\":\"list\"}";
	ok = !ctl_req_parse(s, strlen(s), &r, err, sizeof(err));
	KTAP_CHECK(ok && r.cmd == CTL_LIST && !r.name[0], "list without args");

	KTAP_CHECK(bad("{\"command\":\"list\"}", "version"), "no version: refused, says so");
	KTAP_CHECK(bad("{\"version\":2,\"command\":\"list\"}", "version"), "another version refused");
	KTAP_CHECK(bad("{\"version\":1,\"command\":\"reboot\"}", "unknown command 'reboot'"),
		   "unknown command named");
	KTAP_CHECK(bad("{\"version\":1,\"command\":\"del\"}", "name") &&
		   bad("{\"version\":1,\"command\":\"show\",\"args\":{}}", "name"),
		   "del/show without a relay name refused");
	KTAP_CHECK(bad("{\"version\":1,\"command\":\"add\",\"args\":{}}", "spec"),
		   "add without a spec refused");
	KTAP_CHECK(bad("{\"version\":1,\"command\":", "malformed") &&
		   bad("[1,2]", "malformed") &&
		   bad("{\"version\":1,\"command\":\"list\"} {}", "malformed"),
		   "truncated, non-object and trailing data refused");
	KTAP_CHECK(bad("{\"version\":1,\"command\":\"del\",\"args\":{\"name\":7}}", "string") &&
		   bad("{\"version\":1,\"command\":\"del\",\"args\":{\"name\":\"0123456789012345678901234567890123456789\"}}",
		       "longer"),
		   "a name that is no string, or too long, refused");

	line = ctl_req_format(CTL_ADD, NULL, "vf=eth1,socket=/run/a.sock,name=vm1");
	ok = line && line[strlen(line) - 1] == '\n' &&
	     !ctl_req_parse(line, strlen(line), &r, err, sizeof(err)) && r.cmd == CTL_ADD &&
	     !strcmp(r.spec, "vf=eth1,socket=/run/a.sock,name=vm1");
	KTAP_CHECK(ok, "vxdpctl's add request parses back, one line");
	free(line);

	/* Every counter a distinct value: a swapped or lost one shows. */
	a->nqueues = 3;
	a->connects = 5;
	a->refused = 6;
	a->vf_queues = 2;
	a->connected = true;
	a->xdp.redirected = 7;
	a->xdp.dropped_bytes = 8;
	for (q = 0; q < a->nqueues; q++)
		for (i = 0; i < ctl_ncounters; i++)
			*(uint64_t *)((char *)&a->q[q] + ctl_counters[i].off) =
				1000000000000ull * (q + 1) + i;
	for (q = 0; q < a->nqueues; q++)
		relay_queue_stats_add(&a->total, &a->q[q]);
	line = ctl_reply_ok(ctl_stats_json("vm1", a));
	ok = line && !ctl_reply_parse(line, &root, &res, err, sizeof(err));
	KTAP_CHECK(ok && !ctl_stats_from_json(res, b) && !memcmp(a, b, sizeof(*a)),
		   "stats: every per-queue counter, total and XDP counter read back unchanged");
	if (ok)
		json_object_put(root);
	free(line);
	ok = 1;
	for (i = 0; i < ctl_ncounters; i++)
		ok &= ctl_counters[i].off + sizeof(uint64_t) <= sizeof(struct relay_queue_stats);
	KTAP_CHECK(ok && ctl_ncounters == sizeof(struct relay_queue_stats) / sizeof(uint64_t),
		   "the counter table names every field of relay_queue_stats");

	line = ctl_reply_err("no relay named 'vm9'");
	KTAP_CHECK(line && ctl_reply_parse(line, &root, &res, err, sizeof(err)) == -EREMOTEIO &&
		   !strcmp(err, "no relay named 'vm9'"), "an error reply carries the daemon's message");
	free(line);

	o = json_object_new_object();
	json_object_object_add(o, "total", json_object_new_object());
	json_object_object_add(o, "queues", json_object_new_array());
	json_object_object_add(o, "xdp", json_object_new_object());
	KTAP_CHECK(ctl_stats_from_json(o, b) == -EINVAL, "stats without their counters refused");
	json_object_put(o);

	free(a);
	free(b);
	return ktap_finish();
}
