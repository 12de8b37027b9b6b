// SPDX-License-Identifier: GPL-2.0
/* Unit tests of --relay spec parsing: good specs parse, bad ones say why. */
#include <errno.h>
#include <string.h>

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

int main(void)
{
	struct relay_cfg c[3];
	char err[256];
	int ok;

	ktap_plan(26);

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

	ok = !relay_cfg_parse(&c[2], "vf=v0,socket=/x", err, sizeof(err)) &&
	     c[2].napi_defer == RELAY_NAPI_DEFER_DEFAULT &&
	     c[2].napi_timeout_us == RELAY_NAPI_TIMEOUT_US_DEFAULT &&
	     !relay_cfg_parse(&c[2], "vf=v0,socket=/x,napi-defer=0,napi-timeout=50", err, sizeof(err)) &&
	     c[2].napi_defer == 0 && c[2].napi_timeout_us == 50;
	KTAP_CHECK(ok, "napi-defer/napi-timeout: defaults 2 x 200 us, 0 accepted");
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

	relay_cfg_parse(&c[2], "vf=veth0,socket=/tmp/c.sock,name=other", err, sizeof(err));
	KTAP_CHECK(relay_cfg_check_unique(c, 3, err, sizeof(err)) == -EINVAL &&
		   strstr(err, "same vf"), "same vf twice refused");
	KTAP_CHECK(relay_cfg_check_unique(c, 2, err, sizeof(err)) == 0, "distinct relays accepted");
	return ktap_finish();
}
