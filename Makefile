# pxtsgw - Parlay X Terminal Status gateway.
#
#   make            build bin/pxtsgw
#   make deps       install the Debian packages the project needs (root or sudo)
#   make check      unit tests (ASan+UBSan, then valgrind), the fuzz targets' short
#                   pass and integration tests
#   make run        the demo: Kamailio + pxtsgw on 127.0.0.1, until Ctrl-C
#   make gen        regenerate gen/ from wsdl/ (gSOAP)    make gen-check: is gen/ fresh?
#   make install    binary, man page, systemd unit, config (PREFIX, DESTDIR)
#   make unit       unit tests only                        make integration
#   make asan, make tsan   the gateway and unit tests with AddressSanitizer+UBSan
#                   (build/asan) or ThreadSanitizer (build/tsan)
#   make fuzz       libFuzzer targets (tests/fuzz, clang, build/fuzz), each run
#                   FUZZ_SECONDS (300); FUZZ_TARGETS="pidf addr" picks some
#   make bench      one table: getStatus (unwatched, watched), callbacks, memory,
#                   recovery, each against a baseline of the same run
#                   (tests/bench/bench.sh; BENCH_QUICK=1: small and short)
#   make bench-fetch  getStatus against raw fetches only (tests/bench/run.sh)
#   make bench-views  callbacks and /health while /deliveries is downloaded
#   make fuzz-check the short pass of make check: every regression and corpus
#                   file once, then FUZZ_CHECK_SECONDS (20) of fuzzing per target
#   V=1             show full command lines

SHELL := /bin/bash
VERSION := 0.1.0
CC ?= cc
V ?= 0
ifeq ($(V),0)
Q := @
say = @printf '  %-7s %s\n' $(1) $(2)
else
Q :=
say = @true
endif

# gSOAP with OpenSSL (https callbacks): its Cflags (-DWITH_OPENSSL -DWITH_GZIP
# ...) change struct soap, so every object of every flavour (src, gen, unit
# tests, tools, fuzz targets) takes them from here, never from pkg-config gsoap
PKGS := gsoapssl openssl zlib libmicrohttpd sofia-sip-ua sqlite3 expat jansson
# sofia-sip headers are not clean under all warnings: take them as system headers
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null | sed 's/-I/-isystem /g')
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lcrypt

BASE_CFLAGS := -DPXTSGW_VERSION=\"$(VERSION)\" -std=c11 -D_GNU_SOURCE -DWITH_NOEMPTYSTRUCT -g -O2 -MMD -MP
WARN_CFLAGS := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wno-format-nonliteral
GEN_CFLAGS := -w
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

# Three flavours share the sources: build/plain (the product, valgrind),
# build/asan (AddressSanitizer + UBSan) and build/tsan (ThreadSanitizer),
# the last two used by the tests.
FLAVOUR ?= plain
B := build/$(FLAVOUR)
ifeq ($(FLAVOUR),asan)
EXTRA_CFLAGS := $(SAN_FLAGS) -O1
EXTRA_LDFLAGS := $(SAN_FLAGS)
endif
# build/tsan: ThreadSanitizer (data races), used by the tests too
ifeq ($(FLAVOUR),tsan)
EXTRA_CFLAGS := -fsanitize=thread -fno-omit-frame-pointer -O1
EXTRA_LDFLAGS := -fsanitize=thread
endif
# build/fuzz: libFuzzer targets (tests/fuzz), clang with the fuzzer,
# AddressSanitizer and UBSan on every object, the generated code included;
# the same package flags as the product (gSOAP's -D flags change its structs)
FUZZ_CC ?= clang
FUZZ_FLAGS := -fsanitize=fuzzer,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
ifeq ($(FLAVOUR),fuzz)
override CC := $(FUZZ_CC)
EXTRA_CFLAGS := $(FUZZ_FLAGS) -O1
EXTRA_LDFLAGS := $(FUZZ_FLAGS)
endif

# Every object depends on the flags it was compiled with: when they change
# (a new PKGS, another compiler) the flavour is rebuilt, never mixed with
# objects that see another struct soap.
FLAGS_STAMP := $(B)/flags.stamp
FLAGS_NOW := $(CC) $(BASE_CFLAGS) $(EXTRA_CFLAGS) $(PKG_CFLAGS) $(PKG_LIBS)
ifneq ($(MAKECMDGOALS),clean)
$(shell mkdir -p $(B) && { [ "$$(cat $(FLAGS_STAMP) 2>/dev/null)" = '$(FLAGS_NOW)' ] || \
	echo '$(FLAGS_NOW)' >$(FLAGS_STAMP); })
endif

SRC := $(filter-out src/main.c,$(wildcard src/*.c))
GEN_SRC := gen/soapC.c gen/soapServer.c gen/soapClient.c
# gSOAP's own sources the generated code needs, compiled like gen/ (not ours,
# not copied): the xsd:dateTime serializers of custom/struct_timeval.h, which
# the SAML types of wsse.h (mk/gen.mk) use
GSOAP_SHARE ?= /usr/share/gsoap
OBJ := $(SRC:src/%.c=$(B)/obj/%.o) $(B)/obj/wsdl_blob.o $(B)/obj/openapi_blob.o
GEN_OBJ := $(GEN_SRC:gen/%.c=$(B)/gen/%.o) $(B)/gen/struct_timeval.o
LIB := $(B)/libpxtsgw.a
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
WSDL_FILES := $(sort $(wildcard wsdl/*.wsdl wsdl/*.xsd))
OPENAPI_FILES := openapi/device-reachability-status.yaml

PROG := $(if $(filter plain,$(FLAVOUR)),bin/pxtsgw,$(B)/pxtsgw)

.PHONY: all deps check unit unit-asan unit-valgrind integration run gen gen-check clean asan tsan bench bench-fetch bench-bins bench-views install \
	fuzz fuzz-check fuzz-bins
all: $(PROG)

$(PROG): $(B)/obj/main.o $(GEN_OBJ) $(LIB)
	$(call say,LINK,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(EXTRA_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(LIB): $(OBJ)
	$(call say,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(B)/obj/%.o: src/%.c $(FLAGS_STAMP)
	$(call say,CC,$<)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(BASE_CFLAGS) $(WARN_CFLAGS) $(EXTRA_CFLAGS) -Isrc -isystem gen $(PKG_CFLAGS) -c -o $@ $<

$(B)/gen/%.o: gen/%.c $(FLAGS_STAMP)
	$(call say,CC,$<)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(BASE_CFLAGS) $(GEN_CFLAGS) $(EXTRA_CFLAGS) -Igen $(PKG_CFLAGS) -c -o $@ $<

$(B)/gen/struct_timeval.o: $(GSOAP_SHARE)/custom/struct_timeval.c gen/soapH.h
	$(call say,CC,$<)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(BASE_CFLAGS) $(GEN_CFLAGS) $(EXTRA_CFLAGS) -Igen $(PKG_CFLAGS) -c -o $@ $<

# The WSDL/XSD files served by the gateway are built into the binary.
$(B)/obj/wsdl_blob.c: $(WSDL_FILES) tools/embed.sh
	$(call say,EMBED,$@)
	@mkdir -p $(dir $@)
	$(Q)bash tools/embed.sh $(WSDL_FILES) > $@.tmp && mv $@.tmp $@

$(B)/obj/wsdl_blob.o: $(B)/obj/wsdl_blob.c $(FLAGS_STAMP)
	$(call say,CC,$<)
	$(Q)$(CC) $(BASE_CFLAGS) $(EXTRA_CFLAGS) -Isrc -c -o $@ $<

# The OpenAPI document of the REST binding (GET /device-reachability-status/v1/openapi.yaml).
$(B)/obj/openapi_blob.c: $(OPENAPI_FILES) tools/embed.sh
	$(call say,EMBED,$@)
	@mkdir -p $(dir $@)
	$(Q)bash tools/embed.sh --name openapi_files $(OPENAPI_FILES) > $@.tmp && mv $@.tmp $@

$(B)/obj/openapi_blob.o: $(B)/obj/openapi_blob.c $(FLAGS_STAMP)
	$(call say,CC,$<)
	$(Q)$(CC) $(BASE_CFLAGS) $(EXTRA_CFLAGS) -Isrc -c -o $@ $<

# A unit test links only the modules named in tests/unit/<test>.mods (object
# base names; the word "gen" adds the generated gSOAP code, "gen-client" only
# its serializers and client stubs, "wsdl_blob" the embedded WSDL). Test
# tools (tests/tools/<tool>.c with a .mods file) are built the same way into
# $(B)/tools/, so a test script never runs the compiler itself.
mods_of = $(call mods_in,tests/unit/$(1).mods)
mods_in = $(foreach m,$(shell cat $(1) 2>/dev/null),$(if $(filter gen,$(m)),$(GEN_OBJ),$(if $(filter gen-client,$(m)),$(B)/gen/soapC.o $(B)/gen/soapClient.o $(B)/gen/struct_timeval.o,$(B)/obj/$(m).o)))
.SECONDEXPANSION:
$(B)/tests/%: tests/unit/%.c tests/unit/%.mods $$(call mods_of,$$*)
	$(call say,CC,$<)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(BASE_CFLAGS) -Wall -Wextra $(EXTRA_CFLAGS) -Isrc -isystem gen $(PKG_CFLAGS) \
		-DTEST_DATA_DIR='"$(CURDIR)/tests/data"' -DSRC_DIR='"$(CURDIR)"' \
		-o $@ $< $(call mods_of,$*) $(EXTRA_LDFLAGS) -Wl,--as-needed $(PKG_LIBS) -lcmocka

TOOL_SRC := $(patsubst %.mods,%.c,$(wildcard tests/tools/*.mods))
TOOL_BIN := $(TOOL_SRC:tests/tools/%.c=$(B)/tools/%)
$(B)/tools/%: tests/tools/%.c tests/tools/%.mods $$(call mods_in,tests/tools/$$*.mods)
	$(call say,CC,$<)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(BASE_CFLAGS) $(WARN_CFLAGS) $(EXTRA_CFLAGS) -Isrc -isystem gen $(PKG_CFLAGS) \
		-o $@ $< $(call mods_in,tests/tools/$*.mods) $(EXTRA_LDFLAGS) -Wl,--as-needed $(PKG_LIBS)

unit-bins: $(UNIT_BIN) $(TOOL_BIN)

# Benchmark programs (tests/bench/<prog>.c with a .mods file, as the tools
# above) are built into $(B)/bench/ by make bench only.
BENCH_PROG_SRC := $(patsubst %.mods,%.c,$(wildcard tests/bench/*.mods))
BENCH_PROG := $(BENCH_PROG_SRC:tests/bench/%.c=$(B)/bench/%)
$(B)/bench/%: tests/bench/%.c tests/bench/%.mods $$(call mods_in,tests/bench/$$*.mods)
	$(call say,CC,$<)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(BASE_CFLAGS) $(WARN_CFLAGS) -Wno-missing-prototypes $(EXTRA_CFLAGS) -Isrc -isystem gen $(PKG_CFLAGS) \
		-o $@ $< $(call mods_in,tests/bench/$*.mods) $(EXTRA_LDFLAGS) -Wl,--as-needed $(PKG_LIBS)

bench-bins: $(BENCH_PROG)

# A fuzz target tests/fuzz/fuzz_<name>.c links the modules of its .mods file
# (as a unit test does); built in FLAVOUR=fuzz only (make fuzz-bins there).
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(B)/%)
$(B)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_%.mods $$(call mods_in,tests/fuzz/fuzz_$$*.mods)
	$(call say,CC,$<)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(BASE_CFLAGS) $(WARN_CFLAGS) $(EXTRA_CFLAGS) -Isrc -isystem gen $(PKG_CFLAGS) \
		-o $@ $< $(call mods_in,tests/fuzz/fuzz_$*.mods) $(EXTRA_LDFLAGS) -Wl,--as-needed $(PKG_LIBS)

fuzz-bins: $(FUZZ_BIN)

# --- tests -------------------------------------------------------------------
deps:
	@bash tools/deps.sh

check: deps
	@bash tests/run-all.sh

unit: deps
	@bash tests/run-all.sh unit

integration: deps
	@bash tests/run-all.sh integration

bench: deps all bench-bins
	@bash tests/bench/bench.sh

bench-fetch: deps all bench-bins
	@bash tests/bench/run.sh

# the SIP side and /health while clients download large /deliveries listings
bench-views: deps all
	@bash tests/bench/views.sh

# DEMO_MAKE_PID: this make, which the demo watches (deploy/demo.sh says
# why); env execs the demo, so a SIGTERM make forwards reaches it
run: deps all
	@env DEMO_MAKE_PID=$(shell echo $$PPID) bash deploy/demo.sh

asan:
	@$(MAKE) --no-print-directory FLAVOUR=asan all unit-bins

# Fuzzing (tests/fuzz/run.sh says how a target is run; each target's
# -max_len is the "fuzz-max-len:" line of its source). make fuzz keeps what
# it learns in build/fuzz/corpus/ and crashes in build/fuzz/artifacts/.
FUZZ_SECONDS ?= 300
FUZZ_CHECK_SECONDS ?= 20
FUZZ_TARGETS ?=
fuzz: deps
	@$(MAKE) --no-print-directory FLAVOUR=fuzz fuzz-bins
	@FUZZ_SECONDS=$(FUZZ_SECONDS) bash tests/fuzz/run.sh fuzz $(FUZZ_TARGETS)

fuzz-check: deps
	@$(MAKE) --no-print-directory FLAVOUR=fuzz fuzz-bins
	@FUZZ_CHECK_SECONDS=$(FUZZ_CHECK_SECONDS) bash tests/fuzz/run.sh check $(FUZZ_TARGETS)

tsan:
	@$(MAKE) --no-print-directory FLAVOUR=tsan all unit-bins

# Installs the binary, the man page, the systemd unit and (if none is there
# yet) the reference configuration. DESTDIR and PREFIX as usual. The unit
# goes where packaged units go, $(PREFIX)/lib/systemd/system (systemd reads
# /usr/local/lib/systemd/system too); /etc/systemd/system belongs to the
# administrator (overrides, `systemctl edit`).
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
UNITDIR ?= $(PREFIX)/lib/systemd/system
install: bin/pxtsgw
	install -D -m 755 bin/pxtsgw $(DESTDIR)$(BINDIR)/pxtsgw
	install -D -m 644 deploy/pxtsgw.8 $(DESTDIR)$(MANDIR)/man8/pxtsgw.8
	@mkdir -p $(DESTDIR)$(UNITDIR)
	sed -e 's|/usr/local/bin/pxtsgw|$(BINDIR)/pxtsgw|g' -e 's|/etc/pxtsgw/|$(SYSCONFDIR)/pxtsgw/|g' \
		deploy/pxtsgw.service > $(DESTDIR)$(UNITDIR)/pxtsgw.service
	chmod 644 $(DESTDIR)$(UNITDIR)/pxtsgw.service
	test -e $(DESTDIR)$(SYSCONFDIR)/pxtsgw/pxtsgw.conf || \
		install -D -m 644 deploy/pxtsgw.conf $(DESTDIR)$(SYSCONFDIR)/pxtsgw/pxtsgw.conf

include mk/gen.mk

clean:
	rm -rf build bin

-include $(OBJ:.o=.d) $(B)/obj/main.d $(UNIT_BIN:%=%.d) $(TOOL_BIN:%=%.d) $(FUZZ_BIN:%=%.d) $(BENCH_PROG:%=%.d)
