// SPDX-License-Identifier: GPL-2.0
/* vxdp-relay: the daemon's entry point. Reads its options (command line,
 * config file), checks the kernel, starts the workers and the relays, then
 * runs the main thread's loop: signals (SIGINT/SIGTERM stop, SIGHUP reloads
 * the config file), the control socket, the failover agent, the VFs' link
 * notifications, a worker that failed.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "agent/failover_agent.h"
#include "config.h"
#include "control.h"
#include "daemon.h"
#include "kcheck.h"
#include "net/ethtool_watch.h"
#include "net/nl_watch.h"
#include "service.h"
#include "util/compiler.h"
#include "util/log.h"
#include "util/uring_loop.h"
#include "vhost/guest_mem.h"
#include "xdp/xsk_port.h"

#define VXDP_VERSION "0.1.0"

#define EXIT_USAGE 2

/* The main thread: everything else hangs off it. Its loop waits for
 * signals, control clients and a worker whose loop failed; the relays run
 * on the workers' loops.
 */
struct vxdp_main {
	struct uloop loop;
	struct daemon_cfg *cfg;
	struct vxdp_daemon *d;
	struct fo_agent *agent;		/* failover: relays with a primary */
	struct control *ctl;
	bool control_given;	/* --control or control= given, not the default */
	int sigfd;
	struct uloop_src sig_src;
	struct signalfd_siginfo si;
	int fail_fd;		/* eventfd: a worker's loop failed */
	struct uloop_src fail_src;
	struct nl_watch *nlw;	/* link notifications: the VFs' lifecycle */
	struct uloop_src nl_src;
	struct ethtool_watch *etw;	/* ... and their channel count changes */
	struct uloop_src et_src;
	int tick_fd;		/* timerfd: daemon_tick() */
	struct uloop_src tick_src;
	bool failed;
	unsigned int nfile;	/* the first relays, from the config file */
};

/* --help=conf-man: the config file's keys, for vxdp-relay.conf(5). */
#define HELP_CONF_MAN (-2)

static void usage(FILE *f, int fmt)
{
	if (fmt == HELP_CONF_MAN) {
		fprintf(f, ".SS \"[daemon]\"\n");
		opt_print_help(f, daemon_opts, daemon_nopts, "", OPT_FMT_MAN, OPT_CLI);
		fprintf(f, ".SS \"[relay NAME]\"\n");
		opt_print_help(f, relay_opts, relay_nopts, "", OPT_FMT_MAN, 0);
		return;
	}
	if (fmt == OPT_FMT_TEXT)
		fprintf(f,
			"Usage: vxdp-relay [--config FILE] [--relay vf=IFNAME,socket=PATH[,OPTS] ...]\n"
			"                  [--workers N] [--control PATH] [OPTIONS]\n"
			"\n"
			"Relays frames between VFs (host netdevs, XDP + AF_XDP) and QEMU guests'\n"
			"virtio-net devices over vhost-user. Relays come from --relay, the config\n"
			"file, or vxdpctl add; the daemon may start with none.\n"
			"\nOptions:\n");
	else if (fmt == OPT_FMT_MARKDOWN)
		fprintf(f, "Daemon options (command line; in the config file's `[daemon]` without the dashes):\n\n");
	else if (fmt == OPT_FMT_MAN)
		fprintf(f, ".SH OPTIONS\n");
	opt_print_help(f, daemon_opts, daemon_nopts, "--", fmt, 0);
	if (fmt == OPT_FMT_TEXT)
		fprintf(f,
			"  -h, --help[=FMT]      this text; FMT man, conf-man or markdown prints\n"
			"                        the option tables for the man pages or the README\n"
			"  -V, --version         print the version\n"
			"\nRelay options (--relay KEY=VALUE,..., vxdpctl add, and the keys of a\n"
			"[relay NAME] section of the config file):\n");
	else if (fmt == OPT_FMT_MARKDOWN)
		fprintf(f, "\nRelay options (comma-separated after `--relay` and `vxdpctl add`; one per line in a `[relay NAME]` section):\n\n");
	else if (fmt == OPT_FMT_MAN)
		fprintf(f, ".TP\n.B \\-h, \\-\\-help[=FMT]\nthis text; FMT man, conf\\-man or markdown prints the option tables for the man pages or the README\n"
			".TP\n.B \\-V, \\-\\-version\nprint the version\n"
			".SH RELAY OPTIONS\n"
			"Comma\\-separated after \\fB\\-\\-relay\\fR and \\fBvxdpctl add\\fR, one per line in a "
			"\\fB[relay \\fINAME\\fB]\\fR section of \\fBvxdp\\-relay.conf\\fR(5):\n");
	opt_print_help(f, relay_opts, relay_nopts, "", fmt, 0);
	if (fmt == OPT_FMT_TEXT)
		fprintf(f,
			"\nSignals: SIGINT/SIGTERM stop, SIGHUP reads the config file again.\n"
			"Exit status: 0 after SIGINT/SIGTERM, 1 when a relay cannot start, 2 on usage errors.\n");
}

/* getopt's table from the option table, plus --help and --version. */
static void build_longopts(struct option *lo, char *shorts)
{
	size_t i, k = 0;

	for (i = 0; i < daemon_nopts; i++) {
		const struct opt *o = &daemon_opts[i];

		lo[i] = (struct option){ o->name,
					 o->type == OPT_FLAG ? no_argument : required_argument,
					 NULL, o->short_name ? o->short_name : 256 + (int)i };
		if (o->short_name) {
			shorts[k++] = o->short_name;
			if (o->type != OPT_FLAG)
				shorts[k++] = ':';
		}
	}
	lo[i++] = (struct option){ "help", optional_argument, NULL, 'h' };
	lo[i++] = (struct option){ "version", no_argument, NULL, 'V' };
	lo[i] = (struct option){ 0 };
	strcpy(shorts + k, "hV");
}

static const struct opt *opt_by_code(int c)
{
	size_t i;

	for (i = 0; i < daemon_nopts; i++)
		if (c == (daemon_opts[i].short_name ? daemon_opts[i].short_name : 256 + (int)i))
			return &daemon_opts[i];
	return NULL;
}

/* Under systemd the control socket goes in the unit's RuntimeDirectory=
 * (the first, if it names several), which is then the daemon's own: not
 * being able to listen there is an error, as for --control.
 */
static void control_default(struct vxdp_main *m)
{
	const char *rt = getenv("RUNTIME_DIRECTORY");
	struct daemon_cfg *d = m->cfg;

	if (m->control_given || !rt || !*rt)
		return;
	snprintf(d->control, sizeof(d->control), "%.*s/control.sock",
		 (int)strcspn(rt, ":"), rt);
	m->control_given = true;
}

/* Two passes: --config (and --help/--version) first, so that the file is
 * read before the command line, whose options then win.
 */
static int parse_args(struct vxdp_main *m, int argc, char **argv)
{
	struct option lo[32];
	char shorts[64], err[512];
	struct daemon_cfg *d = m->cfg;
	const struct opt *o;
	int c, fmt, pass;

	build_longopts(lo, shorts);
	for (pass = 0; pass < 2; pass++) {
		optind = 1;
		opterr = pass == 0;
		while ((c = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
			if (c == 'h') {
				fmt = optarg && !strcmp(optarg, "conf-man") ? HELP_CONF_MAN :
				      opt_fmt_parse(optarg);
				if (fmt == -1) {
					fprintf(stderr, "vxdp-relay: --help=%s: expected man, conf-man or markdown\n",
						optarg);
					return -EINVAL;
				}
				usage(stdout, fmt);
				exit(0);
			}
			if (c == 'V') {
				printf("vxdp-relay " VXDP_VERSION "\n");
				exit(0);
			}
			o = opt_by_code(c);
			if (!o) {
				usage(stderr, OPT_FMT_TEXT);
				return -EINVAL;
			}
			if ((pass == 0) != !strcmp(o->name, "config"))
				continue;
			if (opt_set(o, d, optarg, err, sizeof(err))) {
				fprintf(stderr, "vxdp-relay: --%s\n", err);
				return -EINVAL;
			}
			if (!strcmp(o->name, "control"))
				m->control_given = true;
			if (!strcmp(o->name, "config") &&
			    conf_load(d->config, d, err, sizeof(err))) {
				fprintf(stderr, "vxdp-relay: %s\n", err);
				return -EINVAL;
			}
		}
		if (pass == 0)
			m->nfile = d->nrelays;
		if (pass == 0 && d->config[0]) {
			/* A control= in the file counts as given. */
			m->control_given |= strcmp(d->control, VXDP_CONTROL_DEFAULT) != 0;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vxdp-relay: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	control_default(m);
	if (!d->nrelays && !d->config[0] && !d->control[0]) {
		fprintf(stderr, "vxdp-relay: nothing to run: no --relay, no --config and --control none\n");
		usage(stderr, OPT_FMT_TEXT);
		return -EINVAL;
	}
	if (relay_cfg_check_unique(d->relay, d->nrelays, err, sizeof(err))) {
		fprintf(stderr, "vxdp-relay: %s\n", err);
		return -EINVAL;
	}
	log_level = d->log_level;
	log_set_target(d->log_target, "vxdp-relay");
	if (d->test_only) {
		printf("vxdp-relay: configuration fine: %u relay%s%s%s\n", d->nrelays,
		       d->nrelays == 1 ? "" : "s", d->config[0] ? " from " : "", d->config);
		exit(0);
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
	struct vxdp_main *m = container_of(s, struct vxdp_main, fail_src);

	(void)res;
	pr_err("a worker stopped: shutting down");
	m->failed = true;
	uloop_stop(&m->loop);
}

/* A link appeared, changed or went: the relays whose VF it may be look at
 * theirs again (relay_vf.c). FDB notifications are the agent's business.
 */
static void on_link(const struct nl_watch_event *ev, void *arg)
{
	struct vxdp_main *m = arg;

	if (ev->kind == NLW_LINK_NEW || ev->kind == NLW_LINK_DEL)
		daemon_vf_event(m->d, ev->ifindex, ev->ifname);
	else if (ev->kind == NLW_OVERRUN)
		daemon_vf_event(m->d, 0, NULL);
}

static void on_netlink(struct uloop_src *s, int res)
{
	struct vxdp_main *m = container_of(s, struct vxdp_main, nl_src);
	int err;

	(void)res;
	err = nl_watch_dispatch(m->nlw);
	if (err < 0) {
		pr_err("link notifications: %s; VF changes are no longer followed",
		       strerror(-err));
		uloop_del(&m->loop, &m->nl_src);
	}
}

/* ethtool -L: the relays whose VF it is look at it now, not when the
 * kernel's link watch gets round to the link notification.
 */
static void on_channels(int ifindex, const char *ifname, void *arg)
{
	struct vxdp_main *m = arg;

	daemon_vf_event(m->d, ifindex, *ifname ? ifname : NULL);
}

static void on_ethtool(struct uloop_src *s, int res)
{
	struct vxdp_main *m = container_of(s, struct vxdp_main, et_src);
	int err;

	(void)res;
	err = ethtool_watch_dispatch(m->etw);
	if (err < 0) {
		pr_err("ethtool notifications: %s; channel changes are seen with the link's",
		       strerror(-err));
		uloop_del(&m->loop, &m->et_src);
	}
}

/* Without the watch relays still run; they just do not follow their VF. */
static void link_watch_start(struct vxdp_main *m)
{
	int err = nl_watch_open(&m->nlw, on_link, m);

	if (!err)
		err = uloop_add_poll(&m->loop, &m->nl_src, nl_watch_fd(m->nlw), POLLIN,
				     on_netlink);
	if (err) {
		pr_warn("cannot watch links (%s): relays will not follow their VF going down, away or changing",
			strerror(-err));
		return;
	}
	err = ethtool_watch_open(&m->etw, on_channels, m);
	if (!err)
		err = uloop_add_poll(&m->loop, &m->et_src, ethtool_watch_fd(m->etw), POLLIN,
				     on_ethtool);
	if (err)
		pr_notice("no ethtool notifications (%s): a VF's channel change is seen with its link's notification, which the kernel may hold for up to 1 s",
			  strerror(-err));
}

/* SIGHUP: read the config file again; on any error keep everything as it
 * is. Daemon options other than the log level take effect at a restart.
 */
static void reload(struct vxdp_main *m)
{
	struct daemon_cfg *want;
	unsigned int added, removed, changed;
	char err[512];
	int failed;

	if (!m->cfg->config[0]) {
		pr_notice("SIGHUP: no --config file to read again");
		return;
	}
	want = malloc(sizeof(*want));
	if (!want) {
		pr_err("reload: out of memory");
		return;
	}
	daemon_cfg_init(want);
	if (conf_load(m->cfg->config, want, err, sizeof(err))) {
		pr_err("reload: %s; nothing changed", err);
		service_status("reload failed, nothing changed: %s", err);
		free(want);
		return;
	}
	if (daemon_cfg_workers(want) != daemon_cfg_workers(m->cfg) ||
	    want->ncpus != m->cfg->ncpus ||
	    memcmp(want->cpus, m->cfg->cpus, sizeof(want->cpus)) ||
	    want->balance_ms != m->cfg->balance_ms ||
	    want->busy_poll_us != m->cfg->busy_poll_us || want->mem_max != m->cfg->mem_max ||
	    strcmp(want->control, m->cfg->control) || want->control_group != m->cfg->control_group)
		pr_notice("reload: [daemon] workers, cpus, balance-interval, busy-poll, mem-max and control take effect at the next start");
	log_level = want->log_level;
	failed = daemon_relay_sync(m->d, want->relay, want->nrelays, &added, &removed, &changed);
	pr_notice("reloaded %s: %u relay%s added, %u removed, %u re-created, %d failed; %u running",
		  m->cfg->config, added, added == 1 ? "" : "s", removed, changed, failed,
		  daemon_nrelays(m->d));
	free(want);
}

static void on_signal(struct uloop_src *s, int res)
{
	struct vxdp_main *m = container_of(s, struct vxdp_main, sig_src);

	if (res != sizeof(m->si))
		return;
	if (m->si.ssi_signo == SIGHUP) {
		service_reloading();
		reload(m);
		/* Ready again, whatever the reload did: the daemon runs. */
		service_ready(daemon_nrelays(m->d));
		return;
	}
	pr_notice("signal %u: shutting down", m->si.ssi_signo);
	uloop_stop(&m->loop);
}

/* SIGINT/SIGTERM/SIGHUP arrive through the ring like everything else. */
static int signals_setup(struct vxdp_main *m)
{
	sigset_t mask;

	signal(SIGPIPE, SIG_IGN);	/* a frontend vanishing mid-reply */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL))
		return -errno;
	m->sigfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (m->sigfd < 0)
		return -errno;
	return uloop_add_read(&m->loop, &m->sig_src, m->sigfd, &m->si,
			      sizeof(m->si), on_signal);
}

/* The relays of the command line and the config file, in that file's order
 * and then the command line's; the first that fails stops the start.
 */
static int start_relays(struct vxdp_main *m, unsigned int nfile)
{
	enum relay_origin origin[RELAY_MAX];
	char err[512];
	unsigned int i;

	/* All at once: each worker opens its own, in parallel. */
	for (i = 0; i < m->cfg->nrelays; i++) {
		origin[i] = i < nfile ? RELAY_FROM_FILE : RELAY_FROM_CLI;
		service_status("starting relay %s (%u of %u)", m->cfg->relay[i].name, i + 1,
			       m->cfg->nrelays);
	}
	if (daemon_relay_add_many(m->d, m->cfg->relay, origin, m->cfg->nrelays,
				  err, sizeof(err))) {
		pr_err("%s; relay not started", err);
		service_status("%s", err);
		return -EINVAL;
	}
	return 0;
}

/* The workers' load, sampled every balance interval (the balancer). */
static void on_tick(struct uloop_src *s, int res)
{
	struct vxdp_main *m = container_of(s, struct vxdp_main, tick_src);

	if (res > 0)
		daemon_tick(m->d);
}

static int tick_start(struct vxdp_main *m)
{
	unsigned int ms = daemon_tick_ms(m->d);
	struct itimerspec its = { 0 };

	if (!ms)
		return 0;	/* one worker: nothing to balance */
	its.it_value.tv_sec = its.it_interval.tv_sec = ms / 1000;
	its.it_value.tv_nsec = its.it_interval.tv_nsec = (ms % 1000) * 1000000L;
	m->tick_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	if (m->tick_fd < 0 || timerfd_settime(m->tick_fd, 0, &its, NULL))
		return -errno;
	return uloop_add_read(&m->loop, &m->tick_src, m->tick_fd, NULL, 0, on_tick);
}

static int control_start(struct vxdp_main *m)
{
	int err;

	if (!m->cfg->control[0])
		return 0;
	err = control_open(&m->ctl, &m->loop, m->d, m->agent, m->cfg->control,
			   m->cfg->control_group, VXDP_VERSION);
	if (!err || m->control_given)
		return err;
	/* The default path, taken (another daemon) or not creatable: run
	 * without, as before the control socket existed.
	 */
	pr_warn("running without a control socket (give --control PATH for one)");
	return 0;
}

int main(int argc, char **argv)
{
	static struct vxdp_main m = { .sigfd = -1, .fail_fd = -1, .tick_fd = -1 };
	int err, ret = EXIT_FAILURE;

	m.cfg = malloc(sizeof(*m.cfg));
	if (!m.cfg) {
		fprintf(stderr, "vxdp-relay: out of memory\n");
		return EXIT_FAILURE;
	}
	daemon_cfg_init(m.cfg);
	if (parse_args(&m, argc, argv)) {
		free(m.cfg);
		return EXIT_USAGE;
	}
	guest_mem_set_total_limit(m.cfg->mem_max, "the daemon's --mem-max");
	xsk_port_single_buffer(m.cfg->xsk_single_buffer);
	libbpf_set_print(libbpf_log);
	if (kcheck_run())
		goto out_cfg;

	/* Its sources: the signalfd, the worker-failure eventfd, the control
	 * socket, its timer and clients.
	 */
	if (uloop_init(&m.loop, 64))
		goto out_cfg;
	/* Before any worker exists, so that they inherit the blocked mask. */
	err = signals_setup(&m);
	if (err) {
		pr_err("signal setup: %s", strerror(-err));
		goto out_loop;
	}
	m.fail_fd = eventfd(0, EFD_CLOEXEC);
	err = m.fail_fd < 0 ? -errno :
	      uloop_add_read(&m.loop, &m.fail_src, m.fail_fd, NULL, 0, on_worker_fail);
	if (err) {
		pr_err("worker eventfd: %s", strerror(-err));
		goto out_loop;
	}
	err = daemon_create(&m.d, m.cfg, m.fail_fd, "/sys");
	if (err) {
		pr_err("cannot start the workers: %s", strerror(-err));
		goto out_loop;
	}
	/* Before the relays, so that no change of their VF goes unseen. */
	link_watch_start(&m);
	/* Before the relays: those with a primary get their VM as they open. */
	err = fo_agent_open(&m.agent, &m.loop, m.d);
	if (err) {
		pr_err("failover agent: %s", strerror(-err));
		goto out_daemon;
	}
	if (start_relays(&m, m.nfile) || control_start(&m))
		goto out_daemon;
	err = tick_start(&m);
	if (err) {
		pr_err("balancer timer: %s", strerror(-err));
		goto out_daemon;
	}
	/* Type=notify: the service is up once its relays are. */
	pr_notice("ready: %u relay%s", daemon_nrelays(m.d),
		  daemon_nrelays(m.d) == 1 ? "" : "s");
	service_ready(daemon_nrelays(m.d));
	err = uloop_run(&m.loop);
	service_stopping();
	if (!err && !m.failed)
		ret = EXIT_SUCCESS;

out_daemon:
	control_close(m.ctl);
	uloop_del(&m.loop, &m.nl_src);
	uloop_del(&m.loop, &m.et_src);
	if (daemon_destroy(m.d))
		ret = EXIT_FAILURE;
	/* after the relays, which post to its VMs until they close */
	fo_agent_close(m.agent);
out_loop:
	nl_watch_close(m.nlw);
	ethtool_watch_close(m.etw);
	if (m.tick_fd >= 0)
		close(m.tick_fd);
	if (m.fail_fd >= 0)
		close(m.fail_fd);
	if (m.sigfd >= 0)
		close(m.sigfd);
	uloop_fini(&m.loop);
out_cfg:
	free(m.cfg);
	return ret;
}
