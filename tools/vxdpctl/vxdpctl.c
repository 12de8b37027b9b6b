// SPDX-License-Identifier: GPL-2.0
/* vxdpctl: control and inspect vxdp-relay. Talks to the daemon's control
 * socket (add, del, list, show, stats, rates); without a daemon, reads the
 * maps relays pin under /sys/fs/bpf/vxdp/<relay>/ (steering counters,
 * interface, XSK queues). One table of commands serves dispatch, usage and
 * the man page text.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <linux/types.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>

#include "daemon/config.h"
#include "daemon/ctl_proto.h"
#include "util/clock.h"
#include "util/compiler.h"
#include "vxdp_shared.h"
#include "vxdp_xskprobe.skel.h"
#include "xdp/xdp_steer.h"

#define EXIT_USAGE 2
/* Opening a relay loads and attaches XDP: give the daemon time. */
#define REPLY_TIMEOUT_MS 30000
/* Workers whose CPU --rate reports. */
#define WORKER_SLOTS 256

/* Options every command takes. */
static struct {
	const char *socket;
	bool json;
	bool socket_given;
	bool rate;
	bool pinned;		/* --pinned: the maps, even with a daemon */
	double interval;
	long count;
} g = { .socket = VXDP_CONTROL_DEFAULT, .interval = 1.0, .count = 1 };

/* The pinned-map readers add to this array instead of printing (--json). */
static json_object *pin_json;

/* libbpf's own warnings (e.g. the kernel's reason a load failed) are
 * worth seeing; its info chatter is not.
 */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level != LIBBPF_WARN)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static int name_filter(const struct dirent *d)
{
	return d->d_name[0] != '.' && d->d_type == DT_DIR;
}

/* Relay names, sorted; 0 relays when nothing was ever pinned. */
static int list_relays(struct dirent ***names)
{
	int n = scandir(VXDP_PIN_ROOT, names, name_filter, alphasort);

	if (n < 0 && errno == ENOENT) {
		*names = NULL;
		return 0;
	}
	if (n < 0)
		fprintf(stderr, "vxdpctl: %s: %s\n", VXDP_PIN_ROOT, strerror(errno));
	return n < 0 ? -errno : n;
}

static void free_names(struct dirent **names, int n)
{
	while (n-- > 0)
		free(names[n]);
	free(names);
}

static int open_pinned(const char *relay, const char *map, bool quiet)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s/%s", VXDP_PIN_ROOT, relay, map);
	fd = bpf_obj_get(path);
	if (fd < 0 && !quiet) {
		if (errno == ENOENT)
			fprintf(stderr, "vxdpctl: no relay '%s' (%s does not exist)\n",
				relay, path);
		else
			fprintf(stderr, "vxdpctl: %s: %s\n", path, strerror(errno));
	}
	return fd < 0 ? -errno : fd;
}

static int map_info(int fd, struct bpf_map_info *info)
{
	__u32 len = sizeof(*info);

	memset(info, 0, sizeof(*info));
	return bpf_obj_get_info_by_fd(fd, info, &len) ? -errno : 0;
}

/* Run @fn on every relay pinned under VXDP_PIN_ROOT; exit status. */
static int for_each_relay(int (*fn)(const char *relay))
{
	struct dirent **names;
	int n, i, err = 0;

	n = list_relays(&names);
	if (n < 0)
		return EXIT_FAILURE;
	if (!n && !pin_json)
		printf("no relays running\n");
	for (i = 0; i < n; i++)
		err |= fn(names[i]->d_name);
	free_names(names, n);
	return err ? EXIT_FAILURE : EXIT_SUCCESS;
}

static int print_stats(const char *relay)
{
	static const char *const names[VXDP_STAT_MAX] = {
		[VXDP_STAT_REDIRECTED] = "redirected",
		[VXDP_STAT_PASSED] = "passed",
		[VXDP_STAT_DROPPED] = "dropped",
	};
	struct vxdp_counter *vals = NULL;
	json_object *jo, *jx = NULL;
	struct bpf_map_info info;
	int fd, ncpus, i, err;
	__u32 key;

	fd = open_pinned(relay, "stats", false);
	if (fd < 0)
		return fd;
	err = map_info(fd, &info);
	if (err || info.type != BPF_MAP_TYPE_PERCPU_ARRAY ||
	    info.value_size != sizeof(struct vxdp_counter) ||
	    info.max_entries < VXDP_STAT_MAX) {
		fprintf(stderr, "vxdpctl: %s/%s/stats is not a vxdp stats map\n",
			VXDP_PIN_ROOT, relay);
		err = -EINVAL;
		goto out;
	}
	ncpus = libbpf_num_possible_cpus();
	if (ncpus < 0) {
		err = ncpus;
		goto out;
	}
	vals = calloc(ncpus, sizeof(*vals));
	if (!vals) {
		err = -ENOMEM;
		goto out;
	}

	if (pin_json) {
		jo = json_object_new_object();
		jx = json_object_new_object();
		json_object_object_add(jo, "name", json_object_new_string(relay));
		json_object_object_add(jo, "xdp", jx);
		json_object_array_add(pin_json, jo);
	} else {
		printf("%s:\n", relay);
	}
	for (key = 0; key < VXDP_STAT_MAX; key++) {
		unsigned long long pkts = 0, bytes = 0;

		if (bpf_map_lookup_elem(fd, &key, vals)) {
			err = -errno;
			fprintf(stderr, "vxdpctl: reading %s counters: %s\n", relay,
				strerror(errno));
			goto out;
		}
		for (i = 0; i < ncpus; i++) {
			pkts += vals[i].packets;
			bytes += vals[i].bytes;
		}
		if (jx) {
			char k[40];

			json_object_object_add(jx, names[key], json_object_new_uint64(pkts));
			snprintf(k, sizeof(k), "%s_bytes", names[key]);
			json_object_object_add(jx, k, json_object_new_uint64(bytes));
		} else {
			printf("  %-11s %15llu packets %18llu bytes\n", names[key], pkts, bytes);
		}
	}
out:
	free(vals);
	close(fd);
	return err;
}


/* The relay's program is the one whose maps are the pinned ones; walk the
 * interfaces of this network namespace to find where it is attached.
 */
static void print_attachment(__u32 map_id, json_object *jo)
{
	struct if_nameindex *ifs, *it;

	ifs = if_nameindex();
	for (it = ifs; it && it->if_index; it++) {
		LIBBPF_OPTS(bpf_xdp_query_opts, q);
		const char *mode;
		__u32 id;

		if (bpf_xdp_query(it->if_index, 0, &q))
			continue;
		if (q.drv_prog_id) {
			id = q.drv_prog_id;
			mode = "native";
		} else if (q.skb_prog_id) {
			id = q.skb_prog_id;
			mode = "generic";
		} else if (q.hw_prog_id) {
			id = q.hw_prog_id;
			mode = "offload";
		} else {
			continue;
		}
		if (xdp_steer_prog_uses_map(id, map_id)) {
			if (jo) {
				json_object_object_add(jo, "interface", json_object_new_string(it->if_name));
				json_object_object_add(jo, "xdp_mode", json_object_new_string(mode));
				json_object_object_add(jo, "prog_id", json_object_new_int64(id));
			} else {
				printf("  interface %s, %s XDP, program id %u\n", it->if_name, mode, id);
			}
			if_freenameindex(ifs);
			return;
		}
	}
	if (ifs)
		if_freenameindex(ifs);
	if (!jo)
		printf("  interface: not attached in this network namespace\n");
}

/* The bpf() syscall cannot read XSKMAP entries (EOPNOTSUPP), but an XDP
 * program can: run vxdp_xskprobe once on the pinned map via test_run.
 */
static void print_xsk_queues(int xsks_fd, json_object *jo)
{
	json_object *ja = jo ? json_object_new_array() : NULL;
	LIBBPF_OPTS(bpf_test_run_opts, run);
	struct vxdp_xskprobe_bpf *skel;
	unsigned char frame[64] = {};
	int err, k, n = 0;

	skel = vxdp_xskprobe_bpf__open();
	if (!skel) {
		err = -errno;
		goto fail;
	}
	err = bpf_map__reuse_fd(skel->maps.xsks, xsks_fd);
	if (!err)
		err = vxdp_xskprobe_bpf__load(skel);
	if (err)
		goto fail;
	run.data_in = frame;
	run.data_size_in = sizeof(frame);
	run.repeat = 1;
	err = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.vxdp_xskprobe), &run);
	if (err)
		goto fail;

	if (!ja)
		printf("  xsk sockets on queues:");
	for (k = 0; k < VXDP_MAX_QUEUES; k++) {
		if (!skel->bss->present[k])
			continue;
		n++;
		if (ja)
			json_object_array_add(ja, json_object_new_int(skel->bss->queue_id[k]));
		else if (skel->bss->queue_id[k] == (__u32)k)
			printf(" %d", k);
		else	/* key and bound queue disagree: worth seeing */
			printf(" %d(bound to %u)", k, skel->bss->queue_id[k]);
	}
	if (ja)
		json_object_object_add(jo, "xsk_queues", ja);
	else
		printf("%s\n", n ? "" : " none");
	vxdp_xskprobe_bpf__destroy(skel);
	return;
fail:
	json_object_put(ja);
	if (!jo)
		printf("  xsk sockets: unknown (probe failed: %s)\n", strerror(-err));
	vxdp_xskprobe_bpf__destroy(skel);
}

static int list_one(const char *relay)
{
	json_object *jo = NULL;
	struct bpf_map_info info;
	int fd;

	fd = open_pinned(relay, "xsks", false);
	if (fd < 0)
		return fd;
	if (pin_json) {
		jo = json_object_new_object();
		json_object_object_add(jo, "name", json_object_new_string(relay));
		json_object_array_add(pin_json, jo);
	} else {
		printf("%s:\n", relay);
	}
	if (!map_info(fd, &info)) {
		if (info.type != BPF_MAP_TYPE_XSKMAP) {
			fprintf(stderr, "vxdpctl: %s/%s/xsks is not an XSKMAP\n",
				VXDP_PIN_ROOT, relay);
			close(fd);
			return -EINVAL;
		}
		print_attachment(info.id, jo);
	}
	print_xsk_queues(fd, jo);
	close(fd);
	return 0;
}

/* Talking to the daemon --------------------------------------------------- */

/* Connect to the control socket: the fd, or a negative errno. */
static int ctl_connect(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(g.socket) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, g.socket);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* One request, one reply: 0 with the reply's @root and @result, else an
 * exit status (the error already printed).
 */
static int ctl_call_line(int fd, char *req, json_object **root, json_object **result)
{
	size_t len = 0, cap = 1 << 16, off = 0;
	char err[512];
	char *buf = malloc(cap);
	int ret = EXIT_FAILURE;

	if (!req || !buf) {
		fprintf(stderr, "vxdpctl: out of memory\n");
		goto out;
	}
	while (off < strlen(req)) {
		ssize_t n = send(fd, req + off, strlen(req) - off, MSG_NOSIGNAL);

		if (n <= 0) {
			fprintf(stderr, "vxdpctl: %s: %s\n", g.socket, strerror(errno));
			goto out;
		}
		off += n;
	}
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (memchr(buf, '\n', len))
			break;
		if (poll(&pfd, 1, REPLY_TIMEOUT_MS) <= 0) {
			fprintf(stderr, "vxdpctl: %s: no reply from the daemon\n", g.socket);
			goto out;
		}
		if (len + 1 >= cap) {
			char *nb = realloc(buf, cap * 2);

			if (!nb)
				goto out;
			buf = nb;
			cap *= 2;
		}
		n = recv(fd, buf + len, cap - len - 1, 0);
		if (n <= 0) {
			fprintf(stderr, "vxdpctl: %s: the daemon closed the connection\n", g.socket);
			goto out;
		}
		len += n;
		buf[len] = '\0';
	}
	*strchr(buf, '\n') = '\0';
	ret = ctl_reply_parse(buf, root, result, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "vxdpctl: %s\n", err);
		ret = EXIT_FAILURE;
	}
out:
	free(req);
	free(buf);
	return ret;
}

/* A request line (malloc'ed, taken over) on a fresh connection. */
static int ctl_request_line(char *req, json_object **root, json_object **result)
{
	int fd = ctl_connect(), ret;

	if (fd < 0) {
		fprintf(stderr, "vxdpctl: cannot reach the daemon at %s: %s\n", g.socket,
			strerror(-fd));
		free(req);
		return EXIT_FAILURE;
	}
	ret = ctl_call_line(fd, req, root, result);
	close(fd);
	return ret;
}

static int ctl_request(enum ctl_cmd cmd, const char *name, const char *spec,
		       json_object **root, json_object **result)
{
	return ctl_request_line(ctl_req_format(cmd, name, spec), root, result);
}

/* Is a daemon there? If not, say so once and read the pins. */
static bool daemon_reachable(void)
{
	int fd;

	if (g.pinned)
		return false;
	fd = ctl_connect();
	if (fd >= 0) {
		close(fd);
		return true;
	}
	fprintf(stderr, "vxdpctl: no daemon at %s (%s): reading the pinned maps under %s\n",
		g.socket, strerror(-fd), VXDP_PIN_ROOT);
	return false;
}

static void print_json(json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
}

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : "";
}

static int64_t jint(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;
}

/* Commands ---------------------------------------------------------------- */

struct cmd {
	const char *name;
	const char *args;
	const char *help;
	int (*fn)(int argc, char **argv);
	int min_args, max_args;
};

/* One request on a fresh connection and its reply: the reply as it came
 * with --json, else through @text (@arg: what the command was given).
 */
static int ctl_run(char *req, void (*text)(json_object *res, const char *arg),
		   const char *arg)
{
	json_object *root, *res;
	int ret;

	ret = ctl_request_line(req, &root, &res);
	if (ret)
		return ret;
	if (g.json)
		print_json(res);
	else
		text(res, arg);
	json_object_put(root);
	return 0;
}

/* Without a daemon: @fn on relay @name, or on every pinned relay when
 * @name is empty; with --json, the array they fill.
 */
static int pinned_run(int (*fn)(const char *relay), const char *name)
{
	int ret;

	if (g.json)
		pin_json = json_object_new_array();
	ret = *name ? (fn(name) ? EXIT_FAILURE : EXIT_SUCCESS) : for_each_relay(fn);
	if (g.json) {
		print_json(pin_json);
		json_object_put(pin_json);
		pin_json = NULL;
	}
	return ret;
}

/* Each element of the array @key of @res through @fn; @none if it is empty. */
static void print_each(json_object *res, const char *key, const char *none,
		       void (*fn)(json_object *o))
{
	json_object *a;
	size_t i;

	if (!json_object_object_get_ex(res, key, &a))
		return;
	if (!json_object_array_length(a))
		printf("%s\n", none);
	for (i = 0; i < json_object_array_length(a); i++)
		fn(json_object_array_get_idx(a, i));
}

static void add_text(json_object *res, const char *arg)
{
	(void)arg;
	printf("relay %s added on worker %lld\n", jstr(res, "name"),
	       (long long)jint(res, "worker"));
}

static int cmd_add(int argc, char **argv)
{
	char spec[1024] = "";
	size_t used = 0;
	int i;

	/* "vf=X,socket=Y" or "vf=X socket=Y": one spec either way. */
	for (i = 0; i < argc; i++) {
		int n = snprintf(spec + used, sizeof(spec) - used, "%s%s", used ? "," : "", argv[i]);

		if (n < 0 || (size_t)n >= sizeof(spec) - used) {
			fprintf(stderr, "vxdpctl: add: relay spec too long\n");
			return EXIT_USAGE;
		}
		used += n;
	}
	return ctl_run(ctl_req_format(CTL_ADD, NULL, spec), add_text, NULL);
}

static void del_text(json_object *res, const char *name)
{
	(void)res;
	printf("relay %s removed\n", name);
}

static int cmd_del(int argc, char **argv)
{
	(void)argc;
	return ctl_run(ctl_req_format(CTL_DEL, argv[0], NULL), del_text, argv[0]);
}

static void list_row(json_object *r)
{
	printf("%-16s %-15s %-6lld %-6s %-6lld %s\n", jstr(r, "name"), jstr(r, "vf"),
	       (long long)jint(r, "worker"), jstr(r, "mode"), (long long)jint(r, "queues"),
	       jstr(r, "socket"));
}

static void list_text(json_object *res, const char *arg)
{
	json_object *relays;

	(void)arg;
	if (json_object_object_get_ex(res, "relays", &relays) &&
	    json_object_array_length(relays))
		printf("%-16s %-15s %-6s %-6s %-6s %s\n", "NAME", "VF", "WORKER", "MODE",
		       "QUEUES", "SOCKET");
	print_each(res, "relays", "no relays running", list_row);
}

static int cmd_list(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	if (!daemon_reachable())
		return pinned_run(list_one, "");
	return ctl_run(ctl_req_format(CTL_LIST, NULL, NULL), list_text, NULL);
}

static void show_text(json_object *res, const char *arg)
{
	(void)arg;
	json_object_object_foreach(res, key, val)
		printf("%-14s %s\n", key, json_object_get_string(val));
}

static int cmd_show(int argc, char **argv)
{
	(void)argc;
	return ctl_run(ctl_req_format(CTL_SHOW, argv[0], NULL), show_text, NULL);
}

static void hello_text(json_object *res, const char *arg)
{
	(void)arg;
	printf("%s %s (protocol %lld), pid %lld, %lld relays\n", jstr(res, "daemon"),
	       jstr(res, "version"), (long long)jint(res, "protocol"),
	       (long long)jint(res, "pid"), (long long)jint(res, "relays"));
}

static int cmd_hello(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return ctl_run(ctl_req_format(CTL_HELLO, NULL, NULL), hello_text, NULL);
}

static int cmd_workers(int argc, char **argv)
{
	json_object *root, *res, *workers;
	size_t i;
	int ret;

	(void)argc;
	(void)argv;
	ret = ctl_request(CTL_WORKERS, NULL, NULL, &root, &res);
	if (ret)
		return ret;
	if (g.json) {
		print_json(res);
	} else if (json_object_object_get_ex(res, "workers", &workers)) {
		printf("%-6s %-8s %-4s %-4s %-6s %-5s %-6s %-10s %-8s %s\n", "WORKER", "TID",
		       "CPU", "NODE", "RELAYS", "LANES", "LOAD", "FRAMES/S", "CPU-S",
		       "MOVES IN/OUT");
		for (i = 0; i < json_object_array_length(workers); i++) {
			json_object *w = json_object_array_get_idx(workers, i), *v;
			char cpu[16] = "-", node[16] = "-";
			double load = 0, fps = 0, cs = 0;

			if (jint(w, "cpu") >= 0)
				snprintf(cpu, sizeof(cpu), "%lld", (long long)jint(w, "cpu"));
			if (jint(w, "node") >= 0)
				snprintf(node, sizeof(node), "%lld", (long long)jint(w, "node"));
			if (json_object_object_get_ex(w, "load_percent", &v))
				load = json_object_get_double(v);
			if (json_object_object_get_ex(w, "frames_per_s", &v))
				fps = json_object_get_double(v);
			if (json_object_object_get_ex(w, "cpu_seconds", &v))
				cs = json_object_get_double(v);
			printf("%-6lld %-8lld %-4s %-4s %-6lld %-5lld %5.1f%% %-10.0f %-8.2f %lld/%lld\n",
			       (long long)jint(w, "id"), (long long)jint(w, "tid"), cpu, node,
			       (long long)jint(w, "relays"), (long long)jint(w, "lanes"), load,
			       fps, cs, (long long)jint(w, "moves_in"),
			       (long long)jint(w, "moves_out"));
		}
		printf("lanes moved by the balancer: %lld\n", (long long)jint(res, "moves"));
	}
	json_object_put(root);
	return 0;
}

static void print_relay_stats(json_object *r)
{
	struct relay_stats *st = malloc(sizeof(*st));
	unsigned int q;
	size_t i;

	if (!st || ctl_stats_from_json(r, st)) {
		fprintf(stderr, "vxdpctl: malformed stats for %s\n", jstr(r, "name"));
		free(st);
		return;
	}
	printf("%s: frontend %s, %u VF queue%s (%s)\n", jstr(r, "name"),
	       st->connected ? "connected" : "not connected", st->vf_queues,
	       st->vf_queues == 1 ? "" : "s", st->zerocopy ? "zero-copy" : "copy mode");
	printf("  xdp: redirected %llu packets %llu bytes, passed %llu, dropped %llu\n",
	       (unsigned long long)st->xdp.redirected,
	       (unsigned long long)st->xdp.redirected_bytes,
	       (unsigned long long)st->xdp.passed, (unsigned long long)st->xdp.dropped);
	if (st->nmembers)
		printf("  bond: %llu switch%s\n", (unsigned long long)st->switches,
		       st->switches == 1 ? "" : "es");
	for (q = 0; q < st->nmembers; q++) {
		const struct relay_member_stats *m = &st->member[q];

		printf("    %-16s %-7s %-8s %u queue%s, rx %llu frames, tx %llu frames, activations %llu, announced %llu, xdp passed %llu\n",
		       m->vf, m->active ? "active" : "backup", m->running ? "running" : "down",
		       m->queues, m->queues == 1 ? "" : "s", (unsigned long long)m->rx_frames,
		       (unsigned long long)m->tx_frames, (unsigned long long)m->activations,
		       (unsigned long long)m->announced, (unsigned long long)m->xdp_passed);
	}
	printf("  %-32s %14s", "", "total");
	for (q = 0; q < st->nqueues && st->nqueues > 1; q++)
		printf(" %11s%-3u", "queue ", q);
	putchar('\n');
	for (i = 0; i < ctl_ncounters; i++) {
		printf("  %-32s %14llu", ctl_counters[i].label,
		       (unsigned long long)ctl_counter_get(&st->total, &ctl_counters[i]));
		for (q = 0; q < st->nqueues && st->nqueues > 1; q++)
			printf(" %14llu", (unsigned long long)ctl_counter_get(&st->q[q], &ctl_counters[i]));
		putchar('\n');
	}
	free(st);
}

/* Rates ------------------------------------------------------------------ */

struct sample {
	json_object *root, *res;
	double t;		/* CLOCK_MONOTONIC, seconds */
	long pid;
};

static double now_s(void)
{
	return mono_ns() / 1e9;
}

/* utime + stime of thread @tid of @pid, in clock ticks; -1 if gone. */
static long long thread_ticks(long pid, long tid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "/proc/%ld/task/%ld/stat", pid, tid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	if (!p || !(p = strrchr(buf, ')')))
		return -1;
	/* after "(comm)": state is field 3; utime and stime are 14 and 15 */
	ok = sscanf(p + 2, "%*c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu %llu", &ut, &st);
	return ok == 2 ? (long long)(ut + st) : -1;
}

static json_object *find_relay(json_object *res, const char *name)
{
	json_object *relays;
	size_t i;

	if (!json_object_object_get_ex(res, "relays", &relays))
		return NULL;
	for (i = 0; i < json_object_array_length(relays); i++) {
		json_object *r = json_object_array_get_idx(relays, i);

		if (!strcmp(jstr(r, "name"), name))
			return r;
	}
	return NULL;
}

/* Per-second rates of one queue's (or the total's) counters. */
static json_object *rate_json(const struct relay_queue_stats *a,
			      const struct relay_queue_stats *b, double dt)
{
	json_object *o = json_object_new_object(), *drops = json_object_new_object();
	size_t i;

#define RATE(field) ((double)(b->field - a->field) / dt)
	json_object_object_add(o, "to_guest_pps", json_object_new_double(RATE(to_guest)));
	json_object_object_add(o, "to_guest_bps", json_object_new_double(8 * RATE(to_guest_bytes)));
	json_object_object_add(o, "from_guest_pps", json_object_new_double(RATE(from_guest)));
	json_object_object_add(o, "from_guest_bps",
			       json_object_new_double(8 * RATE(from_guest_bytes)));
#undef RATE
	for (i = 0; i < ctl_ncounters; i++) {
		const struct ctl_counter *c = &ctl_counters[i];

		if (!(c->flags & CTL_C_DROP))
			continue;
		json_object_object_add(drops, c->key,
				       json_object_new_double((double)(ctl_counter_get(b, c) -
								       ctl_counter_get(a, c)) / dt));
	}
	json_object_object_add(o, "drops_per_s", drops);
	return o;
}

static void print_rate(const char *what, json_object *r)
{
	json_object *drops;
	bool any = false;

	printf("  %-8s to guest %10.0f pps %12.0f bps   from guest %10.0f pps %12.0f bps\n",
	       what, json_object_get_double(json_object_object_get(r, "to_guest_pps")),
	       json_object_get_double(json_object_object_get(r, "to_guest_bps")),
	       json_object_get_double(json_object_object_get(r, "from_guest_pps")),
	       json_object_get_double(json_object_object_get(r, "from_guest_bps")));
	drops = json_object_object_get(r, "drops_per_s");
	json_object_object_foreach(drops, key, val) {
		double v = json_object_get_double(val);

		if (v <= 0)
			continue;
		printf("%s %s %.0f/s", any ? "," : "           drops:", key, v);
		any = true;
	}
	if (any)
		putchar('\n');
}

/* The rates between samples @a and @b, as JSON (printed as text unless
 * --json).
 */
static json_object *rates(const struct sample *a, const struct sample *b,
			  const long long *ticks_a, const long long *ticks_b)
{
	json_object *o = json_object_new_object(), *out = json_object_new_array();
	json_object *relays, *workers, *wout = json_object_new_array();
	struct relay_stats *sa = malloc(sizeof(*sa)), *sb = malloc(sizeof(*sb));
	double dt = b->t - a->t;
	long hz = sysconf(_SC_CLK_TCK);
	size_t i;

	json_object_object_add(o, "interval", json_object_new_double(dt));
	json_object_object_add(o, "relays", out);
	json_object_object_add(o, "workers", wout);
	if (!sa || !sb || dt <= 0)
		goto out;
	json_object_object_get_ex(b->res, "relays", &relays);
	for (i = 0; i < json_object_array_length(relays); i++) {
		json_object *rb = json_object_array_get_idx(relays, i), *ra, *r, *qs;
		unsigned int q;

		ra = find_relay(a->res, jstr(rb, "name"));
		if (!ra || ctl_stats_from_json(ra, sa) || ctl_stats_from_json(rb, sb))
			continue;	/* added meanwhile */
		r = json_object_new_object();
		json_object_object_add(r, "name", json_object_new_string(jstr(rb, "name")));
		json_object_object_add(r, "total", rate_json(&sa->total, &sb->total, dt));
		qs = json_object_new_array();
		for (q = 0; q < sb->nqueues && q < sa->nqueues; q++)
			json_object_array_add(qs, rate_json(&sa->q[q], &sb->q[q], dt));
		json_object_object_add(r, "queues", qs);
		json_object_array_add(out, r);
	}
	if (json_object_object_get_ex(b->res, "workers", &workers)) {
		for (i = 0; i < json_object_array_length(workers) && i < WORKER_SLOTS; i++) {
			json_object *w = json_object_array_get_idx(workers, i), *wo;

			wo = json_object_new_object();
			json_object_object_add(wo, "id", json_object_new_int(jint(w, "id")));
			json_object_object_add(wo, "tid", json_object_new_int(jint(w, "tid")));
			json_object_object_add(wo, "relays", json_object_new_int(jint(w, "relays")));
			if (ticks_a[i] >= 0 && ticks_b[i] >= 0)
				json_object_object_add(wo, "cpu_percent",
					json_object_new_double(100.0 * (ticks_b[i] - ticks_a[i]) /
							       hz / dt));
			json_object_array_add(wout, wo);
		}
	}
out:
	free(sa);
	free(sb);
	return o;
}

static void print_rates(json_object *o)
{
	json_object *relays = json_object_object_get(o, "relays");
	json_object *workers = json_object_object_get(o, "workers");
	size_t i, q;

	printf("over %.2f s:\n", json_object_get_double(json_object_object_get(o, "interval")));
	for (i = 0; i < json_object_array_length(relays); i++) {
		json_object *r = json_object_array_get_idx(relays, i);
		json_object *qs = json_object_object_get(r, "queues");

		printf("%s:\n", jstr(r, "name"));
		print_rate("total", json_object_object_get(r, "total"));
		for (q = 0; json_object_array_length(qs) > 1 && q < json_object_array_length(qs); q++) {
			char what[32];

			snprintf(what, sizeof(what), "queue %zu", q);
			print_rate(what, json_object_array_get_idx(qs, q));
		}
	}
	for (i = 0; i < json_object_array_length(workers); i++) {
		json_object *w = json_object_array_get_idx(workers, i), *cpu;

		printf("worker %lld (tid %lld, %lld relays): ", (long long)jint(w, "id"),
		       (long long)jint(w, "tid"), (long long)jint(w, "relays"));
		if (json_object_object_get_ex(w, "cpu_percent", &cpu))
			printf("%.1f%% CPU\n", json_object_get_double(cpu));
		else
			printf("CPU unknown\n");
	}
}

static int take_sample(const char *name, struct sample *s, long long *ticks)
{
	json_object *workers;
	size_t i;
	int ret;

	ret = ctl_request(CTL_STATS, name, NULL, &s->root, &s->res);
	if (ret)
		return ret;
	s->t = now_s();
	s->pid = jint(s->res, "pid");
	for (i = 0; i < WORKER_SLOTS; i++)
		ticks[i] = -1;
	if (json_object_object_get_ex(s->res, "workers", &workers))
		for (i = 0; i < json_object_array_length(workers) && i < WORKER_SLOTS; i++)
			ticks[i] = thread_ticks(s->pid, jint(json_object_array_get_idx(workers, i),
							     "tid"));
	return 0;
}

static int stats_rate(const char *name)
{
	static long long ticks[2][WORKER_SLOTS];
	struct sample s[2] = { 0 };
	long n;
	int ret, cur = 0;

	ret = take_sample(name, &s[0], ticks[0]);
	for (n = 0; !ret && (g.count == 0 || n < g.count); n++) {
		json_object *o;
		struct timespec ts = { (time_t)g.interval,
				       (long)((g.interval - (time_t)g.interval) * 1e9) };

		nanosleep(&ts, NULL);
		ret = take_sample(name, &s[!cur], ticks[!cur]);
		if (ret)
			break;
		o = rates(&s[cur], &s[!cur], ticks[cur], ticks[!cur]);
		if (g.json)
			print_json(o);
		else
			print_rates(o);
		fflush(stdout);
		json_object_put(o);
		json_object_put(s[cur].root);
		s[cur].root = NULL;
		cur = !cur;
	}
	json_object_put(s[cur].root);
	return ret;
}

static void stats_text(json_object *res, const char *arg)
{
	(void)arg;
	print_each(res, "relays", "no relays running", print_relay_stats);
}

static int cmd_stats(int argc, char **argv)
{
	const char *name = argc ? argv[0] : "";

	if (!daemon_reachable()) {
		if (g.rate) {
			fprintf(stderr, "vxdpctl: stats --rate needs the daemon\n");
			return EXIT_FAILURE;
		}
		return pinned_run(print_stats, name);
	}
	if (g.rate)
		return stats_rate(name);
	return ctl_run(ctl_req_format(CTL_STATS, name, NULL), stats_text, NULL);
}

static void print_vm(json_object *v)
{
	json_object *last, *cnt;

	printf("%s %s (relay %s, %s backend, primary %s)", jstr(v, "mac"), jstr(v, "state"),
	       jstr(v, "relay"), jstr(v, "backend"), jstr(v, "primary"));
	if (json_object_object_get_ex(v, "last", &last))
		printf(", for %.3f s: %s -> %s on %s: %s\n", jint(last, "ago_ms") / 1000.0,
		       jstr(last, "from"), jstr(last, "to"), jstr(last, "event"),
		       jstr(last, "reason"));
	else
		printf(", no transition yet\n");
	if (json_object_object_get_ex(v, "counters", &cnt)) {
		const char *sep = "  ";

		json_object_object_foreach(cnt, key, val) {
			printf("%s%s %lld", sep, key, (long long)json_object_get_int64(val));
			sep = ", ";
		}
		printf("; qmp %s\n", jstr(v, "qmp"));
	}
}

static void event_text(json_object *res, const char *arg)
{
	(void)arg;
	printf("%s\n", jstr(res, "log"));
}

static void failover_text(json_object *res, const char *arg)
{
	(void)arg;
	print_each(res, "vms", "no failover VMs (relays with primary= or primary-port=)",
		   print_vm);
}

static int cmd_failover(int argc, char **argv)
{
	if (argc) {
		if (strcmp(argv[0], "event") || argc != 3) {
			fprintf(stderr, "usage: vxdpctl failover [event MAC EVENT]\n");
			return EXIT_USAGE;
		}
		return ctl_run(ctl_req_format_event(argv[1], argv[2]), event_text, NULL);
	}
	return ctl_run(ctl_req_format(CTL_FAILOVER, NULL, NULL), failover_text, NULL);
}

static int cmd_help(int argc, char **argv);

static const struct cmd cmds[] = {
	{ "add", "SPEC", "add a relay; SPEC is KEY=VALUE,... as for vxdp-relay --relay "
	  "(relay options below; spaces may stand for the commas)", cmd_add, 1, 64 },
	{ "del", "NAME", "remove relay NAME; the others keep running", cmd_del, 1, 1 },
	{ "list", "", "the relays: name, VF, worker, mode, queues, socket (without a "
	  "daemon: the pinned relays, their interface, XDP mode and XSK queues)",
	  cmd_list, 0, 0 },
	{ "show", "NAME", "relay NAME's options, origin, home worker and where each "
	  "lane (its queue pairs) runs", cmd_show, 1, 1 },
	{ "stats", "[NAME] [--rate [--interval S] [--count N]]",
	  "counters of one relay or of all, per queue: frames and bytes to and from "
	  "the guest, every drop reason, the kernel's AF_XDP counters, XDP's; with "
	  "--rate, per second over S seconds (default 1), N times (default 1, 0: "
	  "until interrupted), and each worker's CPU (without a daemon: the XDP "
	  "counters of the pinned maps)", cmd_stats, 0, 1 },
	{ "failover", "[event MAC EVENT]",
	  "live migration with a passthrough VF: each VM's failover state, its last "
	  "transition (from, to, event, reason, how long ago) and counters; with event, "
	  "feed the VM with MAC an event (frontend-up, frontend-gone, ...: what "
	  "tools/scripts/vxdp-libvirt-hook calls)", cmd_failover, 0, 3 },
	{ "workers", "", "each worker: thread, CPU and NUMA node, relays and lanes (queue "
	  "pairs) on it, its load (share of a core) and frames per second at the "
	  "balancer's last sample, CPU time, lanes the balancer moved in and out",
	  cmd_workers, 0, 0 },
	{ "hello", "", "the daemon's version, protocol, PID and relay count", cmd_hello, 0, 0 },
	{ "help", "[man or markdown]", "this text, or the command table (and the relay "
	  "options) for the man page or the README", cmd_help, 0, 1 },
};

/* vxdpctl's own options, for usage, the man page and getopt; they go
 * anywhere on the line. (The fields are the parser's business: parse_opts().)
 */
static const struct opt ctl_opts[] = {
	{ .name = "socket", .short_name = 's', .metavar = "PATH", .def = VXDP_CONTROL_DEFAULT,
	  .help = "the daemon's control socket" },
	{ .name = "json", .short_name = 'j', .type = OPT_FLAG,
	  .help = "JSON output, one object or array per line" },
	{ .name = "pinned", .short_name = 'p', .type = OPT_FLAG,
	  .help = "list, stats: read the pinned maps even when a daemon runs (what "
		  "vxdpctl does without one)" },
	{ .name = "rate", .short_name = 'r', .type = OPT_FLAG,
	  .help = "stats: rates per second instead of totals" },
	{ .name = "interval", .short_name = 'i', .metavar = "S", .def = "1",
	  .help = "stats --rate: seconds per sample, 0.1 to 3600" },
	{ .name = "count", .short_name = 'n', .metavar = "N", .def = "1",
	  .help = "stats --rate: samples, 0 until interrupted" },
	{ .name = "help", .short_name = 'h', .type = OPT_FLAG,
	  .help = "the commands and options (as the help command)" },
};

static void usage(FILE *f, enum opt_fmt fmt)
{
	size_t i;

	if (fmt == OPT_FMT_TEXT)
		fprintf(f, "Usage: vxdpctl [--socket PATH] [--json] COMMAND [ARGS]\n\n"
			"Options (before or after the command):\n");
	else if (fmt == OPT_FMT_MAN)
		fprintf(f, ".SH OPTIONS\nBefore or after the command:\n");
	if (fmt != OPT_FMT_MARKDOWN)
		opt_print_help(f, ctl_opts, ARRAY_SIZE(ctl_opts), "--", fmt, 0);
	if (fmt == OPT_FMT_TEXT)
		fprintf(f, "\nCommands:\n");
	else if (fmt == OPT_FMT_MAN)
		fprintf(f, ".SH COMMANDS\n");
	else
		fprintf(f, "| command | meaning |\n|---|---|\n");
	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		const struct cmd *c = &cmds[i];

		switch (fmt) {
		case OPT_FMT_TEXT:
			fprintf(f, "  %s %s\n", c->name, c->args);
			fprintf(f, "      %s\n", c->help);
			break;
		case OPT_FMT_MAN:
			fputs(".TP\n.B ", f);
			opt_man_escape(f, c->name);
			fputc(' ', f);
			opt_man_escape(f, c->args);
			fputc('\n', f);
			opt_man_escape(f, c->help);
			fputc('\n', f);
			break;
		case OPT_FMT_MARKDOWN:
			fprintf(f, "| `vxdpctl %s%s%s` | %s |\n", c->name, *c->args ? " " : "",
				c->args, c->help);
			/* (no '|' in the command table's text) */
			break;
		}
	}
	/* The README has the relay options from vxdp-relay --help=markdown. */
	if (fmt == OPT_FMT_MARKDOWN)
		return;
	if (fmt == OPT_FMT_TEXT)
		fprintf(f, "\nRelay options (add):\n");
	else
		fprintf(f, ".SH RELAY OPTIONS\nThe keys of \\fBadd\\fR's SPEC, as for "
			"\\fBvxdp\\-relay \\-\\-relay\\fR (see \\fBvxdp\\-relay\\fR(8)):\n");
	opt_print_help(f, relay_opts, relay_nopts, "", fmt, 0);
}

static int cmd_help(int argc, char **argv)
{
	int fmt = opt_fmt_parse(argc ? argv[0] : NULL);

	if (fmt < 0) {
		fprintf(stderr, "vxdpctl: help %s: expected man or markdown\n", argv[0]);
		return EXIT_USAGE;
	}
	usage(stdout, fmt);
	return EXIT_SUCCESS;
}

/* Options anywhere on the line; the rest are the command and its args. */
static int parse_opts(int argc, char **argv, int *nargs, char **args)
{
	struct option lo[ARRAY_SIZE(ctl_opts) + 1];
	char shorts[2 * ARRAY_SIZE(ctl_opts) + 2], *end;
	size_t i, k = 0;
	int c;

	/* '-' in front: non-options come back as arguments, in order. */
	shorts[k++] = '-';
	for (i = 0; i < ARRAY_SIZE(ctl_opts); i++) {
		const struct opt *o = &ctl_opts[i];

		lo[i] = (struct option){ o->name, o->metavar ? required_argument : no_argument,
					 NULL, o->short_name };
		shorts[k++] = o->short_name;
		if (o->metavar)
			shorts[k++] = ':';
	}
	lo[i] = (struct option){ 0 };
	shorts[k] = '\0';
	*nargs = 0;
	while ((c = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
		switch (c) {
		case 1:
			args[(*nargs)++] = optarg;
			break;
		case 's':
			g.socket = optarg;
			g.socket_given = true;
			break;
		case 'j':
			g.json = true;
			break;
		case 'r':
			g.rate = true;
			break;
		case 'p':
			g.pinned = true;
			break;
		case 'i':
			g.interval = strtod(optarg, &end);
			if (*end || !(g.interval >= 0.1 && g.interval <= 3600)) {
				fprintf(stderr, "vxdpctl: --interval %s: expected 0.1 to 3600 seconds\n",
					optarg);
				return -EINVAL;
			}
			break;
		case 'n':
			g.count = strtol(optarg, &end, 10);
			if (*end || g.count < 0) {
				fprintf(stderr, "vxdpctl: --count %s: expected a number, 0 for no end\n",
					optarg);
				return -EINVAL;
			}
			break;
		case 'h':
			args[0] = "help";
			*nargs = 1;
			return 0;
		default:
			return -EINVAL;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	char **args = calloc(argc + 1, sizeof(*args));
	const struct cmd *c = NULL;
	int nargs, ret;
	size_t i;

	if (!args)
		return EXIT_FAILURE;
	if (parse_opts(argc, argv, &nargs, args) || !nargs) {
		usage(stderr, OPT_FMT_TEXT);
		free(args);
		return EXIT_USAGE;
	}
	for (i = 0; i < ARRAY_SIZE(cmds) && !c; i++)
		if (!strcmp(cmds[i].name, args[0]))
			c = &cmds[i];
	if (!c) {
		fprintf(stderr, "vxdpctl: unknown command '%s'\n", args[0]);
		usage(stderr, OPT_FMT_TEXT);
		free(args);
		return EXIT_USAGE;
	}
	if (nargs - 1 < c->min_args || nargs - 1 > c->max_args ||
	    (g.rate && c->fn != cmd_stats)) {
		fprintf(stderr, "usage: vxdpctl %s %s\n", c->name, c->args);
		free(args);
		return EXIT_USAGE;
	}
	libbpf_set_print(libbpf_print);
	ret = c->fn(nargs - 1, args + 1);
	free(args);
	return ret;
}
