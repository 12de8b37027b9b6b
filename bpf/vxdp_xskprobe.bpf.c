// SPDX-License-Identifier: GPL-2.0
/* Lists which keys of a relay's XSKMAP hold a socket, for vxdpctl: the kernel
 * refuses XSKMAP lookups from the bpf() syscall but allows them from XDP, so
 * vxdpctl runs this once with BPF_PROG_TEST_RUN against the pinned map.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "vxdp_shared.h"
/* xsks: replaced with the pinned map (bpf_map__reuse_fd) before load */
#include "vxdp_xsks.h"

/* Out: present[k] != 0 when key k has a socket, bound to queue_id[k]. */
__u32 present[VXDP_MAX_QUEUES];
__u32 queue_id[VXDP_MAX_QUEUES];

SEC("xdp")
int vxdp_xskprobe(struct xdp_md *ctx)
{
	__u32 i;

	for (i = 0; i < VXDP_MAX_QUEUES; i++) {
		/* The key lives on the stack for the helper; index the outputs
		 * with the register copy, whose bound the verifier tracks.
		 */
		__u32 key = i;
		struct bpf_xdp_sock *xs = bpf_map_lookup_elem(&xsks, &key);

		present[i] = !!xs;
		queue_id[i] = xs ? xs->queue_id : 0;
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
