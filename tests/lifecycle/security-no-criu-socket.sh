# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Nothing thaw creates lets an unprivileged caller reach CRIU: while
# thawd dumps (snapshots and an app's own checkpoint) and restores, no
# listening Unix socket belongs to criu (thawd drives it through a private
# socketpair, swrk mode), every socket file thaw made is root's with mode
# 0660 at most, and the image and run folders are root's alone.
. "$(dirname "$0")/lc-lib.sh"

th_init
lc_server_manifest srv '["--mib", "16"]'
th_manifest app "{\"id\": \"app\", \"exec\": \"$LC_APP\", \"args\": [\"--mib\", \"16\"], \"checkpointable\": true}"
th_start_thawd --group 4242 --close-timeout 1

samples=$TH_ROOT/ss.out
(
	end=$((SECONDS + 40))
	while ((SECONDS < end)) && [[ ! -e $TH_ROOT/stop ]]; do
		# Only the CRIU thawd runs: its children's children.
		for p in $(ps -eo pid=,comm= | awk '$2 == "criu" {print $1}'); do
			th_descendants "$TH_THAWD_PID" | grep -qx "$p" || continue
			echo "criu-seen"
			ss -xlpn 2>/dev/null | grep "pid=$p,"
		done
		sleep 0.01
	done
) >"$samples" &
sampler=$!

thawctl_t launch srv >/dev/null || th_fail "launch of srv"
lc_port srv >/dev/null
for i in 1 2 3; do
	out=$(thawctl_t snapshot srv) || th_fail "snapshot $i: $out"
done
thawctl_t launch app >/dev/null || th_fail "launch of app"
th_wait_until 20 test -e "$TH_TMPFS_DIR/app/current" || th_fail "app made no image"
thawctl_t close srv >/dev/null
lc_wait_stopped srv
out=$(thawctl_t launch srv) || th_fail "restore of srv: $out"
[[ $out == "srv: restored"* ]] || th_fail "srv: $out"
touch "$TH_ROOT/stop"
wait "$sampler"

grep -q criu-seen "$samples" || th_fail "the sampler never saw CRIU run"
# CRIU's parasite transport (compel) listens on an abstract socket of the
# app's network namespace while the parasite runs: CRIU's own, no file,
# named crtools-pr-PID-UUID; see docs/security.md.  An unnamed socket
# (local address "*", one CRIU opens with --tcp-established) has no name
# to connect to.  Nothing else.
reachable=$(grep -v criu-seen "$samples" | grep -v ' @/crtools-pr-[0-9]*-' |
	awk '$5 != "*"')
[[ -z $reachable ]] || th_fail "a listening socket of criu: $reachable"

# Every socket file under the test's folders: root's, mode <= 0660.
while read -r s; do
	[[ $(stat -c %U "$s") == root ]] || th_fail "$s is not root's"
	(($(stat -c '0%a' "$s") & 0117)) && th_fail "$s has mode $(stat -c %a "$s")"
done < <(find "$TH_ROOT" -type s)
(($(find "$TH_ROOT" -type s | wc -l) >= 1)) || th_fail "no socket found"

# Images and CRIU's logs: folders 0700, files without group or other bits.
for dir in "$TH_TMPFS_DIR" "$TH_RUN_DIR"; do
	bad=$(find "$dir" -mindepth 1 \( -type d ! -perm 0700 \) -o \
		\( -type f -perm /0077 \) -o \( ! -type s ! -user root \))
	[[ -z $bad ]] || th_fail "readable by others: $(ls -ld $bad)"
done
[[ $(stat -c %a "$TH_TMPFS_DIR") == 700 ]] || th_fail "tmpfs tier mode"
# A caller of another uid, even in thawd's group, reads no image.
f=$(find -L "$TH_TMPFS_DIR/srv/current/" -name 'pages-*.img' | head -n 1)
[[ -n $f ]] || th_fail "no pages image"
lc_as 4343 4242 - cat "$f" >/dev/null 2>&1 && th_fail "uid 4343 read $f"
exit 0
