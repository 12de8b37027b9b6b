#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
# Writes the seed inputs of selftests/fuzz/corpus/: QEMU-like vhost-user
# sessions for fuzz_vhost_user and well-formed rings for fuzz_vring, in the
# input formats those targets document, plus readable versions of the bugs
# fuzzing found (regress-*). Deterministic; run after changing a format:
#   python3 selftests/fuzz/mkseeds.py

import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

# ---------------------------------------------------------------- vhost-user

GET_FEATURES, SET_FEATURES, SET_OWNER, RESET_OWNER, SET_MEM_TABLE = 1, 2, 3, 4, 5
SET_LOG_BASE, SET_LOG_FD = 6, 7
SET_VRING_NUM, SET_VRING_ADDR, SET_VRING_BASE, GET_VRING_BASE = 8, 9, 10, 11
SET_VRING_KICK, SET_VRING_CALL, SET_VRING_ERR = 12, 13, 14
GET_PROTOCOL_FEATURES, SET_PROTOCOL_FEATURES, GET_QUEUE_NUM = 15, 16, 17
SET_VRING_ENABLE, SEND_RARP, NET_SET_MTU = 18, 19, 20
GET_CONFIG, RESET_DEVICE, SET_STATUS, GET_STATUS = 24, 34, 39, 40
GET_MAX_MEM_SLOTS, ADD_MEM_REG, REM_MEM_REG = 36, 37, 38

NEED_REPLY = 1 << 3
NOFD = 1 << 8

F_INDIRECT, F_EVENT_IDX, F_PROTOCOL, F_VERSION_1 = 28, 29, 30, 32
F_RING_PACKED = 34
F_LOG_ALL = 26
LOG_SHMFD = 1 << 1
CONFIGURE_MEM_SLOTS = 1 << 15
VRING_F_LOG = 1 << 0
F_MRG_RXBUF, F_ANY_LAYOUT = 15, 27
FEATURES = sum(1 << b for b in (F_MRG_RXBUF, F_ANY_LAYOUT, F_INDIRECT,
                                F_EVENT_IDX, F_PROTOCOL, F_VERSION_1))
# MQ, RARP, REPLY_ACK, NET_MTU, RESET_DEVICE, STATUS
PROTO = sum(1 << b for b in (0, 2, 3, 4, 13, 16))

# Record tags (fuzz_vhost_user.c): fd count, fd kind, record type.
FD_EVENT, FD_RAM, FD_SMALL, FD_ZERO = 0, 1, 2, 3
(REC_MSG, REC_MSG_MORE_FDS, REC_MSG_SPLIT, REC_MSG_SPLIT_FDS2, REC_MSG_BYTE,
 _, REC_POKE, REC_RUN) = range(8)
POKE, RUN = REC_POKE << 5, REC_RUN << 5

RAM_SIZE = 2 << 20
UVA0 = 0x7f1200000000
VRING_DESC_F_NEXT, VRING_DESC_F_WRITE, VRING_DESC_F_INDIRECT = 1, 2, 4


def tag(nfds=0, kind=FD_EVENT, mode=REC_MSG):
    # Eight or nine fds in one write need REC_MSG_MORE_FDS (count + 2).
    if nfds > 7:
        assert mode in (REC_MSG, REC_MSG_MORE_FDS)
        mode = REC_MSG_MORE_FDS
    if mode == REC_MSG_MORE_FDS:
        nfds -= 2
    assert 0 <= nfds <= 7
    return bytes([nfds | kind << 3 | mode << 5])


def msg(req, payload=b"", flags=0, nfds=0, kind=FD_EVENT, mode=REC_MSG):
    hdr = struct.pack("<III", req, 1 | flags, len(payload))
    return tag(nfds, kind, mode) + hdr + payload


def u64(req, v, **kw):
    return msg(req, struct.pack("<Q", v), **kw)


def state(req, idx, num, **kw):
    return msg(req, struct.pack("<II", idx, num), **kw)


def mem_table(regions, flags=NEED_REPLY, kind=FD_RAM, mode=REC_MSG,
              nfds=None):
    p = struct.pack("<II", len(regions), 0)
    for gpa, size, uva, off in regions:
        p += struct.pack("<QQQQ", gpa, size, uva, off)
    if nfds is None:
        nfds = len(regions)
    return msg(SET_MEM_TABLE, p, flags, nfds, kind, mode)


def mem_reg(req, gpa, size, uva, off=0, flags=NEED_REPLY, nfds=None,
            kind=FD_RAM):
    # struct { u64 padding; region } (QEMU 7.2: one fd with ADD, none
    # with REM)
    if nfds is None:
        nfds = 1 if req == ADD_MEM_REG else 0
    return msg(req, struct.pack("<QQQQQ", 0, gpa, size, uva, off), flags,
               nfds, kind)


def ring_addr(idx, desc, avail, used, flags=0, log=0, msg_flags=0):
    return msg(SET_VRING_ADDR,
               struct.pack("<IIQQQQ", idx, flags, UVA0 + desc, UVA0 + used,
                           UVA0 + avail, log), msg_flags)


def vring_fd(req, idx, fd=True):
    return u64(req, idx | (0 if fd else NOFD), nfds=1 if fd else 0)


def poke(off, data):
    out = b""
    while data:
        part, data = data[:255], data[255:]
        out += bytes([POKE]) + struct.pack("<IB", off, len(part)) + part
        off += len(part)
    return out


def resize(size, kind=FD_RAM):
    """The frontend truncates (or grows) its RAM or small memfd."""
    return bytes([POKE | 7 | kind << 3]) + struct.pack("<I", size)


def desc(addr, length, flags=0, nxt=0):
    return struct.pack("<QIHH", addr, length, flags, nxt)


# Ring q at guest RAM offset RING(q): desc, avail +0x1000, used +0x2000.
def ring_off(q):
    return 0x10000 * (q + 1)


def ring_setup(q, num=256, base=0):
    o = ring_off(q)
    return (state(SET_VRING_NUM, q, num) + state(SET_VRING_BASE, q, base) +
            ring_addr(q, o, o + 0x1000, o + 0x2000) +
            vring_fd(SET_VRING_KICK, q) + vring_fd(SET_VRING_CALL, q))


def guest_post(q, descs, heads, base=0):
    """The guest fills ring q's descriptor table and publishes @heads."""
    o = ring_off(q)
    avail = struct.pack("<HH", 0, (base + len(heads)) & 0xffff)
    ring = b"".join(struct.pack("<H", h) for h in heads)
    return (poke(o, b"".join(descs)) + poke(o + 0x1000 + 4, ring) +
            poke(o + 0x1000, avail))


def negotiate(features=FEATURES, proto=PROTO):
    s = msg(GET_FEATURES)
    if features & (1 << F_PROTOCOL):
        s += (msg(GET_PROTOCOL_FEATURES) +
              u64(SET_PROTOCOL_FEATURES, proto) + msg(GET_QUEUE_NUM))
    s += msg(SET_OWNER, flags=NEED_REPLY if proto & 8 else 0)
    s += vring_fd(SET_VRING_CALL, 0) + vring_fd(SET_VRING_CALL, 1)
    s += u64(SET_FEATURES, features, flags=NEED_REPLY if proto & 8 else 0)
    return s


def one_region():
    return mem_table([(0, RAM_SIZE, UVA0, 0)])


def enable_both():
    return b"".join(state(SET_VRING_ENABLE, q, 1, flags=NEED_REPLY)
                    for q in (0, 1))


BUF = 0x100000		# guest buffers live from 1 MiB on


def traffic(base=0):
    """One rx buffer and one two-part tx frame, then a datapath run."""
    rx = [desc(BUF, 2048, VRING_DESC_F_WRITE)]
    tx = [desc(BUF + 0x1000, 12, VRING_DESC_F_NEXT, 1),
          desc(BUF + 0x1100, 60)]
    return (guest_post(0, rx, [0], base) + guest_post(1, tx, [0], base) +
            bytes([RUN]))


def vhost_user_seeds():
    seeds = {}
    # What QEMU 7.2 sends for a virtio-net device that the guest starts.
    seeds["qemu-handshake"] = (negotiate() + one_region() + ring_setup(0) +
                               ring_setup(1) + enable_both() + traffic() +
                               state(GET_VRING_BASE, 0, 0) +
                               state(GET_VRING_BASE, 1, 0))
    # A frontend without F_PROTOCOL_FEATURES: rings run once kicked.
    seeds["legacy"] = (negotiate(FEATURES & ~(1 << F_PROTOCOL), 0) +
                       one_region() + ring_setup(0, 64) + ring_setup(1, 64) +
                       traffic())
    # Memory hot-plug while the rings run: two regions, then back to one,
    # a ring moved, a reset.
    table = (desc(BUF + 0x800, 1500, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1) +
             desc(BUF + 0x1000, 1500, VRING_DESC_F_WRITE))
    seeds["mem-change"] = (
        negotiate() + one_region() + ring_setup(0) + ring_setup(1) +
        enable_both() + poke(BUF, table) +
        guest_post(0, [desc(BUF, len(table), VRING_DESC_F_INDIRECT)], [0]) +
        bytes([RUN]) +
        mem_table([(0, 0x80000, UVA0, 0),
                   (0x80000, RAM_SIZE - 0x80000, UVA0 + 0x80000, 0x80000)]) +
        bytes([RUN]) +
        ring_addr(1, 0x40000, 0x41000, 0x42000) + bytes([RUN]) +
        one_region() + msg(RESET_DEVICE, flags=NEED_REPLY) +
        one_region() + ring_setup(0) + bytes([RUN]))
    # Requests around the edges: acks, status, MTU, unsupported ones with
    # fds, NOFD rings; the unsupported GET_CONFIG ends the connection.
    seeds["odd-requests"] = (
        negotiate() +
        u64(NET_SET_MTU, 1500, flags=NEED_REPLY) +
        u64(SET_STATUS, 0x0f, flags=NEED_REPLY) + msg(GET_STATUS) +
        u64(SEND_RARP, 0x563412005452) +
        msg(SET_LOG_BASE, struct.pack("<QQ", 4096, 0), nfds=1,
            kind=FD_SMALL) +
        mem_table([(0, 0x10000, UVA0, 0)], kind=FD_SMALL, mode=REC_MSG_SPLIT) +
        vring_fd(SET_VRING_ERR, 0) + vring_fd(SET_VRING_KICK, 1, False) +
        state(SET_VRING_NUM, 1, 16) + state(SET_VRING_BASE, 1, 0xfffe) +
        ring_addr(1, 0x1000, 0x2000, 0x3000) +
        vring_fd(SET_VRING_KICK, 1, False) +
        msg(RESET_OWNER) +
        msg(GET_CONFIG, struct.pack("<III", 0, 8, 0) + bytes(8)))
    # A last message cut short by the end of the input.
    seeds["truncated"] = (negotiate() +
                          msg(SET_VRING_NUM, struct.pack("<II", 0, 8))[:9])
    # fds the kernel and our framing must cope with: on a split payload,
    # one too many, a memory table on /dev/zero.
    seeds["fds"] = (
        msg(SET_OWNER) +
        mem_table([(0, 0x1000, UVA0, 0), (0x1000, 0x1000, UVA0 + 0x1000, 0)],
                  kind=FD_ZERO, mode=REC_MSG_SPLIT) +
        u64(SET_VRING_CALL, 0, nfds=1, mode=REC_MSG_BYTE) +
        mem_table([(0x1000 * k, 0x1000, UVA0 + 0x1000 * k, 0x1000 * k)
                   for k in range(8)], kind=FD_RAM) +
        mem_table([(0, 0x1000, UVA0, 0)], kind=FD_RAM, nfds=9))
    # Seven fds with the header and seven with the payload: the receiver
    # must close the six it has no room for.
    seeds["fds-split"] = (msg(SET_OWNER) +
                          mem_table([(0, 0x1000, UVA0, 0)], kind=FD_EVENT,
                                    mode=REC_MSG_SPLIT_FDS2, nfds=7))
    # The same with packed rings: QEMU's first base is 0x80008000 (slot 0
    # in lap 1 for both halves); AVAIL set, USED clear is "available".
    packed = FEATURES | 1 << F_RING_PACKED
    rx = struct.pack("<QIHH", BUF, 2048, 0, 1 << 7 | VRING_DESC_F_WRITE)
    tx = (struct.pack("<QIHH", BUF + 0x1000, 12, 0, 1 << 7 | VRING_DESC_F_NEXT) +
          struct.pack("<QIHH", BUF + 0x1100, 60, 5, 1 << 7))
    seeds["qemu-packed"] = (
        negotiate(packed) + one_region() +
        ring_setup(0, 256, 0x80008000) + ring_setup(1, 100, 0x80008000) +
        enable_both() + poke(ring_off(0), rx) + poke(ring_off(1), tx) +
        bytes([RUN]) + state(GET_VRING_BASE, 0, 0) +
        state(GET_VRING_BASE, 1, 0))
    # Bug: a running split ring was re-checked with packed sizes once
    # SET_FEATURES turned VIRTIO_F_RING_PACKED on, so a memory table
    # holding only 4 bytes of its avail ring kept it running.
    o = ring_off(0)
    seeds["regress-packed-flip-remap"] = (
        negotiate() + one_region() +
        state(SET_VRING_NUM, 0, 256) + ring_addr(0, o, o + 0x2000, o + 0x1000) +
        vring_fd(SET_VRING_KICK, 0) + enable_both() +
        u64(SET_FEATURES, FEATURES | 1 << F_RING_PACKED, flags=NEED_REPLY) +
        mem_table([(0, o + 0x2004, UVA0, 0)]) + bytes([RUN]))
    # A live migration as QEMU 7.2 runs it on the source: traffic, then the
    # dirty log (a small memfd, 64 bytes for 2 MiB of RAM), LOG_ALL, the
    # rings' used addresses with F_LOG, more traffic, the rings stopped,
    # logging off again.
    proto = PROTO | LOG_SHMFD
    log_rings = b"".join(
        ring_addr(q, ring_off(q), ring_off(q) + 0x1000, ring_off(q) + 0x2000,
                  VRING_F_LOG, ring_off(q) + 0x2000, NEED_REPLY)
        for q in (0, 1))
    again = (poke(ring_off(0) + 0x1000 + 6, struct.pack("<H", 0)) +
             poke(ring_off(0) + 0x1000, struct.pack("<HH", 0, 2)) +
             bytes([RUN]))
    seeds["migration"] = (
        negotiate(FEATURES, proto) + one_region() +
        ring_setup(0) + ring_setup(1) + enable_both() + traffic() +
        msg(SET_LOG_BASE, struct.pack("<QQ", 64, 0), nfds=1, kind=FD_SMALL) +
        u64(SET_FEATURES, FEATURES | 1 << F_LOG_ALL, flags=NEED_REPLY) +
        log_rings + again + msg(SET_LOG_FD, nfds=1) +
        state(GET_VRING_BASE, 0, 0) + state(GET_VRING_BASE, 1, 0) +
        u64(SET_FEATURES, FEATURES, flags=NEED_REPLY))
    # Memory hot-plug as QEMU 7.2 does it with CONFIGURE_MEM_SLOTS: the
    # table comes as ADD_MEM_REG one region at a time (RAM split in two),
    # rings run, a DIMM (the small memfd) is plugged and unplugged, the
    # region holding ring 1 goes and comes back; refusals on the way: an
    # overlap, an unknown region, a REM with an fd (QEMU < 7.1).
    half = RAM_SIZE // 2
    slots = PROTO | CONFIGURE_MEM_SLOTS
    seeds["mem-slots"] = (
        negotiate(FEATURES, slots) + msg(GET_MAX_MEM_SLOTS) +
        mem_reg(ADD_MEM_REG, 0, half, UVA0) +
        mem_reg(ADD_MEM_REG, half, half, UVA0 + half, half) +
        ring_setup(0) + ring_setup(1) + enable_both() + traffic() +
        mem_reg(ADD_MEM_REG, 1 << 32, 0x10000, 0x7f3400000000,
                kind=FD_SMALL) +
        mem_reg(ADD_MEM_REG, (1 << 32) + 0x8000, 0x1000, 0x7f3500000000,
                kind=FD_SMALL) +
        mem_reg(REM_MEM_REG, 1 << 32, 0x10000, 0x7f3400001000) +
        bytes([RUN]) +
        mem_reg(REM_MEM_REG, 1 << 32, 0x10000, 0x7f3400000000, 0x1000,
                nfds=1, kind=FD_SMALL) +
        mem_reg(REM_MEM_REG, 0, half, UVA0) + bytes([RUN]) +
        mem_reg(ADD_MEM_REG, 0, half, UVA0) + ring_setup(1) +
        traffic())
    # The frontend truncates guest RAM under running rings, then kicks:
    # the datapath meets zero pages, the next message drops the
    # connection; the next session maps the file grown back. Then the
    # dirty log (the small memfd) truncated while logging.
    seeds["shrink-ram"] = (
        negotiate() + one_region() + ring_setup(0) + ring_setup(1) +
        enable_both() + traffic() + resize(BUF + 0x1000) + traffic(1) +
        msg(GET_FEATURES) + resize(RAM_SIZE) + negotiate() + one_region() +
        ring_setup(1) + resize(0) + state(SET_VRING_ENABLE, 1, 1,
                                          flags=NEED_REPLY))
    seeds["shrink-log"] = (
        negotiate(FEATURES, proto) + one_region() +
        ring_setup(0) + ring_setup(1) + enable_both() +
        msg(SET_LOG_BASE, struct.pack("<QQ", 64, 0), nfds=1, kind=FD_SMALL) +
        u64(SET_FEATURES, FEATURES | 1 << F_LOG_ALL, flags=NEED_REPLY) +
        log_rings + resize(0, FD_SMALL) + traffic() + msg(GET_FEATURES))
    # Amplification: on a 64-entry tx ring, a chain of 63 empty descriptors
    # ending in an indirect table of 64 empty entries, on 8 avail entries.
    o = ring_off(1)
    empties = b"".join(desc(BUF, 0, VRING_DESC_F_NEXT, k + 1)
                       for k in range(63))
    table = b"".join(desc(BUF, 0, VRING_DESC_F_NEXT, k + 1)
                     for k in range(64))
    seeds["amplify"] = (
        negotiate() + one_region() + ring_setup(0) + ring_setup(1, 64) +
        enable_both() + poke(BUF + 0x10000, table) +
        poke(o, empties + desc(BUF + 0x10000, len(table),
                               VRING_DESC_F_INDIRECT)) +
        poke(o + 0x1000 + 4, bytes(16)) +
        poke(o + 0x1000, struct.pack("<HH", 0, 8)) + bytes([RUN]))
    return seeds

# ---------------------------------------------------------------- vring

# struct fz_hdr in fuzz_vring.c
EVENT_IDX, INDIRECT, TWO_REGIONS, GPA_GAP, GPA_TOP, PACKED, MEMFD = (
    1, 2, 4, 8, 16, 32, 64)
OP_POP, OP_READ, OP_WRITE, OP_PUSH, OP_FLUSH, OP_NOTIFY, OP_UNPOP, OP_GUEST = range(8)


def op(code, arg=0):
    return code | arg << 3


class Ring:
    """A guest laying out one ring of @num entries in a memory image."""

    def __init__(self, num, size, gpa_page=1):
        self.num = num
        self.gpa0 = gpa_page << 12
        self.gpa_page = gpa_page
        self.img = bytearray(size)
        self.desc_off = 0
        self.avail_off = 16 * num
        self.used_off = (self.avail_off + 6 + 2 * num + 3) & ~3
        self.data = (self.used_off + 6 + 8 * num + 15) & ~15
        self.heads = []

    def buf(self, length):
        off = self.data
        self.data = (self.data + length + 15) & ~15
        assert self.data <= len(self.img)
        return self.gpa0 + off

    def put_desc(self, table_off, i, addr, length, flags=0, nxt=0):
        struct.pack_into("<QIHH", self.img, table_off + 16 * i, addr, length,
                         flags, nxt)

    def chain(self, first, segs):
        """Linked descriptors first, first+1, ...; segs: (len, write)."""
        for k, (length, write) in enumerate(segs):
            flags = VRING_DESC_F_WRITE if write else 0
            if k + 1 < len(segs):
                flags |= VRING_DESC_F_NEXT
            self.put_desc(self.desc_off, (first + k) % self.num,
                          self.buf(length), length, flags,
                          (first + k + 1) % self.num)
        return first

    def indirect(self, slot, segs, shared=False):
        """An indirect table; @shared: every entry names one buffer."""
        table = self.buf(16 * len(segs))
        toff = table - self.gpa0
        one = self.buf(max(length for length, _ in segs)) if shared else 0
        for k, (length, write) in enumerate(segs):
            flags = VRING_DESC_F_WRITE if write else 0
            if k + 1 < len(segs):
                flags |= VRING_DESC_F_NEXT
            self.put_desc(toff, k, one or self.buf(length), length, flags,
                          k + 1)
        self.put_desc(self.desc_off, slot, table, 16 * len(segs),
                      VRING_DESC_F_INDIRECT)
        return slot

    def publish(self, base=0):
        for k, h in enumerate(self.heads):
            struct.pack_into("<H", self.img,
                             self.avail_off + 4 + 2 * ((base + k) % self.num), h)
        struct.pack_into("<HH", self.img, self.avail_off, 0,
                         (base + len(self.heads)) & 0xffff)
        struct.pack_into("<HH", self.img, self.used_off, 0, base)

    def seed(self, flags=0, base=0, ops=b"", split=0):
        self.publish(base)
        hdr = struct.pack("<BBHHHHHBB", self.num.bit_length() - 1, flags,
                          base, self.desc_off, self.avail_off, self.used_off,
                          split, self.gpa_page, len(ops))
        return hdr + bytes(ops) + bytes(self.img)


# Packed descriptor flags: AVAIL and USED are bits 7 and 15.
P_AVAIL, P_USED = 1 << 7, 1 << 15


class PackedRing:
    """A driver laying out one packed ring of @num entries, starting at
    slot @start in lap @wrap (QEMU starts at slot 0, wrap 1).
    """

    def __init__(self, num, size, start=0, wrap=1, gpa_page=1):
        self.num = num
        self.gpa0 = gpa_page << 12
        self.gpa_page = gpa_page
        self.img = bytearray(size)
        self.desc_off = 0
        self.driver_event = (16 * num + 3) & ~3
        self.device_event = self.driver_event + 4
        self.data = (self.device_event + 4 + 15) & ~15
        self.start = self.slot = start
        self.wrap = self.start_wrap = wrap

    def buf(self, length):
        off = self.data
        self.data = (self.data + length + 15) & ~15
        assert self.data <= len(self.img)
        return self.gpa0 + off

    def put(self, table_off, i, addr, length, bid, flags):
        struct.pack_into("<QIHH", self.img, table_off + 16 * i, addr, length,
                         bid, flags)

    def avail_flags(self):
        return P_AVAIL if self.wrap else P_USED

    def chain(self, bid, segs):
        """Consecutive slots, NEXT across the ring end; segs: (len, write)."""
        for k, (length, write) in enumerate(segs):
            flags = self.avail_flags() | (VRING_DESC_F_WRITE if write else 0)
            if k + 1 < len(segs):
                flags |= VRING_DESC_F_NEXT
            self.put(self.desc_off, self.slot, self.buf(length), length, bid,
                     flags)
            self.slot += 1
            if self.slot == self.num:
                self.slot, self.wrap = 0, self.wrap ^ 1

    def indirect(self, bid, segs):
        table = self.buf(16 * len(segs))
        for k, (length, write) in enumerate(segs):
            self.put(table - self.gpa0, k, self.buf(length), length, 0,
                     VRING_DESC_F_WRITE if write else 0)
        self.put(self.desc_off, self.slot, table, 16 * len(segs), bid,
                 self.avail_flags() | VRING_DESC_F_INDIRECT)
        self.slot += 1
        if self.slot == self.num:
            self.slot, self.wrap = 0, self.wrap ^ 1

    def seed(self, flags=0, ops=b"", qlog=None):
        if qlog is None:
            qlog = self.num.bit_length() - 1
            assert 1 << qlog == self.num
        base = self.start | self.start_wrap << 15
        hdr = struct.pack("<BBHHHHHBB", qlog, flags | PACKED, base,
                          self.desc_off, self.driver_event, self.device_event,
                          0, self.gpa_page, len(ops))
        # Used half of the base: nothing in flight.
        return hdr + struct.pack("<H", base) + bytes(ops) + bytes(self.img)


def vring_seeds():
    seeds = {}

    r = Ring(8, 1024)
    r.heads = [r.chain(0, [(12, False), (60, False)]),
               r.chain(2, [(2048 // 8, True)]),
               r.chain(3, [(10, False), (64, True), (64, True)])]
    seeds["direct"] = r.seed()

    r = Ring(8, 1024)
    r.heads = [r.indirect(0, [(12, False), (32, True), (64, True)]),
               r.chain(1, [(16, False)])]
    # A direct descriptor followed by an indirect table.
    r.chain(2, [(8, False)])
    addr, length, _, _ = struct.unpack_from("<QIHH", r.img, 16 * 2)
    r.put_desc(0, 2, addr, length, VRING_DESC_F_NEXT, 3)
    r.indirect(3, [(24, True), (40, True)])
    r.heads.append(2)
    seeds["indirect"] = r.seed(INDIRECT | EVENT_IDX)

    # Indexes about to wrap, event index, notifications toggled by the
    # guest between our operations.
    r = Ring(4, 512)
    r.heads = [r.chain(k, [(16, k % 2 == 1)]) for k in range(4)]
    ops = [op(OP_POP), op(OP_POP), op(OP_UNPOP, 0), op(OP_POP),
           op(OP_WRITE, 2), op(OP_PUSH, 1), op(OP_FLUSH),
           op(OP_GUEST, 2), op(OP_NOTIFY, 1), op(OP_GUEST, 1),
           op(OP_READ), op(OP_FLUSH), op(OP_NOTIFY, 0)]
    seeds["wrap-event-idx"] = r.seed(EVENT_IDX, 0xfffe, ops)

    # Two regions, contiguous in guest-physical space: a buffer across the
    # boundary comes back as two iovs. Then the same with a gap (the buffer
    # runs into a hole).
    for name, flags in (("two-regions", TWO_REGIONS),
                        ("region-gap", TWO_REGIONS | GPA_GAP)):
        r = Ring(8, 1024)
        split = r.data + 64
        addr = r.gpa0 + split - 32
        r.put_desc(0, 0, addr, 96, VRING_DESC_F_WRITE)
        r.heads = [0]
        seeds[name] = r.seed(flags, 0, b"", split)

    # The longest chain we take (VQ_CHAIN_MAX_IOV descriptors, in an
    # indirect table) and one longer (tables may be as long as the ring).
    r = Ring(128, 7168)
    r.heads = [r.indirect(0, [(1, False)] * 64, True),
               r.indirect(1, [(1, True)] * 65, True)]
    seeds["longest-chain"] = r.seed(INDIRECT)

    # A larger ring with many small chains, as a busy tx queue has.
    r = Ring(64, 4096)
    r.heads = [r.chain(2 * k, [(12, False), (42, False)]) for k in range(16)]
    seeds["busy"] = r.seed(EVENT_IDX)

    # Packed rings: QEMU's starting point, then indirect tables, then a
    # five-entry ring whose chains run across the end of the ring.
    r = PackedRing(8, 1024)
    r.chain(0, [(12, False), (60, False)])
    r.chain(1, [(256, True)])
    r.chain(7, [(10, False), (64, True), (64, True)])
    seeds["packed-direct"] = r.seed()

    r = PackedRing(8, 1024)
    r.indirect(3, [(12, False), (32, True), (64, True)])
    r.chain(4, [(16, False)])
    r.indirect(5, [(600, True)])
    seeds["packed-indirect"] = r.seed(INDIRECT | EVENT_IDX)

    r = PackedRing(5, 1024, start=3, wrap=1)
    r.chain(0, [(14, False), (50, False), (20, False)])
    r.chain(1, [(64, True)])
    r.chain(2, [(16, False)])
    ops = [op(OP_POP), op(OP_POP), op(OP_UNPOP, 0), op(OP_POP),
           op(OP_WRITE, 2), op(OP_PUSH, 1), op(OP_FLUSH), op(OP_GUEST, 2),
           op(OP_NOTIFY, 1), op(OP_GUEST, 3), op(OP_POP), op(OP_PUSH, 1),
           op(OP_PUSH, 1), op(OP_FLUSH), op(OP_GUEST, 0), op(OP_POP)]
    # qlog 0x33: 1 << 3 entries less 3.
    seeds["packed-wrap"] = r.seed(EVENT_IDX, ops, qlog=0x33)

    # Amplification: every avail entry a chain of num - 1 empty
    # descriptors and an indirect table of empty ones; a pop must give up
    # within a chain's worth of reads.
    r = Ring(128, 7168)
    for k in range(127):
        r.put_desc(0, k, r.gpa0 + r.data, 0, VRING_DESC_F_NEXT, k + 1)
    table = r.buf(16 * 128)
    for k in range(128):
        r.put_desc(table - r.gpa0, k, r.gpa0, 0, VRING_DESC_F_NEXT, k + 1)
    r.put_desc(0, 127, table, 16 * 128, VRING_DESC_F_INDIRECT)
    r.heads = [0] * 8
    seeds["amplify"] = r.seed(INDIRECT)

    r = PackedRing(128, 7168)
    r.chain(0, [(0, False)] * 127)
    seeds["packed-amplify"] = r.seed(INDIRECT)

    # Guest memory on a memfd the frontend shrinks under the ring: after
    # a pop, to a quarter (the buffers' pages lost), then to nothing.
    r = Ring(8, 8000)
    r.heads = [r.chain(0, [(12, False), (60, False)]),
               r.chain(2, [(64, True)])]
    r.data = 7000
    r.heads.append(r.chain(3, [(900, False)]))
    ops = [op(OP_POP), op(OP_GUEST, 29), op(OP_READ), op(OP_POP),
           op(OP_WRITE, 3), op(OP_PUSH, 1), op(OP_FLUSH), op(OP_NOTIFY, 1),
           op(OP_GUEST, 28), op(OP_POP), op(OP_READ)]
    seeds["memfd-shrink"] = r.seed(EVENT_IDX | MEMFD, 0, ops)
    return seeds


def write(target, seeds):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    write("vhost_user", vhost_user_seeds())
    write("vring", vring_seeds())
