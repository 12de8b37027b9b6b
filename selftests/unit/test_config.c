// SPDX-License-Identifier: GPL-2.0
/* Unit tests of the option tables, --relay spec parsing and the config
 * file: good input parses, bad input says why (file, line, key).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/config.h"
#include "ktap.h"

static int bad(const char *spec, const char *want)
{
	struct relay_cfg c;
	char err[256] = "";

	if (relay_cfg_parse(&c, spec, err, sizeof(err)) != -EINVAL)
		return 0;
	if (!strstr(err, want)) {
		ktap_diag("'%s': message '%s' lacks '%s'", spec, err, want);
		return 0;
	}
	return 1;
}

static char conf_path[64];

/* Write @text to a fresh file and read it as a config file into @d. */
static int load(const char *text, struct daemon_cfg *d, char *err, size_t errlen)
{
	FILE *f;
	int fd;

	strcpy(conf_path, "/tmp/vxdp-test-conf.XXXXXX");
	fd = mkstemp(conf_path);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	daemon_cfg_init(d);
	fd = conf_load(conf_path, d, err, errlen);
	unlink(conf_path);
	return fd;
}

/* A broken file: refused, and the message names file, line and @want. */
static int conf_bad(const char *text, unsigned int line, const char *want)
{
	struct daemon_cfg *d = malloc(sizeof(*d));
	char err[512] = "", where[96];
	int ok;

	ok = d && load(text, d, err, sizeof(err)) == -EINVAL;
	snprintf(where, sizeof(where), "%s:%u:", conf_path, line);
	if (ok && (!strstr(err, where) || !strstr(err, want))) {
		ktap_diag("message '%s' lacks '%s' or '%s'", err, where, want);
		ok = 0;
	}
	free(d);
	return ok;
}

static void test_conf(void)
{
	struct daemon_cfg *d = malloc(sizeof(*d));
	struct relay_cfg spec;
	char err[512] = "", *md = NULL;
	size_t mdlen = 0, i;
	FILE *f;
	int ok;

	ok = !load("# vxdp-relay.conf\n"
		   "[daemon]\n"
		   "workers = 3\n"
		   "  busy-poll=0\n"
		   "control = /run/x/ctl.sock\n"
		   "\n"
		   "[relay vm1]\n"
		   "vf = eth1\n"
		   "socket = /run/vm1.sock\n"
		   "; another comment\n"
		   "mac = 52:54:00:00:00:01\n"
		   "[relay vm2]\n"
		   "vf = eth2\n"
		   "socket = /run/vm2.sock\n"
		   "queues = 4\n"
		   "mode = client\n", d, err, sizeof(err));
	KTAP_CHECK(ok && d->workers == 3 && d->busy_poll_us == 0 && d->log_level == 5 &&
		   !strcmp(d->control, "/run/x/ctl.sock"), "config file: [daemon] options, defaults kept");
	if (!ok)
		ktap_diag("%s", err);
	KTAP_CHECK(ok && d->nrelays == 2 && !strcmp(d->relay[0].name, "vm1") &&
		   !strcmp(d->relay[0].vf, "eth1") && d->relay[0].has_mac &&
		   !strcmp(d->relay[1].name, "vm2") && d->relay[1].queues == 4 && d->relay[1].client,
		   "config file: [relay NAME] sections, named by their header");
	ok = ok && !relay_cfg_parse(&spec, "vf=eth1,socket=/run/vm1.sock,mac=52:54:00:00:00:01,name=vm1",
				    err, sizeof(err));
	KTAP_CHECK(ok && relay_cfg_equal(&spec, &d->relay[0]) && !relay_cfg_equal(&spec, &d->relay[1]),
		   "a section and the same --relay spec give equal relays (reload compares so)");

	KTAP_CHECK(conf_bad("[daemon]\nworkers = 2\n[relay a]\nvf = e1\nsocket = /s\ncolour = blue\n",
			    6, "key 'colour'"), "unknown key: file, line 6 and key named");
	KTAP_CHECK(conf_bad("[relay a]\nvf = e1\nsocket = /s\nqueues = 99\n", 4, "queues=99: expected 1 to 32"),
		   "bad value: line and the option's own reason");
	KTAP_CHECK(conf_bad("workers = 2\n", 1, "before any"), "a key before any section");
	KTAP_CHECK(conf_bad("[relay a]\nvf = e1\n\n[relay b]\n", 1, "socket= is required"),
		   "a section missing a required key: its header's line");
	KTAP_CHECK(conf_bad("[relay a]\nvf = e1\nvf = e2\n", 3, "twice"), "a key given twice");
	KTAP_CHECK(conf_bad("[relay a]\nvf = e1\nsocket = /s\n[relay b]\nvf = e1\nsocket = /t\n", 4,
			    "same vf as relay a"), "two sections on one VF");
	KTAP_CHECK(conf_bad("[relays a]\n", 1, "unknown section") && conf_bad("[relay a\n", 1, "expected"),
		   "bad section headers");
	KTAP_CHECK(conf_bad("[relay a]\nname = b\n", 2, "section header"), "name= inside a section refused");
	KTAP_CHECK(conf_bad("[relay ../x]\n", 1, "name="), "a section name that cannot be a relay name");
	KTAP_CHECK(conf_bad("[daemon]\nrelay = vf=e1,socket=/s\n", 2, "key 'relay'"),
		   "command-line-only options refused in the file");
	daemon_cfg_init(d);
	KTAP_CHECK(conf_load("/nonexistent/vxdp.conf", d, err, sizeof(err)) == -ENOENT &&
		   strstr(err, "/nonexistent/vxdp.conf"), "a missing file: -ENOENT, named");

	/* The help printed from the table covers every option. */
	f = open_memstream(&md, &mdlen);
	opt_print_help(f, relay_opts, relay_nopts, "", OPT_FMT_MARKDOWN, 0);
	opt_print_help(f, daemon_opts, daemon_nopts, "--", OPT_FMT_MAN, 0);
	fclose(f);
	ok = md != NULL;
	for (i = 0; ok && i < relay_nopts; i++) {
		char key[64];

		snprintf(key, sizeof(key), "| `%s=", relay_opts[i].name);
		ok = strstr(md, key) != NULL;
	}
	for (i = 0; ok && i < daemon_nopts; i++) {
		char key[96];
		const char *n;
		size_t k;

		if (daemon_opts[i].flags & OPT_HIDDEN) {
			ok = !strstr(md, daemon_opts[i].name);
			continue;
		}
		/* troff: every '-' written as '\-' */
		k = daemon_opts[i].short_name ?
		    snprintf(key, sizeof(key), ".B \\-%c, \\-\\-", daemon_opts[i].short_name) :
		    snprintf(key, sizeof(key), ".B     \\-\\-");
		for (n = daemon_opts[i].name; *n && k < sizeof(key) - 3; n++) {
			if (*n == '-')
				key[k++] = '\\';
			key[k++] = *n;
		}
		key[k] = '\0';
		ok = strstr(md, key) != NULL;
		if (!ok)
			ktap_diag("no '%s' in the man text", key);
	}
	KTAP_CHECK(ok, "markdown and man text list every relay and daemon option, no hidden one");
	free(md);
	free(d);
}

/* vf=A+B: a bond's two members, and what a bond needs. */
static void test_bond(struct relay_cfg *c)
{
	struct daemon_cfg *d = malloc(sizeof(*d));
	char err[256];
	int ok;

	ok = !relay_cfg_parse(&c[0], "vf=enp1s0v0+enp2s0v0,socket=/x,mac=52:54:00:00:00:01",
			      err, sizeof(err));
	KTAP_CHECK(ok && !strcmp(c[0].vf, "enp1s0v0") && !strcmp(c[0].vf2, "enp2s0v0") &&
		   relay_cfg_bond(&c[0]) && !strcmp(c[0].name, "enp1s0v0"),
		   "vf=A+B: members A and B, named after A");
	ok = !relay_cfg_parse(&c[1], "vf=v0,socket=/y", err, sizeof(err));
	KTAP_CHECK(ok && !relay_cfg_bond(&c[1]) && !c[1].vf2[0], "vf=A: no bond");
	KTAP_CHECK(bad("vf=v0+v1,socket=/x", "needs the VM's mac=") &&
		   bad("vf=v0+v1,socket=/x,mac=52:54:00:00:00:01,queues=17", "at most 16"),
		   "a bond without mac=, or with 17 queue pairs: refused");
	KTAP_CHECK(bad("vf=v0+v0,socket=/x,mac=52:54:00:00:00:01", "two different") &&
		   bad("vf=v0+v1+v2,socket=/x,mac=52:54:00:00:00:01", "two members") &&
		   bad("vf=v0+,socket=/x,mac=52:54:00:00:00:01", "interface names") &&
		   bad("vf=+v1,socket=/x,mac=52:54:00:00:00:01", "interface names") &&
		   bad("vf=v0+averyveryverylongifname,socket=/x,mac=52:54:00:00:00:01",
		       "interface names"),
		   "vf=A+A, three members, an empty or too long member: refused");
	ok = !relay_cfg_parse(&c[1], "vf=enp2s0v0,socket=/y,name=b", err, sizeof(err)) &&
	     relay_cfg_collides(&c[0], &c[1]) && relay_cfg_collides(&c[1], &c[0]) &&
	     !relay_cfg_parse(&c[1], "vf=v9+enp1s0v0,socket=/y,name=b,mac=52:54:00:00:00:02",
			      err, sizeof(err)) &&
	     relay_cfg_collides(&c[0], &c[1]) &&
	     !relay_cfg_parse(&c[1], "vf=v9+v8,socket=/y,name=b,mac=52:54:00:00:00:02",
			      err, sizeof(err)) &&
	     !relay_cfg_collides(&c[0], &c[1]);
	KTAP_CHECK(ok, "a VF in two relays, as a member of either or both: refused; distinct bonds accepted");
	ok = !relay_cfg_parse(&c[1], "vf=v0+v1,socket=/y,mac=52:54:00:00:00:02,queues=16",
			      err, sizeof(err)) && c[1].queues == 16;
	KTAP_CHECK(ok, "a bond with 16 queue pairs");
	ok = d && !load("[relay vm1]\nvf = a0+b0\nsocket = /s\nmac = 52:54:00:00:00:03\n", d, err,
			sizeof(err)) && d->nrelays == 1 && !strcmp(d->relay[0].vf, "a0") &&
	     !strcmp(d->relay[0].vf2, "b0");
	KTAP_CHECK(ok, "config file: vf = a0+b0");
	free(d);
}

int main(void)
{
	struct relay_cfg c[3];
	char err[256];
	int ok;

	ktap_plan(55);

	ok = !relay_cfg_parse(&c[0], "vf=veth0,socket=/tmp/a.sock", err, sizeof(err));
	KTAP_CHECK(ok && !strcmp(c[0].vf, "veth0") && !strcmp(c[0].socket, "/tmp/a.sock") &&
		   !strcmp(c[0].name, "veth0") && !c[0].has_mac, "minimal spec, name defaults to vf");

	ok = !relay_cfg_parse(&c[1], "socket=/tmp/b.sock,mac=52:54:00:AB:cd:01,vf=eth1,name=vm1,xdp-mode=skb,xsk-mode=copy",
			      err, sizeof(err));
	KTAP_CHECK(ok && c[1].has_mac && c[1].mac[3] == 0xab && c[1].mac[5] == 1 &&
		   !strcmp(c[1].name, "vm1") && c[1].xdp_mode == XDP_STEER_SKB &&
		   c[1].xsk_mode == XSK_PORT_COPY, "all options, any order");

	KTAP_CHECK(bad("vf=veth0", "required"), "socket missing");
	KTAP_CHECK(bad("socket=/x", "required"), "vf missing");
	KTAP_CHECK(bad("vf=veth0,socket=/x,colour=blue", "unknown key"), "unknown key");
	KTAP_CHECK(bad("vf=veth0,vf=veth1,socket=/x", "twice"), "duplicate key");
	KTAP_CHECK(bad("vf=veth0,socket=/x,mac=01:00:5e:00:00:01", "unicast"), "multicast MAC refused");
	KTAP_CHECK(bad("vf=veth0,socket=/x,mac=52:54:00:12:34", "MAC"), "short MAC");
	KTAP_CHECK(bad("vf=averyveryverylongifname,socket=/x", "interface names"), "ifname too long");
	KTAP_CHECK(bad("vf=veth0,socket=/x,name=../etc", "name="), "path-like name refused");
	KTAP_CHECK(bad("vf=veth0,socket", "key=value"), "missing value");
	KTAP_CHECK(bad("vf=veth0,socket=/x,xdp-mode=fast", "xdp-mode"), "bad xdp-mode");

	ok = !relay_cfg_parse(&c[2], "vf=v0,socket=/x,owner=root,group=0,perm=0660", err, sizeof(err));
	KTAP_CHECK(ok && c[2].owner == 0 && c[2].group == 0 && c[2].perm == 0660 && !c[2].client,
		   "owner/group by name and number, octal perm");
	ok = !relay_cfg_parse(&c[2], "vf=v0,socket=/x,mode=client", err, sizeof(err));
	KTAP_CHECK(ok && c[2].client && c[2].owner == (uid_t)-1 && c[2].perm == 0, "mode=client");
	KTAP_CHECK(bad("vf=v0,socket=/x,mode=client,perm=0600", "mode=server"), "perm refused in client mode");
	KTAP_CHECK(bad("vf=v0,socket=/x,owner=no-such-user-vxdp", "no such user"), "unknown owner");
	KTAP_CHECK(bad("vf=v0,socket=/x,perm=0044", "octal"), "perm without owner rw refused");
	KTAP_CHECK(bad("vf=v0,socket=/x,mode=peer", "server or client"), "bad mode");
	ok = !relay_cfg_parse(&c[2], "vf=v0,socket=/x,queues=32", err, sizeof(err));
	KTAP_CHECK(ok && c[2].queues == 32 && !relay_cfg_parse(&c[2], "vf=v0,socket=/x", err, sizeof(err)) &&
		   c[2].queues == 1, "queues=32 accepted, default 1");
	KTAP_CHECK(bad("vf=v0,socket=/x,queues=33", "1 to 32") && bad("vf=v0,socket=/x,queues=0", "1 to 32"),
		   "queues out of range refused");

	ok = !relay_cfg_parse(&c[2], "vf=v0,socket=/x,cpu=3+1", err, sizeof(err));
	KTAP_CHECK(ok && c[2].nplace == 2 && c[2].place_cpu && c[2].place[0] == 3 && c[2].place[1] == 1,
		   "cpu=3+1: the lanes' CPUs, in order");
	ok = !relay_cfg_parse(&c[2], "vf=v0,socket=/x,worker=0-2", err, sizeof(err));
	KTAP_CHECK(ok && c[2].nplace == 3 && !c[2].place_cpu && c[2].place[2] == 2 &&
		   !relay_cfg_parse(&c[2], "vf=v0,socket=/x", err, sizeof(err)) && !c[2].nplace,
		   "worker=0-2: the lanes' workers; none by default (placed by load)");
	KTAP_CHECK(bad("vf=v0,socket=/x,worker=0,cpu=1", "exclude") &&
		   bad("vf=v0,socket=/x,cpu=1+1", "CPU numbers") &&
		   bad("vf=v0,socket=/x,worker=256", "worker numbers"),
		   "worker= with cpu=, a CPU twice, a worker past 255: refused");
	{
		struct daemon_cfg *d = malloc(sizeof(*d));

		ok = d && !load("[daemon]\ncpus = 0-1,3\nbalance-interval = 250\n", d, err, sizeof(err));
		KTAP_CHECK(ok && d->ncpus == 3 && d->cpus[2] == 3 && d->balance_ms == 250 &&
			   daemon_cfg_workers(d) == 3,
			   "[daemon] cpus = 0-1,3: three CPUs and, with no workers =, three workers; balance-interval");
		free(d);
	}

	ok = !relay_cfg_parse(&c[2], "vf=v0,socket=/x", err, sizeof(err)) &&
	     c[2].napi_defer == 0 &&
	     c[2].napi_timeout_us == RELAY_NAPI_TIMEOUT_US_DEFAULT &&
	     !relay_cfg_parse(&c[2], "vf=v0,socket=/x,napi-defer=2,napi-timeout=50", err, sizeof(err)) &&
	     c[2].napi_defer == 2 && c[2].napi_timeout_us == 50;
	KTAP_CHECK(ok, "napi-defer/napi-timeout: defaults 0 (VF left alone) and 200 us, 2 x 50 accepted");
	KTAP_CHECK(bad("vf=v0,socket=/x,napi-defer=101", "0 to 100") &&
		   bad("vf=v0,socket=/x,napi-defer=-1", "0 to 100") &&
		   bad("vf=v0,socket=/x,napi-timeout=0", "1 to 100000") &&
		   bad("vf=v0,socket=/x,napi-timeout=2x", "1 to 100000"),
		   "napi-defer/napi-timeout out of range refused");

	ok = !relay_cfg_parse(&c[2], "vf=v0,socket=/x", err, sizeof(err)) &&
	     c[2].mem_max == 64ull << 30 &&
	     !relay_cfg_parse(&c[2], "vf=v0,socket=/x,mem-max=1T", err, sizeof(err)) &&
	     c[2].mem_max == 1ull << 40 &&
	     !relay_cfg_parse(&c[2], "vf=v0,socket=/x,mem-max=512MiB", err, sizeof(err)) &&
	     c[2].mem_max == 512ull << 20 &&
	     !relay_cfg_parse(&c[2], "vf=v0,socket=/x,mem-max=0", err, sizeof(err)) &&
	     c[2].mem_max == 0;
	KTAP_CHECK(ok, "mem-max: default 64 GiB; 1T, 512MiB, 0 (no limit) accepted");
	KTAP_CHECK(bad("vf=v0,socket=/x,mem-max=64X", "size like 64G") &&
		   bad("vf=v0,socket=/x,mem-max=-1G", "size like 64G") &&
		   bad("vf=v0,socket=/x,mem-max=99999999999T", "size like 64G") &&
		   bad("vf=v0,socket=/x,mem-max=", "size like 64G"),
		   "mem-max: garbage, negative, overflowing, empty refused");

	ok = !relay_cfg_parse(&c[2], "vf=v0,socket=/x", err, sizeof(err)) &&
	     c[2].offloads == RELAY_OFFLOADS_ON &&
	     !relay_cfg_parse(&c[2], "vf=v0,socket=/x,offloads=csum", err, sizeof(err)) &&
	     c[2].offloads == RELAY_OFFLOADS_CSUM &&
	     !relay_cfg_parse(&c[2], "vf=v0,socket=/x,offloads=off", err, sizeof(err)) &&
	     c[2].offloads == RELAY_OFFLOADS_OFF;
	KTAP_CHECK(ok, "offloads=: on by default, csum and off taken");
	KTAP_CHECK(bad("vf=v0,socket=/x,offloads=yes", "on, csum or off") &&
		   bad("vf=v0,socket=/x,offloads=off,offloads=on", "given twice"),
		   "offloads=: unknown value or given twice refused");
	ok = !relay_cfg_parse(&c[2], "vf=v0,socket=/x", err, sizeof(err)) &&
	     !c[2].poll_busy &&
	     !relay_cfg_parse(&c[2], "vf=v0,socket=/x,poll=busy", err, sizeof(err)) &&
	     c[2].poll_busy &&
	     !relay_cfg_parse(&c[2], "vf=v0,socket=/x,poll=adaptive", err, sizeof(err)) &&
	     !c[2].poll_busy && bad("vf=v0,socket=/x,poll=spin", "adaptive or busy");
	KTAP_CHECK(ok, "poll=: adaptive by default, busy taken, unknown value refused");

	relay_cfg_parse(&c[2], "vf=veth0,socket=/tmp/c.sock,name=other", err, sizeof(err));
	KTAP_CHECK(relay_cfg_check_unique(c, 3, err, sizeof(err)) == -EINVAL &&
		   strstr(err, "same vf"), "same vf twice refused");
	KTAP_CHECK(relay_cfg_check_unique(c, 2, err, sizeof(err)) == 0, "distinct relays accepted");
	test_bond(c);
	test_conf();
	return ktap_finish();
}
