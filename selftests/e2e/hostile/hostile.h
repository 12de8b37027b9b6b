/* SPDX-License-Identifier: GPL-2.0 */
/* vxdp-hostile: a vhost-user frontend that attacks one relay while it times
 * two neighbours on the same worker. Shared by the attack modules: the
 * attack table, results, and frontend helpers (connect/listen, messages,
 * guest memory, rings, kicks) so that an attack is one short function.
 */
#ifndef VXDP_HOSTILE_H
#define VXDP_HOSTILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "unit/guest_driver.h"
#include "vhost/vhost_user_msg.h"

/* What every attack is given. */
struct hostile_opts {
	const char *target;	/* relay A's socket; client-mode attacks listen there */
	double duration;	/* seconds; 0: the attack's own default */
	unsigned int cycles;	/* 0: the attack's own default */
	unsigned int max_wait_ms;	/* what a neighbour may wait; also bursts */
	unsigned int reach_ms;	/* client mode: bound to reach the next listener */
};

/* An attack returns 0 when the relay held (its own expectations: dropped
 * in time, refused at once, ...), 1 when it did not, 2 when the harness
 * itself failed. It prints its findings with hostile_report().
 */
struct hostile_attack {
	const char *name;
	const char *help;
	int (*run)(const struct hostile_opts *o);
};

/* The attack sets, each ending with an empty entry; vxdp-hostile.c lists
 * them. Control plane: attacks_conn.c.
 */
extern const struct hostile_attack conn_attacks[];

/* One "key=value ..." result line on stdout (the test script parses them). */
void hostile_report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A diagnostic line on stderr. */
void hostile_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

uint64_t now_ns(void);
void sleep_ms(unsigned int ms);

static inline double ms_since(uint64_t t0)
{
	return (now_ns() - t0) / 1e6;
}

/* ---- sockets ---- */

/* Connect to @path (non-blocking socket). Returns the fd or -errno; -EAGAIN
 * is a full listen backlog.
 */
int fe_connect(const char *path);
/* fe_connect(), retrying ECONNREFUSED/ENOENT/EAGAIN for up to @timeout_ms. */
int fe_connect_wait(const char *path, unsigned int timeout_ms);
/* Listen on @path (replacing a stale socket file) with @backlog. */
int fe_listen(const char *path, int backlog);
/* Accept one connection within @timeout_ms: the fd, or -ETIMEDOUT. */
int fe_accept(int lfd, unsigned int timeout_ms);

/* Send @len raw bytes (and @nfds fds with the first) without blocking:
 * the bytes sent, or -errno (-EAGAIN: the socket buffer is full).
 */
ssize_t fe_send_raw(int sock, const void *buf, size_t len, const int *fds,
		    unsigned int nfds);
/* Send a whole request, waiting for socket space for up to @timeout_ms. */
int fe_send(int sock, uint32_t req, uint32_t flags, const void *payload,
	    uint32_t size, const int *fds, unsigned int nfds,
	    unsigned int timeout_ms);
/* Receive one reply within @timeout_ms into @m (header and payload).
 * Returns 0, -ETIMEDOUT, -ECONNRESET on EOF or reset, -EBADMSG.
 */
int fe_recv(int sock, struct vhost_user_msg *m, unsigned int timeout_ms);
/* Request @req with no payload and read its u64 reply. */
int fe_get_u64(int sock, uint32_t req, uint64_t *val, unsigned int timeout_ms);
/* Has the relay ended this connection? Waits up to @timeout_ms for EOF or
 * a reset (unread replies are discarded).
 */
bool fe_closed(int sock, unsigned int timeout_ms);

/* ---- a frontend with guest memory and two rings (rx 0, tx 1) ---- */

#define FE_UVA		0x7f5500000000ull	/* where "QEMU" has guest RAM */
#define FE_MEM_SIZE	(1u << 20)
#define FE_RING_NUM	64
#define FE_BUF_SIZE	2048

struct fe_dev {
	int sock;
	int memfd;
	uint8_t *mem;		/* our mapping of guest RAM (gpa 0) */
	struct guest_mem gm;	/* the same, for the ring helpers */
	int kick[2], call[2];	/* eventfds: we write kicks, read calls */
	struct sdrv q[2];
	uint64_t features;
	uint16_t tx_next;	/* next tx descriptor to use */
};

/* Connect to @path and bring both rings up as QEMU would (no protocol
 * features: rings run once kicked). @features: virtio features to ack,
 * masked by what the relay offers. Returns 0 or -errno.
 */
int fe_dev_open(struct fe_dev *d, const char *path, uint64_t features,
		unsigned int timeout_ms);
/* The same handshake on a connected socket (client mode: accepted). */
int fe_dev_start(struct fe_dev *d, int sock, uint64_t features,
		 unsigned int timeout_ms);
void fe_dev_close(struct fe_dev *d);
/* Post every rx buffer (each FE_BUF_SIZE, device-writable). */
void fe_dev_fill_rx(struct fe_dev *d);
/* Queue @len bytes (a virtio-net header is prepended) on the tx ring and
 * kick. Returns 0, or -ENOSPC when every tx buffer is still in flight.
 */
int fe_dev_send(struct fe_dev *d, const void *frame, uint32_t len);
/* Wait up to @timeout_ms for an rx frame @match accepts; every frame seen is
 * given back to the ring. Returns 0 or -ETIMEDOUT.
 */
int fe_dev_recv(struct fe_dev *d, bool (*match)(const uint8_t *frame,
		uint32_t len, void *arg), void *arg, unsigned int timeout_ms);
/* Virtio-net header length the negotiated features imply. */
unsigned int fe_dev_hdr_len(const struct fe_dev *d);

#endif
