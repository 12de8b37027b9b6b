/* SPDX-License-Identifier: GPL-2.0 */
/* A symmetric-free, per-flow hash of an Ethernet frame, to spread frames over
 * guest rx queues so that one flow always lands on one queue.
 */
#ifndef VXDP_FLOW_HASH_H
#define VXDP_FLOW_HASH_H

#include <stdint.h>

/* Hash of the frame's flow: IPv4/IPv6 addresses plus TCP/UDP/SCTP ports
 * (addresses only for fragments and other protocols), after up to two VLAN
 * tags; the MAC addresses for anything else. Reads only within @len.
 */
uint32_t flow_hash(const void *frame, uint32_t len);

#endif
