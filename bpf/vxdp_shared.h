/* SPDX-License-Identifier: GPL-2.0 */
/* Types shared by the XDP programs and the daemon/tools that read their maps. */
#ifndef VXDP_SHARED_H
#define VXDP_SHARED_H

/* Index into the per-CPU "stats" array map. */
enum vxdp_stat {
	VXDP_STAT_REDIRECTED = 0,	/* handed to the relay's AF_XDP socket */
	VXDP_STAT_PASSED,		/* left to the host stack */
	VXDP_STAT_DROPPED,		/* runt frames */
	VXDP_STAT_MAX,
};

/* One "stats" value per CPU: packets and bytes. */
struct vxdp_counter {
	__u64 packets;
	__u64 bytes;
};

#define VXDP_MAX_QUEUES 64
#define VXDP_PIN_ROOT "/sys/fs/bpf/vxdp"

#endif
