# SPDX-License-Identifier: LGPL-2.1-or-later
#
# FR7: a preloaded app can be closed by its app id: its process ends and
# it leaves the running list.
. "$THAW_TEST_LIB/../examples/ex-lib.sh"

ex_init
ex_start
ex_launch inputcommon
ex_wait_image inputcommon
ex_close inputcommon

ex_launch inputcommon '"preload": true'
th_expect '[[ $EX_START == preloaded ]]' "preload: $EX_ANSWER"
pid=$EX_PID
th_call closeByAppId '{"id": "inputcommon", "preloadOnly": true}' >/dev/null ||
	th_fail "closeByAppId of the preloaded app failed"
th_expect 'th_wait_until 10 eval "! ex_running inputcommon"' \
	"inputcommon is still in the running list"
th_expect 'th_wait_until 10 eval "! ex_alive $pid"' \
	"the preloaded process $pid still runs"
