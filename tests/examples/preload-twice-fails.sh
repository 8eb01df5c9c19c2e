# SPDX-License-Identifier: LGPL-2.1-or-later
#
# FR13: a preload request for an app that is already preloaded fails, and
# the preloaded process stays as it was.
. "$THAW_TEST_LIB/../examples/ex-lib.sh"

ex_init
ex_start
ex_launch home
ex_wait_image home
ex_close home

ex_launch home '"preload": true'
th_expect '[[ $EX_START == preloaded ]]' "first preload: $EX_ANSWER"
pid=$EX_PID
ex_launch home '"preload": true'
th_expect '[[ $EX_OK == false ]]' "second preload succeeded: $EX_ANSWER"
th_expect '[[ $(th_json errorCode <<<"$EX_ANSWER") == -16 ]]' \
	"errorCode is not -EBUSY: $EX_ANSWER"
th_expect 'ex_alive $pid && ex_running home && [[ $EX_STATE == preloaded ]]' \
	"the first preload did not survive the second"
