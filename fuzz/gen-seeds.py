#!/usr/bin/env python3
"""fuzz/gen-seeds.py - writes the seed corpus fuzz/corpus/<harness>/.

The seeds are committed; run this again after changing a harness's input
format (it rewrites the generated files and leaves the regress-* files,
inputs that once crashed a harness, alone):

    python3 fuzz/gen-seeds.py

Every datagram is built the way proto/wire.c encodes it, CRC32C included
(docs/protocol.md), and wrapped in the harness's input format (see the
comment at the top of each fuzz/fuzz-*.c).
"""
import os
import struct
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")

MAGIC = 0x444E4244
HELLO, ANNOUNCE, READ, REPLY, ERROR = 1, 2, 3, 4, 5
F_RETRY, F_LAST = 1, 2
ALL64 = 0xFFFFFFFFFFFFFFFF
ALL32 = 0xFFFFFFFF


def _crc_table():
    tab = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        tab.append(c)
    return tab


CRC_TAB = _crc_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = CRC_TAB[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283


def image_id(name, size, rev):
    h = 0xCBF29CE484222325
    for b in b"dnbd-image-v1" + name + b"\0" + struct.pack(">QI", size, rev):
        h = ((h ^ b) * 0x100000001B3) & ALL64
    return h or 1


assert image_id(b"image", 1073741824, 1) == 0x4EAD72A40324E0D1


def dgram(typ, body, sender=0, image=0, flags=0, length=None, crc=True,
          version=1, magic=MAGIC):
    n = 24 + len(body) if length is None else length
    d = bytearray(struct.pack(">IBBHIHHQ", magic, version, typ, flags, 0,
                              sender, n & 0xFFFF, image) + body)
    if crc:
        struct.pack_into(">I", d, 8, crc32c(d))
    return bytes(d)


def hello(client, echo=0, name=b"", image=0, **kw):
    return dgram(HELLO, struct.pack(">IIH", client, echo, len(name)) + name,
                 image=image, **kw)


def announce(sender, name, size, rev, seg_max=1400, client=0, echo=0,
             image=None, **kw):
    if image is None:
        image = image_id(name, size, rev)
    body = struct.pack(">IIQIHHH", client, echo, size, rev, seg_max, 0,
                       len(name)) + name
    return dgram(ANNOUNCE, body, sender=sender, image=image, **kw)


def read(image, client, req, offset, count, mask, seg=1400, target=0,
         echo=0, **kw):
    body = struct.pack(">IIIHHQHHQQ", client, req, echo, target, seg, offset,
                       count, 0, mask & ALL64, mask >> 64)
    return dgram(READ, body, image=image, **kw)


def reply(sender, image, client, req, offset, data, seg=1400, echo=0, **kw):
    body = struct.pack(">IIIHHQ", client, req, echo, seg, 0, offset) + data
    return dgram(REPLY, body, sender=sender, image=image, **kw)


def error(sender, image, client, req, code, offset=0, size=0, echo=0, **kw):
    body = struct.pack(">IIIHHQQ", client, req, echo, code, 0, offset, size)
    return dgram(ERROR, body, sender=sender, image=image, **kw)


def write(harness, name, data):
    d = os.path.join(ROOT, harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def clean(harness):
    d = os.path.join(ROOT, harness)
    if os.path.isdir(d):
        for f in os.listdir(d):
            if not f.startswith("regress-"):
                os.unlink(os.path.join(d, f))


# ---- fuzz-wire: [control][datagram]; control bit 0 = raw ---------------

def gen_wire():
    h = "fuzz-wire"
    clean(h)
    img = image_id(b"image", 1 << 30, 1)
    valid = {
        "hello-any": hello(0x1234, 99),
        "hello-name": hello(0x1234, 99, b"image"),
        "hello-id": hello(0x1234, 99, b"image", image=img),
        "announce": announce(1, b"image", 1 << 30, 1),
        "announce-solicited": announce(2, b"lab-root.v2", 123456789, 7,
                                       seg_max=8900, client=0x1234, echo=5),
        "read-one": read(img, 0x1234, 1, 0, 1, 1),
        "read-64": read(img, 0x1234, 2, 1400 * 64, 64, (1 << 64) - 1,
                        flags=F_RETRY),
        "read-128": read(img, 0x1234, 3, 0, 128, (1 << 128) - 1, seg=512,
                         target=3),
        "read-sparse": read(img, 0x1234, 4, 8900 * 10, 100,
                            (1 << 99) | (1 << 63) | 1, seg=8900),
        "reply-full": reply(1, img, 0x1234, 1, 0, bytes(range(256)) * 5 +
                            bytes(120)),
        "reply-last": reply(1, img, 0x1234, 1, 1400 * 3, b"tail",
                            flags=F_LAST),
        "error-range": error(1, img, 0x1234, 1, 1, 1 << 31, 1 << 30),
        "error-changed": error(1, img, 0x1234, 0, 4),
        "error-badreq": error(1, img, 0x1234, 9, 5, 0, 1 << 30),
    }
    for name, d in valid.items():
        write(h, name, b"\x01" + d)
    # The same through the repair path (length and CRC rewritten).
    write(h, "repair-read", b"\x00" + read(img, 7, 7, 0, 2, 3, crc=False))
    write(h, "repair-reply", b"\x00" + reply(2, img, 7, 7, 512, b"x" * 512,
                                             seg=512, crc=False))
    bad = {
        "bad-short": valid["read-one"][:20],
        "bad-magic": dgram(READ, bytes(44), magic=0x444E4245),
        "bad-version": dgram(READ, bytes(44), version=2),
        "bad-length": read(img, 1, 1, 0, 1, 1, length=67),
        "bad-crc": read(img, 1, 1, 0, 1, 1, crc=False),
        "bad-type": dgram(9, bytes(8)),
        "bad-name-quote": hello(1, 0, b'a"b'),
        "bad-name-len": hello(1, 0, b"abc")[:-1],
        "bad-read-mask": read(img, 1, 1, 0, 3, 0b1000),
        "bad-read-offset": read(img, 1, 1, 100, 1, 1),
        "bad-read-seg": read(img, 1, 1, 0, 1, 1, seg=511),
        "bad-reply-long": reply(1, img, 1, 1, 0, bytes(513), seg=512),
        "bad-reply-sender": reply(0, img, 1, 1, 0, b"x"),
        "bad-error-code": error(1, img, 1, 1, 6),
        "bad-announce-seg": announce(1, b"image", 10, 1, seg_max=8901),
    }
    for name, d in bad.items():
        write(h, name, b"\x01" + d)


# ---- fuzz-server-request -----------------------------------------------
# [control][records: len u16, info u8, datagram]; see the harness.
# Images as the harness sets them up: img0 100000 bytes rev 1 (socket 0),
# img1 4200 bytes rev 2 (socket 1 in multicast mode), img2 1 byte rev 3
# (socket 0).  Server id 7.

SRV = [image_id(b"img0", 100000, 1), image_id(b"img1", 4200, 2),
       image_id(b"img2", 1, 3)]


def srv_input(ctl, *records):
    out = bytes([ctl])
    for rec in records:
        sock, ms, d = rec if len(rec) == 3 else (rec[0], 0, rec[1])
        out += struct.pack(">HB", len(d), (ms << 2) | sock) + d
    return out


def gen_server():
    h = "fuzz-server-request"
    clean(h)
    M, U = 0x04, 0x05           # seg_max 1400, multicast / unicast
    i0, i1, i2 = SRV
    seeds = {
        "hello-any": srv_input(M, (0, hello(0x11))),
        "hello-any-unicast": srv_input(U, (0, hello(0x11))),
        "hello-name-sock1": srv_input(M, (1, hello(0x11, 3, b"img1"))),
        "hello-id": srv_input(M, (0, hello(0x11, 3, b"img2", image=i2))),
        "hello-changed": srv_input(M | 0x10, (0, hello(0x11, 3))),
        "read-first8": srv_input(M, (0, read(i0, 0x11, 1, 0, 8, 0xFF))),
        "read-unicast": srv_input(U, (0, read(i1, 0x11, 1, 0, 3, 0b111))),
        "read-last": srv_input(M, (0, read(i0, 0x11, 2, 1400 * 71, 1, 1,
                                           flags=F_RETRY))),
        "read-img1-all": srv_input(M, (1, read(i1, 0x11, 3, 0, 3, 0b101))),
        "read-img2-byte": srv_input(M, (0, read(i2, 0x11, 4, 0, 1, 1,
                                                seg=512))),
        "read-128x512": srv_input(0x00, (0, read(i0, 0x11, 5, 512 * 10, 128,
                                                 (1 << 128) - 1, seg=512))),
        "read-8900": srv_input(0x0C, (0, read(i0, 0x11, 6, 0, 12,
                                              (1 << 12) - 1, seg=8900))),
        "read-range": srv_input(M, (0, read(i0, 0x11, 7, 1400 * 70, 4, 0b1111))),
        "read-badreq": srv_input(M, (0, read(i0, 0x11, 8, 0, 1, 1, seg=8900))),
        "read-changed": srv_input(M | 0x10, (0, read(i0, 0x11, 9, 0, 1, 1))),
        "read-not-for-us": srv_input(M, (0, read(i0, 0x11, 10, 0, 1, 1,
                                                 target=3))),
        "read-for-us": srv_input(M, (0, read(i0, 0x11, 11, 0, 1, 1,
                                             target=7))),
        "read-wrong-socket": srv_input(M, (1, read(i0, 0x11, 12, 0, 1, 1))),
        "read-unknown-image": srv_input(M, (0, read(12345, 0x11, 13, 0, 1, 1))),
        "read-twice-dedup": srv_input(M, (0, read(i0, 0x11, 14, 0, 4, 0xF)),
                                      (0, 1, read(i0, 0x22, 1, 0, 4, 0xF)),
                                      (0, 1, read(i0, 0x22, 2, 0, 4, 0xF,
                                                  flags=F_RETRY))),
        "peer-reply-then-read": srv_input(
            M, (0, reply(9, i0, 0x33, 1, 1400, bytes(1400))),
            (0, 2, read(i0, 0x11, 15, 0, 2, 0b11))),
        "own-looped": srv_input(M, (0, reply(7, i0, 0x33, 1, 0, bytes(1400))),
                                (0, announce(7, b"img0", 100000, 1))),
        "others-traffic": srv_input(M, (0, announce(9, b"img0", 100000, 1)),
                                    (0, error(9, i0, 1, 1, 3))),
        "mixed": srv_input(M, (0, hello(0x44)),
                           (0, 5, read(i0, 0x44, 1, 1400 * 8, 16, 0xF0F0)),
                           (1, 5, read(i1, 0x44, 2, 1400 * 2, 1, 1)),
                           (0, 20, read(i2, 0x44, 3, 0, 1, 1))),
        "bad-garbage": srv_input(M, (0, b"\x00" * 40)),
        "bad-short": srv_input(M, (0, b"DNBD\x01")),
        "bad-crc-raw": srv_input(M | 0x02, (0, read(i0, 1, 1, 0, 1, 1,
                                                    crc=False))),
        "bad-type": srv_input(M, (0, dgram(9, bytes(8)))),
        "bad-read-fields": srv_input(M, (0, read(i0, 1, 1, 0, 3, 0b1000))),
    }
    for name, d in seeds.items():
        write(h, name, d)


# ---- fuzz-client-reply ---------------------------------------------------
# [c0][c1][ops]; the up-front image is "img", revision 1.  Repairs: image
# id all ones = the selected image's (ANNOUNCE: its own fields'), client
# id all ones = ours, req_id 0xfffffff0 + k = slot k's; REPLY data is
# filled in by the harness, so seeds carry zeros of the right length.

def op_dgram(d, frm=0):
    return b"\x00" + struct.pack(">HB", len(d), frm) + d


def op_read(slot, off, length):
    return b"\x01" + struct.pack(">BQI", slot, off, length)


def op_timer(ms):
    return b"\x02" + struct.pack(">H", ms)


def op_select(k=0):
    return b"\x03" + bytes([k])


OP_HELLO, OP_CANCEL = b"\x04", b"\x05"


def rep(off, n, slot=0, seg=1400, last=False, sender=1, image=ALL64,
        client=ALL32):
    return op_dgram(reply(sender, image, client, 0xFFFFFFF0 + slot, off,
                          bytes(n), seg=seg, flags=F_LAST if last else 0,
                          crc=False))


def gen_client():
    h = "fuzz-client-reply"
    clean(h)
    P = b"\x01\x05"             # selected, seg 1400, 100000-byte image
    PC = b"\x05\x05"            # the same with a cache
    up = op_dgram(announce(1, b"img", 100000, 1, client=ALL32, image=ALL64))
    up2 = op_dgram(announce(2, b"img", 100000, 1, image=ALL64), frm=1)
    seeds = {
        "read-3-segs": P + up + op_read(0, 0, 4000) + rep(0, 1400) +
        rep(1400, 1400) + rep(2800, 1400, last=True),
        "read-unaligned": P + up + op_read(0, 700, 1400) + rep(0, 1400) +
        rep(1400, 1400, last=True),
        "read-last-seg": P + up + op_read(0, 99400, 600) +
        rep(99400, 600, last=True),
        "read-two-slots": P + up + op_read(0, 0, 2000) +
        op_read(1, 1400, 2800) + rep(0, 1400) + rep(1400, 1400, slot=1) +
        rep(2800, 1400, slot=1, last=True),
        "read-holes-fast-retransmit": P + up + op_read(0, 0, 5600) +
        rep(0, 1400) + rep(4200, 1400, last=True) + rep(1400, 1400, slot=0) +
        rep(2800, 1400, last=True),
        "cache-overheard-then-hit": PC + up + rep(14000, 1400, client=5) +
        op_read(0, 14000, 1400),
        "cache-evict": b"\x85\x05" + up + b"".join(
            rep(1400 * k, 1400, client=5) for k in (3, 9, 4, 7, 3, 11)) +
        op_read(0, 1400 * 3, 1400) + op_read(1, 1400 * 7, 2800),
        "cache-partial": PC + up + op_read(0, 700, 700) + rep(0, 1400, last=True) +
        op_read(1, 0, 700),
        "reply-wrong-len": P + up + op_read(0, 0, 1400) + rep(0, 1000),
        "reply-wrong-seg": P + up + op_read(0, 0, 1024) + rep(0, 512, seg=512),
        "reply-wrong-image": P + up + op_read(0, 0, 1400) +
        rep(0, 1400, image=1234),
        "reply-past-end": P + up + op_read(0, 0, 1400) + rep(100800, 1400),
        "reply-dup": P + up + op_read(0, 0, 2800) + rep(0, 1400) + rep(0, 1400),
        "error-range": P + up + op_read(0, 0, 1400) +
        op_dgram(error(1, ALL64, ALL32, 0xFFFFFFF0, 1, 0, 100000, crc=False)),
        "error-changed-failover": P + up + up2 + op_read(0, 0, 1400) +
        op_dgram(error(1, ALL64, ALL32, 0xFFFFFFF0, 4, 0, 100000, crc=False)) +
        rep(0, 1400, sender=2, last=True),
        "timeouts": P + up + up2 + op_read(0, 1400 * 10, 1400) + op_timer(50) +
        op_timer(100) + op_timer(200) + op_timer(3000) + rep(14000, 1400),
        "foreign-read": P + up + op_dgram(read(ALL64, 5, 77, 0, 4, 0xF,
                                               crc=False)) +
        op_read(0, 0, 1400) + op_timer(20) +
        op_dgram(reply(1, ALL64, 5, 77, 0, bytes(1400), flags=F_LAST,
                       crc=False)),
        "own-read-looped": P + up + op_read(0, 0, 1400) + op_timer(30),
        "discover-select-read": b"\x00\x05" + OP_HELLO + up + op_select(0) +
        op_read(0, 1400, 100) + rep(1400, 1400, last=True),
        "discover-refused": b"\x00\x05" + OP_HELLO +
        op_dgram(error(1, 0, ALL32, 0, 4, crc=False)) + op_timer(1000),
        "discover-two-images": b"\x40\x05" + up +
        op_dgram(announce(1, b"other", 5000, 9, image=ALL64)) + op_select(1) +
        op_read(2, 4000, 1000) + rep(2800, 1400, last=True),
        "unicast": b"\x09\x05" + up + op_read(0, 0, 1400) + rep(0, 1400, last=True) +
        op_timer(1000) + OP_HELLO,
        "cancel": P + up + op_read(0, 0, 1400) + op_read(1, 5000, 100) +
        OP_CANCEL,
        "huge-image-end": b"\x31\x05" +
        op_dgram(announce(1, b"img", (1 << 40) + 7, 1, image=ALL64)) +
        op_read(0, (1 << 40) + 7 - 7, 7) +
        rep(((1 << 40) + 7) // 1400 * 1400, ((1 << 40) + 7) % 1400, last=True),
        "one-byte-image": b"\x21\x05" + op_read(0, 0, 1) + rep(0, 1, last=True),
        "seg512-of-8900": b"\x01\x0c" + up + op_read(0, 0, 512 * 127) +
        rep(0, 512, seg=512) + rep(512, 512, seg=512, last=True),
        "bad-garbage": P + op_dgram(b"\x00" * 60),
        "bad-raw-crc": b"\x03\x05" + op_read(0, 0, 1400) +
        op_dgram(reply(1, 1, 1, 1, 0, bytes(1400), crc=False)),
        "bad-oversize": P + op_read(0, 0, 1400) + op_dgram(bytes(9000)),
    }
    for name, d in seeds.items():
        write(h, name, d)


# ---- fuzz-config and fuzz-cmdline: arguments, one per line -------------

def gen_config():
    h = "fuzz-config"
    clean(h)
    seeds = {
        "minimal": "-m 239.0.0.1 -d /srv/a.img -i 1",
        "options": "-m 239.0.0.1 -d /srv/lab.img,name=lab,rev=3 -i 2 -t 4 "
                   "-p 5002 -I eth0 --ttl 4 --rate 50M --seg-max 8900 "
                   "--stats /run/dnbd/s.json --dedup-window 0 "
                   "--announce-interval 0 -v -v",
        "two-images": "-m 239.0.0.1 -d a.img -d b.img,name=tools,group=239.1.2.3 -i 1",
        "unicast": "-m 10.0.0.5 -d /dev/sda,name=disk -d b.img -i 65535 -r 0x10",
        "long-forms": "--mcast=239.0.0.1 --device=x.img,rev=4294967295 --id=9 "
                      "--threads=64 --port=65535 --iface=br0 --revision=1",
        "version": "-V",
        "help": "--help",
        "bad-id": "-m 239.0.0.1 -d a.img -i 0",
        "bad-same-names": "-m 239.0.0.1 -d x/a.img -d y/a.img -i 1",
        "bad-group-unicast": "-m 10.0.0.1 -d a.img,group=239.0.0.9 -i 1",
        "bad-device-empty": "-m 239.0.0.1 -d ,name=x -i 1",
        "bad-device-option": "-m 239.0.0.1 -d a.img,size=3 -i 1",
        "bad-name": "-m 239.0.0.1 -d a.img,name=a\"b -i 1",
        "bad-derived-name": "-m 239.0.0.1 -d /srv/ -i 1",
        "bad-option": "-m 239.0.0.1 -d a.img -i 1 -x",
        "bad-extra-arg": "-m 239.0.0.1 -d a.img -i 1 extra",
        "bad-no-room": "-m 239.0.0.254 -d a -d b -d c -i 1",
        "bad-missing": "-d a.img",
        "bad-rate": "-m 239.0.0.1 -d a.img -i 1 --rate 17179869184T",
        "too-many-images": "-m 239.0.0.1 -i 1 " +
        " ".join("-d i%d" % i for i in range(65)),
    }
    for name, text in seeds.items():
        write(h, name, text.replace(" ", "\n").encode())
    write(h, "path-with-space", b"-m\n239.0.0.1\n-d\n/srv/my image.img,name=x\n-i\n1")


def gen_cmdline():
    h = "fuzz-cmdline"
    clean(h)
    seeds = {
        "bind-group": "-b 239.0.0.1",
        "bind-unicast": "-b 10.0.0.1,10.0.0.2 -p 5002",
        "all": "--bind=239.0.0.2 --iface=eth0 --port=1 --seg-size=8900 "
               "--cache-size=64M -v",
        "cache-sizes": "--cache-size 0 --cache-size 4G --cache-size 0x10K",
        "seg-min": "--seg-size 512 -b 10.1.1.1",
        "bind-16": "-b " + ",".join("10.0.0.%d" % i for i in range(1, 17)),
        "bad-bind-17": "-b " + ",".join("10.0.0.%d" % i for i in range(1, 18)),
        "bad-bind-mixed": "-b 10.0.0.1,239.0.0.1",
        "bad-bind-two-groups": "-b 239.0.0.1,239.0.0.2",
        "bad-bind-empty": "-b ,,,",
        "bad-bind-name": "-b server.example",
        "bad-port": "-p 0",
        "bad-port-big": "-p 65536",
        "bad-seg": "--seg-size 511",
        "bad-cache": "--cache-size 5G",
        "numbers": "0 1 0x0 0xffffffffffffffff 18446744073709551615 "
                   "18446744073709551616 1K 16T 0x 0x1g -1 +1 1.5 007",
    }
    for name, text in seeds.items():
        write(h, name, text.replace(" ", "\n").encode())


# ---- fuzz-fec: [control][k][h][len][missing x h][pidx x h][data] --------

def fec_input(ctl, k, h, length, missing, pidx, data=b""):
    assert len(missing) == h and len(pidx) == h
    return bytes([ctl, k, h, length]) + bytes(missing) + bytes(pidx) + data


def gen_fec():
    h = "fuzz-fec"
    clean(h)
    data = bytes((i * 37 + 11) & 0xFF for i in range(200))
    seeds = {
        # Valid as they are (control bit 0 clear: taken raw).
        "one-lost": fec_input(0, 10, 1, 16, [3], [0], data),
        "two-lost": fec_input(0, 10, 2, 13, [0, 9], [127, 5], data),
        "all-lost": fec_input(0, 4, 4, 7, [0, 1, 2, 3], [9, 2, 64, 0],
                              data),
        "k128-h32": fec_input(0, 128, 32, 64, range(0, 128, 4),
                              range(127, 63, -2), data),
        "k128-h128": fec_input(0, 128, 128, 5, range(128),
                               range(128), data),
        "len0": fec_input(0, 3, 2, 0, [0, 2], [1, 0]),
        "work-more": fec_input(4, 20, 3, 9, [1, 5, 19], [7, 8, 9], data),
        # Repaired into valid arguments (control bit 0 set).
        "repair-any": fec_input(1, 200, 77, 33, range(77), [5] * 77, data),
        "repair-short": bytes([1, 255, 255, 64]),
        # Invalid: each must give -1 and touch nothing.
        "bad-h0": fec_input(0, 10, 0, 8, [], [], data),
        "bad-h-over-k": fec_input(0, 2, 3, 8, [0, 1, 2], [0, 1, 2], data),
        "bad-k129": fec_input(0, 129, 1, 8, [0], [0], data),
        "bad-k255": fec_input(0, 255, 2, 8, [0, 200], [0, 1], data),
        "bad-missing-dup": fec_input(0, 10, 2, 8, [4, 4], [0, 1], data),
        "bad-missing-order": fec_input(0, 10, 2, 8, [5, 4], [0, 1], data),
        "bad-missing-range": fec_input(0, 10, 2, 8, [4, 10], [0, 1], data),
        "bad-pidx-dup": fec_input(0, 10, 2, 8, [4, 5], [7, 7], data),
        "bad-pidx-range": fec_input(0, 10, 2, 8, [4, 5], [7, 128], data),
        "bad-work-short": fec_input(2, 10, 2, 8, [4, 5], [0, 1], data),
        "bad-work-null": fec_input(6, 10, 2, 8, [4, 5], [0, 1], data),
    }
    for name, d in seeds.items():
        write(h, name, d)


# ---- fuzz-metrics: [control] image NUL image_id NUL revision NUL ---------
# ---- cache_hits NUL servers NUL counters (the sysfs files) --------------

def metrics_input(ctl, image=b"debian", image_id=b"0x1234abcd5678ef90\n",
                  revision=b"3\n", hits=b"17\n", servers=b"", counters=b""):
    return bytes([ctl]) + b"\0".join([image, image_id, revision, hits,
                                      servers, counters])


def gen_metrics():
    h = "fuzz-metrics"
    clean(h)
    srv = (b"1 10.0.0.1:5001 up 1500 100\n"
           b"2 10.0.0.2:5001 down 0 0\n")
    ctr = b"".join(b"%s %d\n" % (n, i * 1000 + 7) for i, n in enumerate([
        b"hellos_sent", b"requests_sent", b"reads_completed",
        b"bytes_received", b"timeouts", b"failovers", b"cache_hits",
        b"requests", b"bytes_read", b"cachefile_hits", b"rx_datagrams"]))
    seeds = {
        "bound": metrics_input(0, servers=srv, counters=ctr),
        "two-devices": metrics_input(1, servers=srv, counters=ctr),
        "with-unbound": metrics_input(3, servers=srv, counters=ctr),
        "unbound": metrics_input(2, image=b""),
        "escaping": metrics_input(0, image=b'a"b\\c\n', counters=ctr),
        "unknown-counter": metrics_input(
            0, counters=b"a_newer_counter 5\nreads_completed 1\n"),
        "max-values": metrics_input(
            0, servers=b"65535 255.255.255.255:65535 up 18446744073709551615 "
            b"18446744073709551615\n",
            counters=b"reads_completed 18446744073709551615\n"),
        "bad-lines": metrics_input(
            0, servers=b"x\n1 10.0.0.1:5001 up 1\n70000 1.2.3.4:5 up 1 1\n"
            b"3 a b c d\n1 10.0.0.1:5001 up 1 1\n1 10.0.0.9:1 up 2 2\n",
            counters=b"Bad 1\nx -1\nx 18446744073709551616\nx 1 2\n"
            b"server_up 1\nx 1\nx 2\n\n   \nx\t3\n"),
        "bad-one-line-files": metrics_input(
            1, image_id=b"0xZZ\n", revision=b"-1\n", hits=b"1\n2\n",
            counters=ctr),
        "bad-image": metrics_input(0, image=b"two\nlines\n", counters=ctr),
    }
    for name, d in seeds.items():
        write(h, name, d)


# ---- fuzz-trace: [control: --client filter] trace text -------------------

def gen_trace():
    h = "fuzz-trace"
    clean(h)
    good = (b"# dnbd-trace 1\n"
            b"# time_us done_us client image offset length kind\n"
            b"0 100 10.0.0.1:1000 demo 0 4096 read\n"
            b"150 300 10.0.0.1:1000 demo 4096 1400 read\n"
            b"150 350 10.0.0.1:1000 demo 8192 700 read\n"
            b"200 260 10.0.0.1:1000 demo 8192 700 retry\n"
            b"210 210 10.0.0.2:1000 demo 0 100 read\n"
            b"400 450 10.0.0.1:1000 demo 100000 1 read\n"
            b"\n"
            b"460 470 10.0.0.1:1000 demo 5 10 read\n"
            b"500 600 10.0.0.1:2000 other 7 3 read\n"
            b"500 500 10.0.0.1:1000 demo 9 1 later-kind")
    seeds = {
        "all-clients": b"\0" + good,
        "one-address": b"\1" + good,
        "one-port": b"\2" + good,
        "ties": b"\0" + b"10 20 a:1 i 0 1 read\n10 20 a:1 i 1 1 read\n"
                b"20 30 a:1 i 2 1 read\n25 40 a:1 i 3 1 read\n"
                b"31 31 a:1 i 4 1 read\n",
        "max-values": b"\0" + b"0 18446744073709551615 a:1 i "
                      b"18446744009289043967 67108864 read\n"
                      b"18446744073709551615 18446744073709551615 a:1 i 0 1 read\n",
        "bad-fields": b"\0" + b"0 1 a:1 i 0 1 read\n0 1 a:1  i 0 1 read\n",
        "bad-order": b"\0" + b"5 9 a:1 i 0 1 read\n4 9 a:1 i 0 1 read\n",
        "bad-done": b"\0" + b"5 4 a:1 i 0 1 read\n",
        "bad-version": b"\0" + b"# dnbd-trace 2\n0 1 a:1 i 0 1 read\n",
        "no-reads": b"\2" + b"# dnbd-trace 1\n0 1 a:1 i 0 1 retry\n",
    }
    for name, d in seeds.items():
        write(h, name, d)


def main():
    gen_wire()
    gen_server()
    gen_client()
    gen_config()
    gen_cmdline()
    gen_fec()
    gen_metrics()
    gen_trace()
    total = 0
    for dirpath, _, files in os.walk(ROOT):
        for f in files:
            total += os.path.getsize(os.path.join(dirpath, f))
    print("fuzz/corpus: %d bytes" % total, file=sys.stderr)


if __name__ == "__main__":
    main()
