# vxdp-relay: build, test and demo entry points. Everything lands in build/.
#
#   make            build the daemon, tools, BPF objects and unit tests
#   make deps       install the Debian packages the build and tests need
#   make check      deps + build + every test (kselftest TAP under prove)
#   make demo       deps + build + a guest pinging through the relay
#   make demo-failover  deps + build + a guest migrated between two relays,
#                   their failover agents moving its MAC
#   make SANITIZE=1 ...   the same with ASan+UBSan

SANITIZE ?= 0
# Sanitized objects live apart so switching SANITIZE never mixes them.
ifeq ($(SANITIZE),1)
BUILD    ?= build/sanitize
else
BUILD    ?= build
endif
CC       ?= gcc
CLANG    ?= clang
BPFTOOL  ?= bpftool


CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 -pthread -Wall -Wextra -Werror -D_GNU_SOURCE \
	    -Iuser -Ibpf -I$(BUILD) -MMD -MP $(EXT_CFLAGS)
LDLIBS   := -lxdp -lbpf -luring -lelf -lz -pthread
# libnl (failover agent, netlink watch) and json-c (QMP client): recursive,
# so that pkg-config runs when a rule needs them, after `make deps`. Only
# the daemon and the agent link libnl; only the objects that use them pull
# them out of libvxdp.a.
PKG_CONFIG ?= pkg-config
NL_PKGS    := libnl-route-3.0 libnl-genl-3.0 libnl-3.0
EXT_CFLAGS  = $(shell $(PKG_CONFIG) --cflags $(NL_PKGS) json-c)
NL_LIBS     = $(shell $(PKG_CONFIG) --libs $(NL_PKGS))
JSON_LIBS   = $(shell $(PKG_CONFIG) --libs json-c)
# sd_notify(3) for the service (user/daemon/service.c): the daemon only.
SD_LIBS     = $(shell $(PKG_CONFIG) --libs libsystemd)
ifeq ($(SANITIZE),1)
CFLAGS   += -fsanitize=address,undefined -fno-omit-frame-pointer \
	    -fno-sanitize-recover=undefined
LDFLAGS  += -fsanitize=address,undefined
endif

# -target bpf searches no multiarch folder, where <asm/types.h> lives (the
# UAPI headers vxdp_steer uses instead of vmlinux.h).
MULTIARCH  := $(shell $(CC) -print-multiarch 2>/dev/null)
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_x86 -Wall -Werror \
	      -I$(BUILD) -Ibpf $(if $(MULTIARCH),-idirafter /usr/include/$(MULTIARCH))

# The product's programs in bpf/, test and benchmark peers in bpf/test/;
# all objects land flat in $(BUILD)/bpf/.
BPF_SRCS  := $(wildcard bpf/*.bpf.c bpf/test/*.bpf.c)
BPF_OBJS  := $(patsubst %.bpf.c,$(BUILD)/bpf/%.bpf.o,$(notdir $(BPF_SRCS)))
BPF_SKELS := $(patsubst %.bpf.c,$(BUILD)/%.skel.h,$(notdir $(BPF_SRCS)))
vpath %.bpf.c bpf bpf/test

# user/ has one folder per concern (util, vhost, virtio, xdp, net, daemon);
# includes name the folder ("vhost/guest_mem.h") so the dependencies show.
LIB_SRCS  := $(filter-out user/daemon/main.c,$(wildcard user/*/*.c))
LIB_OBJS  := $(patsubst %.c,$(BUILD)/%.o,$(LIB_SRCS))
LIB       := $(BUILD)/libvxdp.a

# One folder per tool (tools/vxdpctl, tools/bench, ...); binaries land flat.
TOOL_SRCS := $(wildcard tools/*/*.c)
TOOLS     := $(patsubst %.c,$(BUILD)/%,$(notdir $(TOOL_SRCS)))

UNIT_SRCS := $(wildcard selftests/unit/test_*.c)
UNIT_BINS := $(patsubst selftests/unit/%.c,$(BUILD)/selftests/%,$(UNIT_SRCS))
# Programs the e2e tests run inside a guest: static, unsanitized (they
# are copied into the guest's initramfs), compiled from their sources.
SRIOV_CHECK      := $(BUILD)/selftests/vxdp-sriov-check
SRIOV_CHECK_SRCS := selftests/e2e/sriov_check.c user/agent/failover_backend.c \
		    user/agent/backend_sriov.c user/agent/backend_bridge.c \
		    user/agent/failover_fsm.c user/net/nl_fdb.c user/net/nl_util.c \
		    user/net/nl_watch.c user/util/log.c

# The hostile vhost-user frontend the e2e tests attack relays with; one
# binary from every file in its folder (one file per class of attack).
HOSTILE_SRCS := $(wildcard selftests/e2e/hostile/*.c)
HOSTILE_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(HOSTILE_SRCS))
HOSTILE      := $(BUILD)/vxdp-hostile

# Man pages: templates in tools/dist/man/, their option and command tables
# printed by the binaries themselves (tools/dist/mkman.sh).
MAN_SRCS  := $(wildcard tools/dist/man/*.in)
MAN_PAGES := $(patsubst tools/dist/man/%.in,$(BUILD)/man/%,$(MAN_SRCS))

.PHONY: all deps check demo demo-failover bench clean run_tests install
all: $(BUILD)/vxdp-relay $(TOOLS) $(BPF_OBJS) $(UNIT_BINS) $(SRIOV_CHECK) $(HOSTILE) \
     $(MAN_PAGES)

deps:
	@tools/dev/install-deps.sh

# CO-RE: vmlinux.h comes from the running kernel's BTF.
$(BUILD)/vmlinux.h:
	@mkdir -p $(@D)
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp
	mv $@.tmp $@

$(BUILD)/bpf/%.bpf.o: %.bpf.c $(BUILD)/vmlinux.h $(wildcard bpf/*.h)
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(BPFTOOL) gen skeleton $< > $@.tmp
	mv $@.tmp $@

# Sources include the generated skeletons; build those first.
$(LIB_OBJS) $(BUILD)/user/daemon/main.o $(patsubst %.c,$(BUILD)/%.o,$(TOOL_SRCS) $(UNIT_SRCS) $(HOSTILE_SRCS)): | $(BPF_SKELS)

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

# The daemon's control socket and vxdpctl speak JSON (json-c); the daemon
# runs the failover agent (libnl).
$(BUILD)/vxdp-relay: $(BUILD)/user/daemon/main.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(JSON_LIBS) $(NL_LIBS) $(SD_LIBS) $(LDLIBS)

define tool_rule
$(BUILD)/$(basename $(notdir $(1))): $(BUILD)/$(1:.c=.o) $$(LIB)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(JSON_LIBS) $$(LDLIBS)
endef
$(foreach t,$(TOOL_SRCS),$(eval $(call tool_rule,$(t))))

# (libnl: a test of the daemon's parts may pull in the relay's VF watch.)
$(BUILD)/selftests/%: $(BUILD)/selftests/unit/%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(JSON_LIBS) $(NL_LIBS) $(LDLIBS)

# Unit tests of the agent's netlink and QMP parts link those libraries.
$(BUILD)/selftests/test_agent_bridge: $(BUILD)/selftests/unit/test_agent_bridge.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(NL_LIBS) $(LDLIBS)

$(BUILD)/selftests/test_qmp: $(BUILD)/selftests/unit/test_qmp.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(JSON_LIBS) $(LDLIBS)

$(SRIOV_CHECK): $(SRIOV_CHECK_SRCS) $(wildcard user/*/*.h selftests/unit/ktap.h)
	@mkdir -p $(@D)
	$(CC) -static -O2 -g -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -Iuser \
		-Iselftests/unit $(EXT_CFLAGS) -o $@ $(SRIOV_CHECK_SRCS) \
		$(shell $(PKG_CONFIG) --static --libs $(NL_PKGS))

# It shares the unit tests' in-memory virtio driver (unit/guest_driver.h).
$(HOSTILE_OBJS): CFLAGS += -Iselftests
$(HOSTILE): $(HOSTILE_OBJS) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/man/%: tools/dist/man/%.in tools/dist/mkman.sh $(BUILD)/vxdp-relay $(BUILD)/vxdpctl
	@mkdir -p $(@D)
	tools/dist/mkman.sh $< $@ $(BUILD)

# make install [PREFIX=/usr/local] [DESTDIR=...]: the daemon and vxdpctl,
# the unit, man pages, the VF and libvirt scripts, the example config (and
# /etc/vxdp-relay.conf from it, relays commented out, unless there is one),
# and the product's BPF objects. Those are for inspection (bpftool, ip
# link): the binaries embed them (skeletons) and load nothing from disk.
PREFIX     ?= /usr/local
SBINDIR    ?= $(PREFIX)/sbin
MANDIR     ?= $(PREFIX)/share/man
DOCDIR     ?= $(PREFIX)/share/doc/vxdp-relay
LIBDIR     ?= $(PREFIX)/lib/vxdp-relay
LIBEXECDIR ?= $(PREFIX)/libexec/vxdp-relay
UNITDIR    ?= $(PREFIX)/lib/systemd/system
SYSCONFDIR ?= /etc
PRODUCT_BPF := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(wildcard bpf/*.bpf.c))

install: $(BUILD)/vxdp-relay $(BUILD)/vxdpctl $(MAN_PAGES) $(PRODUCT_BPF)
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(DOCDIR) $(DESTDIR)$(LIBDIR)/bpf $(DESTDIR)$(LIBEXECDIR) \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)
	install -m 755 $(BUILD)/vxdp-relay $(BUILD)/vxdpctl tools/scripts/vxdp-vf \
		$(DESTDIR)$(SBINDIR)
	install -m 755 tools/scripts/vxdp-libvirt-hook $(DESTDIR)$(LIBEXECDIR)
	install -m 644 $(PRODUCT_BPF) $(DESTDIR)$(LIBDIR)/bpf
	install -m 644 $(filter %.8,$(MAN_PAGES)) $(DESTDIR)$(MANDIR)/man8
	install -m 644 $(filter %.5,$(MAN_PAGES)) $(DESTDIR)$(MANDIR)/man5
	install -m 644 tools/dist/vxdp-relay.conf.example README.md $(DESTDIR)$(DOCDIR)
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
		tools/dist/vxdp-relay.service.in >$(DESTDIR)$(UNITDIR)/vxdp-relay.service
	chmod 644 $(DESTDIR)$(UNITDIR)/vxdp-relay.service
	test -e $(DESTDIR)$(SYSCONFDIR)/vxdp-relay.conf || \
		awk '/^\[relay /{ r = 1 } r && !/^#/ && NF { $$0 = "# " $$0 } 1' \
		tools/dist/vxdp-relay.conf.example >$(DESTDIR)$(SYSCONFDIR)/vxdp-relay.conf

# Every test under prove; kselftest exit 4 (skip) is mapped by ktap_exec.
check: deps all
	$(MAKE) -C selftests run_tests BUILD=$(abspath $(BUILD))

run_tests: all
	$(MAKE) -C selftests run_tests BUILD=$(abspath $(BUILD))

demo: deps all
	BUILD=$(abspath $(BUILD)) tools/dev/demo.sh

demo-failover: deps all
	BUILD=$(abspath $(BUILD)) tools/dev/demo-failover.sh

# Instructions per packet of the virtqueue hot path first (callgrind, ~10 s;
# fails on a regression against tools/bench/insncount-baseline.txt, skips (4) on a
# sanitizer build), then what guest offloads are worth (iperf3 through two QEMU
# guests, offloads on against off, ~5 min), then the relay against DPDK
# (BENCH_ARGS: its options, e.g. "--nice -20 --wait-idle 60" on a shared machine).
bench: deps all
	BUILD=$(abspath $(BUILD)) tools/bench/vxdp-insncount || [ $$? -eq 4 ]
	BUILD=$(abspath $(BUILD)) tools/bench/vxdp-offload-bench || [ $$? -eq 4 ]
	@if [ -x tools/bench/vxdp-bench ]; then tools/bench/vxdp-bench $(BENCH_ARGS); else \
		echo "bench: not written yet (issue 4)"; exit 1; fi

clean:
	rm -rf $(BUILD)

# libFuzzer targets and their bounded runs (selftests/fuzz/).
-include selftests/fuzz/fuzz.mk

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
