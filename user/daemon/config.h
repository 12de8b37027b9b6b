/* SPDX-License-Identifier: GPL-2.0 */
/* Parsing and checking of --relay specs: vf=IF,socket=PATH[,mac=..][,...]. */
#ifndef VXDP_CONFIG_H
#define VXDP_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <net/if.h>
#include <sys/types.h>
#include <sys/un.h>

#include "xdp/xdp_steer.h"
#include "xdp/xsk_port.h"

#define RELAY_NAME_MAX 32
#define SOCKET_PATH_MAX sizeof(((struct sockaddr_un *)0)->sun_path)

/* The kernel's AF_XDP busy-poll recipe (af_xdp.rst) suggests 2 x 200 us;
 * measured in tools/bench/BENCH-RESULTS.md.
 */
#define RELAY_NAPI_DEFER_DEFAULT	2
#define RELAY_NAPI_TIMEOUT_US_DEFAULT	200

struct relay_cfg {
	char name[RELAY_NAME_MAX];	/* pin dir name; defaults to vf */
	char vf[IF_NAMESIZE];
	char socket[SOCKET_PATH_MAX];
	bool has_mac;
	uint8_t mac[6];
	enum xdp_steer_mode xdp_mode;
	enum xsk_port_mode xsk_mode;
	unsigned int queues;	/* guest queue pairs offered, 1..32 */
	/* VF NAPI deferral for busy polling (vf_napi.h): completions deferred
	 * (0: leave the VF alone) and the timeout of each, microseconds.
	 */
	unsigned int napi_defer;
	unsigned int napi_timeout_us;
	/* Guest memory the frontend may have the relay map (mem-max=;
	 * default GUEST_MEM_LIMIT_DEFAULT, 0: no limit).
	 */
	uint64_t mem_max;
	bool client;		/* mode=client: we connect to QEMU's socket */
	/* Server mode: who may connect (owner=, group=, perm=). -1/0: as
	 * created (the daemon's user and umask).
	 */
	uid_t owner;
	gid_t group;
	mode_t perm;
};

/* Parse one --relay argument. On error writes a reason into @err and
 * returns -EINVAL.
 */
int relay_cfg_parse(struct relay_cfg *c, const char *spec, char *err,
		    size_t errlen);

/* A size: bytes, or a number with K, M, G or T (binary units, "G" and
 * "GiB" alike). Returns 0 or -EINVAL (garbage, overflow).
 */
int config_parse_size(const char *s, uint64_t *bytes);

/* Reject relays that would collide (same vf, socket or name). */
int relay_cfg_check_unique(const struct relay_cfg *c, unsigned int n,
			   char *err, size_t errlen);

#endif
