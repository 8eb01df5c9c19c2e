# SPDX-License-Identifier: LGPL-2.1-or-later
#
# A before-checkpoint hook that refuses (as a HAL returning NOT_OK does):
# the app keeps running, started cold, says why in its output, no image
# is made, and the next launch is cold again.
. "$(dirname "$0")/common.sh"

th_init
td_app_manifest app '["--mib", "4", "--fail-hook"]'
th_start_thawd

td_launch app
[[ $(td_field start) == cold ]] || th_fail "not cold: $TD_ANSWER"
[[ $(td_field ready) == true ]] || th_fail "app not ready: $TD_ANSWER"
pid=$(td_field pid)
th_wait_log 'app: checkpoint failed \(-125\)' 5 ||
	th_fail "the app did not report the refused checkpoint"
kill -0 "$pid" || th_fail "app died"
[[ $(th_log_count 'dumped in') == 0 ]] || th_fail "a dump was made"
td_close app

td_launch app
[[ $(td_field start) == cold ]] || th_fail "second launch not cold: $TD_ANSWER"
td_close app
exit 0
