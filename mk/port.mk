# The port toolkit's build rules (owned by the port toolkit; included by build.mk).
# The framework (port/*.c) joins the library; the example is a program
# copied to priv/bin/ with the other tools.
LIB_SRCS += $(wildcard port/*.c)
LIB_OBJS += $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard port/*.c))
TOOLS += $(BUILD)/bin/otpc-port-example

$(BUILD)/bin/otpc-port-example: $(BUILD)/obj/port/examples/otpc-port-example.o $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The unit tests include the framework's internal header.
$(BUILD)/obj/test/c/test_port_%.o: CPPFLAGS += -Iport
$(BUILD)/fuzzobj/test/fuzz/fuzz_port_%.o: CPPFLAGS += -Iport

-include $(BUILD)/obj/port/examples/otpc-port-example.d

# otpc_fn (docs/fn.md): the shared example functions, deployed as a port
# program and as a C node; the spec parser of the NIF toolkit joins the
# library (it needs no VM).
LIB_SRCS += nif/spec.c
LIB_OBJS += $(BUILD)/obj/nif/spec.o
TOOLS += $(BUILD)/bin/otpc-fn-port
$(BUILD)/bin/otpc-fn-port: $(BUILD)/obj/port/examples/otpc-fn-port.o $(BUILD)/obj/fn/calc.o $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/bin/otpc-fn-node: $(BUILD)/obj/fn/calc.o
-include $(BUILD)/obj/port/examples/otpc-fn-port.d $(BUILD)/obj/fn/calc.d
$(BUILD)/fuzz/fuzz_fn: $(BUILD)/fuzzobj/fn/calc.o
