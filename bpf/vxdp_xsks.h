/* SPDX-License-Identifier: GPL-2.0 */
/* The relay's XSKMAP (rx queue index -> the AF_XDP socket bound to that
 * queue), defined once for the steering program that redirects into it and
 * for vxdp_xskprobe, which vxdpctl loads with the pinned map in its place:
 * bpf_map__reuse_fd() refuses a map whose type, sizes or entries differ.
 * For BPF programs only (one per object file: it defines the map).
 */
#ifndef VXDP_XSKS_H
#define VXDP_XSKS_H

#include "vxdp_shared.h"

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, VXDP_MAX_QUEUES);
	__type(key, __u32);
	__type(value, __u32);
} xsks SEC(".maps");

#endif
