// SPDX-License-Identifier: GPL-2.0
/* Test/bench helper for the far end of the VF stand-in veth: a traffic sink
 * that counts every frame in stats[0] and drops it.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "vxdp_shared.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vxdp_counter);
} stats SEC(".maps");

SEC("xdp")
int vxdp_count_drop(struct xdp_md *ctx)
{
	struct vxdp_counter *c;
	__u32 key = 0;

	c = bpf_map_lookup_elem(&stats, &key);
	if (c) {
		c->packets++;
		c->bytes += ctx->data_end - ctx->data;
	}
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
