// SPDX-License-Identifier: GPL-2.0
/* Test/bench helper for the far end of the VF stand-in veth: send every frame
 * straight back (MACs swapped) with XDP_TX, counting in stats[0].
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "vxdp_shared.h"

#define ETH_HLEN 14

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vxdp_counter);
} stats SEC(".maps");

SEC("xdp")
int vxdp_reflect(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct vxdp_counter *c;
	__u32 key = 0;
	__u8 *eth = data;
	__u8 tmp[6];

	if (data + ETH_HLEN > data_end)
		return XDP_DROP;

	__builtin_memcpy(tmp, eth, 6);
	__builtin_memcpy(eth, eth + 6, 6);
	__builtin_memcpy(eth + 6, tmp, 6);

	c = bpf_map_lookup_elem(&stats, &key);
	if (c) {
		c->packets++;
		c->bytes += data_end - data;
	}
	return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";
