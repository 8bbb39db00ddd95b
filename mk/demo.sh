#!/usr/bin/env bash
# make demo: the reference C node in a real Erlang/Elixir cluster (see
# README.md), on a private epmd so it never disturbs one on 4369.
set -euo pipefail
BUILD=${BUILD:-build}
. mk/epmd.sh
otpc_epmd_start
escript demo/cnode_demo.escript "$BUILD"
