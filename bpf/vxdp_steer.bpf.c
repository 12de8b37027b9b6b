// SPDX-License-Identifier: GPL-2.0
/* XDP program on the VF: hands the VM's frames to the relay's AF_XDP socket on
 * the same rx queue and leaves everything else to the host stack.
 *
 * The loader marks it frags-aware (BPF_F_XDP_HAS_FRAGS) where the kernel has
 * that, so it runs natively on a jumbo-MTU VF: it only reads the Ethernet
 * header, which is always in the linear part of a multi-buffer frame.
 *
 * UAPI headers, not vmlinux.h, and no CO-RE: vmlinux.h marks every struct
 * (xdp_md too) for CO-RE relocation, and relocating makes libbpf read and
 * parse the kernel's whole BTF (/sys/kernel/btf/vmlinux, tens of
 * milliseconds) at every load, once per relay. Nothing here needs it.
 */
#include <stdbool.h>
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "vxdp_shared.h"
#include "vxdp_xsks.h"	/* xsks: rx queue index -> the relay's AF_XDP socket */

#define ETH_HLEN 14

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VXDP_STAT_MAX);
	__type(key, __u32);
	__type(value, struct vxdp_counter);
} stats SEC(".maps");

/* Set by the loader before load; rodata lets the verifier prune the
 * MAC compare away entirely when steering is off.
 */
const volatile bool steer_by_mac = false;
const volatile __u8 steer_mac[6] = {};
/* The loader sets this where the kernel has bpf_xdp_get_buff_len() (5.18,
 * with frags: whenever the frags-aware load is the one tried); on a
 * constant the verifier drops the branch not taken, and never sees a call
 * the kernel lacks.
 */
const volatile bool has_buff_len = false;

/* Written by the relay while the program runs (the skeleton's mmap of
 * .bss): with steering by MAC, the MAC's frames pass to the host stack
 * instead, e.g. while the failover agent has the VM on its primary.
 */
volatile bool steer_paused = false;
/* Also written by the relay: this VF is a bond's backup member. Its
 * group-addressed frames pass to the host stack, as a bonding driver's
 * inactive slave drops them: the switch floods each broadcast to both
 * members, and the active one already brings it to the VM. Unicast still
 * goes to the VM from either, while the switch learns the new port.
 */
volatile bool steer_backup = false;

static __always_inline void count(__u32 idx, __u64 bytes)
{
	struct vxdp_counter *c = bpf_map_lookup_elem(&stats, &idx);

	/* Per-CPU slot and XDP runs with preemption off: no atomics needed. */
	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

/* The whole frame's length: with frags, data_end ends only the linear part.
 * bpf_xdp_get_buff_len() came with frags (5.18); see has_buff_len. Where
 * the helper exists the verifier never sees the pointer subtraction either
 * (has_buff_len is frozen read-only data: the branch is dead), which it
 * allows only with CAP_PERFMON: the service runs without.
 */
static __always_inline __u64 frame_len(struct xdp_md *ctx)
{
	if (has_buff_len)
		return bpf_xdp_get_buff_len(ctx);
	return (void *)(long)ctx->data_end - (void *)(long)ctx->data;
}

static __always_inline bool is_steer_mac(const __u8 *d)
{
	return d[0] == steer_mac[0] && d[1] == steer_mac[1] &&
	       d[2] == steer_mac[2] && d[3] == steer_mac[3] &&
	       d[4] == steer_mac[4] && d[5] == steer_mac[5];
}

SEC("xdp")
int vxdp_steer(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u64 len = frame_len(ctx);
	const __u8 *dst = data;
	long act;

	if (data + ETH_HLEN > data_end) {
		count(VXDP_STAT_DROPPED, len);
		return XDP_DROP;
	}

	if (steer_backup && (dst[0] & 1)) {
		count(VXDP_STAT_PASSED, len);
		return XDP_PASS;
	}
	/* Group addresses (broadcast, multicast: I/G bit) go to the VM too:
	 * it needs ARP, ND and its own multicast groups.
	 */
	if (steer_by_mac && !(dst[0] & 1) && (!is_steer_mac(dst) || steer_paused)) {
		count(VXDP_STAT_PASSED, len);
		return XDP_PASS;
	}

	/* No socket on this queue (relay not up yet, or fewer sockets than
	 * queues): the low bits of flags make the frame pass instead of drop.
	 */
	act = bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS);
	count(act == XDP_REDIRECT ? VXDP_STAT_REDIRECTED : VXDP_STAT_PASSED, len);
	return act;
}

char LICENSE[] SEC("license") = "GPL";
