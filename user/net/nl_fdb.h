/* SPDX-License-Identifier: GPL-2.0 */
/* Static FDB entries for one MAC through libnl's neighbour objects: on a
 * bridge port (NTF_MASTER, "bridge fdb add MAC dev PORT master static") or
 * on a device's own address filter (NTF_SELF, "bridge fdb add MAC dev DEV
 * self", e.g. an SR-IOV VF's unicast filter in the NIC's switch).
 */
#ifndef VXDP_NL_FDB_H
#define VXDP_NL_FDB_H

#include <stdbool.h>
#include <stdint.h>

struct nl_sock;

/* Add the entry exclusively. An EEXIST from the kernel is success when the
 * entry found is the one asked for (idempotent), -EEXIST when the MAC
 * belongs to another port. 0 or negative errno.
 */
int nl_fdb_add(struct nl_sock *sk, int ifindex, const uint8_t *mac, bool master);

/* Remove the entry; one already gone is success. 0 or negative errno. */
int nl_fdb_del(struct nl_sock *sk, int ifindex, const uint8_t *mac, bool master);

/* 1 when @ifindex has the entry (NTF_MASTER or NTF_SELF as asked), 0 when
 * not, negative errno. With @other_ifindex, the port another entry for the
 * MAC is on (0 if none).
 */
int nl_fdb_find(struct nl_sock *sk, int ifindex, const uint8_t *mac, bool master,
		int *other_ifindex);

#endif
