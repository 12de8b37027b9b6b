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
	int daemon_pid;		/* 0: not given (--daemon-pid) */
	bool hugetlb;		/* 2 MiB huge pages free for a hugetlbfs guest */
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
 * them. Control plane: attacks_conn.c; guest memory and the datapath:
 * attacks_mem.c.
 */
extern const struct hostile_attack conn_attacks[];
extern const struct hostile_attack mem_attacks[];

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

/* Nanoseconds the daemon's workers (--daemon-pid) and the calling thread
 * have waited on a run queue so far: taken off a wait, what is left is the
 * relay's doing, not the machine's other load.
 */
uint64_t hostile_runq_ns(void);

/* The daemon's CPU time (utime + stime of all its threads) in clock ticks,
 * or -1 (no --daemon-pid).
 */
long hostile_daemon_ticks(const struct hostile_opts *o);

/* Major page faults so far of the calling thread plus the daemon's
 * (--daemon-pid): a wait that includes one waited on the disk, which
 * neither the run queues nor the relay account for.
 */
unsigned long hostile_majflt(const struct hostile_opts *o);

struct fe_dev;
/* Run @fn on the control probe's connection to relay C, between two of its
 * probes (so it is never timed); REPLY_ACK is negotiated on it. Returns what
 * @fn returns, -ENOTCONN without a control probe.
 */
int hostile_on_ctl(int (*fn)(struct fe_dev *c, void *arg), void *arg);

/* ---- sockets ---- */

/* Connect to @path (non-blocking socket). Returns the fd or -errno; -EAGAIN
 * is a full listen backlog.
 */
int fe_connect(const char *path);
/* fe_connect(), retrying ECONNREFUSED/ENOENT/EAGAIN for up to @timeout_ms. */
int fe_connect_wait(const char *path, unsigned int timeout_ms);
/* A connection the relay serves (not one it refuses because the previous
 * one is still being torn down): a GET_FEATURES round trip answered, within
 * @timeout_ms. The fd or -errno.
 */
int fe_connect_served(const char *path, unsigned int timeout_ms);
/* Listen on @path as a client-mode relay's frontend would (the daemon's own
 * vhost_user_sock_listen(): a stale socket file is replaced).
 */
int fe_listen(const char *path);
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
#define FE_MEM_SIZE	(2u << 20)
#define FE_RING_NUM	64		/* the default ring size, and buffers per ring */
#define FE_RING_MAX	1024
#define FE_BUF_SIZE	2048
/* Guest-physical layout: ring q at FE_RING_GPA(q) (descriptors, then the
 * avail or driver event area at +0x4000, the used or device event area at
 * +0x5000: room for FE_RING_MAX entries), the rings' buffers (FE_RING_NUM
 * each) from FE_BUF_GPA, and what is left from FE_FREE_GPA for an attack's
 * own tables.
 */
#define FE_RING_GPA(q)	(0x10000ull * ((q) + 1))
#define FE_BUF_GPA(q, i) (0x40000ull + ((q) * FE_RING_NUM + (i)) * (uint64_t)FE_BUF_SIZE)
#define FE_FREE_GPA	0x80000ull

/* How a frontend sets its device up; zero is the default (a new 2 MiB
 * memfd, two split rings of FE_RING_NUM, no protocol features).
 */
struct fe_cfg {
	uint64_t features;	/* virtio features to ack, of those offered */
	/* Protocol features to ack, of those offered. With any, rings start
	 * disabled and are enabled by SET_VRING_ENABLE; with REPLY_ACK every
	 * setup request is acked.
	 */
	uint64_t protocol;
	uint16_t num;		/* entries per ring (FE_RING_NUM) */
	bool packed;
	bool tx_only;		/* vring 1 alone */
	bool hugetlb;		/* guest RAM on hugetlbfs (MFD_HUGETLB) */
	size_t mem_size;	/* FE_MEM_SIZE */
};

struct fe_dev {
	int sock;
	struct fe_cfg cfg;
	uint64_t features;	/* negotiated */
	uint64_t protocol;	/* negotiated */
	int memfd;
	uint8_t *mem;		/* our mapping of guest RAM (gpa 0) */
	struct guest_mem gm;	/* the same, for the ring helpers */
	int kick[2], call[2];	/* eventfds: we write kicks, read calls */
	struct sdrv q[2];	/* split rings */
	struct pdrv pq[2];	/* packed rings */
	uint16_t tx_next;	/* next tx descriptor to use */
	struct vhost_user_msg r;	/* the last reply */
};

/* Connect to @path and bring the device up as QEMU would (fe_dev_start()),
 * retrying while the relay refuses a second frontend. Returns 0 or -errno.
 */
int fe_dev_open(struct fe_dev *d, const char *path, const struct fe_cfg *cfg,
		unsigned int timeout_ms);
/* The same on a connected socket (client mode: accepted): fe_dev_hello(),
 * then fe_dev_rings().
 */
int fe_dev_start(struct fe_dev *d, int sock, const struct fe_cfg *cfg,
		 unsigned int timeout_ms);
/* Features, protocol features (with @cfg->protocol), SET_OWNER. */
int fe_dev_hello(struct fe_dev *d, int sock, const struct fe_cfg *cfg,
		 unsigned int timeout_ms);
/* Guest memory, SET_FEATURES, the memory table, the rings (enabled), and a
 * round trip: every request was handled.
 */
int fe_dev_rings(struct fe_dev *d);
void fe_dev_close(struct fe_dev *d);
/* Send a request; with REPLY_ACK negotiated, ask for the ack and await it.
 * Returns 0 (acked, or sent without REPLY_ACK), 1 (a failure ack), -errno
 * (no ack: the relay hung up, or it timed out).
 */
int fe_dev_req(struct fe_dev *d, uint32_t req, const void *payload,
	       uint32_t size, const int *fds, unsigned int nfds);
/* The same for a vring_state payload. */
int fe_dev_state(struct fe_dev *d, uint32_t req, uint32_t idx, uint32_t num);
/* Kick vring @q. */
void fe_dev_kick(struct fe_dev *d, unsigned int q);
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
/* Has the relay ended the connection within @timeout_ms? */
bool fe_dev_dropped(struct fe_dev *d, unsigned int timeout_ms);

#endif
