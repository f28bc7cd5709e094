#!/bin/bash
# Layering check: lib/ is shared by relayctl (cmd/) and relayd (relayd/), so
# no file in cmd/ may include a header from relayd/, and no file in lib/ one
# from cmd/ or relayd/.  A quoted include resolves like the compiler's: the
# including file's own directory first, then lib/ (the only -I both share).
# With RELAYCTL and RELAYDCORE (paths of the built relayctl and relayd's
# library), also check the link: relayctl defines no symbol relayd's code does.
# Usage: include-direction.sh SRCDIR [RELAYCTL RELAYDCORE]; exit 0 ok, 1 not.
set -u
src=${1:?usage: include-direction.sh SRCDIR [RELAYCTL RELAYDCORE]}
bad=0

# check DIR FORBIDDEN...: every quoted include in DIR/*.[ch] that is not
# DIR's own nor lib/'s header and names (or resolves to) a FORBIDDEN dir.
check() {
	local dir=$1 f line hdr d
	shift
	for f in "$src/$dir"/*.[ch]; do
		[ -e "$f" ] || continue
		while IFS= read -r line; do
			hdr=${line#*\"}
			hdr=${hdr%%\"*}
			for d in "$@"; do
				case /$hdr in
				*/"$d"/*)
					echo "${f#"$src"/}: includes '$hdr' from $d/"
					bad=1
					continue 2 ;;
				esac
			done
			[ -e "$src/$dir/$hdr" ] && continue
			[ -e "$src/lib/$hdr" ] && continue
			for d in "$@"; do
				if [ -e "$src/$d/$hdr" ]; then
					echo "${f#"$src"/}: includes '$hdr' from $d/"
					bad=1
				fi
			done
		done < <(grep -E '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f")
	done
}

check cmd relayd
check lib cmd relayd

# The build side: no include path into relayd/ for cmd/ or lib/.
if grep -nE 'target_include_directories\((relay|relayctl)[[:space:]].*relayd' \
    "$src/CMakeLists.txt"; then
	echo "CMakeLists.txt: relay or relayctl gets relayd/ as an include path"
	bad=1
fi

if [ $# -ge 3 ]; then
	# Global symbols relayd's library defines must not be in relayctl.
	common=$(comm -12 \
	    <(nm -g --defined-only "$2" | awk '$2 ~ /^[TDBR]$/ { print $3 }' |
		sort -u) \
	    <(nm -g --defined-only "$3" 2>/dev/null |
		awk '$2 ~ /^[TDBR]$/ { print $3 }' | sort -u))
	if [ -n "$common" ]; then
		echo "relayctl links code from relayd/:" $common
		bad=1
	fi
fi
exit $bad
