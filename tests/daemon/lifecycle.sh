# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The platform's lifecycle cases: preload (without an image, of a
# preloaded app), close by id with preloadOnly, relaunch after close,
# launching a preloaded app, --cold, the per-app and global switches,
# running/getAppLifeStatus streams, exit detection, SIGTERM then SIGKILL,
# and an app dying soon after each restore losing its image.
. "$(dirname "$0")/common.sh"

th_init
td_app_manifest app '["--mib", "4", "--seed", "9"]'
td_app_manifest quick '["--mib", "1", "--exit-after-restore"]'
td_app_manifest off '["--mib", "1"]' '"checkpoint": false'
th_manifest stubborn '{"id": "stubborn", "exec": "/bin/sleep", "args": ["600"], "timeouts": {"close": 1}}'
th_start_thawd

err_of() { th_json errorCode <<<"$1"; }

# Preload without an image fails.
a=$(th_call launch '{"id": "app", "preload": true}') && th_fail "preload without image: $a"
[[ $(err_of "$a") == -2 ]] || th_fail "wrong error for preload without image: $a"

td_launch app
th_wait_log 'app\[[0-9]+\]: dumped in' 10 || th_fail "no dump"
td_close app

th_subscribe running '{"subscribe": true}' 12 "$TH_ROOT/running.stream"
sub=$!
th_subscribe getAppLifeStatus '{"id": "app", "subscribe": true}' 6 "$TH_ROOT/life.stream"
life=$!
sleep 0.3

# Preload, then preload again.
td_launch app '"preload": true'
[[ $(td_field start) == preloaded ]] || th_fail "preload answer: $TD_ANSWER"
th_call running | grep -q '"state":"preloaded"' || th_fail "not listed as preloaded"
a=$(th_call launch '{"id": "app", "preload": true}') && th_fail "second preload: $a"
[[ $(err_of "$a") == -16 ]] || th_fail "wrong error for a second preload: $a"

# Close the preloaded app by id, preloadOnly.
th_call closeByAppId '{"id": "app", "preloadOnly": true}' >/dev/null ||
	th_fail "closing the preloaded app failed"
td_is_stopped app || th_fail "closed app still listed"

# Preload again, then launch: no second restore.
td_launch app '"preload": true'
restores=$(th_log_count 'restored from')
td_launch app '"params": {"n": 1}'
[[ $(td_field start) == preloaded ]] || th_fail "launch of a preloaded app: $TD_ANSWER"
[[ $(th_log_count 'restored from') == "$restores" ]] || th_fail "restored twice"
th_call running | grep -q '"state":"launched"' || th_fail "not launched"
a=$(th_call closeByAppId '{"id": "app", "preloadOnly": true}') &&
	th_fail "preloadOnly closed a launched app"
[[ $(err_of "$a") == -16 ]] || th_fail "wrong error: $a"
td_close app

# Relaunch after close restores; --cold skips the image.
td_launch app
[[ $(td_field start) == restored ]] || th_fail "relaunch not restored: $TD_ANSWER"
td_close app
td_launch app '"cold": true'
[[ $(td_field start) == cold ]] || th_fail "--cold not cold: $TD_ANSWER"

# Exit on its own: leaves the list at once.
kill -KILL "$(td_field pid)"
th_wait_until 2 td_is_stopped app || th_fail "a killed app stays listed"

wait "$sub" "$life" 2>/dev/null
for s in preloaded closing stopped launched; do
	grep -q "\"state\":\"$s\"" "$TH_ROOT/running.stream" "$TH_ROOT/life.stream" ||
		th_fail "the streams never showed $s"
done
grep -q '"subscribed":true' "$TH_ROOT/life.stream" || th_fail "no life stream"

# The per-app switch.
td_launch off
th_wait_log 'off\[[0-9]+\]: no checkpoint: checkpointing is off for the app' 5 ||
	th_fail "per-app switch ignored"
td_close off

# SIGTERM is ignored by a PID 1 without a handler: SIGKILL follows.
td_launch stubborn
th_call closeByAppId '{"id": "stubborn"}' >/dev/null || th_fail "close failed"
th_wait_log 'stubborn\[[0-9]+\]: did not exit on SIGTERM, sending SIGKILL' 5 ||
	th_fail "no SIGKILL after the close timeout"
td_is_stopped stubborn || th_fail "stubborn still listed"

# An app that dies soon after each restore loses its image.
td_launch quick
th_wait_log 'quick\[[0-9]+\]: dumped in' 10 || th_fail "quick did not dump"
td_close quick
for i in 1 2; do
	td_launch quick
	[[ $(td_field start) == restored ]] || th_fail "quick restore $i: $TD_ANSWER"
	td_wait_stopped quick 5
done
th_wait_log 'quick\[0\]: died soon after 2 restores in a row, image invalidated' 2 ||
	th_fail "no invalidation after repeated deaths"
td_launch quick
[[ $(td_field start) == cold ]] || th_fail "restored again after invalidation"
td_close quick
th_stop_thawd

# The global switch.
th_start_thawd --no-checkpoint
td_launch app
[[ $(td_field start) == cold ]] || th_fail "--no-checkpoint restored: $TD_ANSWER"
exit 0
