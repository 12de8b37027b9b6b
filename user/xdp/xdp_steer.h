/* SPDX-License-Identifier: GPL-2.0 */
/* The XDP steering program on a VF: load (skeleton), pin maps under
 * /sys/fs/bpf/vxdp/<relay>/, attach, read counters, detach.
 */
#ifndef VXDP_XDP_STEER_H
#define VXDP_XDP_STEER_H

#include <stdbool.h>
#include <stdint.h>

struct xdp_steer;

enum xdp_steer_mode {
	XDP_STEER_AUTO = 0,	/* native, falling back to generic (skb) */
	XDP_STEER_NATIVE,
	XDP_STEER_SKB,
};

struct xdp_steer_stats {
	uint64_t redirected, redirected_bytes;
	uint64_t passed, passed_bytes;
	uint64_t dropped, dropped_bytes;
};

/* @mac NULL: every frame goes to the VM. Otherwise only frames to @mac and
 * broadcast/multicast do; the rest pass to the host stack.
 * Fails with -EBUSY (and a clear log line) when the interface already has an
 * XDP program, -EOPNOTSUPP when the mode asked for is not supported.
 */
int xdp_steer_open(struct xdp_steer **sp, const char *relay_name,
		   const char *ifname, const uint8_t mac[6],
		   enum xdp_steer_mode mode);
int xdp_steer_xskmap_fd(const struct xdp_steer *s);
int xdp_steer_read_stats(const struct xdp_steer *s, struct xdp_steer_stats *st);
/* Does BPF program @prog_id use map @map_id? (Which program is a relay's:
 * the one using its pinned maps.)
 */
bool xdp_steer_prog_uses_map(uint32_t prog_id, uint32_t map_id);

/* With steering by MAC: pass the MAC's unicast frames to the host stack
 * (@paused) or steer them again. -EINVAL for a program steering every
 * frame. Takes effect for the next frame; no syscall.
 */
int xdp_steer_pause(struct xdp_steer *s, bool paused);
bool xdp_steer_paused(const struct xdp_steer *s);

/* A bond's backup member (@backup): pass broadcast and multicast frames to
 * the host stack instead of the VM, which gets them from the active
 * member. Takes effect for the next frame; no syscall.
 */
void xdp_steer_set_backup(struct xdp_steer *s, bool backup);

/* Attach the loaded program again, to whichever interface has the name
 * now (the VF came back with a new ifindex, or was reset), with its maps
 * and counters as they are. 0 or a negative errno (logged).
 */
int xdp_steer_reattach(struct xdp_steer *s, enum xdp_steer_mode mode);

/* Whether the program is still attached where xdp_steer_open() or the last
 * xdp_steer_reattach() put it.
 */
bool xdp_steer_attached(const struct xdp_steer *s);

/* Detach, unpin, free. */
void xdp_steer_close(struct xdp_steer *s);

#endif
