// SPDX-License-Identifier: GPL-2.0
/* Test peer: an 802.1Q switch port in XDP, for hosts without VLAN devices
 * (CONFIG_VLAN_8021Q off). Attached to the trunk (the wire end of the VF
 * stand-in), to the access end of a second veth pair and to that pair's
 * stack end (a redirect target on veth needs a program on the receiving
 * end). Frames tagged port[0].vid arriving on the trunk lose their tag and
 * go out the access end, so the stack end receives them untagged; frames
 * the stack end sends arrive on the access end, get the tag and go out the
 * trunk. Everything else passes. The test fills port[0] with bpftool.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define ETH_ALEN	6
#define VLAN_HLEN	4
#define ETH_P_8021Q	0x8100

struct vlan_port {
	__u32 trunk;	/* ifindexes, in the program's netns */
	__u32 access;
	__u32 vid;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vlan_port);
} port SEC(".maps");

SEC("xdp")
int vxdp_vlan_port(struct xdp_md *ctx)
{
	struct vlan_port *p;
	__u32 key = 0;
	__u8 *d, *end;
	int i;

	p = bpf_map_lookup_elem(&port, &key);
	if (!p || !p->trunk)
		return XDP_PASS;
	d = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	if (ctx->ingress_ifindex == p->trunk) {
		if (d + 2 * ETH_ALEN + 2 * VLAN_HLEN > end)
			return XDP_PASS;
		if (d[12] != (ETH_P_8021Q >> 8) || d[13] != (ETH_P_8021Q & 0xff) ||
		    (((d[14] & 0x0f) << 8) | d[15]) != p->vid)
			return XDP_PASS;
		/* the addresses move up over the tag */
#pragma unroll
		for (i = 2 * ETH_ALEN - 1; i >= 0; i--)
			d[i + VLAN_HLEN] = d[i];
		if (bpf_xdp_adjust_head(ctx, VLAN_HLEN))
			return XDP_DROP;
		return bpf_redirect(p->access, 0);
	}
	if (ctx->ingress_ifindex != p->access)
		return XDP_PASS;
	if (bpf_xdp_adjust_head(ctx, -VLAN_HLEN))
		return XDP_DROP;
	d = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	if (d + 2 * ETH_ALEN + 2 * VLAN_HLEN > end)
		return XDP_DROP;
#pragma unroll
	for (i = 0; i < 2 * ETH_ALEN; i++)
		d[i] = d[i + VLAN_HLEN];
	d[12] = ETH_P_8021Q >> 8;
	d[13] = ETH_P_8021Q & 0xff;
	d[14] = (p->vid >> 8) & 0x0f;
	d[15] = p->vid & 0xff;
	return bpf_redirect(p->trunk, 0);
}

char LICENSE[] SEC("license") = "GPL";
