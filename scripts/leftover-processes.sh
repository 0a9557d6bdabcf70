#!/usr/bin/env bash
# What a test run starts, it stops. `snapshot FILE` notes the processes running now; `check FILE`
# fails, naming them, when processes started since then still run from this checkout (their
# working directory or command line is inside it), after a grace period for those shutting down
# (PAYREQ_LEFTOVER_GRACE seconds, 20 by default). Other checkouts' processes are not ours.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

running() {
	local entry
	for entry in /proc/[0-9]*; do
		echo "${entry#/proc/}"
	done
}

# The processes not in the snapshot that belong to this checkout: "pid command line" per line.
leftovers() {
	local snapshot=$1 pid stat state parent cwd command
	while read -r pid; do
		[[ $pid == "$$" ]] && continue
		stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
		read -r state parent _ <<<"${stat##*) }"
		# Zombies are gone; our own subshells are this script.
		[[ $state == Z || $parent == "$$" ]] && continue
		cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null || true)
		command=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)
		if [[ $cwd == "$root" || $cwd == "$root"/* || $command == *"$root/"* ]]; then
			echo "$pid ${command:0:200}"
		fi
	done < <(running | grep -vxFf "$snapshot")
}

case "${1:-}" in
snapshot)
	running >"$2"
	;;
check)
	deadline=$((SECONDS + ${PAYREQ_LEFTOVER_GRACE:-20}))
	while found=$(leftovers "$2") && [[ -n $found ]] && ((SECONDS < deadline)); do
		sleep 1
	done
	if [[ -n $found ]]; then
		echo "processes the run started are still running:" >&2
		echo "$found" >&2
		exit 1
	fi
	echo "no process the run started is left running"
	;;
*)
	echo "usage: $0 snapshot FILE | check FILE" >&2
	exit 2
	;;
esac
