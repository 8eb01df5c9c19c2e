# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Broken manifests are refused, each with a message naming the file, the
# field and what is wrong; the good ones still load and launch.
. "$(dirname "$0")/common.sh"

th_init
td_app_manifest good '["--mib", "1", "--no-checkpoint"]'
th_manifest noexec '{"id": "noexec"}'
th_manifest relexec '{"id": "relexec", "exec": "bin/app"}'
th_manifest badid '{"id": "../up", "exec": "/bin/true"}'
th_manifest badargs '{"id": "badargs", "exec": "/bin/true", "args": "x"}'
th_manifest badtime '{"id": "badtime", "exec": "/bin/true", "timeouts": {"ready": -1}}'
th_manifest typo '{"id": "typo", "exec": "/bin/true", "checkpiontable": true}'
th_manifest syntax '{"id": "syntax", '
th_manifest zdup '{"id": "good", "exec": "/bin/true"}'
th_start_thawd

expect() {
	grep -qF -- "$1" "$TH_LOG" || th_fail "no refusal: $1"
}
expect "manifest $TH_APPS_DIR/noexec.json: field 'exec': is missing"
expect "manifest $TH_APPS_DIR/relexec.json: field 'exec': must be an absolute path"
expect "manifest $TH_APPS_DIR/badid.json: field 'id': must be"
expect "manifest $TH_APPS_DIR/badargs.json: field 'args': must be an array of strings"
expect "manifest $TH_APPS_DIR/badtime.json: field 'timeouts': 'ready' must be an integer"
expect "manifest $TH_APPS_DIR/typo.json: field 'checkpiontable': unknown field"
expect "manifest $TH_APPS_DIR/syntax.json: is no JSON object"
grep -qF "manifest $TH_APPS_DIR/zdup.json: field 'id': 'good' is already defined" "$TH_LOG" ||
	th_fail "duplicate id not refused"
th_wait_log '1 app loaded' 2 || th_fail "the good manifest did not load alone"

td_launch good
[[ $(td_field start) == cold ]] || th_fail "good app not launched"
answer=$(th_call launch '{"id": "noexec"}') && th_fail "a refused app launched"
[[ $(th_json errorCode <<<"$answer") == -2 ]] || th_fail "wrong error: $answer"
exit 0
