# SPDX-License-Identifier: LGPL-2.1-or-later
#
# With a persistent tier (ext4 on a loop device), thawd copies each new
# image there off the app's path; when the tmpfs copy is gone, the next
# launch restores from the persistent copy.
. "$(dirname "$0")/common.sh"

th_init
th_persist_loop 64
td_app_manifest app '["--mib", "4", "--seed", "21"]'
th_start_thawd --persist-dir "$TH_PERSIST_DIR"

td_launch app
th_wait_log 'app\[[0-9]+\]: image copied to the persistent tier' 15 ||
	th_fail "no copy to the persistent tier"
td_close app
rm -rf "${TH_TMPFS_DIR:?}/app"

td_launch app
[[ $(td_field start) == restored ]] || th_fail "not restored: $TD_ANSWER"
th_wait_log 'restored from persistent tier' 2 ||
	th_fail "not restored from the persistent tier"
th_wait_log 'memory intact after restore \(4 MiB, seed 21\)' 5 ||
	th_fail "memory not intact"
exit 0
