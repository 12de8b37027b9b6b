// SPDX-License-Identifier: GPL-2.0
/* SIGBUS guard: a lock-free registry of shared mappings whose backing file
 * someone else may shrink, and the signal handler that turns a touch of a
 * lost page into zero pages and a flag instead of the death of the process.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "fault_guard.h"

/* A slot's state word: a generation above the two state bits, so that the
 * handler can tell a slot that changed under it (seqlock) from one that did
 * not.
 */
#define FG_FREE		0u
#define FG_BUSY		1u	/* claimed, being filled or emptied */
#define FG_LIVE		2u
#define FG_STATE(w)	((w) & 3u)
#define FG_GEN		4u

struct fg_slot {
	uint32_t word;
	uint32_t hit;
	uintptr_t start, end;
};

static struct fg_slot fg_slots[FAULT_GUARD_SLOTS];
uint64_t fault_guard_faults;
static unsigned int fg_hint;	/* where to start looking for a free slot */

static pthread_once_t fg_once = PTHREAD_ONCE_INIT;
static int fg_install_err;
static struct sigaction fg_prev;

/* The slot whose live range holds @addr, or NULL. Reads fields another
 * thread may be rewriting: a range is trusted only when the slot's word is
 * the same live value before and after.
 */
static struct fg_slot *fg_find(uintptr_t addr, uintptr_t *rstart,
			       uintptr_t *rend)
{
	unsigned int i;

	for (i = 0; i < FAULT_GUARD_SLOTS; i++) {
		struct fg_slot *s = &fg_slots[i];
		uint32_t w = __atomic_load_n(&s->word, __ATOMIC_ACQUIRE);
		uintptr_t start, end;

		if (FG_STATE(w) != FG_LIVE)
			continue;
		start = __atomic_load_n(&s->start, __ATOMIC_RELAXED);
		end = __atomic_load_n(&s->end, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&s->word, __ATOMIC_RELAXED) != w)
			continue;
		if (addr >= start && addr < end) {
			*rstart = start;
			*rend = end;
			return s;
		}
	}
	return NULL;
}

/* Not ours: do what would have happened without us. A handler of the
 * program's or a sanitizer's gets the signal; with none, the default action
 * is restored and the access faults again on return, killing the process
 * with SIGBUS as before.
 */
static void fg_chain(int sig, siginfo_t *info, void *ctx)
{
	struct sigaction dfl;

	if (fg_prev.sa_flags & SA_SIGINFO) {
		if (fg_prev.sa_sigaction) {
			fg_prev.sa_sigaction(sig, info, ctx);
			return;
		}
	} else if (fg_prev.sa_handler != SIG_DFL &&
		   fg_prev.sa_handler != SIG_IGN) {
		fg_prev.sa_handler(sig);
		return;
	}
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigaction(SIGBUS, &dfl, NULL);
}

/* Async-signal-safe: atomics and raw system calls only (no interposed mmap,
 * no allocation, no lock).
 */
static void fg_handler(int sig, siginfo_t *info, void *ctx)
{
	int saved = errno;
	uintptr_t start, end;
	struct fg_slot *s = fg_find((uintptr_t)info->si_addr, &start, &end);
	long p;

	if (!s) {
		fg_chain(sig, info, ctx);
		errno = saved;
		return;
	}
	/* Same place, same size, same access: every pointer into the range
	 * stays valid and reads zeros; writes land in private pages nobody
	 * else sees. The owner unmaps it with the rest.
	 */
	p = syscall(SYS_mmap, start, end - start,
		    PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE,
		    -1, 0);
	if (p == -1 || (uintptr_t)p != start) {
		fg_chain(sig, info, ctx);
		errno = saved;
		return;
	}
	__atomic_store_n(&s->hit, 1, __ATOMIC_RELEASE);
	__atomic_fetch_add(&fault_guard_faults, 1, __ATOMIC_RELEASE);
	errno = saved;
}

static void fg_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = fg_handler;
	/* SA_ONSTACK: a sanitizer may give threads an alternate stack. */
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, &fg_prev))
		fg_install_err = -errno;
}

int fault_guard_add(void *start, size_t len)
{
	unsigned int i, first;

	pthread_once(&fg_once, fg_install);
	if (fg_install_err)
		return fg_install_err;
	if (!len || (uintptr_t)start > UINTPTR_MAX - len)
		return -EINVAL;
	first = __atomic_load_n(&fg_hint, __ATOMIC_RELAXED) % FAULT_GUARD_SLOTS;
	for (i = 0; i < FAULT_GUARD_SLOTS; i++) {
		unsigned int k = (first + i) % FAULT_GUARD_SLOTS;
		struct fg_slot *s = &fg_slots[k];
		uint32_t w = __atomic_load_n(&s->word, __ATOMIC_RELAXED);

		if (FG_STATE(w) != FG_FREE ||
		    !__atomic_compare_exchange_n(&s->word, &w, w + FG_BUSY, false,
						 __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			continue;
		__atomic_store_n(&s->start, (uintptr_t)start, __ATOMIC_RELAXED);
		__atomic_store_n(&s->end, (uintptr_t)start + len, __ATOMIC_RELAXED);
		__atomic_store_n(&s->hit, 0, __ATOMIC_RELAXED);
		/* A new generation, live: the fields are visible before it. */
		__atomic_store_n(&s->word, (w & ~3u) + FG_GEN + FG_LIVE,
				 __ATOMIC_RELEASE);
		__atomic_store_n(&fg_hint, k + 1, __ATOMIC_RELAXED);
		return k;
	}
	return -ENOSPC;
}

void fault_guard_del(int slot)
{
	struct fg_slot *s;
	uint32_t w;

	if (slot < 0 || slot >= FAULT_GUARD_SLOTS)
		return;
	s = &fg_slots[slot];
	w = __atomic_load_n(&s->word, __ATOMIC_RELAXED);
	if (FG_STATE(w) != FG_LIVE)
		return;
	/* Busy first, so the handler ignores the range from here on. */
	__atomic_store_n(&s->word, (w & ~3u) + FG_GEN + FG_BUSY, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	__atomic_store_n(&s->start, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&s->end, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&s->word, (w & ~3u) + 2 * FG_GEN + FG_FREE,
			 __ATOMIC_RELEASE);
}

bool fault_guard_hit(int slot)
{
	if (slot < 0 || slot >= FAULT_GUARD_SLOTS)
		return false;
	return __atomic_load_n(&fg_slots[slot].hit, __ATOMIC_ACQUIRE);
}
