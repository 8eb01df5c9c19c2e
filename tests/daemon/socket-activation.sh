# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Socket activation: thawd serves the listening socket systemd passes
# (here systemd-socket-activate) and tells systemd it is ready.
. "$(dirname "$0")/common.sh"

th_init
td_app_manifest app '["--mib", "1", "--no-checkpoint"]'
th_mount_tmpfs "$TH_TMPFS_DIR" 16m
systemd-socket-activate -l "$TH_SOCKET" "$TH_THAWD" --socket "$TH_SOCKET" \
	--apps-dir "$TH_APPS_DIR" --tmpfs-dir "$TH_TMPFS_DIR" \
	--run-dir "$TH_RUN_DIR" --criu "$TH_CRIU" --log-target stderr \
	>>"$TH_LOG" 2>&1 &
TH_EXTRA_PIDS+=($!)
disown $!
th_wait_until 5 test -S "$TH_SOCKET" || th_fail "no socket"
td_launch app
[[ $(td_field start) == cold ]] || th_fail "launch failed: $TD_ANSWER"
grep -q 'listening on the socket systemd passed' "$TH_LOG" ||
	th_fail "thawd did not take the socket it was passed"
exit 0
