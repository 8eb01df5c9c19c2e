#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The real thawd's log lines on stderr and on syslog: each line about an
# app carries its id and the pid thawd reported for it, the level set by
# --log-level filters lines.  syslog is a datagram listener of the test's
# own at /dev/log, in a private mount namespace whose /dev holds only a
# few device nodes bound from the real one and that socket.  Needs no
# CRIU (--no-checkpoint): this is about the lines, not the launches.
# shellcheck source=tests/install/stage.sh
source "$(dirname "$0")/stage.sh"

thawd=$THAW_BUILD_DIR/daemon/thawd
thawctl=$THAW_BUILD_DIR/cli/thawctl
[[ -x "$thawd" && -x "$thawctl" ]] || fail "thawd or thawctl not built"

mkdir -p "$work/apps"
cat >"$work/apps/sleeper.json" <<'JSON'
{"id": "sleeper", "exec": "/bin/sleep", "args": ["30"]}
JSON

# Ends the test when a step of run_thawd fails: shows what thawctl and
# thawd said, and stops thawd, which would otherwise outlive the test and
# hold CTest's output pipe open.
thawd_fail()
{
	local log=$1 pid=$2

	shift 2
	echo "--- thawctl:" >&2
	cat "$work/thawctl.err" >&2 2>/dev/null || true
	echo "--- thawd:" >&2
	cat "$log" >&2 2>/dev/null || true
	[ -s "$work/syslog.log" ] && cat "$work/syslog.log" >&2
	kill -KILL "$pid" 2>/dev/null || true
	fail "$@"
}

# Runs thawd with the extra options given, its stderr into LOG, launches
# and closes sleeper, stops thawd; leaves the app's pid in $work/pid and
# thawd's in $work/thawd.pid.
run_thawd()
{
	local log=$1 sock=$work/sock pid

	shift

	rm -f "$sock"
	"$thawd" --socket "$sock" --apps-dir "$work/apps" \
		--run-dir "$work/run" --tmpfs-dir "$work/img" --no-checkpoint \
		--ready-timeout 1 --close-timeout 1 "$@" 2>"$log" &
	pid=$!
	echo "$pid" >"$work/thawd.pid"
	for _ in $(seq 100); do
		[ -S "$sock" ] && break
		sleep 0.1
	done
	[ -S "$sock" ] || thawd_fail "$log" "$pid" "thawd did not listen"

	"$thawctl" --socket "$sock" --json launch sleeper >"$work/launch.json" \
		2>"$work/thawctl.err" || thawd_fail "$log" "$pid" "launch sleeper"
	sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' "$work/launch.json" >"$work/pid"
	[ -s "$work/pid" ] ||
		thawd_fail "$log" "$pid" "no pid in $(cat "$work/launch.json")"
	"$thawctl" --socket "$sock" close sleeper >/dev/null \
		2>"$work/thawctl.err" || thawd_fail "$log" "$pid" "close sleeper"
	kill -TERM "$pid"
	wait "$pid" || fail "thawd exited $?"
}

# Lines about sleeper must name it with its pid; at least one such line.
check_app_lines()
{
	local file=$1 prefix=$2 app_pid n

	app_pid=$(cat "$work/pid")
	n=$(grep -c "${prefix}sleeper\[$app_pid\]: " "$file" || true)
	[ "$n" -ge 1 ] || fail "no line ${prefix}sleeper[$app_pid]: in $file"
	if grep "sleeper" "$file" | grep -v "${prefix}sleeper\[$app_pid\]: " |
		grep -q .; then
		grep sleeper "$file" >&2
		fail "a line about sleeper lacks its id and pid"
	fi
	echo "ok $n lines carry sleeper[$app_pid]"
}

# stderr, at info and at warning.
run_thawd "$work/info.log" --log-target=stderr --log-level=info
grep -v '^thawd: ' "$work/info.log" && fail "a stderr line lacks 'thawd: '"
check_app_lines "$work/info.log" "^thawd: "
grep -q "^thawd: .*ready" "$work/info.log" || fail "no info line"
run_thawd "$work/warning.log" --log-target=stderr --log-level=warning
if grep -q "ready (CRIU" "$work/warning.log"; then
	fail "--log-level=warning still logs info lines"
fi
echo "ok --log-level filters"

# syslog, in a mount namespace of our own.
export -f run_thawd thawd_fail check_app_lines fail
export work thawd thawctl
# shellcheck disable=SC2016
unshare -m --propagation private bash -euo pipefail -c '
	mkdir "$work/dev"
	for n in null zero full random urandom; do
		touch "$work/dev/$n"
		mount --bind "/dev/$n" "$work/dev/$n"
	done
	mount --rbind "$work/dev" /dev

	python3 -c "
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(\"/dev/log\")
open(sys.argv[1] + \".up\", \"w\").close()
with open(sys.argv[1], \"w\") as out:
    while True:
        out.write(s.recv(65536).decode(errors=\"replace\").rstrip(\"\\n\") + \"\\n\")
        out.flush()
" "$work/syslog.log" &
	listener=$!
	trap "kill $listener 2>/dev/null || true" EXIT
	for _ in $(seq 50); do
		[ -e "$work/syslog.log.up" ] && break
		sleep 0.1
	done
	[ -S /dev/log ] || fail "no listener at /dev/log"

	run_thawd "$work/syslog-stderr.log" --log-target=syslog --log-level=info
	# Every line is queued at /dev/log before thawd exits; wait for the
	# listener to have written them all out.
	size=-1
	for _ in $(seq 20); do
		now=$(stat -c %s "$work/syslog.log" 2>/dev/null || echo 0)
		[ "$now" -gt 0 ] && [ "$now" = "$size" ] && break
		size=$now
		sleep 0.1
	done
	[ -s "$work/syslog.log" ] || fail "nothing reached /dev/log"
	check_app_lines "$work/syslog.log" " thawd\\[$(cat "$work/thawd.pid")\\]: "
	# facility daemon (3): info is <30>
	grep -q "^<30>" "$work/syslog.log" || fail "no daemon.info line"
	if grep -q sleeper "$work/syslog-stderr.log"; then
		fail "syslog target also wrote app lines to stderr"
	fi
'
echo "thawd log targets: all checks passed"
