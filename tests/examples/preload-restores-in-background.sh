# SPDX-License-Identifier: LGPL-2.1-or-later
#
# FR6: a checkpointable app that is not running can be preloaded: it is
# restored (not started cold) and listed as preloaded, not launched.
. "$THAW_TEST_LIB/../examples/ex-lib.sh"

ex_init
ex_start
ex_launch home
ex_wait_image home
ex_close home

ex_launch home '"preload": true'
th_expect '[[ $EX_OK == true && $EX_START == preloaded ]]' \
	"preload: $EX_ANSWER"
th_expect 'ex_alive $EX_PID' "no preloaded process"
th_expect 'ex_running home && [[ $EX_STATE == preloaded ]]' \
	"running list says '${EX_STATE:-absent}', not preloaded"
th_expect 'th_wait_log "home: restored: state .* checksum ok" 10' \
	"the preloaded app was not restored intact"
th_expect '[[ $(th_log_count "home\[[0-9]+\]: started cold") == 1 ]]' \
	"the preload started the app cold"
