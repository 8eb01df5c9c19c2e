# SPDX-License-Identifier: LGPL-2.1-or-later
#
# `make demo` in a small configuration: every app launches cold, dumps,
# closes and launches again restored, and the table says so.
set -u
out=$(mktemp)
trap 'rm -f "$out"' EXIT

THAW_DEMO_SIZE_MIB=16 "$THAW_BUILD_DIR/examples/thaw-demo" >"$out" 2>&1
rc=$?
cat "$out"
[[ $rc == 0 ]] || { echo "FAIL: thaw-demo exited $rc"; exit 1; }

for app in home inputcommon livemenu; do
	grep -qE "^$app +restored +[0-9.]+ +[0-9.]+ +[0-9.]+x" "$out" ||
		{ echo "FAIL: the table has no restored row for $app"; exit 1; }
	grep -qE "^$app: restored: state 16 MiB checksum ok, .*ok" "$out" ||
		{ echo "FAIL: $app did not report its state and resources ok"; exit 1; }
done
! grep -q "/tmp/thaw-demo\." /proc/mounts ||
	{ echo "FAIL: the demo left its tmpfs mounted"; exit 1; }
echo "demo: all three restored"
