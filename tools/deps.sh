#!/usr/bin/env bash
# deps.sh - installs the Debian packages pxtsgw needs to build, test and run
# its demo. Idempotent: when everything is there it only checks (fast).
set -euo pipefail
pkgs=(gcc make pkg-config
	gsoap libgsoap-dev libssl-dev zlib1g-dev openssl ca-certificates libsofia-sip-ua-dev libmicrohttpd-dev libsqlite3-dev libexpat1-dev libcmocka-dev libcrypt-dev libjansson-dev
	kamailio kamailio-presence-modules kamailio-sqlite-modules sqlite3
	python3 python3-zeep python3-yaml python3-jsonschema curl valgrind sip-tester wrk iproute2 procps groff-base coreutils libtsan2
	clang libclang-rt-14-dev)   # the last two: make fuzz (libFuzzer)
missing=()
for p in "${pkgs[@]}"; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[[ "$st" == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
echo "deps: installing ${missing[*]}" >&2
sudo=()
if [[ $(id -u) -ne 0 ]]; then
	command -v sudo >/dev/null || { echo "deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
	sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
