# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The shared harness of thaw's integration tests: source it from a test
# script run by CTest (thaw_integration_test), which sets THAW_BUILD_DIR,
# THAW_SOURCE_DIR, THAW_CRIU, THAW_TEST_LIB and THAW_TEST_NAME.
#
#   . "$THAW_TEST_LIB/harness.sh"
#   th_init                        private temp root, cleanup trap
#   th_mount_tmpfs DIR [SIZE]      mounts a tmpfs (size=SIZE, default 64m)
#   th_persist_loop [MIB]          an ext4 loop device mounted at
#                                  $TH_PERSIST_DIR (default 64 MiB)
#   th_manifest ID JSON            writes $TH_APPS_DIR/ID.json; JSON is the
#                                  object's text (or pass - to read stdin)
#   th_start_thawd [ARGS...]       starts a private thawd (its own socket,
#                                  apps dir, tmpfs tier, log) and waits for
#                                  its socket; extra ARGS go to thawd
#   th_stop_thawd                  SIGTERM, then SIGKILL after 5 s
#   th_start_thawd_extra NAME [ARGS...]  one more thawd on the same apps
#                                  dir and tiers, socket $TH_RUN_DIR/NAME.sock
#                                  (unless ARGS name another), log
#                                  $TH_ROOT/NAME.log; killed on exit
#   thawctl_t ARGS...              runs thawctl on the test's socket
#   th_call METHOD [PAYLOAD]       one request through tests/lib's client;
#                                  prints the answer line, returns 0 when
#                                  returnValue is true, 1 when false (to
#                                  $TH_CALL_SOCKET when set, else $TH_SOCKET)
#   th_subscribe METHOD PAYLOAD N OUT   streams N answer lines into file
#                                  OUT in the background (pid in $!)
#   th_json FIELD                  reads JSON on stdin, prints .FIELD
#                                  (dots for nesting, "" when absent)
#   th_wait_until SECONDS CMD...   polls CMD every 0.1 s until it succeeds;
#                                  returns 1 on timeout
#   th_wait_log PATTERN [SECONDS]  waits for an extended regex in the log
#   th_log_count PATTERN           how many log lines match
#   th_fail MESSAGE...             prints the message and thawd's log,
#                                  exits 1
#   th_expect COND-CMD MESSAGE     th_fail MESSAGE unless COND-CMD succeeds
#   th_note MESSAGE...             a progress line on stderr
#   th_tcp_peer                    a TCP listener on 127.0.0.1 outside any
#                                  app's tree, holding every connection it
#                                  accepts; its port in $TH_PEER_PORT
#
# TH_THAWD set in the environment runs another thawd binary (a sanitizer
# build, say) with the rest of the build tree.
#
# Variables after th_init: TH_ROOT (removed on exit), TH_APPS_DIR,
# TH_TMPFS_DIR, TH_RUN_DIR, TH_SOCKET, TH_LOG; after th_start_thawd:
# TH_THAWD_PID.  TH_THAWD, TH_THAWCTL and TH_CRIU name the binaries.
#
# On exit (pass or fail) the trap kills the test's thawd, every process
# it started (its descendants and any process whose THAW_SOCKET lies in
# TH_ROOT), unmounts what the test mounted, detaches its loop device and
# removes TH_ROOT.

TH_BUILD=${THAW_BUILD_DIR:?THAW_BUILD_DIR is not set}
TH_SOURCE=${THAW_SOURCE_DIR:-}
TH_CRIU=${THAW_CRIU:-}
TH_THAWD=${TH_THAWD:-$TH_BUILD/daemon/thawd}
TH_THAWCTL=$TH_BUILD/cli/thawctl
TH_CLIENT=${THAW_TEST_LIB:-$(dirname "${BASH_SOURCE[0]}")}/thaw-client.py
TH_NAME=${THAW_TEST_NAME:-$(basename "$0" .sh)}
TH_MOUNTS=()
TH_LOOPS=()
TH_THAWD_PID=
TH_EXTRA_PIDS=()
TH_FAILED=0

th_note() {
	echo "[$TH_NAME] $*" >&2
}

th_dump_log() {
	if [[ -n ${TH_LOG:-} && -s $TH_LOG ]]; then
		echo "----- thawd log ($TH_LOG) -----" >&2
		tail -n 200 "$TH_LOG" >&2
		echo "----- end of thawd log -----" >&2
	fi
}

th_fail() {
	echo "[$TH_NAME] FAIL: $*" >&2
	TH_FAILED=1
	th_dump_log
	exit 1
}

th_expect() {
	local cond=$1
	shift
	eval "$cond" || th_fail "$*"
}

# Every pid below $1 (children first listed, recursively).
th_descendants() {
	local pid=$1 child
	for child in $(cat /proc/"$pid"/task/*/children 2>/dev/null); do
		echo "$child"
		th_descendants "$child"
	done
}

# Processes whose THAW_SOCKET lies in the test's root: apps thawd started,
# even when thawd itself is gone.
th_strays() {
	local f
	[[ -n ${TH_ROOT:-} ]] || return 0
	for f in $(grep -lzF "THAW_SOCKET=$TH_ROOT/" /proc/[0-9]*/environ \
		2>/dev/null); do
		f=${f#/proc/}
		echo "${f%/environ}"
	done
}

th_kill_all() {
	local pids
	local p
	pids=$( (
		for p in $TH_THAWD_PID "${TH_EXTRA_PIDS[@]}"; do
			th_descendants "$p"
		done
		th_strays
	) | sort -u)
	for p in $TH_THAWD_PID "${TH_EXTRA_PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	# shellcheck disable=SC2086
	[[ -n $pids ]] && kill -KILL $pids 2>/dev/null
	[[ -n $TH_THAWD_PID ]] && wait "$TH_THAWD_PID" 2>/dev/null
	TH_THAWD_PID=
	return 0
}

th_cleanup() {
	local rc=$? i
	trap - EXIT INT TERM
	if ((rc != 0 && TH_FAILED == 0)); then
		echo "[$TH_NAME] FAIL: exit status $rc" >&2
		th_dump_log
	fi
	th_kill_all
	for ((i = ${#TH_MOUNTS[@]} - 1; i >= 0; i--)); do
		umount -l "${TH_MOUNTS[i]}" 2>/dev/null
	done
	for i in "${TH_LOOPS[@]}"; do
		losetup -d "$i" 2>/dev/null
	done
	if [[ -n ${TH_KEEP:-} ]]; then
		echo "[$TH_NAME] kept $TH_ROOT" >&2
	elif [[ -n ${TH_ROOT:-} && -d $TH_ROOT ]]; then
		rm -rf --one-file-system "$TH_ROOT"
	fi
	exit "$rc"
}

th_init() {
	TH_ROOT=$(mktemp -d "/tmp/thaw-$TH_NAME.XXXXXX") || exit 1
	chmod 0755 "$TH_ROOT"
	TH_APPS_DIR=$TH_ROOT/apps
	TH_TMPFS_DIR=$TH_ROOT/tmpfs
	TH_RUN_DIR=$TH_ROOT/run
	TH_SOCKET=$TH_RUN_DIR/thawd.sock
	TH_LOG=$TH_ROOT/thawd.log
	mkdir -p "$TH_APPS_DIR" "$TH_TMPFS_DIR" "$TH_RUN_DIR"
	trap th_cleanup EXIT
	trap 'exit 130' INT TERM
	[[ -x $TH_THAWD ]] || th_fail "no thawd at $TH_THAWD"
	[[ -n $TH_CRIU && -x $TH_CRIU ]] || th_fail "no CRIU binary (THAW_CRIU='$TH_CRIU')"
	return 0
}

th_mount_tmpfs() {
	local dir=$1 size=${2:-64m}
	mkdir -p "$dir"
	mount -t tmpfs -o "size=$size,mode=0700" "thaw-test" "$dir" ||
		th_fail "cannot mount a tmpfs on $dir"
	TH_MOUNTS+=("$dir")
}

th_persist_loop() {
	local mib=${1:-64} img=$TH_ROOT/persist.img dev
	TH_PERSIST_DIR=$TH_ROOT/persist
	mkdir -p "$TH_PERSIST_DIR"
	truncate -s "${mib}M" "$img"
	mkfs.ext4 -q -F "$img" || th_fail "mkfs.ext4 failed"
	dev=$(losetup -f --show "$img") || th_fail "no free loop device"
	TH_LOOPS+=("$dev")
	mount "$dev" "$TH_PERSIST_DIR" || th_fail "cannot mount $dev"
	TH_MOUNTS+=("$TH_PERSIST_DIR")
	chmod 0700 "$TH_PERSIST_DIR"
}

th_manifest() {
	local id=$1 json=$2
	if [[ $json == - ]]; then
		cat >"$TH_APPS_DIR/$id.json"
	else
		printf '%s\n' "$json" >"$TH_APPS_DIR/$id.json"
	fi
}

th_start_thawd() {
	[[ -z $TH_THAWD_PID ]] || th_fail "thawd already started"
	if ! mountpoint -q "$TH_TMPFS_DIR"; then
		th_mount_tmpfs "$TH_TMPFS_DIR" 256m
	fi
	rm -f "$TH_SOCKET"
	"$TH_THAWD" --socket "$TH_SOCKET" --apps-dir "$TH_APPS_DIR" \
		--tmpfs-dir "$TH_TMPFS_DIR" --run-dir "$TH_RUN_DIR" \
		--criu "$TH_CRIU" --plugin-dir "$TH_BUILD/plugin/criu-plugins" \
		--log-target stderr --log-level debug \
		"$@" >>"$TH_LOG" 2>&1 &
	TH_THAWD_PID=$!
	th_wait_until 10 test -S "$TH_SOCKET" ||
		th_fail "thawd made no socket at $TH_SOCKET"
}

th_start_thawd_extra() {
	local name=$1 sock=$TH_RUN_DIR/$1.sock
	shift
	rm -f "$sock"
	"$TH_THAWD" --socket "$sock" --apps-dir "$TH_APPS_DIR" \
		--tmpfs-dir "$TH_TMPFS_DIR" --run-dir "$TH_RUN_DIR/$name" \
		--criu "$TH_CRIU" --plugin-dir "$TH_BUILD/plugin/criu-plugins" \
		--log-target stderr --log-level debug \
		"$@" >>"$TH_ROOT/$name.log" 2>&1 &
	TH_EXTRA_PIDS+=($!)
	disown $!
	th_wait_until 10 grep -q "listening on" "$TH_ROOT/$name.log" ||
		th_fail "thawd $name does not listen"
}

th_stop_thawd() {
	[[ -n $TH_THAWD_PID ]] || return 0
	kill -TERM "$TH_THAWD_PID" 2>/dev/null
	th_wait_until 5 eval "! kill -0 $TH_THAWD_PID 2>/dev/null" ||
		kill -KILL "$TH_THAWD_PID" 2>/dev/null
	wait "$TH_THAWD_PID" 2>/dev/null
	TH_THAWD_PID=
}

thawctl_t() {
	[[ -x $TH_THAWCTL ]] || th_fail "no thawctl at $TH_THAWCTL"
	"$TH_THAWCTL" --socket "$TH_SOCKET" "$@"
}

th_call() {
	local method=$1 payload=${2:-} sock=${TH_CALL_SOCKET:-$TH_SOCKET}
	if [[ -n $payload ]]; then
		python3 "$TH_CLIENT" "$sock" "$method" "$payload"
	else
		python3 "$TH_CLIENT" "$sock" "$method"
	fi
}

th_subscribe() {
	local method=$1 payload=$2 n=$3 out=$4
	python3 "$TH_CLIENT" "$TH_SOCKET" "$method" "$payload" --lines "$n" \
		--timeout 60 >"$out" &
}

th_json() {
	python3 -c '
import json, sys
v = json.loads(sys.stdin.readline())
for k in sys.argv[1].split("."):
    if isinstance(v, list):
        v = v[int(k)] if k.isdigit() and int(k) < len(v) else None
    elif isinstance(v, dict):
        v = v.get(k)
    else:
        v = None
print("" if v is None else (json.dumps(v) if isinstance(v, (dict, list)) else str(v).lower() if isinstance(v, bool) else v))
' "$1"
}

th_wait_until() {
	local secs=$1 end
	shift
	end=$((SECONDS + secs))
	while ! "$@" 2>/dev/null; do
		((SECONDS >= end)) && return 1
		sleep 0.1
	done
	return 0
}

th_wait_log() {
	local pattern=$1 secs=${2:-10}
	th_wait_until "$secs" grep -qE -- "$pattern" "$TH_LOG"
}

th_log_count() {
	grep -cE -- "$1" "$TH_LOG" 2>/dev/null || true
}

th_tcp_peer() {
	python3 - "$TH_ROOT/peer-port" <<'PY' &
import os, socket, sys
l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen(4)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(l.getsockname()[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
held = []
while True:
    held.append(l.accept()[0])
PY
	TH_EXTRA_PIDS+=($!)
	th_wait_until 10 test -s "$TH_ROOT/peer-port" ||
		th_fail "the TCP peer did not start"
	TH_PEER_PORT=$(cat "$TH_ROOT/peer-port")
}
