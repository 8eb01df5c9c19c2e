# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
#
# Sourced by the install tests: a private work folder removed on exit,
# and stage DESTDIR, which installs the build tree there as
# `make install DESTDIR=...` does.  The installed paths (THAW_PREFIX,
# THAW_LIBDIR, ...) come from CTest's environment.
set -euo pipefail

: "${THAW_BUILD_DIR:?}" "${THAW_SOURCE_DIR:?}" "${THAW_PREFIX:?}"

work=$(mktemp -d "/tmp/thaw-${THAW_TEST_NAME:-install}.XXXXXX")
trap 'rm -rf "$work"' EXIT

fail()
{
	echo "FAIL: $*" >&2
	exit 1
}

stage()
{
	local dest=$1

	if ! DESTDIR="$dest" cmake --install "$THAW_BUILD_DIR" \
		>"$work/install.log" 2>&1; then
		cat "$work/install.log" >&2
		fail "cmake --install into $dest"
	fi
}
