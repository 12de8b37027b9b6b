/* SPDX-License-Identifier: GPL-2.0 */
/* The few compiler helpers every part of the daemon uses, defined once. */
#ifndef VXDP_COMPILER_H
#define VXDP_COMPILER_H

#include <stddef.h>

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Memory shared with a guest or the kernel: one untorn access, never
 * merged or repeated by the compiler; ordering is the caller's business.
 */
#define READ_ONCE(x)		__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, v)	__atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

#endif
