#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The thaw-devfd CRIU plugin, with real CRIU: a process (PID 1 of its own
# PID namespace) holding /dev/cpu_dma_latency, /dev/hwrng and a loop block
# device cannot be dumped without the plugin, nor with it when the policy
# does not allow one of them; with the plugin and the policy it is dumped,
# and the copy restored beside the original finds its fds at the same
# numbers with the same flags and offset, still working.  A restore whose
# policy no longer allows a device fails.
set -euo pipefail

criu=${THAW_CRIU:?}
holder=$THAW_BUILD_DIR/tests/plugin/devfd-holder
plugins=$THAW_BUILD_DIR/plugin/criu-plugins

work=$(mktemp -d /tmp/thaw-devfd.XXXXXX)
chmod 700 "$work"
loop=""
pids=()

cleanup() {
	local i
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		kill -9 "${pids[i]}" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	[ -z "$loop" ] || losetup -d "$loop" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	for log in "$work"/*.log; do
		[ -f "$log" ] || continue
		echo "--- last lines of $log" >&2
		tail -n 15 "$log" >&2
	done
	exit 1
}

wait_file() {
	for _ in $(seq 100); do
		[ -s "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

[ -x "$criu" ] || fail "no CRIU at $criu"
[ -f "$plugins/thaw-devfd.so" ] || fail "no plugin in $plugins"

head -c $((256 * 1024)) /dev/urandom >"$work/backing"
loop=$(losetup -f --show "$work/backing")
allow="/dev/cpu_dma_latency:/dev/hwrng:/dev/loop[0-9]*"
mkdir "$work/no-plugins"

unshare --pid --fork "$holder" "$loop" "$work/report" "$work/ready" \
	</dev/null >/dev/null 2>&1 &
pids+=($!)
wait_file "$work/ready" || fail "the holder did not start"
pid=$(pgrep -P "${pids[0]}")
pids+=("$pid")
echo "holder: pid $pid in its own PID namespace, devices at fds 42 43 44"

dump() {
	local dir=$1 libs=$2 allowed=$3
	mkdir "$work/$dir"
	CRIU_LIBS_DIR=$libs THAW_DEVFD_ALLOW=$allowed \
		"$criu" dump -t "$pid" -D "$work/$dir" --leave-running \
		-o "$work/$dir.log" -v4
}

if dump img-no-plugin "$work/no-plugins" "$allow"; then
	fail "the dump without the plugin succeeded"
fi
grep -q "Can't dump file" "$work/img-no-plugin.log" ||
	fail "the dump without the plugin failed for another reason"
kill -0 "$pid" || fail "the holder died in the dump without the plugin"
echo "ok: without the plugin CRIU refuses the device fds"

if dump img-no-policy "$plugins" "/dev/cpu_dma_latency:/dev/hwrng"; then
	fail "the dump succeeded though the loop device is not allowed"
fi
kill -0 "$pid" || fail "the holder died in the dump against the policy"
echo "ok: with the plugin, a device the policy does not allow still blocks"

dump img "$plugins" "$allow" || fail "the dump with the plugin failed"
kill -0 "$pid" || fail "the holder died after the dump"
n=$(ls "$work"/img/thaw-devfd-*.img | wc -l)
[ "$n" -eq 3 ] || fail "$n device records in the image, not 3"
echo "ok: dumped with the plugin, 3 device records"

restore() {
	local allowed=$1 name=$2
	rm -f "$work/$name.pid"
	CRIU_LIBS_DIR=$plugins THAW_DEVFD_ALLOW=$allowed \
		"$criu" restore -D "$work/img" -d --pidfile "$work/$name.pid" \
		-o "$work/$name.log" -v4
}

if restore "/dev/cpu_dma_latency:/dev/hwrng" restore-no-policy; then
	[ -s "$work/restore-no-policy.pid" ] &&
		pids+=("$(cat "$work/restore-no-policy.pid")")
	fail "a restore against the policy succeeded"
fi
grep -q "Unable to restore" "$work/restore-no-policy.log" ||
	fail "the restore against the policy failed for another reason"
echo "ok: a restore the policy no longer allows fails"

restore "$allow" restore || fail "the restore failed"
copy=$(cat "$work/restore.pid")
pids+=("$copy")
[ "$copy" != "$pid" ] || fail "the restored copy has the original's pid"
kill -0 "$pid" || fail "the original died during the restore"

kill -USR1 "$copy"
wait_file "$work/report" || fail "the restored copy did not report"
result=$(cat "$work/report")
[ "$result" = PASS ] || fail "the restored copy says: $result"
echo "ok: the restored copy (pid $copy) has its device fds back: $result"
echo "PASS: plugin-devfd"
