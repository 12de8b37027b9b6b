# libFuzzer targets, included by the top-level Makefile (BUILD, CLANG).
# Built by `make` (part of `all`) when clang has its fuzzer runtime; run
# for a bounded time by selftests/fuzz/test_fuzz.sh under `make check`.

FUZZ_NAMES  := vhost_user vring
FUZZ_BINS   := $(patsubst %,$(BUILD)/fuzz/fuzz_%,$(FUZZ_NAMES))
# The code under test: everything a frontend's bytes reach.
FUZZ_SRCS   := user/vhost/guest_mem.c user/virtio/vring_split.c \
	       user/virtio/vring_packed.c user/vhost/vhost_user_msg.c \
	       user/vhost/vhost_user_dev.c user/vhost/dirty_log.c user/util/log.c \
	       user/util/fault_guard.c
FUZZ_OBJS   := $(patsubst %.c,$(BUILD)/fuzz/%.o,$(FUZZ_SRCS))

FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer,address,undefined \
	       -fno-sanitize-recover=undefined -fno-omit-frame-pointer \
	       -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror \
	       -Iuser -Ibpf -I$(BUILD) -MMD -MP
# Coverage and sanitizers in the code under test, libFuzzer's main only
# in the binaries.
FUZZ_LIB_CFLAGS := $(subst -fsanitize=fuzzer,-fsanitize=fuzzer-no-link,$(FUZZ_CFLAGS))

.PHONY: fuzz fuzz-targets fuzz-long
all: fuzz

# The long campaign: FUZZ_TIME seconds of each target (both at once, one
# per core; needs an idle machine), execs and coverage in its TAP output.
FUZZ_TIME ?= 1800
fuzz-long: fuzz
	VXDP_FUZZ_TIME=$(FUZZ_TIME) BUILD=$(abspath $(BUILD)) selftests/fuzz/test_fuzz.sh

# Decided when the recipe runs, not when make parses: `make check` installs
# the runtime (make deps) after this file was read.
FUZZ_PROBE := $(BUILD)/fuzz/probe
fuzz:
	@mkdir -p $(BUILD)/fuzz
	@if [ -x $(FUZZ_PROBE) ] || \
	    printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n)\n{ return (void)d, (void)n, 0; }\n' | \
	    $(CLANG) -fsanitize=fuzzer,address,undefined -x c - \
		-o $(FUZZ_PROBE) 2>/dev/null; then \
		$(MAKE) --no-print-directory fuzz-targets; \
	else \
		echo "fuzz: $(CLANG) lacks the libFuzzer runtime (libclang-rt-14-dev); not building fuzz targets"; \
	fi

fuzz-targets: $(FUZZ_BINS)
	@:

$(BUILD)/fuzz/user/%.o: user/%.c
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_LIB_CFLAGS) -c $< -o $@

$(BUILD)/fuzz/%.o: selftests/fuzz/%.c
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) -c $< -o $@

$(BUILD)/fuzz/fuzz_vhost_user: $(FUZZ_OBJS)
$(BUILD)/fuzz/fuzz_vring: $(addprefix $(BUILD)/fuzz/user/,vhost/guest_mem.o \
			   virtio/vring_split.o virtio/vring_packed.o \
			   vhost/dirty_log.o util/log.o util/fault_guard.o)
$(BUILD)/fuzz/fuzz_%: $(BUILD)/fuzz/fuzz_%.o
	$(CLANG) $(FUZZ_CFLAGS) -o $@ $^

# Objects of a pattern chain are intermediate to make; keep them so a
# rebuild only recompiles what changed.
.SECONDARY: $(FUZZ_OBJS) $(patsubst %,$(BUILD)/fuzz/fuzz_%.o,$(FUZZ_NAMES))
