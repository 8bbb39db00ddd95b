# The NIF toolkit's build rules (owned by the NIF toolkit; included by build.mk).
#
# nif/*.c use erl_nif.h, whose enif_* symbols exist only inside the VM: they
# go into their own static library, linked into each NIF .so, never into
# libotpc.a. NIF libraries are always built without sanitizers, also with
# SANITIZE=1: the stock beam.smp cannot load an ASan-instrumented library
# unless the ASan runtime is preloaded into the whole VM (see docs/nif.md).

OTP_RELEASE := $(shell erl -noshell -eval 'io:format("~s",[erlang:system_info(otp_release)]),halt().')
NIF_CFLAGS := -std=c11 -Wall -Wextra -Werror -g -O2 -fPIC -fvisibility=hidden \
              -DOTPC_NIF_OTP_RELEASE=$(OTP_RELEASE)
NIF_SRCS := $(wildcard nif/*.c)
# error.c (otpc_strerror) is plain C, shared with the core.
NIF_OBJS := $(NIF_SRCS:%.c=$(BUILD)/nifobj/%.o) $(BUILD)/nifobj/c_src/error.o
NIF_A := $(BUILD)/lib/libotpc_nif.a
NIF_EXAMPLE := $(BUILD)/lib/otpc_nif_example.so
# The probe library of test/nif_SUITE, in two builds (for the hot upgrade)
# and one claiming another OTP (for the loader's message).
NIF_PROBES := $(BUILD)/nif/v1/otpc_nif_probe.so $(BUILD)/nif/v2/otpc_nif_probe.so \
              $(BUILD)/nif/otp99/otpc_nif_probe.so $(BUILD)/nif/asan/otpc_nif_probe.so

# Libraries are written to a temporary name and renamed into place, also
# in priv/ (not through PRIV_FILES, whose `cp -f` rewrites the file in
# place): a running VM that has the old library mapped keeps its inode,
# instead of dying of SIGBUS when the file under it is truncated.
NIF_PRIV := priv/lib/otpc_nif_example.so

.PHONY: nif
c: nif
# priv/ gets the library in both modes (it is never sanitized), so a
# sanitized run works on a fresh clone without a plain build first.
nif: $(NIF_A) $(NIF_EXAMPLE) $(NIF_PROBES) $(NIF_PRIV)
$(NIF_PRIV): $(NIF_EXAMPLE)
	@mkdir -p $(@D)
	cp $< $@.tmp && mv -f $@.tmp $@

$(BUILD)/nifobj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Inif $(NIF_CFLAGS) -MMD -MP -c $< -o $@

$(NIF_A): $(NIF_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^

$(NIF_EXAMPLE): $(BUILD)/nifobj/nif/examples/otpc_nif_example.o $(NIF_A)
	@mkdir -p $(@D)
	$(CC) -shared -o $@.tmp $^ -lm && mv -f $@.tmp $@

$(BUILD)/nif/v%/otpc_nif_probe.so: nif/test/otpc_nif_probe.c $(NIF_A) include/otpc/nif.h
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(NIF_CFLAGS) -DPROBE_VERSION=$* -shared \
	  -o $@.tmp $< $(NIF_A) -lm && mv -f $@.tmp $@

$(BUILD)/nif/otp99/otpc_nif_probe.so: nif/test/otpc_nif_probe.c $(NIF_A) include/otpc/nif.h
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(NIF_CFLAGS) -UOTPC_NIF_OTP_RELEASE \
	  -DOTPC_NIF_OTP_RELEASE=99 -DPROBE_VERSION=99 -DPROBE_FAKE_NIF_MINOR=99 \
	  -shared -o $@.tmp $< $(NIF_A) -lm && mv -f $@.tmp $@

# The probe with ASan+UBSan, toolkit included, in every build: nif_SUITE
# loads it into a peer VM started with the ASan runtime preloaded.
$(BUILD)/nif/asan/otpc_nif_probe.so: nif/test/otpc_nif_probe.c $(NIF_SRCS) \
    c_src/error.c include/otpc/nif.h $(wildcard nif/*.h)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Inif -std=c11 -Wall -Wextra -Werror -g -O1 -fPIC \
	  -fsanitize=address,undefined -fno-omit-frame-pointer \
	  -fno-sanitize-recover=undefined -DOTPC_NIF_OTP_RELEASE=$(OTP_RELEASE) \
	  -DPROBE_VERSION=1 -shared -o $@.tmp nif/test/otpc_nif_probe.c \
	  $(NIF_SRCS) c_src/error.c && mv -f $@.tmp $@

# The spec parser needs no VM: it is fuzzed on its own.
$(BUILD)/fuzz/fuzz_nif_spec: $(BUILD)/fuzzobj/test/fuzz/fuzz_nif_spec.o \
    $(BUILD)/fuzzobj/nif/spec.o $(FUZZ_OBJS)
	@mkdir -p $(@D)
	$(FUZZ_CC) -fsanitize=fuzzer,address,undefined -o $@ $^ $(LDLIBS)

-include $(NIF_OBJS:.o=.d) $(BUILD)/nifobj/nif/examples/otpc_nif_example.d

# otpc_fn's NIF deployment (docs/fn.md): the core's term layer and the fn
# decoder, compiled like the NIF toolkit (never sanitized), in an archive
# that the example library pulls what it needs from.
FN_NIF_OBJS := $(patsubst %.c,$(BUILD)/nifobj/%.o,$(filter-out c_src/port_serve.c,$(wildcard c_src/*.c)) nif/spec.c fn/fn_nif.c fn/calc.c)
FN_NIF_A := $(BUILD)/lib/libotpc_fn_nif.a
FN_NIF_SO := $(BUILD)/lib/otpc_fn_calc.so
nif: $(FN_NIF_SO) priv/lib/otpc_fn_calc.so
$(FN_NIF_A): $(FN_NIF_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^
$(FN_NIF_SO): $(BUILD)/nifobj/nif/examples/otpc_fn_calc_nif.o $(FN_NIF_A)
	@mkdir -p $(@D)
	$(CC) -shared -o $@.tmp $^ -lm && mv -f $@.tmp $@
priv/lib/otpc_fn_calc.so: $(FN_NIF_SO)
	@mkdir -p $(@D)
	cp $< $@.tmp && mv -f $@.tmp $@
