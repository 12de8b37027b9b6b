/* SPDX-License-Identifier: GPL-2.0 */
/* vhost-user backend device state: feature negotiation, memory table and
 * per-vring state driven by frontend messages. Knows nothing of the event
 * loop or the datapath: it reports vring state changes through callbacks.
 */
#ifndef VXDP_VHOST_USER_DEV_H
#define VXDP_VHOST_USER_DEV_H

#include <stdbool.h>
#include <stdint.h>

#include "dirty_log.h"
#include "guest_mem.h"
#include "util/fault_guard.h"
#include "vhost_user_msg.h"
#include "virtio/virtqueue.h"

/* virtio-net has one rx and one tx queue per pair: vring 2n is pair n's rx,
 * 2n + 1 its tx.
 */
#define VHOST_DEV_MAX_QUEUE_PAIRS 32
#define VHOST_DEV_MAX_VRINGS (2 * VHOST_DEV_MAX_QUEUE_PAIRS)

/* Protocol features vhost_user_dev.c implements; offering any other would
 * promise the frontend behaviour nobody wrote.
 */
#define VHOST_DEV_PROTOCOL_IMPL						\
	((1ull << VHOST_USER_PROTOCOL_F_MQ) |				\
	 (1ull << VHOST_USER_PROTOCOL_F_LOG_SHMFD) |			\
	 (1ull << VHOST_USER_PROTOCOL_F_RARP) |				\
	 (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) |			\
	 (1ull << VHOST_USER_PROTOCOL_F_NET_MTU) |			\
	 (1ull << VHOST_USER_PROTOCOL_F_RESET_DEVICE) |			\
	 (1ull << VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS) |		\
	 (1ull << VHOST_USER_PROTOCOL_F_STATUS))

struct vhost_vring {
	struct virtqueue vr;
	int kickfd;		/* -1 when none */
	int callfd;		/* -1 when none (polling mode or unset) */
	int errfd;
	uint16_t num;
	uint32_t base;		/* from SET_VRING_BASE; packed rings use 32 bits */
	struct vhost_user_vring_addr addr;
	bool addr_set;
	bool enabled;		/* SET_VRING_ENABLE, or kicked without F_PROTOCOL_FEATURES */
	bool started;		/* kick fd received and ring mapped */
	/* VHOST_F_LOG_ALL is acked but there is no log to write to yet
	 * (QEMU starts rings before SET_LOG_BASE): hold the ring.
	 */
	bool log_wait;
};

struct vhost_dev;

struct vhost_dev_ops {
	/* Called after any message that may have changed whether vring @qidx
	 * is runnable or which kick/call fd it uses; before GET_VRING_BASE's
	 * reply, so the datapath stops touching the ring first.
	 */
	void (*vring_changed)(struct vhost_dev *d, unsigned int qidx);
	/* Memory table about to change (replaced, dropped, a region added
	 * or removed): stop the datapath. vring_changed() follows for every
	 * ring once the new table is in place.
	 */
	void (*mem_changing)(struct vhost_dev *d);
	/* Optional. SEND_RARP after a migration: broadcast a RARP from @mac
	 * (rarp_build()) on the wire so switches learn where the guest is
	 * now. Only offer VHOST_USER_PROTOCOL_F_RARP with this set.
	 */
	void (*send_rarp)(struct vhost_dev *d, const uint8_t mac[6]);
	/* Optional. NET_SET_MTU: the frontend's MTU for the device, already
	 * range-checked. Return 0 to take it, a negative errno to refuse it
	 * (the frontend gets a failure ack and QEMU does not start the device).
	 */
	int (*set_mtu)(struct vhost_dev *d, uint16_t mtu);
	/* Optional. VHOST_F_LOG_ALL was acked (@on: a migration copies the
	 * guest's memory) or dropped, after the device took the features.
	 */
	void (*log_changed)(struct vhost_dev *d, bool on);
};

struct vhost_dev {
	const char *name;		/* for log messages */
	uint64_t supported_features;	/* offered in GET_FEATURES */
	uint64_t supported_protocol_features;
	uint64_t features;		/* acked */
	uint64_t protocol_features;	/* acked */
	bool owner;
	unsigned int queue_pairs;	/* GET_QUEUE_NUM; 1 unless set after init */
	uint16_t mtu;
	uint8_t status;			/* virtio device status (SET_STATUS) */
	struct guest_mem mem;
	struct dirty_log log;		/* SET_LOG_BASE; used with VHOST_F_LOG_ALL */
	struct vhost_vring vq[VHOST_DEV_MAX_VRINGS];
	const struct vhost_dev_ops *ops;
	void *priv;			/* the datapath's */
	/* util/fault_guard's count when we last looked, and whether one of
	 * our mappings lost pages on this connection (vhost_dev_faulted()).
	 */
	uint64_t faults_seen;
	bool faulted;
};

void vhost_dev_init(struct vhost_dev *d, const char *name,
		    uint64_t features, uint64_t protocol_features,
		    const struct vhost_dev_ops *ops, void *priv);

/* Handle one validated-or-not message from the frontend, sending the reply
 * (and the REPLY_ACK ack when asked for) on @sock. Takes ownership of the fds
 * in @m. Returns 0, or a negative errno when the connection must be dropped
 * (the frontend broke the protocol badly enough that state is unknown).
 * Recoverable errors (bad queue index in a request, say) are logged and
 * answered with a failure ack where REPLY_ACK allows, and return 0.
 */
int vhost_dev_handle_msg(struct vhost_dev *d, int sock, struct vhost_user_msg *m);

/* Frontend went away: stop every vring, close fds, unmap memory, forget
 * negotiated state. The device can serve a new connection afterwards.
 */
void vhost_dev_reset(struct vhost_dev *d);

/* Whether the frontend shrank a memory fd under our guest memory or dirty
 * log mappings (util/fault_guard.h) on this connection: it must be dropped.
 * Logged once per connection; stays true until vhost_dev_reset().
 * vhost_dev_handle_msg() asks after every message; the datapath asks after
 * each run, cheaply through vhost_dev_fault_pending().
 */
bool vhost_dev_faulted(struct vhost_dev *d);

/* Whether one of our mappings lost pages, as vhost_dev_faulted() but
 * without logging or taking note: for callers that only want to keep quiet
 * about what zero pages made look wrong.
 */
bool vhost_dev_lost_memory(const struct vhost_dev *d);

/* A fault anywhere in the process since vhost_dev_faulted() last looked:
 * one load, for the datapath. Ask vhost_dev_faulted() when true.
 */
static inline bool vhost_dev_fault_pending(const struct vhost_dev *d)
{
	return __builtin_expect(fault_guard_count() != d->faults_seen, 0);
}

/* True when the datapath may process vring @qidx. */
bool vhost_vring_ready(const struct vhost_vring *vq);

static inline bool vhost_dev_has_feature(const struct vhost_dev *d, unsigned int bit)
{
	return d->features & (1ull << bit);
}

#endif
