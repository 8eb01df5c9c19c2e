# SPDX-License-Identifier: LGPL-2.1-or-later
#
# What thawd's tests share on top of tests/lib/harness.sh.
#   td_app_manifest ID [ARGS-JSON] [EXTRA-FIELDS]   a manifest of the test
#                                 app; ARGS-JSON is a JSON array of its args
#   td_launch ID [PAYLOAD-EXTRA]  launch, answer in $TD_ANSWER, fails the
#                                 test unless returnValue is true
#   td_field NAME                 a field of $TD_ANSWER
#   td_wait_stopped ID            waits until ID leaves the running list
. "$THAW_TEST_LIB/harness.sh"

TD_APP=$TH_BUILD/tests/daemon/thaw-test-app

td_app_manifest() {
	local id=$1 args=${2:-[]} extra=${3:-}
	th_manifest "$id" "{\"id\": \"$id\", \"exec\": \"$TD_APP\", \"args\": $args, \"checkpointable\": true${extra:+, $extra}}"
}

td_launch() {
	local id=$1 extra=${2:-}
	TD_ANSWER=$(th_call launch "{\"id\": \"$id\"${extra:+, $extra}}") ||
		th_fail "launch of $id failed: $TD_ANSWER"
	th_note "launch $id: $TD_ANSWER"
}

td_field() {
	th_json "$1" <<<"$TD_ANSWER"
}

td_is_stopped() {
	local list
	list=$(th_call running) || return 1
	! grep -q "\"id\":\"$1\"" <<<"$list"
}

td_wait_stopped() {
	th_wait_until "${2:-10}" td_is_stopped "$1" ||
		th_fail "$1 is still running"
}

td_close() {
	th_call closeByAppId "{\"id\": \"$1\"}" >/dev/null ||
		th_fail "close of $1 failed"
	td_wait_stopped "$1"
}
