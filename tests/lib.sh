# Shared by tests/run and tests/quickstart (sourced, not run): install what
# the build and the tests need on Debian 12, and configure and build.
# Env: RELAY_BUILD_DIR (default build/ at the top; relative to the top),
#      RELAY_CMAKE_ARGS (extra cmake arguments, e.g. -DRELAY_SANITIZE=ON).

RELAY_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RELAY_DEPS=(build-essential cmake pkg-config libacl1-dev libcap-dev
	libbsd-dev libinih-dev libcmocka-dev python3-pytest swaks
	python3-aiosmtpd dnsmasq-base libc-ares-dev libssl-dev openssl
	libnet-ssleay-perl acl iproute2 passwd libcrypt-dev
	clang libclang-rt-14-dev procps strace util-linux git
	bsd-mailx	# a real caller of relayd-sendmail (test_submit)
	libicu72 libdb5.3 libnsl2	# what Postfix's smtp-source/smtp-sink link with
	m4 libwrap0 libldap-2.5-0 liblockfile1 libsasl2-2	# setup --mta sendmail; sendmail links with
	python3-milter opendkim opendkim-tools python3-dkim	# milter tests
	python3-prometheus-client)	# relayctl metrics parses as Prometheus text
# The install tests: systemd-analyze, -sysusers and -tmpfiles (systemd),
# mandoc -T lint, bash-completion, lintian for the .deb, capsh, and
# ansible-core for the example playbook.
RELAY_DEPS+=(systemd mandoc bash-completion lintian libcap2-bin ansible-core)

relay_build_dir() {
	local d=${RELAY_BUILD_DIR:-build}
	case $d in
	/*) printf '%s\n' "$d" ;;
	*) printf '%s\n' "$RELAY_TOP/$d" ;;
	esac
}

# relay_apt_install PKG...: install those not installed yet; apt-get update
# once, first, and only when something is missing.
relay_apt_install() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
		    grep -q '^install ok installed$' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "relay: need root to install: ${missing[*]}" >&2
		return 1
	fi
	echo "relay: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	if [ -z "${RELAY_APT_UPDATED:-}" ]; then
		apt-get update -q || return 1
		RELAY_APT_UPDATED=1
	fi
	apt-get install -y -q --no-install-recommends "${missing[@]}"
}

relay_install_deps() {
	relay_apt_install "${RELAY_DEPS[@]}"
}

# relay_build: configure (with -Werror) and build into $(relay_build_dir).
relay_build() {
	local dir extra=()
	dir=$(relay_build_dir)
	read -r -a extra <<<"${RELAY_CMAKE_ARGS:-}"
	cmake -S "$RELAY_TOP" -B "$dir" -DRELAY_WERROR=ON "${extra[@]}" &&
	    cmake --build "$dir" -j"$(nproc)"
}
