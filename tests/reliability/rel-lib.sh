# SPDX-License-Identifier: LGPL-2.1-or-later
#
# What the reliability tests share, on top of tests/lib/harness.sh.
#
#   rel_init                      th_init plus the result folder and stats
#   rel_manifest ID MIB SEED [EXTRA-ARGS-JSON] [EXTRA-FIELDS]
#                                 a manifest of rel-app
#   rel_criu_wrapper              writes $REL_CRIU, a CRIU that execs the
#                                 real one; each run appends its pid to
#                                 $REL_CTL/pids; while $REL_CTL/delay holds
#                                 a number of seconds, the runs for an app
#                                 whose manifest has $REL_SLOW_POLICY (the
#                                 device pattern, which thawd passes to
#                                 CRIU's environment) sleep that long first;
#                                 while $REL_CTL/lazy-slow exists, a lazy-
#                                 pages server runs under strace with each
#                                 of its ioctls (the page copies) delayed
#                                 by that many microseconds
#   rel_call METHOD [PAYLOAD]     th_call (with the system's python),
#                                 counted as a request served
#   rel_field FIELD               a flat field of the answer on stdin
#   rel_strays, rel_instances     th_strays in one grep; "ID COUNT" of the
#                                 live processes of each app
#   rel_launch ID EXPECT          launch; EXPECT is restored, cold, or
#                                 fallback (cold-after-failed-restore);
#                                 fails the test on another start, then
#                                 checks the app's result file; the pid
#                                 is in $REL_PID
#   rel_close ID                  close and wait until it is gone
#   rel_wait_result PID START     waits for rel-app's verdict file
#   rel_sample                    "fds rss_kib children zombies" of thawd
#   rel_soak_sample C LAST        a soak's sample after cycle C; checks
#                                 for zombies and stopped processes
#   rel_soak_bounds CYCLES MIB FD0 RSS0
#                                 a soak's bounds at its end
#   rel_app_pids                  every process of thawd's tree and every
#                                 stray of the test
#   rel_no_frozen [all]           fails if a process of thawd's tree (and
#                                 with "all" a stray) is stopped (t/T)
#   rel_no_orphans                fails if an app process lives outside
#                                 thawd's tree
#   rel_no_leftovers              no .new-* folder, no CRIU work folder,
#                                 no process left in an app's namespace,
#                                 no SysV segment created by an app, no
#                                 mount or loop device but the test's
#   rel_stat KEY [N]              adds N (1) to a figure of the run
. "$THAW_TEST_LIB/harness.sh"

REL_APP=$TH_BUILD/tests/reliability/rel-app
REL_SLOW_POLICY='"policy": {"devices": ["/dev/thaw-rel-slow"]}'
declare -A REL_STATS=()
declare -A REL_NS=()
REL_PIDS=()
REL_STATS_FILE=${REL_STATS_FILE:-}

rel_stat() {
	local key=$1 n=${2:-1}
	REL_STATS[$key]=$((${REL_STATS[$key]:-0} + n))
}

rel_stats_flush() {
	local k
	[[ -n $REL_STATS_FILE ]] || return 0
	[[ -s $REL_CTL/requests ]] &&
		rel_stat requests "$(wc -l <"$REL_CTL/requests")"
	rm -f "$REL_CTL/requests"
	for k in "${!REL_STATS[@]}"; do
		echo "$TH_NAME $k ${REL_STATS[$k]}"
	done >>"$REL_STATS_FILE"
	REL_STATS=()
}

rel_init() {
	th_init
	REL_RESULTS=$TH_ROOT/results
	REL_CTL=$TH_ROOT/ctl
	mkdir -p "$REL_RESULTS" "$REL_CTL"
	[[ -x $REL_APP ]] || th_fail "no rel-app at $REL_APP"
	REL_SHM_BEFORE=$(rel_shm_ids)
	trap 'rel_rc=$?; rel_stats_flush; (exit $rel_rc); th_cleanup' EXIT
}

rel_manifest() {
	local id=$1 mib=$2 seed=$3 extra=${4:-} fields=${5:-}
	th_manifest "$id" "{\"id\": \"$id\", \"exec\": \"$REL_APP\",
 \"args\": [\"--result-dir\", \"$REL_RESULTS\", \"--cwd\", \"$TH_ROOT/cwd-$id\",
 \"--mib\", \"$mib\", \"--seed\", \"$seed\"${extra:+, $extra}],
 \"checkpointable\": true${fields:+, $fields}}"
}

rel_criu_wrapper() {
	REL_CRIU=$TH_ROOT/criu-wrapper
	cat >"$REL_CRIU" <<EOF
#!/bin/bash
echo \$\$ >>"$REL_CTL/pids"
if [[ -s "$REL_CTL/delay" && \${THAW_DEVFD_ALLOW:-} == *thaw-rel-slow* ]]; then
	sleep "\$(cat "$REL_CTL/delay")"
fi
if [[ \${1:-} == lazy-pages && -s "$REL_CTL/lazy-slow" ]]; then
	exec strace -qq -o /dev/null -e trace=ioctl \\
		-e inject=ioctl:delay_exit="\$(cat "$REL_CTL/lazy-slow")" \\
		"$TH_CRIU" "\$@"
fi
exec "$TH_CRIU" "\$@"
EOF
	chmod 0755 "$REL_CRIU"
}

# The client as th_call runs it, but with the system's python when there
# is one: a version manager's shim costs a fifth of a second per request.
REL_PY=$(command -v /usr/bin/python3 || command -v python3)
rel_call() {
	# Counted in a file: most calls run in a command substitution.
	[[ -n ${REL_CTL:-} ]] && echo >>"$REL_CTL/requests"
	"$REL_PY" "$TH_CLIENT" "$TH_SOCKET" "$@"
}

# A top-level string, number or boolean field of a one-line answer (the
# flat answers of launch), without starting a JSON parser.
rel_field() {
	local re="\"$1\": *(\"([^\"]*)\"|([-0-9.]+|true|false))" line
	read -r line
	[[ $line =~ $re ]] || return 0
	echo "${BASH_REMATCH[2]}${BASH_REMATCH[3]}"
}

rel_wait_result() {
	local pid=$1 start=$2 file=$REL_RESULTS/$1.result
	th_wait_until 15 test -s "$file" ||
		th_fail "app pid $pid wrote no result file"
	grep -qx "start $start" "$file" ||
		th_fail "app pid $pid reports $(grep ^start "$file"), not start $start"
	grep -qx "result ok" "$file" ||
		th_fail "app pid $pid found its state changed: $(cat "$file")"
}

rel_launch() {
	local id=$1 expect=$2 answer start want=$2
	[[ $expect == fallback ]] && want=cold-after-failed-restore
	answer=$(rel_call launch "{\"id\": \"$id\"}") ||
		th_fail "launch of $id failed: $answer"
	REL_T_ANSWER=$(date +%s.%N)
	start=$(rel_field start <<<"$answer")
	REL_PID=$(rel_field pid <<<"$answer")
	REL_ANSWER=$answer
	[[ $start == "$want" ]] ||
		th_fail "launch of $id: start '$start', expected '$want': $answer"
	kill -0 "$REL_PID" 2>/dev/null || th_fail "launched pid $REL_PID is gone"
	REL_NS[$(readlink "/proc/$REL_PID/ns/pid")]=1
	REL_PIDS+=("$REL_PID")
	case $start in
	restored)
		rel_stat restored
		rel_wait_result "$REL_PID" restored ;;
	*)
		rel_stat cold
		# A cold start has dumped itself before it said ready.
		if [[ $expect == cold* && -z ${REL_NO_DUMP:-} ]]; then
			rel_wait_result "$REL_PID" dumped
		fi ;;
	esac
	rel_stat verified
}

rel_is_stopped() {
	local list
	list=$(rel_call running) || return 1
	! grep -q "\"id\": *\"$1\"" <<<"$list"
}

rel_close() {
	rel_call closeByAppId "{\"id\": \"$1\"}" >/dev/null ||
		th_fail "close of $1 failed"
	th_wait_until 10 rel_is_stopped "$1" || th_fail "$1 is still running"
}

rel_sample() {
	local pid=$TH_THAWD_PID fds rss children zombies=0 p
	fds=$(find /proc/"$pid"/fd -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
	rss=$(awk '/^VmRSS:/ {print $2}' /proc/"$pid"/status)
	children=$(cat /proc/"$pid"/task/*/children 2>/dev/null | wc -w)
	for p in $(th_descendants "$pid"); do
		[[ $(rel_state "$p") == Z ]] && zombies=$((zombies + 1))
	done
	echo "$fds $rss $children $zombies"
}

rel_ppid() {
	local stat
	stat=$(cat /proc/"$1"/stat 2>/dev/null) || return 0
	stat=${stat##*) }
	stat=${stat#* }
	echo "${stat%% *} ($(cat /proc/"${stat%% *}"/comm 2>/dev/null))"
}

rel_state() {
	local stat
	stat=$(cat /proc/"$1"/stat 2>/dev/null) || return 0
	stat=${stat##*) }
	echo "${stat%% *}"
}

# th_strays in one grep: the pids whose environment names our socket.
rel_strays() {
	grep -lazx -- "THAW_SOCKET=$TH_SOCKET" /proc/[0-9]*/environ 2>/dev/null |
		sed 's|^/proc/||; s|/environ$||'
}

rel_app_pids() {
	{
		[[ -n $TH_THAWD_PID ]] && th_descendants "$TH_THAWD_PID"
		rel_strays
	} | sort -un
}

# "ID COUNT" for each app id that has live processes of this test.
rel_instances() {
	local p files=()
	for p in $(rel_strays); do
		files+=("/proc/$p/environ")
	done
	((${#files[@]})) || return 0
	grep -ahz '^THAW_APP_ID=' "${files[@]}" 2>/dev/null | tr '\0' '\n' |
		sed 's/^THAW_APP_ID=//' | sort | uniq -c | awk '{print $2, $1}'
}

rel_no_frozen() {
	local p s pids
	if [[ ${1:-} == all ]]; then
		pids=$(rel_app_pids)
	else
		pids=$(th_descendants "$TH_THAWD_PID")
	fi
	for p in $pids; do
		s=$(rel_state "$p")
		[[ $s == t || $s == T ]] &&
			th_fail "pid $p ($(cat /proc/"$p"/comm)) is left stopped ($s)"
	done
	return 0
}

rel_no_orphans() {
	local p
	for p in $(rel_strays); do
		[[ -n $TH_THAWD_PID ]] && th_descendants "$TH_THAWD_PID" |
			grep -qx "$p" && continue
		th_fail "pid $p ($(cat /proc/"$p"/comm 2>/dev/null), parent $(rel_ppid "$p")) runs outside thawd's tree"
	done
	return 0
}

rel_shm_ids() {
	awk 'NR > 1 {print $2}' /proc/sysvipc/shm | sort
}

rel_no_leftovers() {
	local ns p id new
	new=$(find "$TH_TMPFS_DIR" -maxdepth 2 -name '.new-*' 2>/dev/null)
	[[ -z $new ]] || th_fail "half-written image folders left: $new"
	new=$(find "$TH_RUN_DIR" -maxdepth 1 -name 'work-*' 2>/dev/null)
	[[ -z $new ]] || th_fail "CRIU work folders left: $new"
	# Namespace inodes are reused once freed: a process in one of the
	# apps' namespaces counts only when it carries the test's socket.
	for p in /proc/[0-9]*; do
		ns=$(readlink "$p/ns/pid" 2>/dev/null) || continue
		[[ -n ${REL_NS[$ns]:-} ]] || continue
		grep -qazx -- "THAW_SOCKET=$TH_SOCKET" "$p/environ" 2>/dev/null &&
			th_fail "${p#/proc/} still lives in an app's namespace $ns"
	done
	p=$(rel_strays)
	[[ -z $p ]] || th_fail "app processes left: $p"
	for id in $(comm -13 <(echo "$REL_SHM_BEFORE") <(rel_shm_ids)); do
		p=$(awk -v id="$id" '$2 == id {print $7}' /proc/sysvipc/shm)
		[[ " ${REL_PIDS[*]} " == *" $p "* ]] &&
			th_fail "SysV segment $id made by app pid $p is left"
	done
	rel_no_stray_mounts
}

# Mounts and loop devices in the test's root beyond the test's own.
rel_no_stray_mounts() {
	local m l
	while read -r m; do
		[[ " ${TH_MOUNTS[*]} " == *" $m "* ]] ||
			th_fail "mount left on $m"
	done < <(awk -v r="$TH_ROOT" 'index($5, r) == 1 {print $5}' \
		/proc/self/mountinfo)
	while read -r l; do
		[[ -z $l || " ${TH_LOOPS[*]} " == *" $l "* ]] ||
			th_fail "loop device left: $l"
	done < <(losetup -n -O NAME,BACK-FILE 2>/dev/null |
		awk -v r="$TH_ROOT" 'index($2, r) == 1 {print $1}')
	return 0
}

# Whether thawd serves: a running request is answered.
rel_serves() {
	rel_call running >/dev/null || th_fail "thawd does not answer: running"
}

# A soak's sample after cycle C of LAST: fails on a zombie in thawd's
# tree or a stopped process; cycle 2's figures start the steady state.
rel_soak_sample() {
	local c=$1 last=$2 fd rss ch z
	read -r fd rss ch z < <(rel_sample)
	((z == 0)) || th_fail "cycle $c: $z zombies in thawd's tree"
	rel_no_frozen
	if ((c == 2)); then
		REL_STEADY=("$fd" "$rss" "$ch")
	fi
	if ((c <= 3 || c % 10 == 0 || c == last)) && [[ -z ${REL_QUIET:-} ]]; then
		printf '%6d %6d %8d %9d %8d\n' "$c" "$fd" "$rss" "$ch" "$z" >&2
	fi
}

# A soak's end, after CYCLES cycles: thawd's fds and children as at the
# steady state's start, its RSS grown by less than RSS_MIB MiB.  Records
# the figures and leaves the last sample in REL_END (fds, RSS KiB).
rel_soak_bounds() {
	local cycles=$1 rss_mib=$2 fd0=$3 rss0=$4 fde rsse che
	read -r fde rsse che _ < <(rel_sample)
	rel_stat fds_start "$fd0"
	rel_stat fds_end "$fde"
	rel_stat rss_start_kib "$rss0"
	rel_stat rss_end_kib "$rsse"
	REL_END=("$fde" "$rsse")
	((cycles >= 2)) || return 0
	((fde == REL_STEADY[0])) ||
		th_fail "thawd holds $fde fds after the last cycle, ${REL_STEADY[0]} after cycle 2"
	((che == REL_STEADY[2])) ||
		th_fail "thawd has $che children after the last cycle, ${REL_STEADY[2]} after cycle 2"
	((rsse - REL_STEADY[1] < rss_mib * 1024)) ||
		th_fail "thawd's RSS grew from ${REL_STEADY[1]} to $rsse KiB (bound $rss_mib MiB)"
}
