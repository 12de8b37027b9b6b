/* SPDX-License-Identifier: GPL-2.0 */
/* CLOCK_MONOTONIC in the units the modules keep their deadlines in; read
 * through the vDSO, so no syscall on the datapath.
 */
#ifndef VXDP_CLOCK_H
#define VXDP_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t mono_us(void)
{
	return mono_ns() / 1000;
}

static inline uint64_t mono_ms(void)
{
	return mono_ns() / 1000000;
}

#endif
