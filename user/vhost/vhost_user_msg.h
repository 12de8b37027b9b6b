/* SPDX-License-Identifier: GPL-2.0 */
/* vhost-user wire format: message layout, receive with passed file
 * descriptors, per-request size and fd-count validation, replies.
 * Everything received here is untrusted frontend input.
 */
#ifndef VXDP_VHOST_USER_MSG_H
#define VXDP_VHOST_USER_MSG_H

#include <stdint.h>
#include <stddef.h>

enum vhost_user_request {
	VHOST_USER_NONE = 0,
	VHOST_USER_GET_FEATURES = 1,
	VHOST_USER_SET_FEATURES = 2,
	VHOST_USER_SET_OWNER = 3,
	VHOST_USER_RESET_OWNER = 4,
	VHOST_USER_SET_MEM_TABLE = 5,
	VHOST_USER_SET_LOG_BASE = 6,
	VHOST_USER_SET_LOG_FD = 7,
	VHOST_USER_SET_VRING_NUM = 8,
	VHOST_USER_SET_VRING_ADDR = 9,
	VHOST_USER_SET_VRING_BASE = 10,
	VHOST_USER_GET_VRING_BASE = 11,
	VHOST_USER_SET_VRING_KICK = 12,
	VHOST_USER_SET_VRING_CALL = 13,
	VHOST_USER_SET_VRING_ERR = 14,
	VHOST_USER_GET_PROTOCOL_FEATURES = 15,
	VHOST_USER_SET_PROTOCOL_FEATURES = 16,
	VHOST_USER_GET_QUEUE_NUM = 17,
	VHOST_USER_SET_VRING_ENABLE = 18,
	VHOST_USER_SEND_RARP = 19,
	VHOST_USER_NET_SET_MTU = 20,
	VHOST_USER_SET_BACKEND_REQ_FD = 21,
	VHOST_USER_IOTLB_MSG = 22,
	VHOST_USER_SET_VRING_ENDIAN = 23,
	VHOST_USER_GET_CONFIG = 24,
	VHOST_USER_SET_CONFIG = 25,
	VHOST_USER_CREATE_CRYPTO_SESSION = 26,
	VHOST_USER_CLOSE_CRYPTO_SESSION = 27,
	VHOST_USER_POSTCOPY_ADVISE = 28,
	VHOST_USER_POSTCOPY_LISTEN = 29,
	VHOST_USER_POSTCOPY_END = 30,
	VHOST_USER_GET_INFLIGHT_FD = 31,
	VHOST_USER_SET_INFLIGHT_FD = 32,
	VHOST_USER_GPU_SET_SOCKET = 33,
	VHOST_USER_RESET_DEVICE = 34,
	VHOST_USER_VRING_KICK = 35,
	VHOST_USER_GET_MAX_MEM_SLOTS = 36,
	VHOST_USER_ADD_MEM_REG = 37,
	VHOST_USER_REM_MEM_REG = 38,
	VHOST_USER_SET_STATUS = 39,
	VHOST_USER_GET_STATUS = 40,
	VHOST_USER_MAX_REQUEST,
};

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

/* Receive one message from @sock. Returns 0, -ECONNRESET on orderly EOF,
 * -EBADMSG when the message is malformed as a whole (short header, payload
 * too big, truncated, fds that were cut), or another negative errno. On any
 * error no fds are left open and the connection should be dropped.
 */
int vhost_user_msg_recv(int sock, struct vhost_user_msg *m);

/* Check the payload size and the number of fds against what @m->hdr.request
 * allows. Returns 0 or -EBADMSG. Does not close fds.
 */
int vhost_user_msg_validate(const struct vhost_user_msg *m);

/* Send @m as a reply to the request it carries: sets the REPLY flag and
 * version; @m->hdr.size must already be the payload size.
 */
int vhost_user_msg_reply(int sock, struct vhost_user_msg *m);

/* Send @m as a request (used by tests acting as a frontend), passing
 * @m->nfds fds.
 */
int vhost_user_msg_send(int sock, const struct vhost_user_msg *m);

/* Close every fd @m carries and forget them. */
void vhost_user_msg_close_fds(struct vhost_user_msg *m);

const char *vhost_user_req_name(uint32_t req);

#endif
