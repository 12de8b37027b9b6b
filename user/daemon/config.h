/* SPDX-License-Identifier: GPL-2.0 */
/* The daemon's configuration: the relay options (one table for --relay, the
 * config file's [relay NAME] sections, the control socket's "add" and every
 * help text), the daemon options, and the config file.
 */
#ifndef VXDP_CONFIG_H
#define VXDP_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <limits.h>
#include <net/if.h>
#include <sys/types.h>
#include <sys/un.h>

#include "util/log.h"
#include "util/opts.h"
#include "xdp/xdp_steer.h"
#include "xdp/xsk_port.h"

#define RELAY_NAME_MAX 32
#define SOCKET_PATH_MAX sizeof(((struct sockaddr_un *)0)->sun_path)
/* Relays one daemon runs: the only place the limit is written. */
#define RELAY_MAX 256
/* Workers (threads) one daemon runs. */
#define WORKERS_MAX RELAY_MAX
/* Entries of a relay's worker= or cpu= list: one per queue pair at most. */
#define RELAY_PLACE_MAX 32

/* The VF's NAPI is left alone by default: with the deferral the kernel's
 * AF_XDP busy-poll recipe (af_xdp.rst) suggests, 2 x 200 us, a frame
 * arriving while the relay sleeps waits for the timer, and every figure of
 * tools/bench/BENCH-RESULTS.md's run 12 was better without it.
 */
#define RELAY_NAPI_DEFER_DEFAULT	0
#define RELAY_NAPI_TIMEOUT_US_DEFAULT	200

#define VXDP_CONTROL_DEFAULT "/run/vxdp-relay/control.sock"
#define VXDP_CONFIG_DEFAULT "/etc/vxdp-relay.conf"

/* Offloads offered to the guest (offloads=): checksums and TSO both ways
 * (with receive coalescing), checksums only, or none.
 */
enum relay_offloads {
	RELAY_OFFLOADS_ON = 0,
	RELAY_OFFLOADS_CSUM,
	RELAY_OFFLOADS_OFF,
};

struct relay_cfg {
	char name[RELAY_NAME_MAX];	/* pin dir name; defaults to vf */
	char vf[IF_NAMESIZE];
	/* vf=A+B: a bond, A (vf) and B (vf2) in active-backup; "" for none. */
	char vf2[IF_NAMESIZE];
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
	enum relay_offloads offloads;
	/* poll=busy: the relay's worker never sleeps while the relay is open
	 * (uloop_hold_busy()), for latency at the cost of a whole CPU.
	 */
	bool poll_busy;
	/* Server mode: who may connect (owner=, group=, perm=). -1/0: as
	 * created (the daemon's user and umask).
	 */
	uid_t owner;
	gid_t group;
	unsigned int perm;
	/* Failover (the agent, user/agent/): the VM's passthrough NIC, its
	 * primary, either a VF of a PF (primary=PF:VF, sriov backend) or a
	 * port of a bridge standing in for the NIC's switch (primary-port=,
	 * with the relay's own port relay-port=; bridge backend). "" and -1:
	 * no failover.
	 */
	char primary_pf[IF_NAMESIZE];
	int primary_vf;
	char primary_port[IF_NAMESIZE];
	char relay_port[IF_NAMESIZE];
	char qmp[SOCKET_PATH_MAX];	/* the VM's QMP socket, "" for none */
	unsigned int unplug_grace_ms;	/* the state machine's graces */
	unsigned int primary_grace_ms;
	/* worker= or cpu=: the workers the relay's lanes run on (lane k on
	 * the k-th, round robin), by number or by the CPU they are pinned to
	 * (--cpus); such lanes are never moved. None: placed and balanced by
	 * load.
	 */
	unsigned int nplace;
	bool place_cpu;
	int place[RELAY_PLACE_MAX];
};

/* Guest queue pairs a bonded relay may have: each member's AF_XDP
 * sockets take half of the relay's ports.
 */
#define RELAY_BOND_MAX_QUEUES 16

static inline bool relay_cfg_bond(const struct relay_cfg *c)
{
	return c->vf2[0];
}

/* Room for relay_cfg_vfs(): two names and the '+'. */
#define RELAY_VFS_MAX (2 * IF_NAMESIZE)

/* The relay's VF as written in vf=: "A", or "A+B" for a bond. */
void relay_cfg_vfs(const struct relay_cfg *c, char *buf, size_t len);

/* Whether the relay's VM has a primary for the failover agent to manage. */
static inline bool relay_cfg_failover(const struct relay_cfg *c)
{
	return c->primary_pf[0] || c->primary_port[0];
}

/* The relay options, in the order help texts list them. */
extern const struct opt relay_opts[];
extern const size_t relay_nopts;

/* Defaults, before any option is applied. */
void relay_cfg_init(struct relay_cfg *c);
/* After the options: cross-option checks and the default name. */
int relay_cfg_finish(struct relay_cfg *c, char *err, size_t errlen);

/* Parse one --relay argument ("vf=IF,socket=PATH,..."). On error writes a
 * reason into @err and returns -EINVAL.
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
/* Whether @b's collides with @a's (vf, socket or name); which one. */
const char *relay_cfg_collides(const struct relay_cfg *a,
			       const struct relay_cfg *b);

/* Same options (a reload leaves such a relay alone). */
bool relay_cfg_equal(const struct relay_cfg *a, const struct relay_cfg *b);

/* Daemon options: the command line and the config file's [daemon]. */
struct daemon_cfg {
	unsigned int workers;		/* 0: not given (daemon_cfg_workers()) */
	/* --cpus: worker i runs on cpus[i % ncpus] only. */
	unsigned int ncpus;
	int cpus[WORKERS_MAX];
	unsigned int balance_ms;	/* 0: lanes are never moved */
	unsigned int busy_poll_us;
	unsigned int log_level;
	enum log_target log_target;
	/* Hidden (tests): AF_XDP without multi-buffer, as before Linux 6.6. */
	bool xsk_single_buffer;
	uint64_t mem_max;		/* guest memory of all relays */
	char control[SOCKET_PATH_MAX];	/* "" or "none": no control socket */
	gid_t control_group;		/* -1: root's */
	char config[PATH_MAX];		/* --config, "" for none */
	bool test_only;			/* --test-config: parse, report, exit */
	unsigned int nrelays;
	struct relay_cfg relay[RELAY_MAX];
};

extern const struct opt daemon_opts[];
extern const size_t daemon_nopts;

void daemon_cfg_init(struct daemon_cfg *d);
/* --workers, or one per --cpus CPU, or 1. */
unsigned int daemon_cfg_workers(const struct daemon_cfg *d);

/* Read config file @path into @d: [daemon] sets daemon options, each
 * [relay NAME] adds a relay (name=NAME, same keys as --relay). Relays
 * already in @d stay (the command line's). On error, -EINVAL (or the errno
 * of opening the file) with "FILE:LINE: key: reason" in @err; @d is then
 * half-filled and should be thrown away.
 */
int conf_load(const char *path, struct daemon_cfg *d, char *err,
	      size_t errlen);

#endif
