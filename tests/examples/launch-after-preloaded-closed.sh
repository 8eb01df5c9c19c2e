# SPDX-License-Identifier: LGPL-2.1-or-later
#
# FR8: after a preloaded app was closed, it can be launched again (and is
# restored again).
. "$THAW_TEST_LIB/../examples/ex-lib.sh"

ex_init
ex_start
ex_launch home
ex_wait_image home
ex_close home

ex_launch home '"preload": true'
th_expect '[[ $EX_START == preloaded ]]' "preload: $EX_ANSWER"
pre=$EX_PID
ex_close home '"preloadOnly": true'

ex_launch home
th_expect '[[ $EX_OK == true && $EX_START == restored ]]' \
	"launch after the closed preload: $EX_ANSWER"
th_expect '[[ $EX_PID != "$pre" ]] && ex_alive $EX_PID' \
	"no new process for the launch"
th_expect 'ex_running home && [[ $EX_STATE != preloaded ]]' \
	"running list says '${EX_STATE:-absent}'"
