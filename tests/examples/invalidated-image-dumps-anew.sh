# SPDX-License-Identifier: LGPL-2.1-or-later
#
# FR14: an image marked invalid makes the next launch start cold and dump
# anew; the new image restores.
. "$THAW_TEST_LIB/../examples/ex-lib.sh"

ex_init
ex_start
ex_launch inputcommon
ex_wait_image inputcommon
seq=$EX_SEQ
ex_close inputcommon

th_call invalidate '{"id": "inputcommon"}' >/dev/null ||
	th_fail "invalidate failed"
ex_launch inputcommon
th_expect '[[ $EX_OK == true && $EX_START == cold ]]' \
	"launch after invalidate: $EX_ANSWER"
ex_wait_image inputcommon 2
ex_close inputcommon

ex_launch inputcommon
th_expect '[[ $EX_START == restored ]]' "launch of the new image: $EX_ANSWER"
th_expect 'th_wait_log "inputcommon: restored: state .* checksum ok, devices read ok, bus socket round trip ok" 10' \
	"inputcommon was not restored intact"
