# SPDX-License-Identifier: LGPL-2.1-or-later
#
# `thawctl prepare` starts each checkpointable app that has no valid
# image, cold, waits for the dump it asks for itself, closes it again,
# and answers for every app: dumped, or why not.
. "$(dirname "$0")/lc-lib.sh"

th_init
app() {
	th_manifest "$1" "{\"id\": \"$1\", \"exec\": \"$LC_APP\", \"args\": [\"--mib\", \"2\", \"--seed\", \"$2\"], \"checkpointable\": true${3:+, $3}}"
}
app a 1
app b 2
app off 3 '"checkpoint": false'
app had 4
lc_server_manifest srv
th_start_thawd --close-timeout 2

# "had" has its image before prepare.
a=$(th_call launch '{"id": "had"}') || th_fail "launch of had: $a"
th_wait_until 20 test -e "$TH_TMPFS_DIR/had/current" || th_fail "had made no image"
th_wait_until 10 eval '! th_call running | grep -q "\"state\":\"starting\""'
th_call closeByAppId '{"id": "had"}' >/dev/null || th_fail "close of had"
lc_wait_stopped had

out=$(thawctl_t prepare) || th_fail "prepare failed: $out"
th_note "$out"
ans=$(python3 "$TH_CLIENT" "$TH_SOCKET" images)
a=$(python3 "$TH_CLIENT" --timeout 60 "$TH_SOCKET" prepare) || th_fail "second prepare: $a"
th_note "second prepare: $a"
# The second finds every image made: nothing more to dump.
[[ $(th_json dumped <<<"$a") == 0 ]] || th_fail "second prepare dumped again: $a"

for id in a b; do
	grep -qE "^$id: dumped" <<<"$out" || th_fail "$id not dumped: $out"
	[[ -e $TH_TMPFS_DIR/$id/current ]] || th_fail "no image of $id"
done
grep -qE "^off: not dumped: checkpointing is off for the app" <<<"$out" ||
	th_fail "off: $out"
grep -qE "^had: not dumped: it has a valid image already" <<<"$out" ||
	th_fail "had: $out"
grep -qE "^srv: not dumped: not checkpointable" <<<"$out" ||
	th_fail "srv: $out"
[[ ! -e $TH_TMPFS_DIR/off/current ]] || th_fail "off got an image"


# The apps prepare started are closed again; their launch restores.
lc_wait_stopped a
lc_wait_stopped b
a=$(th_call launch '{"id": "a"}') || th_fail "launch of a: $a"
[[ $(th_json start <<<"$a") == restored ]] || th_fail "a after prepare: $a"
exit 0
