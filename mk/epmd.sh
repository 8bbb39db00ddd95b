# Sourced by the test and demo scripts: starts a private epmd on a free port
# for this run, exports ERL_EPMD_PORT so every node started from here uses
# it, and kills it on exit. Tests so never depend on an epmd left over from
# another run, and never disturb one the user runs on 4369.
otpc_epmd_start() {
  local port pid try
  for try in $(seq 1 50); do
    port=$((20000 + RANDOM % 20000))
    epmd -port "$port" &
    pid=$!
    # Ready when it answers a NAMES request; gone if the port was taken.
    # Each probe is a short-lived process, which paces the loop.
    for _ in $(seq 1 500); do
      if epmd -port "$port" -names >/dev/null 2>&1; then
        export ERL_EPMD_PORT=$port
        OTPC_EPMD_PID=$pid
        trap otpc_epmd_stop EXIT
        return 0
      fi
      kill -0 "$pid" 2>/dev/null || break
    done
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  echo "otpc: could not start a private epmd" >&2
  return 1
}

otpc_epmd_stop() {
  if [[ -n "${OTPC_EPMD_PID:-}" ]]; then
    kill "$OTPC_EPMD_PID" 2>/dev/null
    wait "$OTPC_EPMD_PID" 2>/dev/null
    OTPC_EPMD_PID=
  fi
}
