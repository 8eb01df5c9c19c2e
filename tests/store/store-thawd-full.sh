# SPDX-License-Identifier: LGPL-2.1-or-later
#
# A dump that does not fit, through thawd with a real app: first a tmpfs
# tier whose file system fills up during the dump, then a tmpfs budget
# that the new image exceeds.  Each time the app keeps running, no partial
# image is left, and the previous image stays and restores.
. "$THAW_SOURCE_DIR/tests/daemon/common.sh"

th_init
th_mount_tmpfs "$TH_TMPFS_DIR" 12m

launch_expect() {
	td_launch app "${2:-}"
	[[ $(td_field start) == "$1" ]] ||
		th_fail "launch started '$(td_field start)', wanted '$1': $TD_ANSWER"
}

no_leftovers() {
	local left
	left=$(find "$TH_TMPFS_DIR" -name '.new-*')
	[[ -z $left ]] || th_fail "$1: left behind: $left"
}

# thawd reads the manifests when it starts: each size is a new thawd.
big_dump_fails() {
	local what=$1
	shift
	td_app_manifest app '["--mib", "10", "--seed", "22"]'
	th_start_thawd "$@"
	th_call launch '{"id": "app", "cold": true}' >"$TH_ROOT/answer" ||
		th_fail "$what: the cold launch failed: $(cat "$TH_ROOT/answer")"
	TD_ANSWER=$(cat "$TH_ROOT/answer")
	th_wait_log 'dump failed, app keeps running' 20 ||
		th_fail "$what: the dump did not fail"
	kill -0 "$(td_field pid)" 2>/dev/null ||
		th_fail "$what: the app died with its dump"
	no_leftovers "$what"
	td_close app
	th_stop_thawd

	td_app_manifest app '["--mib", "3", "--seed", "21"]'
	th_start_thawd "$@"
	launch_expect restored
	th_wait_log 'app: memory intact after restore \(3 MiB, seed 21\)' 10 ||
		th_fail "$what: the previous image did not restore intact"
	td_close app
	th_stop_thawd
}

td_app_manifest app '["--mib", "3", "--seed", "21"]'
th_start_thawd
launch_expect cold
th_wait_log 'app\[[0-9]+\]: dumped in' 10 || th_fail "no first dump"
td_close app
th_stop_thawd

th_note "tmpfs file system full during the dump"
big_dump_fails "tmpfs full"

th_note "tmpfs budget exceeded by the new image"
umount "$TH_TMPFS_DIR"
th_mount_tmpfs "$TH_TMPFS_DIR" 64m
th_start_thawd
launch_expect cold
th_wait_log 'dumped in' 10 || th_fail "no dump"
td_close app
th_stop_thawd
: >"$TH_LOG"
big_dump_fails "over budget" --tmpfs-budget 8M
th_wait_log "does not fit the tmpfs tier's budget" 1 ||
	th_fail "the budget was not named"
th_note PASS
