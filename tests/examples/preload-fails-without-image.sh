# SPDX-License-Identifier: LGPL-2.1-or-later
#
# FR9: a preload request fails when the app has no image, and nothing is
# started.
. "$THAW_TEST_LIB/../examples/ex-lib.sh"

ex_init
ex_start
ex_launch home '"preload": true'
th_expect '[[ $EX_OK == false ]]' "preload without an image succeeded: $EX_ANSWER"
th_expect '[[ $(th_json errorCode <<<"$EX_ANSWER") == -2 ]]' \
	"errorCode is not -ENOENT: $EX_ANSWER"
th_expect '! ex_running home' "home runs after a failed preload"
th_expect '[[ $(th_log_count "home\[[0-9]+\]: started cold") == 0 ]]' \
	"the failed preload started the app"
th_expect '! ex_tmpfs_image home' "an image appeared"
