# SPDX-License-Identifier: LGPL-2.1-or-later
#
# FR5: launching an app that has an image restores it: a new host pid,
# started "restored", its memory and resources intact by its own check.
. "$THAW_TEST_LIB/../examples/ex-lib.sh"

ex_init
ex_start
ex_launch livemenu
th_expect '[[ $EX_START == cold ]]' "first launch started '$EX_START'"
cold_pid=$EX_PID
ex_wait_image livemenu
ex_close livemenu
th_expect '! ex_alive $cold_pid' "the cold process survived its close"

ex_launch livemenu
th_expect '[[ $EX_OK == true && $EX_START == restored ]]' \
	"second launch: $EX_ANSWER"
th_expect '[[ -n $EX_PID && $EX_PID != "$cold_pid" ]] && ex_alive $EX_PID' \
	"the restored app has no new live pid ($EX_PID, cold $cold_pid)"
th_expect 'ex_running livemenu' "livemenu is not in the running list"
th_expect 'th_wait_log "livemenu: restored: state .* checksum ok, shared segment .* ok, settings file ok" 10' \
	"livemenu did not report its state, segment and file intact"
