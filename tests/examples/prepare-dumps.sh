# SPDX-License-Identifier: LGPL-2.1-or-later
#
# FR1-FR3: when the TV makes its snapshots (the `prepare` request), the
# app (named by the test: prepare_dumps_APP) is started without an image
# and dumped; the image is real: the next launch restores it.
. "$THAW_TEST_LIB/../examples/ex-lib.sh"
app=${TH_NAME#prepare_dumps_}

ex_init
ex_start
th_expect '! ex_tmpfs_image $app' "$app has an image before any snapshot"

ex_prepare
th_expect '[[ $(th_json returnValue <<<"$EX_ANSWER") == true ]]' \
	"prepare failed: $EX_ANSWER"
ex_wait_image "$app"
th_expect 'ex_tmpfs_image $app' "no image of $app in the tmpfs tier"
th_expect 'th_wait_log "$app: dumped: state .* checksum ok" 10' \
	"$app did not report its state intact after its dump"

if ex_running "$app"; then
	ex_close "$app"
fi
ex_launch "$app"
th_expect '[[ $EX_START == restored ]]' \
	"the launch after prepare started '$EX_START', not restored"
th_expect 'th_wait_log "$app: restored: state .* checksum ok" 10' \
	"restored $app did not report its state intact"
