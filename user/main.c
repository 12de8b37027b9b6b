// SPDX-License-Identifier: GPL-2.0
/* vxdp-relay: the daemon's entry point. Parses --relay specs, checks the
 * kernel, opens every relay, then runs the event loop until SIGINT/SIGTERM.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "config.h"
#include "kcheck.h"
#include "log.h"
#include "relay.h"
#include "uring_loop.h"

#define VXDP_VERSION "0.1.0"
#define MAX_RELAYS 64

#define EXIT_USAGE 2

/* The one daemon context: everything else hangs off it. */
struct vxdp_daemon {
	struct uloop loop;
	struct relay_cfg cfg[MAX_RELAYS];
	struct relay *relays;
	unsigned int nrelays;
	int sigfd;
	struct uloop_src sig_src;
	struct signalfd_siginfo si;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vxdp-relay --relay vf=IFNAME,socket=PATH[,OPTS] [--relay ...] [--log-level 0-7]\n"
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
		"\n"
		"Options:\n"
		"  -r, --relay SPEC     add a relay (repeatable)\n"
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
		{ "log-level", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	char err[256], *end;
	long level;
	int c;

	while ((c = getopt_long(argc, argv, "r:l:hV", opts, NULL)) != -1) {
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

static void on_signal(struct uloop_src *s, int res)
{
	struct vxdp_daemon *d = (struct vxdp_daemon *)((char *)s -
						       offsetof(struct vxdp_daemon, sig_src));

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
	static struct vxdp_daemon d = { .sigfd = -1 };
	unsigned int opened = 0, i;
	int err, ret = EXIT_FAILURE;

	if (parse_args(&d, argc, argv))
		return EXIT_USAGE;
	libbpf_set_print(libbpf_log);
	if (kcheck_run())
		return EXIT_FAILURE;

	d.relays = calloc(d.nrelays, sizeof(*d.relays));
	if (!d.relays) {
		pr_err("out of memory");
		return EXIT_FAILURE;
	}
	if (uloop_init(&d.loop, 256))
		goto out_free;
	err = signals_setup(&d);
	if (err) {
		pr_err("signal setup: %s", strerror(-err));
		goto out_loop;
	}
	for (opened = 0; opened < d.nrelays; opened++) {
		if (relay_open(&d.relays[opened], &d.cfg[opened], &d.loop)) {
			pr_err("%s: relay not started", d.cfg[opened].name);
			goto out_relays;
		}
	}
	pr_notice("ready: %u relay%s", d.nrelays, d.nrelays == 1 ? "" : "s");
	err = uloop_run(&d.loop);
	ret = err ? EXIT_FAILURE : EXIT_SUCCESS;

out_relays:
	for (i = opened; i-- > 0;)
		relay_close(&d.relays[i]);
out_loop:
	if (d.sigfd >= 0)
		close(d.sigfd);
	uloop_fini(&d.loop);
out_free:
	free(d.relays);
	return ret;
}
