/* SPDX-License-Identifier: GPL-2.0 */
/* The RARP frame a migrated guest is announced with (vhost-user SEND_RARP):
 * switches learn the guest's MAC behind its new port from it.
 */
#ifndef VXDP_RARP_H
#define VXDP_RARP_H

#include <stddef.h>
#include <stdint.h>

/* An Ethernet minimum frame (without FCS): 14 + 28 bytes of RARP, padded. */
#define RARP_FRAME_LEN 60

/* Write into @buf (@size bytes) a broadcast RARP "request reverse" (RFC
 * 903, opcode 3) from @mac about @mac, the frame QEMU itself sends when it
 * announces a guest. Returns the frame length (RARP_FRAME_LEN) or -ENOSPC
 * when @size is too small.
 */
int rarp_build(void *buf, size_t size, const uint8_t mac[6]);

#endif
