#!/usr/bin/env bash
# The project's test command: installs what the tests need (Debian packages,
# the Node packages of test/node), then runs go vet and go test -race.
#
#   ./scripts/test.sh                      # every package, then 30,000 inputs of each fuzz target
#   ./scripts/test.sh -run Foo ./engineio/ # extra args go to go test; packages
#                                          # given (./..., ../x, github.com/syncgate/...)
#                                          # are also what go vet checks
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf 'test.sh: %s\n' "$*" >&2; }

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
APT_UPDATED=""

# need_pkg BINARY PACKAGE: install Debian's PACKAGE unless BINARY is on PATH.
need_pkg() {
	local bin="$1" pkg="$2"
	command -v "$bin" >/dev/null 2>&1 && return 0
	if [ -z "$APT_UPDATED" ]; then
		log "apt-get update"
		$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
		APT_UPDATED=1
	fi
	log "installing $pkg (for $bin)"
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null
	command -v "$bin" >/dev/null 2>&1 || { log "$pkg installed but $bin is still not on PATH"; exit 1; }
}

# One line per tool the tests start.
need_pkg redis-server redis-server
need_pkg node nodejs
need_pkg npm npm
export PATH="$PATH:/usr/sbin:/sbin" # Debian's nginx is /usr/sbin/nginx
need_pkg nginx nginx
need_pkg docker-compose docker-compose
need_pkg ss iproute2 # bench/procstat reads tcp_info byte counts with ss
need_pkg chromium chromium

# Go from /usr/local/go when it is not on PATH.
if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
	export PATH="$PATH:/usr/local/go/bin"
fi

# Tools without a Debian package of their own, kept across runs in
# ${XDG_CACHE_HOME:-~/.cache}/syncgate-tools/bin (testenv.ToolsDir) and put on PATH:
# promtool and prometheus unpacked from Debian's prometheus package (installing it would start
# a Prometheus server as a service), helm built from its Go module (about 2.5 minutes, once).
TOOLS="${XDG_CACHE_HOME:-$HOME/.cache}/syncgate-tools"
HELM_VERSION=v4.3.2
mkdir -p "$TOOLS/bin"
export PATH="$PATH:$TOOLS/bin"
if ! command -v promtool >/dev/null 2>&1 || ! command -v prometheus >/dev/null 2>&1; then
	if [ -z "$APT_UPDATED" ]; then
		log "apt-get update"
		$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
		APT_UPDATED=1
	fi
	log "unpacking promtool and prometheus from Debian's prometheus package"
	tmp="$(mktemp -d)"
	(cd "$tmp" && apt-get download -qq prometheus 2>/dev/null && dpkg-deb -x prometheus_*.deb x)
	install -m 0755 "$tmp/x/usr/bin/promtool" "$tmp/x/usr/bin/prometheus" "$TOOLS/bin/"
	rm -rf "$tmp"
fi
if [ ! -x "$TOOLS/helm-$HELM_VERSION/helm" ]; then
	log "building helm $HELM_VERSION from its Go module"
	GOBIN="$TOOLS/helm-$HELM_VERSION" go install "helm.sh/helm/v4/cmd/helm@$HELM_VERSION"
fi
ln -sfn "$TOOLS/helm-$HELM_VERSION/helm" "$TOOLS/bin/helm"

# Node packages: npm ci in each directory when node_modules is missing or was installed
# from another package.json / package-lock.json.
node_deps() {
	local dir="$1" stamp="$1/node_modules/.syncgate-stamp" want
	want="$(cat "$dir/package.json" "$dir/package-lock.json" | sha256sum | cut -d' ' -f1)"
	if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
		return 0
	fi
	log "npm ci in $dir"
	(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2)
	echo "$want" >"$stamp"
}
for d in test/node client demo/web browser/node multinode/node bench/peers/node; do node_deps "$d"; done

# Packages: those named in the arguments, else ./...
pkgs=()
for a in "$@"; do
	case "$a" in
	. | .. | ./* | ../* | github.com/syncgate/*) pkgs+=("$a") ;;
	esac
done
test_args=("$@")
if [ ${#pkgs[@]} -eq 0 ]; then
	pkgs=(./...)
	test_args+=(./...)
fi

log "go vet ${pkgs[*]}"
go vet "${pkgs[@]}"
log "go test -race -count=1 -timeout 20m ${test_args[*]}"
go test -race -count=1 -timeout 20m "${test_args[@]}"

# The whole suite also fuzzes the hostile-input decoders briefly (by hand, longer:
# go test -run '^$' -fuzz FuzzCleanPath -fuzztime 10m ./proxy/). The budget is a count of
# inputs, not a duration: Go's time-limited fuzzing can fail with "context deadline exceeded"
# when the deadline lands while a worker is still reporting (it did on CI), a count cannot.
if [ $# -eq 0 ]; then
	for target in FuzzDecodePayload:./engineio/ FuzzDecodeText:./engineio/ FuzzDecodePacket:./namespaces/ \
		FuzzCleanPath:./proxy/ FuzzMatch:./triggers/ FuzzRoomAllowed:./triggers/; do
		log "fuzz ${target%%:*} in ${target#*:} for ${FUZZTIME:-30000x}"
		go test -run '^$' -fuzz "^${target%%:*}\$" -fuzztime "${FUZZTIME:-30000x}" -parallel 2 "${target#*:}"
	done
fi
