# dnbd - top-level build.
#
#   make            build the userspace programs into build/
#   make check      install test dependencies, build, run every test
#   make demo       two replica servers and three clients in a namespace
#   make SAN=1      the same programs with ASan and UBSan, in build/asan/
#   make STATIC=1   static dnbd-client and dnbd-cat for initramfs images,
#                   in build/static/
#   make kmod       dnbd.ko for the running kernel (KVER=... for another),
#                   in build/kmod/KVER/
#   make dkms-install   the driver's source into /usr/src, built by DKMS
#   make bench      dnbd next to nbd-server and nbdkit on a namespace LAN:
#                   writes docs/benchmarks.md and docs/bench/*.png
#   make bench-kmod fio through dnbd.ko next to the kernel's nbd, in QEMU
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

PROTO_SRC  := proto/wire.c proto/client.c proto/cache.c proto/auth.c
COMMON_SRC := common/util.c common/net.c common/stats.c common/keyfile.c
SERVER_SRC := daemon/main.c daemon/config.c daemon/image.c daemon/serve.c \
              daemon/pace.c daemon/srcrate.c
CAT_SRC    := client/dnbd-cat.c client/session.c
CLIENT_SRC := client/dnbd-client.c client/session.c
FORGE_SRC  := tests/tools/dnbd-forge.c
UNIT_SRC   := $(wildcard tests/unit/test-*.c)

obj = $(patsubst %.c,$(B)/obj/%.o,$(1))

PROGS := $(B)/bin/dnbd-server $(B)/bin/dnbd-cat $(B)/bin/dnbd-client \
         $(B)/bin/dnbd-forge
UNITS := $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRC))

.PHONY: all check demo clean unit asan install static kmod dkms-install \
        bench bench-kmod
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

PREFIX ?= /usr/local
install: all
	install -D -m 755 build/bin/dnbd-server $(DESTDIR)$(PREFIX)/sbin/dnbd-server
	install -D -m 755 build/bin/dnbd-cat $(DESTDIR)$(PREFIX)/bin/dnbd-cat
	install -D -m 755 build/bin/dnbd-client $(DESTDIR)$(PREFIX)/sbin/dnbd-client
	install -D -m 644 docs/man/dnbd-client.8 $(DESTDIR)$(PREFIX)/share/man/man8/dnbd-client.8
	install -D -m 644 docs/man/dnbd-server.8 $(DESTDIR)$(PREFIX)/share/man/man8/dnbd-server.8
	install -D -m 644 docs/man/dnbd-cat.1 $(DESTDIR)$(PREFIX)/share/man/man1/dnbd-cat.1
	install -D -m 644 docs/man/dnbd-mkimage.8 $(DESTDIR)$(PREFIX)/share/man/man8/dnbd-mkimage.8
	install -D -m 644 docs/man/dnbd.cmdline.7 $(DESTDIR)$(PREFIX)/share/man/man7/dnbd.cmdline.7
	install -d $(DESTDIR)/usr/lib/dracut/modules.d/90dnbd
	install -m 755 dracut-module/90dnbd/*.sh $(DESTDIR)/usr/lib/dracut/modules.d/90dnbd/
	install -m 644 dracut-module/90dnbd/60-dnbd.rules $(DESTDIR)/usr/lib/dracut/modules.d/90dnbd/
	install -D -m 644 dracut-module/90dnbd/60-dnbd.rules $(DESTDIR)/usr/lib/udev/rules.d/60-dnbd.rules
	install -D -m 644 dist/systemd/dnbd-server@.service $(DESTDIR)/etc/systemd/system/dnbd-server@.service
	install -D -m 644 dist/systemd/example.conf $(DESTDIR)/etc/dnbd/example.conf

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
