# otpc: top-level entry points. Every target first makes sure the Debian
# packages are installed (mk/deps.sh), then runs the real rules in mk/build.mk,
# which may assume the toolchain is present.
#
#   make                 C library, tools and the Erlang application
#   make test            every test (SANITIZE=1: built with ASan+UBSan)
#   make demo            the demo
#   make bench           the benchmarks (BENCH=<suite> for one)
#   make install PREFIX=/usr/local
#   make c               only the C parts (used by rebar3's pre-compile hook)

SUBMAKE = $(MAKE) --no-print-directory -f mk/build.mk

.PHONY: all c test demo bench install fuzz clean deps format
all c test demo bench install fuzz format: deps
	@$(SUBMAKE) $@

deps:
	@bash mk/deps.sh

clean:
	rm -rf build _build priv/bin priv/lib
