# The real build rules; run through the top-level Makefile, which installs
# the toolchain first. Outputs go to build/ (build/asan/ with SANITIZE=1).

SANITIZE ?= 0
ifeq ($(SANITIZE),1)
BUILD ?= build/asan
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
            -fno-sanitize-recover=undefined
else
BUILD ?= build
SANFLAGS :=
endif

PREFIX ?= /usr/local
FUZZ_SECONDS ?= 20
FUZZ_CC ?= clang

# Where Erlang/OTP keeps erl_interface (ei) and erl_nif.h.
ERL_ROOT := $(shell erl -noshell -eval 'io:format("~s",[code:root_dir()]),halt().')
EI_DIR := $(shell erl -noshell -eval 'io:format("~s",[code:lib_dir(erl_interface)]),halt().')
ifeq ($(EI_DIR),)
$(error erl_interface not found: is erlang-dev installed? Run make through the top-level Makefile)
endif

CPPFLAGS := -Iinclude -Ic_src -I$(EI_DIR)/include -I$(ERL_ROOT)/usr/include \
            -D_POSIX_C_SOURCE=200809L
CFLAGS := -std=c11 -Wall -Wextra -Werror -g -O2 -fPIC $(SANFLAGS)
LDFLAGS := $(SANFLAGS)
LDLIBS := -L$(EI_DIR)/lib -lei -luv -lz -lnettle -lpthread -lm

# Every module of the core and the C node; the tools are programs.
LIB_SRCS := $(filter-out cnode/tools/%,$(wildcard c_src/*.c cnode/*/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
LIB_A := $(BUILD)/lib/libotpc.a
LIB_SO := $(BUILD)/lib/libotpc.so

# Programs are */tools/otpc-*.c; the other cnode/tools/*.c are pieces shared
# by the C node programs (the reference node's example processes, say).
TOOL_SRCS := $(wildcard c_src/tools/otpc-*.c cnode/tools/otpc-*.c)
TOOLS := $(addprefix $(BUILD)/bin/,$(basename $(notdir $(TOOL_SRCS))))
CNODE_TOOL_PARTS := $(filter-out cnode/tools/otpc-%,$(wildcard cnode/tools/*.c))
CNODE_TOOL_OBJS := $(CNODE_TOOL_PARTS:%.c=$(BUILD)/obj/%.o)

# The NIF and port toolkits add their own rules, outputs and priv/ files
# (PRIV_FILES: pairs dir:file) in these fragments.
PRIV_FILES :=
-include mk/nif.mk mk/port.mk

TEST_SRCS := $(wildcard test/c/test_*.c)
# probe_*.c: helper programs that Common Test suites drive (not run alone).
PROBE_SRCS := $(wildcard test/c/probe_*.c)
TESTS := $(TEST_SRCS:test/c/%.c=$(BUILD)/test/%) \
         $(PROBE_SRCS:test/c/%.c=$(BUILD)/test/%)

FUZZ_SRCS := $(wildcard test/fuzz/fuzz_*.c)
FUZZERS := $(FUZZ_SRCS:test/fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_OBJS := $(LIB_SRCS:%.c=$(BUILD)/fuzzobj/%.o)
FUZZ_FLAGS := -std=c11 -g -O1 -fsanitize=fuzzer-no-link,address,undefined \
              -fno-sanitize-recover=undefined

.PHONY: all c lib tools tests fuzzers erlang priv test demo bench install fuzz format

# Keep objects of tests, tools and fuzzers (make would delete them as
# intermediates and rebuild them every time).
.SECONDARY:

all: c erlang
c: lib tools priv
lib: $(LIB_A) $(LIB_SO)
tools: $(TOOLS)
tests: $(TESTS)
fuzzers: $(FUZZERS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(LIB_A): $(LIB_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^

$(LIB_SO): $(LIB_OBJS)
	@mkdir -p $(@D)
	$(CC) -shared -Wl,-soname,libotpc.so.0 $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bin/%: $(BUILD)/obj/c_src/tools/%.o $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bin/%: $(BUILD)/obj/cnode/tools/%.o $(CNODE_TOOL_OBJS) $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/test/%: $(BUILD)/obj/test/c/%.o $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

# Fuzz targets always get libFuzzer with ASan+UBSan, so the library is built
# a second time with clang and coverage instrumentation.
$(BUILD)/fuzzobj/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_FLAGS) -MMD -MP -c $< -o $@

$(BUILD)/fuzz/%: $(BUILD)/fuzzobj/test/fuzz/%.o $(FUZZ_OBJS)
	@mkdir -p $(@D)
	$(FUZZ_CC) -fsanitize=fuzzer,address,undefined -o $@ $^ $(LDLIBS)

# The C parts the Erlang application ships in priv/ (rebar3 runs `make c`).
# Sanitized builds stay out of priv/: they need the sanitizer runtime.
priv: $(TOOLS) $(foreach p,$(PRIV_FILES),$(word 2,$(subst :, ,$(p))))
ifneq ($(SANITIZE),1)
	@mkdir -p priv/bin
	@for t in $(TOOLS); do cp -f $$t priv/bin/; done
	@for p in $(PRIV_FILES); do d=priv/$${p%%:*}; mkdir -p $$d; cp -f $${p#*:} $$d/; done
endif

erlang:
	rebar3 compile

ifeq ($(SANITIZE),1)
test: c erlang tests
else
test: c erlang tests fuzzers
endif
	@BUILD=$(BUILD) SANITIZE=$(SANITIZE) FUZZ_SECONDS=$(FUZZ_SECONDS) bash mk/test.sh

fuzz: fuzzers
	@BUILD=$(BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) bash mk/test.sh fuzz

demo: c erlang
	@BUILD=$(BUILD) bash mk/demo.sh

bench: c erlang
	@BUILD=$(BUILD) BENCH=$(BENCH) bash mk/bench.sh

install: lib
	install -d $(DESTDIR)$(PREFIX)/include/otpc $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 include/otpc/*.h $(DESTDIR)$(PREFIX)/include/otpc/
	install -m 644 $(LIB_A) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(LIB_SO) $(DESTDIR)$(PREFIX)/lib/libotpc.so.0
	ln -sf libotpc.so.0 $(DESTDIR)$(PREFIX)/lib/libotpc.so
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@EI_DIR@|$(EI_DIR)|g' mk/otpc.pc.in \
	  > $(DESTDIR)$(PREFIX)/lib/pkgconfig/otpc.pc

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

# Every object's header dependencies (library, tools, tests, fuzz targets).
-include $(shell find $(BUILD) -name '*.d' -not -path '$(BUILD)/asan/*' 2>/dev/null)
