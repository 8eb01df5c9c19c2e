# SPDX-License-Identifier: LGPL-2.1-or-later
#
# thawd itself SIGKILLed at each step of publishing a dump and of copying
# it to the persistent tier (THAW_STORE_KILL_AT, the store's test hook).
# A new thawd then restores the app from the previous image or the new
# one, whole, with its memory intact, and after a boot (empty tmpfs) from
# the persistent copy; no half-written folder is left.
. "$THAW_SOURCE_DIR/tests/daemon/common.sh"

th_init

# Whether the log has at least N lines matching PATTERN.
log_at_least() {
	(($(th_log_count "$1") >= $2))
}
th_persist_loop 64
td_app_manifest app '["--mib", "4", "--seed", "13"]'

start() {
	th_start_thawd --persist-dir "$TH_PERSIST_DIR"
}

restored_intact() {
	local n
	n=$(th_log_count 'app: memory intact after restore')
	td_launch app
	[[ $(td_field start) == restored ]] ||
		th_fail "$1: not restored: $TD_ANSWER"
	th_wait_until 10 log_at_least 'app: memory intact after restore' $((n + 1)) ||
		th_fail "$1: the restored app did not find its memory intact"
	td_close app
}

no_leftovers() {
	local left
	left=$(find "$TH_TMPFS_DIR" "$TH_PERSIST_DIR" -name '.new-*')
	[[ -z $left ]] || th_fail "$1: left behind: $left"
}

start
td_launch app
th_wait_until 20 log_at_least 'image copied to the persistent tier' 1 ||
	th_fail "no first image"
td_close app
th_stop_thawd

for op in publish persist; do
	for step in after-write after-sync after-rename after-swap after-dirsync; do
		th_note "thawd killed at $op:$step"
		THAW_STORE_KILL_AT=$op:$step start
		th_call launch '{"id": "app", "cold": true}' >/dev/null || true
		th_wait_until 30 eval "! kill -0 $TH_THAWD_PID 2>/dev/null" ||
			th_fail "thawd did not kill itself at $op:$step"
		th_kill_all 2>/dev/null
		start
		no_leftovers "$op:$step"
		restored_intact "$op:$step"
		if [[ $op == persist ]]; then
			th_stop_thawd
			umount "$TH_TMPFS_DIR" || th_fail "cannot unmount tmpfs"
			th_mount_tmpfs "$TH_TMPFS_DIR" 256m
			start
			restored_intact "$op:$step, after a boot"
			th_wait_log 'restored from persistent tier' 5 ||
				th_fail "$op:$step: not from the persistent tier"
		fi
		th_stop_thawd
	done
done
th_note PASS
