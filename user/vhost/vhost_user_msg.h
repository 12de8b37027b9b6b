/* SPDX-License-Identifier: GPL-2.0 */
/* vhost-user wire format: message layout, receive with passed file
 * descriptors, per-request size and fd-count validation, replies.
 * Everything received here is untrusted frontend input.
 */
#ifndef VXDP_VHOST_USER_MSG_H
#define VXDP_VHOST_USER_MSG_H

#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>

/* Every request, declared once: name and code, payload size rule, fd rule,
 * handler in vhost_user_dev.c (none: refused) and whether that handler
 * sends its own reply (replies) or the request may only be acked (acks).
 * Expanded into the enum below, the size and fd checks of vhost_user_msg.c
 * and the handler table of vhost_user_dev.c.
 *
 * Size rules: SZ_NONE (0 bytes), SZ_U64, SZ_STATE, SZ_ADDR, SZ_LOG,
 * SZ_MEM_REG (exactly that struct), SZ_MEM (8 + nregions regions), SZ_ANY
 * (not parsed: the device refuses the request). Fd rules: FD_NONE, FD_ONE,
 * FD_VRING (one unless the u64's NOFD bit says none), FD_MEM (one per
 * region), FD_OPT (none or one, never used), FD_ANY (not parsed; closed).
 * REM_MEM_REG's FD_OPT: the spec says no fd; QEMU before 7.1 and
 * libvhost-user send the region's, which backends may accept and ignore.
 */
#define VHOST_USER_REQUESTS(X)						\
	X(NONE,			 0, SZ_ANY,	FD_ANY,	  none,		acks)	\
	X(GET_FEATURES,		 1, SZ_NONE,	FD_NONE,  get_features,	replies) \
	X(SET_FEATURES,		 2, SZ_U64,	FD_NONE,  set_features,	acks)	\
	X(SET_OWNER,		 3, SZ_NONE,	FD_NONE,  set_owner,	acks)	\
	X(RESET_OWNER,		 4, SZ_NONE,	FD_NONE,  reset,	acks)	\
	X(SET_MEM_TABLE,	 5, SZ_MEM,	FD_MEM,	  set_mem_table, acks)	\
	X(SET_LOG_BASE,		 6, SZ_LOG,	FD_ONE,	  set_log_base,	replies) \
	X(SET_LOG_FD,		 7, SZ_NONE,	FD_ONE,	  set_log_fd,	acks)	\
	X(SET_VRING_NUM,	 8, SZ_STATE,	FD_NONE,  set_vring_state, acks)	\
	X(SET_VRING_ADDR,	 9, SZ_ADDR,	FD_NONE,  set_vring_addr, acks)	\
	X(SET_VRING_BASE,	10, SZ_STATE,	FD_NONE,  set_vring_state, acks)	\
	X(GET_VRING_BASE,	11, SZ_STATE,	FD_NONE,  get_vring_base, replies) \
	X(SET_VRING_KICK,	12, SZ_U64,	FD_VRING, set_vring_fd,	acks)	\
	X(SET_VRING_CALL,	13, SZ_U64,	FD_VRING, set_vring_fd,	acks)	\
	X(SET_VRING_ERR,	14, SZ_U64,	FD_VRING, set_vring_fd,	acks)	\
	X(GET_PROTOCOL_FEATURES, 15, SZ_NONE,	FD_NONE,  get_protocol_features, replies) \
	X(SET_PROTOCOL_FEATURES, 16, SZ_U64,	FD_NONE,  set_protocol_features, acks) \
	X(GET_QUEUE_NUM,	17, SZ_NONE,	FD_NONE,  get_queue_num, replies) \
	X(SET_VRING_ENABLE,	18, SZ_STATE,	FD_NONE,  set_vring_enable, acks) \
	X(SEND_RARP,		19, SZ_U64,	FD_NONE,  send_rarp,	acks)	\
	X(NET_SET_MTU,		20, SZ_U64,	FD_NONE,  net_set_mtu,	acks)	\
	X(SET_BACKEND_REQ_FD,	21, SZ_NONE,	FD_ONE,	  none,		acks)	\
	X(IOTLB_MSG,		22, SZ_ANY,	FD_ANY,	  none,		acks)	\
	X(SET_VRING_ENDIAN,	23, SZ_ANY,	FD_ANY,	  none,		acks)	\
	X(GET_CONFIG,		24, SZ_ANY,	FD_ANY,	  unsupported_get, replies) \
	X(SET_CONFIG,		25, SZ_ANY,	FD_ANY,	  none,		acks)	\
	X(CREATE_CRYPTO_SESSION, 26, SZ_ANY,	FD_ANY,	  unsupported_get, replies) \
	X(CLOSE_CRYPTO_SESSION,	27, SZ_ANY,	FD_ANY,	  none,		acks)	\
	X(POSTCOPY_ADVISE,	28, SZ_ANY,	FD_ANY,	  unsupported_get, replies) \
	X(POSTCOPY_LISTEN,	29, SZ_ANY,	FD_ANY,	  none,		acks)	\
	X(POSTCOPY_END,		30, SZ_ANY,	FD_ANY,	  none,		acks)	\
	X(GET_INFLIGHT_FD,	31, SZ_ANY,	FD_ANY,	  unsupported_get, replies) \
	X(SET_INFLIGHT_FD,	32, SZ_ANY,	FD_ANY,	  none,		acks)	\
	X(GPU_SET_SOCKET,	33, SZ_ANY,	FD_ANY,	  none,		acks)	\
	X(RESET_DEVICE,		34, SZ_NONE,	FD_NONE,  reset,	acks)	\
	X(VRING_KICK,		35, SZ_ANY,	FD_ANY,	  none,		acks)	\
	X(GET_MAX_MEM_SLOTS,	36, SZ_NONE,	FD_NONE,  get_max_mem_slots, replies) \
	X(ADD_MEM_REG,		37, SZ_MEM_REG,	FD_ONE,	  mem_reg,	acks)	\
	X(REM_MEM_REG,		38, SZ_MEM_REG,	FD_OPT,	  mem_reg,	acks)	\
	X(SET_STATUS,		39, SZ_U64,	FD_NONE,  set_status,	acks)	\
	X(GET_STATUS,		40, SZ_NONE,	FD_NONE,  get_status,	replies)

#define VHOST_USER_REQ_ENUM(name, code, size, fds, fn, reply)		\
	VHOST_USER_##name = code,
enum vhost_user_request {
	VHOST_USER_REQUESTS(VHOST_USER_REQ_ENUM)
	VHOST_USER_MAX_REQUEST,
};
#undef VHOST_USER_REQ_ENUM

/* Feature bits that are vhost-user's own (not virtio's). */
#define VHOST_USER_F_PROTOCOL_FEATURES 30
#define VHOST_F_LOG_ALL 26

enum vhost_user_protocol_feature {
	VHOST_USER_PROTOCOL_F_MQ = 0,
	VHOST_USER_PROTOCOL_F_LOG_SHMFD = 1,
	VHOST_USER_PROTOCOL_F_RARP = 2,
	VHOST_USER_PROTOCOL_F_REPLY_ACK = 3,
	VHOST_USER_PROTOCOL_F_NET_MTU = 4,
	VHOST_USER_PROTOCOL_F_BACKEND_REQ = 5,
	VHOST_USER_PROTOCOL_F_CROSS_ENDIAN = 6,
	VHOST_USER_PROTOCOL_F_CRYPTO_SESSION = 7,
	VHOST_USER_PROTOCOL_F_PAGEFAULT = 8,
	VHOST_USER_PROTOCOL_F_CONFIG = 9,
	VHOST_USER_PROTOCOL_F_BACKEND_SEND_FD = 10,
	VHOST_USER_PROTOCOL_F_HOST_NOTIFIER = 11,
	VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD = 12,
	VHOST_USER_PROTOCOL_F_RESET_DEVICE = 13,
	VHOST_USER_PROTOCOL_F_INBAND_NOTIFICATIONS = 14,
	VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS = 15,
	VHOST_USER_PROTOCOL_F_STATUS = 16,
};

#define VHOST_USER_VERSION		0x1
#define VHOST_USER_VERSION_MASK		0x3
#define VHOST_USER_REPLY_MASK		(1u << 2)
#define VHOST_USER_NEED_REPLY_MASK	(1u << 3)

/* SET_VRING_ADDR flags bit: log used ring writes at log_guest_addr. */
#define VHOST_VRING_F_LOG 0

/* u64 payload of SET_VRING_KICK/CALL/ERR */
#define VHOST_USER_VRING_IDX_MASK	0xffu
#define VHOST_USER_VRING_NOFD_MASK	(1u << 8)

#define VHOST_USER_MAX_FDS 8
#define VHOST_USER_MAX_REGIONS 8

struct vhost_user_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size;
} __attribute__((packed));

struct vhost_user_vring_state {
	uint32_t index;
	uint32_t num;
} __attribute__((packed));

struct vhost_user_vring_addr {
	uint32_t index;
	uint32_t flags;
	uint64_t desc_user_addr;
	uint64_t used_user_addr;
	uint64_t avail_user_addr;
	uint64_t log_guest_addr;
} __attribute__((packed));

struct vhost_user_region {
	uint64_t guest_phys_addr;
	uint64_t memory_size;
	uint64_t userspace_addr;
	uint64_t mmap_offset;
} __attribute__((packed));

struct vhost_user_memory {
	uint32_t nregions;
	uint32_t padding;
	struct vhost_user_region regions[VHOST_USER_MAX_REGIONS];
} __attribute__((packed));

struct vhost_user_mem_reg {
	uint64_t padding;
	struct vhost_user_region region;
} __attribute__((packed));

struct vhost_user_log {
	uint64_t mmap_size;
	uint64_t mmap_offset;
} __attribute__((packed));

struct vhost_user_config {
	uint32_t offset;
	uint32_t size;
	uint32_t flags;
	uint8_t region[256];
} __attribute__((packed));

/* Largest payload we accept; anything bigger is malformed. */
#define VHOST_USER_PAYLOAD_MAX 4096

struct vhost_user_msg {
	struct vhost_user_hdr hdr;
	union {
		uint64_t u64;
		struct vhost_user_vring_state state;
		struct vhost_user_vring_addr addr;
		struct vhost_user_memory memory;
		struct vhost_user_mem_reg mem_reg;
		struct vhost_user_log log;
		struct vhost_user_config config;
		uint8_t raw[VHOST_USER_PAYLOAD_MAX];
	} payload;
	int fds[VHOST_USER_MAX_FDS];
	unsigned int nfds;
};

#define VHOST_USER_HDR_SIZE sizeof(struct vhost_user_hdr)

/* A message must arrive whole within this long of its first byte; a
 * frontend writes each one with a single sendmsg, so only a stalling (or
 * dripping) one is ever late.
 */
#define VHOST_USER_MSG_DEADLINE_MS 1000

/* One message being received: header, payload and fds fill in from
 * whatever the socket has, across as many readiness events as it takes.
 */
struct vhost_user_rx {
	struct vhost_user_msg *m;
	uint32_t got;		/* header and payload bytes received */
};

/* Receive into @m from now on; it carries no fds. */
void vhost_user_rx_init(struct vhost_user_rx *rx, struct vhost_user_msg *m);

/* Read what the socket has of the message in progress, never waiting and
 * never past its end. Returns 1 when rx->m is complete (handle it, then
 * vhost_user_rx_next()), 0 when the socket has nothing more for now,
 * -ECONNRESET on EOF or a reset, -EBADMSG when the message is malformed as
 * a whole (payload too big, too many fds, EOF in the middle), or another
 * negative errno. On error no fds are left open and the connection must be
 * dropped.
 */
int vhost_user_rx_read(int sock, struct vhost_user_rx *rx);

/* Part of a message is in: its deadline runs. */
static inline bool vhost_user_rx_partial(const struct vhost_user_rx *rx)
{
	return rx->got != 0;
}

/* How many bytes the message in progress has, and will have (0 while its
 * header is incomplete), for the log line that drops a late one.
 */
static inline uint32_t vhost_user_rx_want(const struct vhost_user_rx *rx)
{
	return rx->got < VHOST_USER_HDR_SIZE ? 0 :
	       VHOST_USER_HDR_SIZE + rx->m->hdr.size;
}

/* Done with the message: close the fds it still carries, await the next. */
void vhost_user_rx_next(struct vhost_user_rx *rx);

/* For frontends and tests, never the daemon: receive one message, waiting
 * as long as it takes for its first byte and VHOST_USER_MSG_DEADLINE_MS
 * for the rest. Returns 0, -ETIMEDOUT, or what vhost_user_rx_read() does.
 */
int vhost_user_msg_recv(int sock, struct vhost_user_msg *m);

/* Check the payload size and the number of fds against what @m->hdr.request
 * allows. Returns 0 or -EBADMSG. Does not close fds.
 */
int vhost_user_msg_validate(const struct vhost_user_msg *m);

/* Send @m as a reply to the request it carries: sets the REPLY flag and
 * version; @m->hdr.size must already be the payload size. Never waits: a
 * reply the socket cannot take whole at once is -ENOBUFS (the frontend
 * does not read its replies; drop it).
 */
int vhost_user_msg_reply(int sock, struct vhost_user_msg *m);

/* Send @m as a request (tests acting as a frontend), passing @m->nfds fds;
 * waits for socket space up to VHOST_USER_MSG_DEADLINE_MS.
 */
int vhost_user_msg_send(int sock, const struct vhost_user_msg *m);

/* A control-message buffer with room for @n fds, aligned for a struct
 * cmsghdr (<sys/socket.h>), for vhost_user_fds_attach().
 */
#define VHOST_USER_FDS_CMSG(n)						\
	union {								\
		char buf[CMSG_SPACE(sizeof(int) * (n))];		\
		struct cmsghdr align;					\
	}

/* Put @nfds fds (none: nothing) on @mh as one SCM_RIGHTS control message
 * in @buf (@size bytes, a VHOST_USER_FDS_CMSG's): what sending a message
 * does, for tests and the hostile frontend that frame bytes of their own.
 * 0, or -EINVAL when they do not fit.
 */
struct msghdr;
int vhost_user_fds_attach(struct msghdr *mh, void *buf, size_t size, const int *fds,
			  unsigned int nfds);

/* Close every fd @m carries and forget them. */
void vhost_user_msg_close_fds(struct vhost_user_msg *m);

const char *vhost_user_req_name(uint32_t req);

#endif
