#!/usr/bin/env bash
# make demo: runs the demo against real Erlang/OTP (see README.md).
set -euo pipefail
BUILD=${BUILD:-build}
exec escript demo/term_demo.escript "$BUILD"
