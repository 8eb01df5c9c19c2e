#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The first real checkpoint and restore: a subject in its own PID
# namespace has itself dumped through a CRIU service that this test
# starts in a root-only folder, keeps running, and its image is restored
# beside it.  Passes only on the restored copy's own positive report,
# from another host pid, while the original still runs.
set -euo pipefail

criu=${THAW_CRIU:?THAW_CRIU names the CRIU binary}
subject=$THAW_BUILD_DIR/tests/criu/first-checkpoint-subject

fail() {
	echo "FAIL: $*" >&2
	for log in "$work"/svc/service.log "$work"/images/*.log; do
		[ -f "$log" ] && { echo "--- $log" >&2; tail -n 20 "$log" >&2; }
	done
	exit 1
}

pids=()
cleanup() {
	# The service may have written its pidfile after a failure stopped us.
	[ -s "$work/svc/criu.pid" ] && pids+=("$(cat "$work/svc/criu.pid")")
	for pid in "${pids[@]}"; do
		kill -KILL "$pid" 2>/dev/null || true
	done
	rm -rf "$work"
}
work=$(mktemp -d /tmp/thaw-first-cr.XXXXXX)
trap cleanup EXIT

mkdir -m 0700 "$work/svc" "$work/images"
"$criu" service -d --address "$work/svc/criu.sock" \
	--pidfile "$work/svc/criu.pid" -o "$work/svc/service.log" -v4 ||
	fail "criu service did not start"
# The daemonized service writes its pidfile and socket a moment later.
for _ in $(seq 100); do
	[ -s "$work/svc/criu.pid" ] && [ -S "$work/svc/criu.sock" ] && break
	sleep 0.05
done
[ -s "$work/svc/criu.pid" ] || fail "criu service wrote no pidfile"
pids+=("$(cat "$work/svc/criu.pid")")

original=$("$subject" "$work/svc/criu.sock" "$work/images" \
	"$work/data" "$work/report" </dev/null 2>/dev/null)
pids+=("$original")

for _ in $(seq 200); do
	[ -s "$work/report.dumped" ] && break
	sleep 0.1
done
[ -s "$work/report.dumped" ] || fail "the subject was not dumped in 20 s"
grep -q '^OK' "$work/report.dumped" || fail "$(cat "$work/report.dumped")"
echo "dumped: $(cat "$work/report.dumped")"

"$criu" restore -D "$work/images" -d --pidfile "$work/restored.pid" \
	-o restore.log -v4 || fail "criu restore failed"
restored=$(cat "$work/restored.pid")
pids+=("$restored")

for _ in $(seq 100); do
	[ -s "$work/report.restored" ] && break
	sleep 0.1
done
[ -s "$work/report.restored" ] || fail "the restored copy did not report"
report=$(cat "$work/report.restored")
echo "restored: $report"

[ "${report%% *}" = OK ] || fail "restored copy: $report"
[ "$report" = "OK host-pid=$restored ns-pid=1" ] ||
	fail "the report is not from the restored copy $restored: $report"
[ "$restored" != "$original" ] || fail "restored pid equals the original"
kill -0 "$original" 2>/dev/null || fail "the original $original died"
kill -0 "$restored" 2>/dev/null || fail "the restored copy $restored died"
echo "PASS: original $original and restored copy $restored both run"
