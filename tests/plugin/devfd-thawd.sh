#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The thaw-devfd plugin as thawd uses it: an app that holds
# /dev/cpu_dma_latency and /dev/hwrng, with both in its manifest's device
# policy, dumps itself on its cold launch and is restored on the next with
# the devices back at their numbers; an app holding a device its policy
# does not name cannot be dumped, keeps running, and its next launch is
# cold.
set -euo pipefail

build=$THAW_BUILD_DIR
app=$build/tests/libthaw/selfdump-app
work=$(mktemp -d /tmp/thaw-devfd-thawd.XXXXXX)
chmod 700 "$work"
thawd_pid=""

cleanup() {
	if [ -n "$thawd_pid" ]; then
		kill "$thawd_pid" 2>/dev/null || true
		for _ in $(seq 50); do
			kill -0 "$thawd_pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$thawd_pid" 2>/dev/null || true
	fi
	mountpoint -q "$work/images" && umount -l "$work/images"
	rm -rf "$work"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	echo "--- thawd's log" >&2
	tail -n 30 "$work/thawd.log" >&2 || true
	for r in "$work"/r*; do
		[ -f "$r" ] && { echo "--- $r" >&2; cat "$r" >&2; }
	done
	exit 1
}

wait_line() {
	for _ in $(seq 150); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

ctl() {
	"$build/cli/thawctl" --socket "$work/thawd.sock" "$@"
}

mkdir -p "$work/apps" "$work/images" "$work/run"
mount -t tmpfs -o size=128m,mode=0700 tmpfs "$work/images"
cat >"$work/apps/devices.json" <<JSON
{ "id": "devices", "exec": "$app", "checkpointable": true,
  "args": ["--hold-rw", "/dev/cpu_dma_latency", "--hold", "/dev/hwrng"],
  "policy": { "devices": ["/dev/cpu_dma_latency", "/dev/hw*"] } }
JSON
cat >"$work/apps/nopolicy.json" <<JSON
{ "id": "nopolicy", "exec": "$app", "checkpointable": true,
  "args": ["--hold", "/dev/hwrng"],
  "policy": { "devices": ["/dev/cpu_dma_latency"] } }
JSON

"$build/daemon/thawd" --socket "$work/thawd.sock" --apps-dir "$work/apps" \
	--tmpfs-dir "$work/images" --run-dir "$work/run" --criu "$THAW_CRIU" \
	--plugin-dir "$build/plugin/criu-plugins" --log-target stderr \
	2>"$work/thawd.log" &
thawd_pid=$!
for _ in $(seq 50); do
	[ -S "$work/thawd.sock" ] && break
	sleep 0.1
done
[ -S "$work/thawd.sock" ] || fail "thawd did not start"

out=$(ctl launch devices --params "{\"report\":\"$work/r1\"}" 2>"$work/err") ||
	fail "the cold launch failed: $(cat "$work/err")"
echo "$out"
wait_line "$work/r1" "^dumped " || fail "the app holding devices was not dumped"
ls "$work"/images/devices/current/thaw-devfd-*.img >/dev/null ||
	fail "the image has no device records"
ctl close devices >/dev/null || fail "close failed"
out=$(ctl launch devices --params "{\"report\":\"$work/r2\"}" 2>"$work/err") ||
	fail "the warm launch failed: $(cat "$work/err")"
echo "$out"
[[ $out == "devices: restored,"* ]] || fail "the warm launch says: $out"
wait_line "$work/r2" "^restored " || fail "the copy did not report"
grep -q "^restored mem=ok .*devices=ok" "$work/r2" ||
	fail "the devices are not back: $(cat "$work/r2")"
echo "ok: dumped and restored through thawd with two device fds"

out=$(ctl launch nopolicy --params "{\"report\":\"$work/r3\"}" 2>"$work/err") ||
	fail "the cold launch of nopolicy failed: $(cat "$work/err")"
wait_line "$work/r3" "^error checkpoint" ||
	fail "a device outside the policy did not stop the dump"
ctl status nopolicy | grep -q "nopolicy: launched" ||
	fail "the app did not keep running after the failed dump"
ctl close nopolicy >/dev/null || fail "close of nopolicy failed"
out=$(ctl launch nopolicy --params "{\"report\":\"$work/r4\"}") ||
	fail "the second launch of nopolicy failed"
[[ $out == "nopolicy: cold,"* ]] || fail "nopolicy's second launch: $out"
echo "ok: a device outside the policy blocks the dump, the app runs on"
echo "PASS: plugin-devfd-thawd"
