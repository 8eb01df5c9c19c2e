# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Who may ask for what, with real callers of other uids (no account
# needed): with thawd --group 4242 the socket is root:4242 mode 0660, a
# uid outside the group cannot even connect (EACCES); a group member
# (primary or supplementary group) is a manager caller but no app: its
# checkpoint and ready are refused; an app thawd started cannot launch,
# snapshot, invalidate or close another app, and a checkpoint that claims
# an id is refused as a bad request.
. "$(dirname "$0")/lc-lib.sh"

th_init
th_manifest victim "{\"id\": \"victim\", \"exec\": \"$LC_APP\", \"args\": [\"--mib\", \"1\"], \"checkpointable\": true}"
req() { printf '{"method": "%s", "payload": {"id": "victim"}}' "$1"; }
{
	echo '#!/bin/sh'
	for m in launch snapshot invalidate closeByAppId checkpoint prepare; do
		echo "echo '$(req $m)' | socat -t 5 - UNIX-CONNECT:\$THAW_SOCKET"
	done
	echo 'echo done'
	echo 'exec sleep 600'
} >"$TH_ROOT/intruder.sh"
chmod 0755 "$TH_ROOT/intruder.sh"
th_manifest intruder "{\"id\": \"intruder\", \"exec\": \"/bin/sh\", \"args\": [\"$TH_ROOT/intruder.sh\"]}"
th_start_thawd --group 4242 --close-timeout 1

[[ $(stat -c '%a %U %g' "$TH_SOCKET") == "660 root 4242" ]] ||
	th_fail "socket is $(stat -c '%a %U %g' "$TH_SOCKET")"

# Not in the group: the file mode stops it at connect().
out=$(lc_as 4343 4343 - "$LC_PY" "$TH_CLIENT" "$TH_SOCKET" running 2>&1)
rc=$?
[[ $rc == 2 && $out == *"Permission denied"* ]] ||
	th_fail "uid 4343 outside the group reached thawd (rc $rc): $out"

# In the group, as primary or supplementary group: served as a manager.
for g in "4242 -" "4343 4242"; do
	# shellcheck disable=SC2086
	out=$(lc_as 4343 $g "$LC_PY" "$TH_CLIENT" "$TH_SOCKET" running) ||
		th_fail "group member ($g) refused: $out"
done

# ...but it is no app: it cannot ask for an app's checkpoint or ready.
for m in checkpoint ready launchParams; do
	out=$(lc_as 4343 4242 - "$LC_PY" "$TH_CLIENT" "$TH_SOCKET" $m) &&
		th_fail "$m of a non-app accepted: $out"
	[[ $(th_json errorCode <<<"$out") == -1 ]] || th_fail "$m: $out"
	grep -q "is no app started by thawd" <<<"$out" || th_fail "$m: $out"
done

out=$(thawctl_t launch victim) || th_fail "launch of victim: $out"
th_wait_until 20 test -e "$TH_TMPFS_DIR/victim/current" ||
	th_fail "victim made no image"
vpid=$(lc_pid victim)
thawctl_t launch intruder >/dev/null || th_fail "launch of intruder"
th_wait_log "intruder\\[[0-9]+\\]: stdout: done" 20 ||
	th_fail "the intruder did not finish"

for m in launch snapshot invalidate closeByAppId prepare; do
	line=$(grep -E "intruder\\[[0-9]+\\]: stdout: \\{" "$TH_LOG" |
		grep -F "'$m' is refused")
	[[ -n $line ]] || th_fail "the intruder's $m was not refused"
	grep -q '"errorCode":-1,' <<<"$line" || th_fail "$m: $line"
done
# A checkpoint never names an app: one that claims an id is refused.
grep -E "intruder\\[[0-9]+\\]: stdout: .*\"errorCode\":-22," "$TH_LOG" |
	grep -q "'checkpoint' takes no 'id'" || th_fail "the intruder's checkpoint"

[[ $(lc_pid victim) == "$vpid" ]] || th_fail "the intruder reached victim"
img=$(python3 "$TH_CLIENT" "$TH_SOCKET" images)
grep -q '"invalid' <<<"$img" && th_fail "victim's image was invalidated: $img"
thawctl_t close victim >/dev/null
lc_wait_stopped victim
out=$(thawctl_t launch victim) || th_fail "relaunch of victim: $out"
[[ $out == "victim: restored"* ]] || th_fail "victim after the intruder: $out"
exit 0
