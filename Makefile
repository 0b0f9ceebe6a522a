# dnbd - top-level build.
#
#   make            build the userspace programs into build/
#   make check      install test dependencies, build, run every test
#   make demo       the appliance ISO and two disk-less PXE clients in
#                   QEMU, in a private network namespace (scripts/demo.sh)
#   make demo-net   two replica servers and three dnbd-cat clients in a
#                   namespace, no VMs (scripts/demo-net.sh)
#   make image      the appliance ISO, build/appliance/dnbd-appliance.iso:
#                   IMAGES="DIR or FILE.img ..." to bake in your images
#                   (default: the Debian demo image), CONFIG=FILE for a
#                   default dnbd-appliance.conf
#   make SAN=1      the same programs with ASan and UBSan, in build/asan/
#   make STATIC=1   static dnbd-client and dnbd-cat for initramfs images,
#                   in build/static/
#   make kmod       dnbd.ko for the running kernel (KVER=... for another;
#                   a Debian sid kernel's is built in the sid chroot of
#                   scripts/sid-chroot.sh), in build/kmod/KVER/
#   make dkms-install   the driver's source into /usr/src, built by DKMS
#   make bench      dnbd next to nbd-server and nbdkit on a namespace LAN:
#                   writes docs/benchmarks.md and docs/bench/*.png
#   make bench-kmod fio through dnbd.ko next to the kernel's nbd, in QEMU
#   make fuzz       every libFuzzer harness in fuzz/ for FUZZ_TIME seconds
#                   (default 60) each, with clang-14; findings go to
#                   build/fuzz/findings/, a crash fails (fuzz/README.md)
#   make fuzz-build the harnesses only, into build/fuzz/
#
# One test: tests/run.sh tests/net/t-multi-client.sh (see README.md).

CC       ?= cc
CFLAGS   ?= -O2 -g
WARN      = -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
            -Wmissing-prototypes -Wformat=2 -Wno-format-nonliteral
CPPFLAGS += -D_GNU_SOURCE -Iproto -Icommon -Ikmod
LDLIBS   += -lpthread

ifeq ($(SAN),1)
B        := build/asan
CFLAGS   += -fsanitize=address,undefined -fno-sanitize-recover=all \
            -fno-omit-frame-pointer
LDFLAGS  += -fsanitize=address,undefined
else ifeq ($(STATIC),1)
B        := build/static
LDFLAGS  += -static
else
B        := build
endif

PROTO_SRC  := proto/wire.c proto/crc32c.c proto/client.c proto/cache.c \
              proto/auth.c proto/fec.c
COMMON_SRC := common/util.c common/net.c common/stats.c common/keyfile.c
SERVER_SRC := daemon/main.c daemon/config.c daemon/image.c daemon/serve.c \
              daemon/pace.c daemon/srcrate.c daemon/ratectl.c daemon/seen.c \
              daemon/metrics.c daemon/trace.c
CAT_SRC    := client/dnbd-cat.c client/session.c
CLIENT_SRC := client/dnbd-client.c client/session.c client/metrics.c
REPLAY_SRC := bench/replay.c bench/trace.c client/session.c
FORGE_SRC  := tests/tools/dnbd-forge.c
UNIT_SRC   := $(wildcard tests/unit/test-*.c)

obj = $(patsubst %.c,$(B)/obj/%.o,$(1))

PROGS := $(B)/bin/dnbd-server $(B)/bin/dnbd-cat $(B)/bin/dnbd-client \
         $(B)/bin/dnbd-forge $(B)/bench/crc32c-speed
# libnbd does not link statically (its TLS and XML libraries).
ifneq ($(STATIC),1)
PROGS += $(B)/bench/dnbd-replay
endif
UNITS := $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRC))

.PHONY: all check demo demo-net image clean unit asan install static kmod \
        dkms-install bench bench-kmod fuzz fuzz-build
all: $(PROGS) $(UNITS)

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) -MMD -MP -c $< -o $@

$(B)/bin/dnbd-server: $(call obj,$(SERVER_SRC) $(COMMON_SRC) $(PROTO_SRC))
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(B)/bin/dnbd-cat: $(call obj,$(CAT_SRC) $(COMMON_SRC) $(PROTO_SRC))
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(B)/bin/dnbd-client: $(call obj,$(CLIENT_SRC) $(COMMON_SRC) $(PROTO_SRC))
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(B)/bin/dnbd-forge: $(call obj,$(FORGE_SRC) $(COMMON_SRC) $(PROTO_SRC))
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# MB/s of each CRC32C variant (a benchmark to run by hand, bench/README.md).
$(B)/bench/crc32c-speed: $(call obj,bench/crc32c-speed.c proto/crc32c.c)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# Replays a boot trace through dnbd or, with --nbd, libnbd (bench/README.md).
$(B)/obj/bench/replay.o: CPPFLAGS += -Iclient
$(B)/bench/dnbd-replay: $(call obj,$(REPLAY_SRC) $(COMMON_SRC) $(PROTO_SRC))
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -lnbd -o $@

$(B)/tests/test-trace: $(call obj,tests/unit/test-trace.c bench/trace.c)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# test-pace also needs the server's token buckets.
$(B)/tests/test-pace: $(call obj,tests/unit/test-pace.c daemon/pace.c \
                        daemon/srcrate.c common/util.c $(PROTO_SRC))
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(B)/tests/test-ratectl: $(call obj,tests/unit/test-ratectl.c daemon/ratectl.c)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(B)/tests/test-%: $(call obj,tests/unit/test-%.c $(PROTO_SRC))
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

unit: $(UNITS)
	@for t in $(UNITS); do $$t || exit 1; done

asan:
	$(MAKE) SAN=1 all

static:
	$(MAKE) STATIC=1 build/static/bin/dnbd-client build/static/bin/dnbd-cat

KVER ?= $(shell uname -r)
kmod:
	scripts/build-kmod.sh $(KVER)

bench: all
	bash bench/run.sh

bench-kmod: all
	bash bench/kmod-fio.sh

# libFuzzer harnesses (fuzz/README.md): clang-14, ASan and UBSan, with
# their own objects in build/fuzz/obj/.
FUZZ_CC     ?= clang-14
FUZZ_TIME   ?= 60
FUZZ_CFLAGS := -O1 -g -fno-omit-frame-pointer -fno-sanitize-recover=all \
               -fsanitize=fuzzer-no-link,address,undefined
FUZZ_B      := build/fuzz
FUZZERS     := fuzz-wire fuzz-server-request fuzz-client-reply fuzz-config \
               fuzz-cmdline fuzz-fec fuzz-metrics fuzz-trace
fuzzobj = $(patsubst %.c,$(FUZZ_B)/obj/%.o,$(1))

$(FUZZ_B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) -Idaemon -Iclient -Ifuzz $(WARN) $(FUZZ_CFLAGS) \
	  -MMD -MP -c $< -o $@

$(FUZZ_B)/fuzz-wire: $(call fuzzobj,fuzz/fuzz-wire.c proto/wire.c proto/crc32c.c)
$(FUZZ_B)/fuzz-fec: $(call fuzzobj,fuzz/fuzz-fec.c proto/fec.c)
$(FUZZ_B)/fuzz-client-reply: $(call fuzzobj,fuzz/fuzz-client-reply.c \
                                $(PROTO_SRC))
$(FUZZ_B)/fuzz-server-request: $(call fuzzobj,fuzz/fuzz-server-request.c \
                                  daemon/serve.c daemon/config.c \
                                  daemon/image.c daemon/pace.c daemon/srcrate.c \
                                  daemon/ratectl.c daemon/seen.c \
                                  daemon/trace.c $(COMMON_SRC) $(PROTO_SRC))
$(FUZZ_B)/fuzz-config: $(call fuzzobj,fuzz/fuzz-config.c daemon/config.c \
                          $(COMMON_SRC) $(PROTO_SRC))
$(FUZZ_B)/fuzz-cmdline: $(call fuzzobj,fuzz/fuzz-cmdline.c client/session.c \
                           $(COMMON_SRC) $(PROTO_SRC))
$(FUZZ_B)/fuzz-metrics: $(call fuzzobj,fuzz/fuzz-metrics.c client/metrics.c \
                           $(COMMON_SRC) $(PROTO_SRC))
$(FUZZ_B)/fuzz-trace: $(call fuzzobj,fuzz/fuzz-trace.c bench/trace.c)
$(addprefix $(FUZZ_B)/,$(FUZZERS)):
	$(FUZZ_CC) -fsanitize=fuzzer,address,undefined $^ $(LDLIBS) -o $@

fuzz-build: $(addprefix $(FUZZ_B)/,$(FUZZERS))

fuzz: fuzz-build
	FUZZ_TIME=$(FUZZ_TIME) fuzz/run.sh $(FUZZERS)

DKMS_VERSION := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' kmod/dkms.conf)
dkms-install:
	scripts/kmod-tree.sh $(DESTDIR)/usr/src/dnbd-$(DKMS_VERSION)
	dkms add dnbd/$(DKMS_VERSION) || true
	dkms install dnbd/$(DKMS_VERSION) -k $(KVER)

# Installs Debian packages it needs, builds both variants, runs all tests.
# A build failure still ends with the summary line the CI reads.
check:
	scripts/install-deps.sh
	@$(MAKE) all && $(MAKE) SAN=1 all || \
	  { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }
	tests/run.sh

demo:
	scripts/install-deps.sh demo
	$(MAKE) all
	scripts/demo.sh

demo-net:
	scripts/install-deps.sh demo-net
	$(MAKE) all
	scripts/demo-net.sh

IMAGES ?=
CONFIG ?=
ISO    := build/appliance/dnbd-appliance.iso
image:
	scripts/install-deps.sh
	$(MAKE) build/bin/dnbd-server build/bin/dnbd-client
	@set -e; args=""; \
	if [ -z "$(strip $(IMAGES))" ]; then \
	  image-builder/demo-image.sh build/appliance/demo; \
	  args="--images build/appliance/demo"; \
	fi; \
	for i in $(IMAGES); do \
	  if [ -d "$$i" ]; then args="$$args --images $$i"; \
	  else args="$$args --image $$i"; fi; \
	done; \
	if [ -n "$(CONFIG)" ]; then args="$$args --config $(CONFIG)"; fi; \
	image-builder/dnbd-appliance $$args -o $(ISO)

PREFIX ?= /usr/local
install: all
	install -D -m 755 build/bin/dnbd-server $(DESTDIR)$(PREFIX)/sbin/dnbd-server
	install -D -m 755 build/bin/dnbd-cat $(DESTDIR)$(PREFIX)/bin/dnbd-cat
	install -D -m 755 build/bin/dnbd-client $(DESTDIR)$(PREFIX)/sbin/dnbd-client
	install -D -m 644 docs/man/dnbd-client.8 $(DESTDIR)$(PREFIX)/share/man/man8/dnbd-client.8
	install -D -m 644 docs/man/dnbd-server.8 $(DESTDIR)$(PREFIX)/share/man/man8/dnbd-server.8
	install -D -m 644 docs/man/dnbd-cat.1 $(DESTDIR)$(PREFIX)/share/man/man1/dnbd-cat.1
	install -D -m 644 docs/man/dnbd-mkimage.8 $(DESTDIR)$(PREFIX)/share/man/man8/dnbd-mkimage.8
	install -D -m 644 docs/man/dnbd-appliance.8 $(DESTDIR)$(PREFIX)/share/man/man8/dnbd-appliance.8
	install -D -m 644 docs/man/dnbd.cmdline.7 $(DESTDIR)$(PREFIX)/share/man/man7/dnbd.cmdline.7
	install -d $(DESTDIR)/usr/lib/dracut/modules.d/90dnbd
	install -m 755 dracut-module/90dnbd/*.sh $(DESTDIR)/usr/lib/dracut/modules.d/90dnbd/
	install -m 644 dracut-module/90dnbd/60-dnbd.rules $(DESTDIR)/usr/lib/dracut/modules.d/90dnbd/
	install -D -m 644 dracut-module/90dnbd/60-dnbd.rules $(DESTDIR)/usr/lib/udev/rules.d/60-dnbd.rules
	install -D -m 644 dist/systemd/dnbd-server@.service $(DESTDIR)/etc/systemd/system/dnbd-server@.service
	install -D -m 644 dist/systemd/example.conf $(DESTDIR)/etc/dnbd/example.conf
	install -D -m 644 dist/systemd/dnbd-client-metrics.service $(DESTDIR)/etc/systemd/system/dnbd-client-metrics.service
	install -D -m 644 dist/systemd/dnbd-client-metrics.timer $(DESTDIR)/etc/systemd/system/dnbd-client-metrics.timer

clean:
	rm -rf build

-include $(shell find build -path '*/obj/*' -name '*.d' -type f 2>/dev/null)
