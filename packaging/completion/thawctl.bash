# SPDX-License-Identifier: LGPL-2.1-or-later
# bash completion for thawctl(1)

# App ids thawd knows: those running and those with images.  Quiet and
# empty when thawd cannot be reached.
_thawctl_app_ids()
{
	local -a sock=()

	[ -n "$1" ] && sock=(--socket "$1")
	{
		thawctl "${sock[@]}" --json running
		thawctl "${sock[@]}" --json images
	} 2>/dev/null | grep -o '"id": *"[^"]*"' | sed 's/.*"\([^"]*\)"$/\1/' |
		sort -u
}

_thawctl()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local commands="launch close running status snapshot invalidate images prepare doctor"
	local global_opts="--socket --json -h --help --version"
	local cmd="" socket="" opts="" i nargs=0

	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		--socket)
			socket=${COMP_WORDS[i + 1]}
			((i++))
			;;
		--params) ((i++)) ;;
		-*) ;;
		*)
			if [ -z "$cmd" ]; then
				cmd=${COMP_WORDS[i]}
			else
				((nargs++))
			fi
			;;
		esac
	done

	case $prev in
	--socket)
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		return
		;;
	--params)
		return
		;;
	esac

	if [ -z "$cmd" ]; then
		if [[ $cur == -* ]]; then
			mapfile -t COMPREPLY < <(compgen -W "$global_opts" -- "$cur")
		else
			mapfile -t COMPREPLY < <(compgen -W "$commands" -- "$cur")
		fi
		return
	fi

	case $cmd in
	launch) opts="--params --preload --cold" ;;
	close) opts="--preload-only" ;;
	running | status) opts="--subscribe" ;;
	esac

	if [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")
		return
	fi

	case $cmd in
	launch | close | status | snapshot | invalidate)
		if [ "$nargs" -eq 0 ]; then
			mapfile -t COMPREPLY < <(compgen -W \
				"$(_thawctl_app_ids "$socket")" -- "$cur")
		fi
		;;
	esac
}

complete -F _thawctl thawctl
