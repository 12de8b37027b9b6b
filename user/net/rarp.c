// SPDX-License-Identifier: GPL-2.0
/* Builds the RARP announcement of a migrated guest (vhost-user SEND_RARP). */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/if_arp.h>
#include <linux/if_ether.h>

#include "rarp.h"

/* struct arphdr plus the Ethernet/IPv4 addresses that follow it. */
struct rarp_pkt {
	struct ethhdr eth;
	struct arphdr arp;
	uint8_t sha[ETH_ALEN];
	uint8_t spa[4];
	uint8_t tha[ETH_ALEN];
	uint8_t tpa[4];
} __attribute__((packed));

_Static_assert(sizeof(struct rarp_pkt) == 42, "RARP frame layout");

int rarp_build(void *buf, size_t size, const uint8_t mac[6])
{
	struct rarp_pkt *p = buf;

	if (size < RARP_FRAME_LEN)
		return -ENOSPC;
	/* Zero first: the padding and both (unknown) protocol addresses. */
	memset(buf, 0, RARP_FRAME_LEN);
	memset(p->eth.h_dest, 0xff, ETH_ALEN);
	memcpy(p->eth.h_source, mac, ETH_ALEN);
	p->eth.h_proto = htons(ETH_P_RARP);
	p->arp.ar_hrd = htons(ARPHRD_ETHER);
	p->arp.ar_pro = htons(ETH_P_IP);
	p->arp.ar_hln = ETH_ALEN;
	p->arp.ar_pln = 4;
	p->arp.ar_op = htons(ARPOP_RREQUEST);
	memcpy(p->sha, mac, ETH_ALEN);
	memcpy(p->tha, mac, ETH_ALEN);
	return RARP_FRAME_LEN;
}
