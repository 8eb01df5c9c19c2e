# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Helpers of the store's tests, on top of tests/lib/harness.sh (its
# cleanup trap, mounts and loop devices); these tests need no thawd.
#
#   st_init [TMPFS_SIZE]     private root, a tmpfs tier ($ST_T) and a plain
#                            folder as persistent tier ($ST_P)
#   st ARGS...               runs store-tool on the test's tiers
#   st_run WANT ARGS...      runs st, output in $ST_OUT; fails unless the
#                            exit status is WANT
#   st_has REGEX [MSG]       fails unless $ST_OUT matches
#   st_reboot                a new empty tmpfs in place of the old one
#   st_no_leftovers          fails if a .new-* folder is left in a tier
#   st_flip FILE             flips one bit of the byte in FILE's middle
#   st_truncate FILE         cuts FILE to half its size

# shellcheck source=../lib/harness.sh
. "${THAW_TEST_LIB:?}/harness.sh"

ST_TOOL=$TH_BUILD/tests/store/store-tool

# These tests start no app for the harness to hunt down.
th_strays() {
	:
}

st_init() {
	TH_ROOT=$(mktemp -d "/tmp/thaw-$TH_NAME.XXXXXX") || exit 1
	TH_SOCKET=$TH_ROOT/no-socket
	trap th_cleanup EXIT
	trap 'exit 130' INT TERM
	[[ -x $ST_TOOL ]] || th_fail "no store-tool at $ST_TOOL"
	ST_T=$TH_ROOT/tmpfs
	ST_P=$TH_ROOT/persist
	ST_TMPFS_SIZE=${1:-64m}
	mkdir -p "$ST_P"
	th_mount_tmpfs "$ST_T" "$ST_TMPFS_SIZE"
	ST_OPTS=(--tmpfs "$ST_T" --persist "$ST_P")
}

st() {
	"$ST_TOOL" "${ST_OPTS[@]}" "$@"
}

st_run() {
	local want=$1 rc=0
	shift
	ST_OUT=$(st "$@" 2>&1) || rc=$?
	printf '%s\n' "$ST_OUT" | sed "s/^/[$TH_NAME]   /" >&2
	((rc == want)) || th_fail "store-tool $* exited $rc, wanted $want"
}

st_has() {
	grep -Eq -- "$1" <<<"$ST_OUT" || th_fail "${2:-output lacks /$1/}"
}

st_reboot() {
	umount "$ST_T" || th_fail "cannot unmount $ST_T"
	mount -t tmpfs -o "size=$ST_TMPFS_SIZE,mode=0700" thaw-test "$ST_T" ||
		th_fail "cannot mount a tmpfs on $ST_T"
}

st_no_leftovers() {
	local left
	left=$(find "$ST_T" "$ST_P" -name '.new-*' -o -name current.new)
	[[ -z $left ]] || th_fail "left behind: $left"
}

st_flip() {
	python3 - "$1" <<'PY'
import os, sys
with open(sys.argv[1], "r+b") as f:
    n = os.fstat(f.fileno()).st_size
    f.seek(n // 2)
    b = f.read(1)
    f.seek(n // 2)
    f.write(bytes([b[0] ^ 0x10]))
PY
}

st_truncate() {
	truncate -s $(($(stat -c %s "$1") / 2)) "$1"
}
