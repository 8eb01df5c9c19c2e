#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# libthaw end to end, with the real thawd and real CRIU, driven by thawctl:
# a cold launch whose app checkpoints itself (the hooks run, the dump is
# made with the app's socket to thawd already closed, the original learns
# it was dumped); a second launch restores the image (the copy learns it
# was restored, its memory and its TCP connection to itself are intact
# (a self-dump with --tcp-established), it reads the new launch's
# parameters and says ready); a launch that reaches the running app
# arrives on its launch event fd; closing it ends PID 1 of its namespace
# with SIGTERM.  Also thawctl's exit codes and its --json answers.
set -euo pipefail

build=$THAW_BUILD_DIR
thawctl=$build/cli/thawctl
work=$(mktemp -d /tmp/thaw-selfdump.XXXXXX)
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

# Waits until file $1 has a line matching $2.
wait_line() {
	for _ in $(seq 150); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

ctl() {
	"$thawctl" --socket "$work/thawd.sock" "$@"
}

mkdir -p "$work/apps" "$work/images" "$work/run"
mount -t tmpfs -o size=128m,mode=0700 tmpfs "$work/images"
cat >"$work/apps/selfdump.json" <<JSON
{ "id": "selfdump", "exec": "$build/tests/libthaw/selfdump-app",
  "checkpointable": true }
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

# thawctl's exit codes.
rc=0
"$thawctl" --socket "$work/none.sock" running 2>/dev/null || rc=$?
[ "$rc" -eq 3 ] || fail "an unreachable thawd gave exit code $rc, not 3"
rc=0
ctl launch no-such-app 2>"$work/err" || rc=$?
[ "$rc" -eq 1 ] || fail "an unknown app gave exit code $rc, not 1"
grep -q "launch no-such-app" "$work/err" || fail "the refusal is not told"
rc=0
ctl launch 2>/dev/null || rc=$?
[ "$rc" -eq 2 ] || fail "a usage error gave exit code $rc, not 2"

# Cold launch; the app then dumps itself.
out=$(ctl launch selfdump --params "{\"report\":\"$work/r1\"}" 2>"$work/err") ||
	fail "the cold launch failed: $(cat "$work/err")"
echo "$out"
[[ $out =~ ^selfdump:\ cold,\ pid\ [0-9]+,\ ready\ in\ [0-9.]+\ ms$ ]] ||
	fail "the cold launch says: $out"
wait_line "$work/r1" "^dumped " || fail "the app was not dumped"
grep -q "^dumped trail=b a(1) " "$work/r1" ||
	fail "the hooks did not run around the dump"
echo "ok: cold launch, then the app dumped itself"

ctl close selfdump >/dev/null || fail "close failed"
grep -q "exited with status 143" "$work/thawd.log" ||
	fail "the app (PID 1 of its namespace) did not exit on SIGTERM"

# Warm launch: restored from the image.
out=$(ctl launch selfdump --params "{\"report\":\"$work/r2\"}" 2>"$work/err") ||
	fail "the warm launch failed: $(cat "$work/err")"
echo "$out"
[[ $out =~ ^selfdump:\ restored,\ pid\ [0-9]+,\ ready\ in\ [0-9.]+\ ms$ ]] ||
	fail "the warm launch says: $out"
wait_line "$work/r2" "^restored " || fail "the copy did not report"
grep -q "^restored mem=ok trail=b a(2) devices=ok tcp=ok .*\"report\"" "$work/r2" ||
	fail "the restored copy is wrong: $(cat "$work/r2")"
echo "ok: warm launch restored the app, memory and its TCP connection intact, new parameters read"

# --json gives the raw answer.
ctl --json running >"$work/running.json" || fail "running --json failed"
python3 - "$work/running.json" <<'PY' || fail "running --json is wrong"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["returnValue"] is True
assert [a["id"] for a in d["running"]] == ["selfdump"], d
PY

# Preload, then a launch that reaches the preloaded app as an event.
ctl close selfdump >/dev/null || fail "the second close failed"
out=$(ctl launch selfdump --preload \
	--params "{\"report\":\"$work/r3\"}") || fail "the preload failed"
echo "$out"
out=$(ctl launch selfdump --params "{\"report\":\"$work/r4\"}") ||
	fail "the launch of the preloaded app failed"
echo "$out"
wait_line "$work/r4" "^event " ||
	fail "the launch did not reach the preloaded app"
echo "ok: a launch reached the preloaded app through its event fd"

# A launch of the app already launched reaches it the same way, with the
# new parameters; the app keeps its pid.
pid=$(ctl --json running | python3 -c \
	'import json, sys; print(json.load(sys.stdin)["running"][0]["pid"])')
out=$(ctl --json launch selfdump --params "{\"report\":\"$work/r5\"}") ||
	fail "the launch of the running app failed"
echo "$out"
python3 - "$pid" "$out" <<'PY' || fail "the launch of the running app says: $out"
import json, sys
d = json.loads(sys.argv[2])
assert d["start"] == "already-running" and d["pid"] == int(sys.argv[1]), d
PY
wait_line "$work/r5" "^event params=.*r5" ||
	fail "the launch did not reach the running app"
echo "ok: a launch reached the running app through its event fd"
echo "PASS: libthaw-selfdump"
