#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Installs what building and testing thaw needs on Debian 12: the build
# dependencies from apt, then a CRIU runtime that works on this kernel.
# Safe to run again: with everything present it only verifies.
#
# usage: scripts/setup.sh BUILD_DIR
set -euo pipefail

build_dir=${1:?usage: setup.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)

# Debian 12 packages. criu (3.17) is here for its libcriu and headers;
# its binary is too old for this kernel and is not used.
packages=(
	build-essential cmake pkg-config clang clang-format clang-tidy
	libclang-rt-14-dev
	criu libprotobuf-c-dev
	libjson-c-dev libcmocka-dev libxxhash-dev libzstd-dev zstd libssl-dev
	libsystemd-dev systemd
	scdoc gnuplot-nox patchelf
	e2fsprogs xfsprogs util-linux procps psmisc strace
	python3 socat iproute2 bc mount cppcheck git
)

missing=()
for p in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$status" = installed ] || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "setup: missing packages: ${missing[*]} (run as root)" >&2
		exit 1
	fi
	echo "setup: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

exec "$here/criu-runtime.sh" "$build_dir/criu-runtime"
