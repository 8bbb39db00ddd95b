#!/usr/bin/env bash
# Runs the ExUnit tests of test/elixir/ with real Elixir, on a fresh private
# epmd, as a distributed node.
set -uo pipefail
BUILD=${BUILD:-build}
top=$(pwd)
. mk/epmd.sh
otpc_epmd_start || exit 1
export OTPC_BUILD="$top/$BUILD" OTPC_TOP="$top"
elixir --sname "otpc_exunit_$$" -pa "$top/_build/default/lib/otpc/ebin" \
  test/elixir/run.exs
