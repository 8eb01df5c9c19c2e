# SPDX-License-Identifier: LGPL-2.1-or-later
#
# FR11: with the persistent image deleted, a launch (restored from tmpfs)
# copies the image back to the persistent tier.
. "$THAW_TEST_LIB/../examples/ex-lib.sh"

ex_init
ex_start
ex_launch home
ex_wait_image home
seq=$EX_SEQ
ex_close home

rm -rf "${TH_PERSIST_DIR:?}/home"
ex_launch home
th_expect '[[ $EX_START == restored ]]' "launch without the persistent copy: $EX_ANSWER"
th_expect 'th_wait_until 30 ex_persist_image home' \
	"the persistent copy did not come back"
th_expect 'th_wait_until 30 eval "[[ \$(ex_image_seq home persistent) == $seq ]]"' \
	"the persistent tier holds no valid copy of image $seq"
