// SPDX-License-Identifier: GPL-2.0
/* vxdpctl: inspect running vxdp relays through the maps they pin under
 * /sys/fs/bpf/vxdp/<relay>/ (steering counters, interface, XSK queues).
 */
#include <dirent.h>
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/types.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "vxdp_shared.h"
#include "vxdp_xskprobe.skel.h"
#include "xdp/xdp_steer.h"

#define EXIT_USAGE 2

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vxdpctl stats [RELAY]   steering counters of one relay, or of all\n"
		"       vxdpctl list            relays with interface, XDP mode and XSK queues\n"
		"Relays are found under " VXDP_PIN_ROOT "/.\n");
}

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
	if (!n)
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

	printf("%s:\n", relay);
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
		printf("  %-11s %15llu packets %18llu bytes\n", names[key], pkts, bytes);
	}
out:
	free(vals);
	close(fd);
	return err;
}

static int cmd_stats(int argc, char **argv)
{
	if (argc > 1) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (argc == 1)
		return print_stats(argv[0]) ? EXIT_FAILURE : EXIT_SUCCESS;

	return for_each_relay(print_stats);
}

/* The relay's program is the one whose maps are the pinned ones; walk the
 * interfaces of this network namespace to find where it is attached.
 */
static void print_attachment(__u32 map_id)
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
			printf("  interface %s, %s XDP, program id %u\n", it->if_name, mode, id);
			if_freenameindex(ifs);
			return;
		}
	}
	if (ifs)
		if_freenameindex(ifs);
	printf("  interface: not attached in this network namespace\n");
}

/* The bpf() syscall cannot read XSKMAP entries (EOPNOTSUPP), but an XDP
 * program can: run vxdp_xskprobe once on the pinned map via test_run.
 */
static void print_xsk_queues(int xsks_fd)
{
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

	printf("  xsk sockets on queues:");
	for (k = 0; k < VXDP_MAX_QUEUES; k++) {
		if (!skel->bss->present[k])
			continue;
		n++;
		if (skel->bss->queue_id[k] == (__u32)k)
			printf(" %d", k);
		else	/* key and bound queue disagree: worth seeing */
			printf(" %d(bound to %u)", k, skel->bss->queue_id[k]);
	}
	printf("%s\n", n ? "" : " none");
	vxdp_xskprobe_bpf__destroy(skel);
	return;
fail:
	printf("  xsk sockets: unknown (probe failed: %s)\n", strerror(-err));
	vxdp_xskprobe_bpf__destroy(skel);
}

static int list_one(const char *relay)
{
	struct bpf_map_info info;
	int fd;

	fd = open_pinned(relay, "xsks", false);
	if (fd < 0)
		return fd;
	printf("%s:\n", relay);
	if (!map_info(fd, &info)) {
		if (info.type != BPF_MAP_TYPE_XSKMAP) {
			fprintf(stderr, "vxdpctl: %s/%s/xsks is not an XSKMAP\n",
				VXDP_PIN_ROOT, relay);
			close(fd);
			return -EINVAL;
		}
		print_attachment(info.id);
	}
	print_xsk_queues(fd);
	close(fd);
	return 0;
}

static int cmd_list(int argc, char **argv)
{
	(void)argv;
	if (argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	return for_each_relay(list_one);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return EXIT_SUCCESS;
	}
	libbpf_set_print(libbpf_print);
	if (!strcmp(argv[1], "stats"))
		return cmd_stats(argc - 2, argv + 2);
	if (!strcmp(argv[1], "list"))
		return cmd_list(argc - 2, argv + 2);
	fprintf(stderr, "vxdpctl: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
