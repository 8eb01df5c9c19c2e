# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The persistent copy written again by thawd after a restore from tmpfs:
#   - persistent copy deleted: noted at the launch, written again;
#   - persistent copy broken (truncated) with the tmpfs copy sound: the
#     launch restores from tmpfs, the broken copy is discarded and
#     written again.
# After each, a boot (empty tmpfs) restores from the new persistent copy.
. "$THAW_SOURCE_DIR/tests/daemon/common.sh"

th_init

# Whether the log has at least N lines matching PATTERN.
log_at_least() {
	(($(th_log_count "$1") >= $2))
}
th_persist_loop 64
td_app_manifest app '["--mib", "8", "--seed", "12"]'

start() {
	th_start_thawd --persist-dir "$TH_PERSIST_DIR"
}

wait_persisted() {
	th_wait_until 20 log_at_least 'image copied to the persistent tier' "$1" ||
		th_fail "no copy to the persistent tier (#$1)"
}

launch_expect() {
	td_launch app
	[[ $(td_field start) == "$1" ]] ||
		th_fail "launch started '$(td_field start)', wanted '$1': $TD_ANSWER"
}

reboot_restore() {
	th_stop_thawd
	umount "$TH_TMPFS_DIR" || th_fail "cannot unmount the tmpfs tier"
	th_mount_tmpfs "$TH_TMPFS_DIR" 256m
	start
	launch_expect restored
	th_wait_log 'restored from persistent tier' 10 ||
		th_fail "not restored from the persistent tier after a boot"
	td_close app
}

start
launch_expect cold
wait_persisted 1
td_close app

th_note "persistent copy deleted: written again"
rm -rf "$TH_PERSIST_DIR/app"
launch_expect restored
th_wait_log 'persistent copy missing, to be written again' 10 ||
	th_fail "the missing persistent copy was not noted"
wait_persisted 2
td_close app
reboot_restore

th_note "persistent copy truncated, tmpfs sound: discarded, written again"
f=$(ls "$TH_PERSIST_DIR"/app/current/pages-*.img.zst)
truncate -s $(($(stat -c %s "$f") / 2)) "$f"
launch_expect restored
th_wait_log 'persistent copy discarded, to be written again' 10 ||
	th_fail "the broken persistent copy was not discarded"
wait_persisted 3
td_close app
reboot_restore
th_note PASS
