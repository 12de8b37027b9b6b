// SPDX-License-Identifier: GPL-2.0
/* vxdp-relay: the daemon's entry point. Parses --relay specs, checks the
 * kernel, starts the worker threads that open and run the relays, then
 * waits for SIGINT/SIGTERM on the main thread.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "config.h"
#include "kcheck.h"
#include "util/log.h"
#include "relay.h"
#include "util/uring_loop.h"
#include "vhost/guest_mem.h"
#include "worker.h"
#include "util/compiler.h"

#define VXDP_VERSION "0.1.0"
#define MAX_RELAYS 64

#define EXIT_USAGE 2

/* The one daemon context: everything else hangs off it. The main thread's
 * loop only waits for signals and for a worker whose loop failed; the relays
 * run on the workers' loops.
 */
struct vxdp_daemon {
	struct uloop loop;
	struct relay_cfg cfg[MAX_RELAYS];
	struct relay *relays;
	unsigned int nrelays;
	unsigned int nworkers;
	unsigned int busy_poll_us;
	uint64_t mem_max;		/* --mem-max: guest memory of all relays */
	struct workers *workers;
	int sigfd;
	struct uloop_src sig_src;
	struct signalfd_siginfo si;
	int fail_fd;		/* eventfd: a worker's loop failed */
	struct uloop_src fail_src;
	bool failed;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vxdp-relay --relay vf=IFNAME,socket=PATH[,OPTS] [--relay ...] [--workers N]\n"
		"                  [--mem-max SIZE] [--log-level 0-7]\n"
		"\n"
		"Relays frames between a VF (host netdev, XDP + AF_XDP) and a QEMU guest's\n"
		"virtio-net device over vhost-user.\n"
		"\n"
		"Relay options (comma-separated):\n"
		"  vf=IFNAME          the VF netdev (required)\n"
		"  socket=PATH        the vhost-user socket (required)\n"
		"  mode=server|client server (default): listen on PATH, QEMU connects;\n"
		"                     client: QEMU listens (server=on), the relay connects\n"
		"                     and reconnects with backoff whenever QEMU is away\n"
		"  queues=N           guest queue pairs, 1-32 (default 1)\n"
		"  owner=USER, group=GROUP, perm=MODE\n"
		"                     server mode: the socket's owner, group and octal mode\n"
		"  mac=MAC            only frames to MAC, broadcast and multicast go to the\n"
		"                     VM; the rest stays with the host stack\n"
		"  name=NAME          relay name, pins maps at /sys/fs/bpf/vxdp/NAME (default: vf)\n"
		"  xdp-mode=auto|native|skb      XDP attach mode (default auto)\n"
		"  xsk-mode=auto|copy|zerocopy   AF_XDP mode (default auto)\n"
		"  napi-defer=N, napi-timeout=US\n"
		"                     with --busy-poll on, the VF's NAPI deferral for AF_XDP\n"
		"                     busy polling: napi_defer_hard_irqs and gro_flush_timeout\n"
		"                     (default 2 and 200 us), set while the relay runs unless\n"
		"                     the VF has its own; napi-defer=0 leaves the VF alone\n"
		"  mem-max=SIZE       guest memory the frontend may have the relay map\n"
		"                     (default 64G; K, M, G, T; 0: no limit); a memory table\n"
		"                     or region beyond it is refused\n"
		"\n"
		"Options:\n"
		"  -r, --relay SPEC     add a relay (repeatable, up to 64)\n"
		"  -w, --workers N      threads running the relays, 1-64 (default 1); relay i\n"
		"                       runs on thread i mod N; more than the relays is capped\n"
		"  -b, --busy-poll US   after a burst of frames, look for more for up to US\n"
		"                       microseconds before sleeping, 0-1000 (default 50;\n"
		"                       0: always sleep); an idle relay never polls\n"
		"  -m, --mem-max SIZE   guest memory all relays together may map (default 4T;\n"
		"                       K, M, G, T; 0: no limit)\n"
		"  -l, --log-level N    0 (emerg) .. 7 (debug), default 5 (notice)\n"
		"  -h, --help           this text\n"
		"  -V, --version        print the version\n"
		"\n"
		"Exit status: 0 after SIGINT/SIGTERM, 1 when a relay cannot start, 2 on usage errors.\n");
}

static int parse_args(struct vxdp_daemon *d, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "relay", required_argument, NULL, 'r' },
		{ "workers", required_argument, NULL, 'w' },
		{ "busy-poll", required_argument, NULL, 'b' },
		{ "mem-max", required_argument, NULL, 'm' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	char err[256], *end;
	long level, n;
	int c;

	while ((c = getopt_long(argc, argv, "r:w:b:m:l:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			if (d->nrelays == MAX_RELAYS) {
				fprintf(stderr, "vxdp-relay: at most %d relays\n", MAX_RELAYS);
				return -EINVAL;
			}
			if (relay_cfg_parse(&d->cfg[d->nrelays], optarg, err, sizeof(err))) {
				fprintf(stderr, "vxdp-relay: --relay %s: %s\n", optarg, err);
				return -EINVAL;
			}
			d->nrelays++;
			break;
		case 'w':
			errno = 0;
			n = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || n < 1 || n > WORKER_MAX) {
				fprintf(stderr, "vxdp-relay: --workers %s: expected 1-%d\n",
					optarg, WORKER_MAX);
				return -EINVAL;
			}
			d->nworkers = n;
			break;
		case 'b':
			errno = 0;
			n = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || n < 0 || n > 1000) {
				fprintf(stderr, "vxdp-relay: --busy-poll %s: expected 0-1000 (microseconds)\n",
					optarg);
				return -EINVAL;
			}
			d->busy_poll_us = n;
			break;
		case 'm':
			if (config_parse_size(optarg, &d->mem_max)) {
				fprintf(stderr, "vxdp-relay: --mem-max %s: expected a size like 4T (K, M, G, T; 0: no limit)\n",
					optarg);
				return -EINVAL;
			}
			break;
		case 'l':
			errno = 0;
			level = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || level < 0 || level > 7) {
				fprintf(stderr, "vxdp-relay: --log-level %s: expected 0-7\n", optarg);
				return -EINVAL;
			}
			log_level = level;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("vxdp-relay " VXDP_VERSION "\n");
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vxdp-relay: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	if (!d->nrelays) {
		fprintf(stderr, "vxdp-relay: no --relay given\n");
		usage(stderr);
		return -EINVAL;
	}
	if (relay_cfg_check_unique(d->cfg, d->nrelays, err, sizeof(err))) {
		fprintf(stderr, "vxdp-relay: %s\n", err);
		return -EINVAL;
	}
	return 0;
}

/* libbpf's messages in our format; its warnings are often expected (a probe
 * failing), so they are info unless they are ours to report.
 */
static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	log_vmsg(level == LIBBPF_DEBUG ? LOG_DEBUG : LOG_INFO, fmt, ap);
	return 0;
}

static void on_worker_fail(struct uloop_src *s, int res)
{
	struct vxdp_daemon *d = container_of(s, struct vxdp_daemon, fail_src);

	(void)res;
	pr_err("a worker stopped: shutting down");
	d->failed = true;
	uloop_stop(&d->loop);
}

static void on_signal(struct uloop_src *s, int res)
{
	struct vxdp_daemon *d = container_of(s, struct vxdp_daemon, sig_src);

	if (res != sizeof(d->si))
		return;
	pr_notice("signal %u: shutting down", d->si.ssi_signo);
	uloop_stop(&d->loop);
}

/* SIGINT/SIGTERM arrive through the ring like everything else. */
static int signals_setup(struct vxdp_daemon *d)
{
	sigset_t mask;

	signal(SIGPIPE, SIG_IGN);	/* a frontend vanishing mid-reply */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &mask, NULL))
		return -errno;
	d->sigfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (d->sigfd < 0)
		return -errno;
	return uloop_add_read(&d->loop, &d->sig_src, d->sigfd, &d->si,
			      sizeof(d->si), on_signal);
}

int main(int argc, char **argv)
{
	static struct vxdp_daemon d = { .sigfd = -1, .fail_fd = -1, .nworkers = 1,
					  .busy_poll_us = ULOOP_SPIN_US_DEFAULT,
					  .mem_max = GUEST_MEM_TOTAL_LIMIT_DEFAULT };
	int err, ret = EXIT_FAILURE;

	if (parse_args(&d, argc, argv))
		return EXIT_USAGE;
	guest_mem_set_total_limit(d.mem_max, "the daemon's --mem-max");
	libbpf_set_print(libbpf_log);
	if (kcheck_run())
		return EXIT_FAILURE;

	d.relays = calloc(d.nrelays, sizeof(*d.relays));
	if (!d.relays) {
		pr_err("out of memory");
		return EXIT_FAILURE;
	}
	/* Its two sources: the signalfd and the worker-failure eventfd. */
	if (uloop_init(&d.loop, 8))
		goto out_free;
	/* Before any worker exists, so that they inherit the blocked mask. */
	err = signals_setup(&d);
	if (err) {
		pr_err("signal setup: %s", strerror(-err));
		goto out_loop;
	}
	d.fail_fd = eventfd(0, EFD_CLOEXEC);
	err = d.fail_fd < 0 ? -errno :
	      uloop_add_read(&d.loop, &d.fail_src, d.fail_fd, NULL, 0, on_worker_fail);
	if (err) {
		pr_err("worker eventfd: %s", strerror(-err));
		goto out_loop;
	}
	if (worker_start_all(&d.workers, d.nworkers, d.relays, d.cfg, d.nrelays,
			     d.fail_fd, d.busy_poll_us))
		goto out_loop;
	pr_notice("ready: %u relay%s", d.nrelays, d.nrelays == 1 ? "" : "s");
	err = uloop_run(&d.loop);
	if (worker_stop_all(d.workers) == 0 && !err && !d.failed)
		ret = EXIT_SUCCESS;

out_loop:
	if (d.fail_fd >= 0)
		close(d.fail_fd);
	if (d.sigfd >= 0)
		close(d.sigfd);
	uloop_fini(&d.loop);
out_free:
	free(d.relays);
	return ret;
}
