# SPDX-License-Identifier: LGPL-2.1-or-later
#
# What the requirement tests share, on top of tests/lib/harness.sh: the
# example apps (home, inputcommon, livemenu) with small states, their peer
# services, a private thawd with a tmpfs tier and an ext4 persistent tier,
# and the questions the tests ask of it from outside.
#
#   ex_init                 harness init, both tiers, peers, manifests
#   ex_start [ARGS]         starts thawd on both tiers (and $EX_THAWD_ARGS)
#   ex_launch ID [JSON]     launch (extra payload fields in JSON); sets
#                           EX_ANSWER, EX_OK (true/false), EX_START, EX_PID
#   ex_prepare              the snapshot request; sets EX_ANSWER
#   ex_close ID [JSON]      closeByAppId and waits until it is gone
#   ex_running ID           true when ID is in the running list; sets
#                           EX_STATE to its state there
#   ex_tmpfs_image ID       true when ID has a current image in tmpfs
#   ex_persist_image ID     true when ID has a copy on the persistent tier
#   ex_wait_image ID [N]    waits for the image of the app's Nth dump
#                           (default 1) in both tiers, copy done (thawd's
#                           log counts them); sets EX_SEQ
#   ex_dumps ID, ex_copies ID   how many dumps, persistent copies so far
#   ex_image_seq ID TIER    the seq of the current image in "tmpfs" or
#                           "persistent" ("" when none)
#   ex_alive PID            true when that host pid runs
#
# Variables: EX_APPS (the three ids), EX_SHM_KEY, EX_DATA_DIR.

. "$THAW_TEST_LIB/harness.sh"

EX_BIN=$TH_BUILD/examples
EX_APPS=(home inputcommon livemenu)
EX_SIZE_MIB=${EX_SIZE_MIB:-8}
EX_PEER_PIDS=()

ex_stop_peers() {
	local p
	for p in "${EX_PEER_PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	EX_PEER_PIDS=()
	# shmpeer removes its segment on SIGTERM; make sure nothing stays.
	ipcrm -M "$EX_SHM_KEY" 2>/dev/null
	return 0
}

ex_cleanup() {
	local rc=$?
	ex_stop_peers
	(exit "$rc")
	th_cleanup
}

ex_start_peers() {
	"$EX_BIN/thaw-example-settingsd" --socket "$TH_RUN_DIR/settingsd.sock" \
		>>"$TH_ROOT/peers.log" 2>&1 &
	EX_PEER_PIDS+=($!)
	"$EX_BIN/thaw-example-busd" --socket "$TH_RUN_DIR/busd.sock" \
		>>"$TH_ROOT/peers.log" 2>&1 &
	EX_PEER_PIDS+=($!)
	"$EX_BIN/thaw-example-shmpeer" --key "$EX_SHM_KEY" --size 256 \
		>>"$TH_ROOT/peers.log" 2>&1 &
	EX_PEER_PIDS+=($!)
	th_wait_until 5 test -S "$TH_RUN_DIR/settingsd.sock" ||
		th_fail "settingsd did not start"
	th_wait_until 5 test -S "$TH_RUN_DIR/busd.sock" ||
		th_fail "busd did not start"
	th_wait_until 5 grep -q "segment $EX_SHM_KEY .* ready" \
		"$TH_ROOT/peers.log" || th_fail "shmpeer made no segment"
}

ex_manifests() {
	local a at=@
	for a in "${EX_APPS[@]}"; do
		sed -e "s|${at}THAW_EXAMPLES_RUNDIR${at}|$TH_RUN_DIR|g" \
			-e "s|${at}THAW_EXAMPLES_DATADIR${at}|$EX_DATA_DIR|g" \
			-e "s|${at}THAW_EXAMPLES_SHM_KEY${at}|$EX_SHM_KEY|g" \
			-e "s|${at}THAW_EXAMPLES_SIZE_[A-Z]*${at}|$EX_SIZE_MIB|g" \
			"$EX_BIN/manifests/$a.json.in" >"$TH_APPS_DIR/$a.json"
	done
}

ex_init() {
	th_init
	trap ex_cleanup EXIT
	EX_SHM_KEY=$(printf '0x7465%04x' $(($$ & 0xffff)))
	th_mount_tmpfs "$TH_TMPFS_DIR" "${EX_TMPFS_SIZE:-256m}"
	th_persist_loop 128
	EX_DATA_DIR=$TH_PERSIST_DIR/../data
	mkdir -p "$EX_DATA_DIR"
	EX_DATA_DIR=$(cd "$EX_DATA_DIR" && pwd)
	ex_start_peers
	ex_manifests
}

# EX_THAWD_ARGS adds options, e.g. --no-checkpoint to see the tests fail
# with checkpointing switched off.
ex_start() {
	# shellcheck disable=SC2086
	th_start_thawd --persist-dir "$TH_PERSIST_DIR" ${EX_THAWD_ARGS:-} "$@"
}

ex_launch() {
	local id=$1 extra=${2:-}
	local payload="{\"id\": \"$id\"${extra:+, $extra}}"
	EX_ANSWER=$(th_call launch "$payload") || true
	EX_OK=$(th_json returnValue <<<"$EX_ANSWER")
	EX_START=$(th_json start <<<"$EX_ANSWER")
	EX_PID=$(th_json pid <<<"$EX_ANSWER")
	th_note "launch $payload -> $EX_ANSWER"
}

ex_prepare() {
	EX_ANSWER=$(python3 "$TH_CLIENT" --timeout 120 "$TH_SOCKET" prepare) ||
		true
	th_note "prepare -> $EX_ANSWER"
}

ex_running() {
	local answer
	answer=$(th_call running) || return 1
	EX_STATE=$(python3 -c '
import json, sys
for r in json.loads(sys.stdin.readline()).get("running", []):
    if r.get("id") == sys.argv[1]:
        print(r.get("state", "")); sys.exit(0)
sys.exit(1)' "$1" <<<"$answer")
}

ex_close() {
	local id=$1 extra=${2:-}
	th_call closeByAppId "{\"id\": \"$id\"${extra:+, $extra}}" >/dev/null ||
		th_fail "closeByAppId $id failed"
	th_wait_until 20 eval "! ex_running $id" || th_fail "$id did not close"
}

ex_image_seq() {
	th_call images | python3 -c '
import json, sys
def find(v):
    if isinstance(v, dict):
        if v.get("id") == sys.argv[1] and "tmpfs" in v:
            return v
        v = list(v.values())
    if isinstance(v, list):
        for x in v:
            r = find(x)
            if r:
                return r
    return None
a = find(json.loads(sys.stdin.readline())) or {}
t = a.get(sys.argv[2]) or {}
if t.get("state") == "valid" and not (sys.argv[2] == "persistent" and a.get("copyInFlight")):
    print(t.get("seq", ""))' "$1" "$2"
}

ex_tmpfs_image() {
	[[ -d $TH_TMPFS_DIR/$1/current/ ]] &&
		compgen -G "$TH_TMPFS_DIR/$1/current/pages-*.img" >/dev/null
}

ex_persist_image() {
	[[ -n $(find "$TH_PERSIST_DIR/$1" -name 'pages-*.img*' 2>/dev/null) ]]
}

ex_dumps() {
	th_log_count "$1\[[0-9]+\]: dumped in"
}

ex_copies() {
	th_log_count "$1\[[0-9]+\]: image copied to the persistent tier"
}

ex_image_ready() {
	local id=$1 n=$2 t p
	(($(ex_dumps "$id") >= n && $(ex_copies "$id") >= n)) || return 1
	t=$(ex_image_seq "$id" tmpfs)
	p=$(ex_image_seq "$id" persistent)
	[[ -n $t && $p == "$t" ]] || return 1
	EX_SEQ=$t
}

ex_wait_image() {
	local id=$1 n=${2:-1}
	th_wait_until 60 ex_image_ready "$id" "$n" ||
		th_fail "$id: no image from dump $n in both tiers"
}

ex_alive() {
	[[ -n $1 ]] && kill -0 "$1" 2>/dev/null
}
