// SPDX-License-Identifier: GPL-2.0
/* vxdp-hostile: attack one relay as a hostile vhost-user frontend (and
 * guest) while two neighbour relays on the same worker are timed: relay B's
 * datapath (a frame sent on B's tx ring, reflected by the peer, back on B's
 * rx ring) and relay C's control plane (GET_FEATURES round trips). Prints
 * "key=value" result lines (one per attack, one per probe with the worst
 * wait) and exits 0 when the relay held and every probe answered within
 * --max-wait.
 *
 *   vxdp-hostile --target SOCK [--probe-data SOCK] [--probe-ctl SOCK]
 *                [--duration S] [--cycles N] [--max-wait MS] [--hugetlb]
 *                [--daemon-pid PID] ATTACK...
 *
 * Attacks are listed by --list; adding one is one function and one line in
 * its module's table: attacks_conn.c for the control plane, attacks_mem.c
 * for guest memory and the datapath.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <linux/virtio_config.h>

#include "hostile.h"

static const struct hostile_attack *const attack_sets[] = {
	conn_attacks,
	mem_attacks,
};

/* ---- neighbour probes ---- */

#define PROBE_GAP_MS	5	/* between two probes of one neighbour */
#define PROBE_LOST_MS	1000	/* a probe unanswered this long is lost */
/* Probes each neighbour gets at least from an attack's start: a short
 * attack is followed until then (3 s at most).
 */
#define PROBE_MIN	10

struct probe {
	const char *name;
	const char *path;
	pthread_t thread;
	bool started;
	int (*setup)(struct probe *p);
	int (*once)(struct probe *p);	/* one timed probe: 0 answered */
	void (*teardown)(struct probe *p);
	/* results */
	unsigned int n, lost, over;
	double worst_ms, sum_ms;
	double worst_raw_ms;	/* before taking run-queue waits off */
	unsigned int max_wait_ms;
	/* state */
	struct fe_dev dev;
	uint32_t seq;
	int err;
	/* Held around each probe: hostile_on_ctl() goes between two. */
	pthread_mutex_t lock;
};

static volatile bool probes_stop;
static struct probe *ctl_probe;

/* The daemon's worker threads (--daemon-pid): a probe's wait minus the time
 * the worker and the probe itself sat on a run queue is what the relay
 * made it wait; the rest is the machine's other load.
 */
#define MAX_WORKERS 64
static char worker_stat[MAX_WORKERS][320];
static unsigned int nworkers;

/* Nanoseconds a thread waited for a CPU (schedstat's second field). */
static uint64_t run_delay(const char *path)
{
	unsigned long long run, wait = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return 0;
	if (fscanf(f, "%llu %llu", &run, &wait) != 2)
		wait = 0;
	fclose(f);
	return wait;
}

static uint64_t workers_delay(void)
{
	uint64_t sum = 0;
	unsigned int i;

	for (i = 0; i < nworkers; i++)
		sum += run_delay(worker_stat[i]);
	return sum;
}

uint64_t hostile_runq_ns(void)
{
	return workers_delay() + run_delay("/proc/thread-self/schedstat");
}

static void find_workers(const char *pid)
{
	char path[320], comm[32];
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%s/task", pid);
	d = opendir(path);
	if (!d)
		return;
	while ((e = readdir(d)) && nworkers < MAX_WORKERS) {
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/task/%s/comm", pid, e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f) && !strncmp(comm, "vxdp-w", 6))
			snprintf(worker_stat[nworkers++], sizeof(worker_stat[0]),
				 "/proc/%s/task/%s/schedstat", pid, e->d_name);
		fclose(f);
	}
	closedir(d);
}

/* C: a frontend that negotiated REPLY_ACK and nothing else (no memory,
 * no rings); an attack may make it do more (hostile_on_ctl()).
 */
static int ctl_setup(struct probe *p)
{
	struct fe_cfg cfg = {
		.protocol = 1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK,
	};
	int sock = fe_connect_served(p->path, 2000);

	if (sock < 0)
		return sock;
	return fe_dev_hello(&p->dev, sock, &cfg, 2000);
}

static int ctl_once(struct probe *p)
{
	uint64_t f;

	return fe_get_u64(p->dev.sock, VHOST_USER_GET_FEATURES, &f, PROBE_LOST_MS);
}

int hostile_on_ctl(int (*fn)(struct fe_dev *c, void *arg), void *arg)
{
	int ret;

	if (!ctl_probe || !ctl_probe->started)
		return -ENOTCONN;
	pthread_mutex_lock(&ctl_probe->lock);
	ret = fn(&ctl_probe->dev, arg);
	pthread_mutex_unlock(&ctl_probe->lock);
	return ret;
}

/* Data probe frames: from a locally administered MAC to another, an
 * experimental ethertype, a magic and a sequence number. The peer's
 * reflector swaps the MACs.
 */
#define PROBE_ETHERTYPE	0x88b5
#define PROBE_MAGIC	0x76786470u	/* "vxdp" */

static bool data_match(const uint8_t *f, uint32_t len, void *arg)
{
	uint32_t seq = *(uint32_t *)arg, magic, s;

	if (len < 22 || f[12] != PROBE_ETHERTYPE >> 8 || f[13] != (PROBE_ETHERTYPE & 0xff))
		return false;
	memcpy(&magic, f + 14, 4);
	memcpy(&s, f + 18, 4);
	return magic == PROBE_MAGIC && s == seq;
}

static int data_once(struct probe *p)
{
	uint8_t f[60] = {
		0x02, 0, 0, 0, 0, 0xfe,		/* dst */
		0x02, 0, 0, 0, 0, 0x0b,		/* src */
		PROBE_ETHERTYPE >> 8, PROBE_ETHERTYPE & 0xff,
	};
	uint32_t magic = PROBE_MAGIC, seq = ++p->seq;
	int err;

	memcpy(f + 14, &magic, 4);
	memcpy(f + 18, &seq, 4);
	err = fe_dev_send(&p->dev, f, sizeof(f));
	if (err)
		return err;
	return fe_dev_recv(&p->dev, data_match, &seq, PROBE_LOST_MS);
}

static int data_setup(struct probe *p)
{
	int err, i;

	err = fe_dev_open(&p->dev, p->path, NULL, 2000);
	if (err)
		return err;
	fe_dev_fill_rx(&p->dev);
	/* The first frames may find the relay's rings still settling. */
	for (i = 0; i < 20; i++)
		if (!data_once(p))
			return 0;
	return -ETIMEDOUT;
}

static void probe_teardown(struct probe *p)
{
	fe_dev_close(&p->dev);
}

static void *probe_main(void *arg)
{
	struct probe *p = arg;

	while (!probes_stop) {
		uint64_t d0, d1, t0;
		double raw, ms;
		int err;

		pthread_mutex_lock(&p->lock);
		d0 = hostile_runq_ns();
		t0 = now_ns();
		err = p->once(p);
		raw = ms_since(t0);
		d1 = hostile_runq_ns();
		pthread_mutex_unlock(&p->lock);

		ms = raw - (d1 - d0) / 1e6;
		if (ms < 0)
			ms = 0;
		if (raw > p->worst_raw_ms)
			p->worst_raw_ms = raw;

		__atomic_add_fetch(&p->n, 1, __ATOMIC_RELAXED);
		if (err) {
			p->lost++;
			if (!p->err)
				p->err = err;
			/* A broken connection would fail every probe: the
			 * neighbour is as good as dead; count it once.
			 */
			if (err != -ETIMEDOUT)
				break;
		}
		p->sum_ms += ms;
		if (ms > p->worst_ms)
			p->worst_ms = ms;
		if (ms > p->max_wait_ms)
			p->over++;
		sleep_ms(PROBE_GAP_MS);
	}
	return NULL;
}

static int probe_start(struct probe *p)
{
	int err;

	pthread_mutex_init(&p->lock, NULL);
	err = p->setup(p);

	if (err) {
		hostile_log("probe %s (%s): setup failed: %s", p->name, p->path,
			    strerror(-err));
		return err;
	}
	err = pthread_create(&p->thread, NULL, probe_main, p);
	if (err)
		return -err;
	p->started = true;
	return 0;
}

/* Stop the probe, report it; true when it held. */
static bool probe_finish(struct probe *p)
{
	bool ok;

	if (!p->started)
		return true;
	pthread_join(p->thread, NULL);
	p->teardown(p);
	ok = !p->lost && !p->over && p->n;
	hostile_report("probe=%s n=%u lost=%u over=%u worst_ms=%.2f worst_raw_ms=%.2f mean_ms=%.3f max_wait_ms=%u%s%s",
		       p->name, p->n, p->lost, p->over, p->worst_ms,
		       p->worst_raw_ms, p->n ? p->sum_ms / p->n : 0.0, p->max_wait_ms,
		       p->err ? " error=" : "", p->err ? strerror(-p->err) : "");
	return ok;
}

/* After an attack, until every running probe has PROBE_MIN probes since
 * @n0 (or gave up).
 */
static void probes_follow(struct probe *probes, const unsigned int *n0)
{
	uint64_t t0 = now_ns();
	unsigned int i;

	for (i = 0; i < 2; i++)
		while (probes[i].started && ms_since(t0) < 3000 &&
		       __atomic_load_n(&probes[i].n, __ATOMIC_RELAXED) < n0[i] + PROBE_MIN &&
		       !probes[i].err)
			sleep_ms(PROBE_GAP_MS);
}

long hostile_daemon_ticks(const struct hostile_opts *o)
{
	char path[64], buf[1024], *p;
	unsigned long ut, st;
	FILE *f;

	if (!o->daemon_pid)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/stat", o->daemon_pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	/* utime and stime: fields 14 and 15, the 12th and 13th after ") " */
	if (!p || !(p = strrchr(buf, ')')) ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
		   &ut, &st) != 2)
		return -1;
	return ut + st;
}

unsigned long hostile_majflt(const struct hostile_opts *o)
{
	unsigned long n = 0, d;
	char path[64], buf[1024], *p;
	struct rusage ru;
	FILE *f;

	if (!getrusage(RUSAGE_THREAD, &ru))
		n = ru.ru_majflt;
	if (!o->daemon_pid)
		return n;
	snprintf(path, sizeof(path), "/proc/%d/stat", o->daemon_pid);
	f = fopen(path, "re");
	if (!f)
		return n;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	/* majflt: field 12, the 10th after ") " */
	if (p && (p = strrchr(buf, ')')) &&
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %lu", &d) == 1)
		n += d;
	return n;
}

/* ---- main ---- */

static const struct hostile_attack *find_attack(const char *name)
{
	unsigned int i;
	const struct hostile_attack *a;

	for (i = 0; i < sizeof(attack_sets) / sizeof(attack_sets[0]); i++)
		for (a = attack_sets[i]; a->name; a++)
			if (!strcmp(a->name, name))
				return a;
	return NULL;
}

static void list_attacks(void)
{
	unsigned int i;
	const struct hostile_attack *a;

	for (i = 0; i < sizeof(attack_sets) / sizeof(attack_sets[0]); i++)
		for (a = attack_sets[i]; a->name; a++)
			printf("%-18s %s\n", a->name, a->help);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: vxdp-hostile --target SOCK [--probe-data SOCK] [--probe-ctl SOCK]\n"
		   "                    [--duration S] [--cycles N] [--max-wait MS] [--reach MS]\n"
		   "                    [--daemon-pid PID] [--hugetlb] ATTACK...\n"
		   "       vxdp-hostile --list\n");
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "target", required_argument, NULL, 't' },
		{ "probe-data", required_argument, NULL, 'd' },
		{ "probe-ctl", required_argument, NULL, 'c' },
		{ "duration", required_argument, NULL, 'D' },
		{ "cycles", required_argument, NULL, 'n' },
		{ "max-wait", required_argument, NULL, 'w' },
		{ "reach", required_argument, NULL, 'r' },
		{ "daemon-pid", required_argument, NULL, 'p' },
		{ "hugetlb", no_argument, NULL, 'H' },
		{ "list", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct hostile_opts o = { .max_wait_ms = 20, .reach_ms = 5000 };
	static struct probe probes[2] = {
		{ .name = "data", .setup = data_setup, .once = data_once,
		  .teardown = probe_teardown },
		{ .name = "ctl", .setup = ctl_setup, .once = ctl_once,
		  .teardown = probe_teardown },
	};
	int c, i, rc = 0;

	while ((c = getopt_long(argc, argv, "t:d:c:D:n:w:r:p:Hlh", lopts, NULL)) != -1) {
		switch (c) {
		case 't': o.target = optarg; break;
		case 'd': probes[0].path = optarg; break;
		case 'c': probes[1].path = optarg; break;
		case 'D': o.duration = atof(optarg); break;
		case 'n': o.cycles = strtoul(optarg, NULL, 0); break;
		case 'w': o.max_wait_ms = strtoul(optarg, NULL, 0); break;
		case 'r': o.reach_ms = strtoul(optarg, NULL, 0); break;
		case 'p':
			find_workers(optarg);
			o.daemon_pid = atoi(optarg);
			break;
		case 'H': o.hugetlb = true; break;
		case 'l': list_attacks(); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!o.target || optind >= argc) {
		usage(stderr);
		return 2;
	}
	for (i = optind; i < argc; i++) {
		if (!find_attack(argv[i])) {
			hostile_log("no attack '%s' (--list)", argv[i]);
			return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);

	ctl_probe = &probes[1];
	for (i = 0; i < 2; i++) {
		probes[i].max_wait_ms = o.max_wait_ms;
		if (probes[i].path && probe_start(&probes[i]))
			return 2;
	}
	for (i = optind; i < argc; i++) {
		const struct hostile_attack *a = find_attack(argv[i]);
		unsigned int n0[2] = {
			__atomic_load_n(&probes[0].n, __ATOMIC_RELAXED),
			__atomic_load_n(&probes[1].n, __ATOMIC_RELAXED),
		};
		int r;

		hostile_log("attack %s on %s", a->name, o.target);
		r = a->run(&o);
		if (r > rc)
			rc = r;
		probes_follow(probes, n0);
	}
	probes_stop = true;
	for (i = 0; i < 2; i++)
		if (!probe_finish(&probes[i]) && !rc)
			rc = 1;
	return rc;
}
