#!/usr/bin/env bash
# Makes sure the Debian packages otpc needs are installed. Installs the
# missing ones with apt-get when run as root; otherwise prints the exact
# command to run and fails. Nothing is fetched from anywhere but Debian.
set -euo pipefail

packages=(
  build-essential pkg-config clang libclang-rt-14-dev llvm
  libuv1-dev libcmocka-dev zlib1g-dev nettle-dev
  erlang-nox erlang-dev erlang-common-test erlang-eunit erlang-proper erlang-proper-dev
  rebar3 elixir
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

echo "otpc: missing Debian packages: ${missing[*]}" >&2
if [[ $(id -u) -ne 0 ]]; then
  echo "otpc: run this, then make again:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "otpc: installing them with apt-get (this takes a few minutes)" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
