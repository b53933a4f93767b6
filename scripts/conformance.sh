#!/usr/bin/env bash
# conformance.sh runs the official Engine.IO v4 (24 tests) and Socket.IO v5
# (32 tests) protocol suites against `syncgate conformance` on localhost:3000.
#
# Not part of CI: the suites are fetched by hand and never committed; the Go
# tests restate every case. See CONFORMANCE.md.
#
# usage: scripts/conformance.sh [SUITES_DIR]        (default /work/conformance)
#
# SUITES_DIR holds engine.io-protocol/test-suite and socket.io-protocol/test-suite,
# the test-suite/ folders of socketio/engine.io-protocol and
# socketio/socket.io-protocol. Each suite runs twice: as published, and with the
# waitFor fix (CONFORMANCE.md, "The waitFor race"), which this script writes to
# test-suite.fixed.js next to the published file.
#
# environment:
#   CONFORMANCE_SERVER=external  test whatever already listens on localhost:3000
#                                (e.g. the reference Node server) instead of
#                                building and starting syncgate
#   CONFORMANCE_RUNS=N           run each variant N times (default 1)
#
# Exit status 0 when every run with the waitFor fix passes all its tests, else 1.
# Failures of the published suites are reported but do not fail the script:
# the race in their waitFor fails some tests even against the reference server.
set -euo pipefail

SUITES_DIR=${1:-/work/conformance}
SERVER_MODE=${CONFORMANCE_SERVER:-syncgate}
RUNS=${CONFORMANCE_RUNS:-1}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=/tmp/syncgate
URL=http://localhost:3000
WORK=$(mktemp -d /tmp/conformance.XXXXXX)
SERVER_PID=

die() {
	echo "conformance: $*" >&2
	exit 1
}

cleanup() {
	if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
		kill "$SERVER_PID"
		wait "$SERVER_PID" 2>/dev/null || true
	fi
}
trap cleanup EXIT

# The suites, by directory name, with the number of tests each must run.
SUITES=(engine.io-protocol socket.io-protocol)
declare -A EXPECTED=([engine.io-protocol]=24 [socket.io-protocol]=32)

check_suites() {
	local s
	for s in "${SUITES[@]}"; do
		[[ -f $SUITES_DIR/$s/test-suite/test-suite.js ]] ||
			die "missing $SUITES_DIR/$s/test-suite/test-suite.js: fetch socketio/socket.io-protocol and socketio/engine.io-protocol test suites into $SUITES_DIR (as $SUITES_DIR/socket.io-protocol/test-suite and $SUITES_DIR/engine.io-protocol/test-suite); see CONFORMANCE.md"
	done
	[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "CONFORMANCE_RUNS must be a positive integer, got '$RUNS'"
	command -v node >/dev/null || die "node is not installed"
}

install_deps() {
	local dir=$1
	if [[ ! -x $dir/node_modules/.bin/mocha ]]; then
		echo "== npm ci in $dir"
		(cd "$dir" && npm ci --no-audit --no-fund) || die "npm ci failed in $dir"
	fi
}

# The published waitFor registers a one-shot listener only when called, so a
# frame emitted in the same tick as the awaited one is lost. The fix keeps one
# listener per (socket, event type) from the first call on and queues events.
WAITFOR_FIX='const waitForQueues = new WeakMap();

function waitFor(socket, eventType) {
  let byType = waitForQueues.get(socket);
  if (!byType) {
    byType = new Map();
    waitForQueues.set(socket, byType);
  }
  let queue = byType.get(eventType);
  if (!queue) {
    queue = { events: [], waiters: [] };
    byType.set(eventType, queue);
    socket.addEventListener(eventType, (event) => {
      const waiter = queue.waiters.shift();
      if (waiter) {
        waiter(event);
      } else {
        queue.events.push(event);
      }
    });
  }
  if (queue.events.length > 0) {
    return Promise.resolve(queue.events.shift());
  }
  return new Promise((resolve) => queue.waiters.push(resolve));
}
'

write_fixed_suite() {
	local dir=$1
	WAITFOR_FIX=$WAITFOR_FIX node -e '
		const fs = require("node:fs");
		const dir = process.argv[1];
		const src = fs.readFileSync(dir + "/test-suite.js", "utf8");
		const racy = /function waitFor\(socket, eventType\) \{\n[\s\S]*?\n\}\n/;
		const m = src.match(racy);
		if (!m || !m[0].includes("{ once: true }")) {
			console.error(dir + "/test-suite.js: the published waitFor was not found; did the suite change?");
			process.exit(1);
		}
		fs.writeFileSync(dir + "/test-suite.fixed.js", src.replace(racy, process.env.WAITFOR_FIX));
	' "$dir" || die "could not write $dir/test-suite.fixed.js"
}

start_server() {
	if [[ $SERVER_MODE == external ]]; then
		echo "== testing the server already listening on $URL (CONFORMANCE_SERVER=external)"
		return
	fi
	[[ $SERVER_MODE == syncgate ]] || die "CONFORMANCE_SERVER must be 'syncgate' or 'external', got '$SERVER_MODE'"
	if (exec 3<>/dev/tcp/127.0.0.1/3000) 2>/dev/null; then
		die "something already listens on localhost:3000; stop it (or set CONFORMANCE_SERVER=external to test it)"
	fi
	echo "== go build -o $BIN ./cmd/syncgate"
	(cd "$REPO" && go build -o "$BIN" ./cmd/syncgate) || die "go build failed"
	echo "== $BIN conformance (log: $WORK/syncgate.log)"
	"$BIN" conformance >"$WORK/syncgate.log" 2>&1 &
	SERVER_PID=$!
}

wait_for_server() {
	local i
	for ((i = 0; i < 100; i++)); do
		if [[ -n $SERVER_PID ]] && ! kill -0 "$SERVER_PID" 2>/dev/null; then
			tail -n 20 "$WORK/syncgate.log" >&2 || true
			die "syncgate conformance exited before answering"
		fi
		if curl -fsS -o /dev/null "$URL/engine.io/?EIO=4&transport=polling" 2>/dev/null &&
			curl -fsS -o /dev/null "$URL/socket.io/?EIO=4&transport=polling" 2>/dev/null; then
			return
		fi
		sleep 0.1
	done
	die "nothing answered Engine.IO handshakes on $URL/engine.io/ and $URL/socket.io/ within 10s"
}

# count LOG WORD prints the number in mocha's "N passing|failing|pending" line.
count() {
	local n
	n=$(sed -E 's/\x1b\[[0-9;]*m//g' "$1" | grep -Eo "^ *[0-9]+ $2" | grep -Eo '[0-9]+' | tail -n 1) || true
	echo "${n:-0}"
}

SUMMARY=()
FAILED=0

run_suite() {
	local suite=$1 variant=$2 run=$3 dir=$SUITES_DIR/$1/test-suite file log pass fail pend total verdict
	file=test-suite.js
	[[ $variant == fixed ]] && file=test-suite.fixed.js
	log=$WORK/$suite.$variant.$run.log
	echo
	echo "== $suite, waitFor $variant, run $run/$RUNS"
	(cd "$dir" && timeout 300 ./node_modules/.bin/mocha --reporter spec "$file") 2>&1 | tee "$log" || true
	pass=$(count "$log" passing)
	fail=$(failed_tests "$log" | wc -l)
	pend=$(count "$log" pending)
	total=$((pass + fail + pend))
	verdict=ok
	if ((fail > 0 || pend > 0 || total != ${EXPECTED[$suite]})); then
		verdict="FAIL (expected ${EXPECTED[$suite]} passing)"
		if [[ $variant == original ]]; then
			verdict="$verdict; published waitFor, not fatal"
		else
			FAILED=1
		fi
	fi
	SUMMARY+=("$(printf '%-20s %-9s %4s %8s %8s  %s' "$suite" "$variant" "$run" "$pass" "$fail" "$verdict")")
	local name
	while IFS= read -r name; do
		SUMMARY+=("      failed: $name")
	done < <(failed_tests "$log")
}

# failed_tests LOG prints the titles mocha marked "N) title" in its test tree
# (before the "N passing" line). A test that fails twice (mocha's "done() called
# multiple times") is listed on consecutive lines; print it once.
failed_tests() {
	sed -E 's/\x1b\[[0-9;]*m//g' "$1" |
		awk '/^ +[0-9]+ passing/ { exit } /^ +[0-9]+\) / { sub(/^ +[0-9]+\) /, ""); if ($0 != last) print; last = $0 }'
}

check_suites
for s in "${SUITES[@]}"; do
	install_deps "$SUITES_DIR/$s/test-suite"
	write_fixed_suite "$SUITES_DIR/$s/test-suite"
done
start_server
wait_for_server

for s in "${SUITES[@]}"; do
	for variant in original fixed; do
		for ((r = 1; r <= RUNS; r++)); do
			run_suite "$s" "$variant" "$r"
		done
	done
done

echo
echo "== summary (server: $SERVER_MODE, suites: $SUITES_DIR, logs: $WORK)"
printf '%-20s %-9s %4s %8s %8s  %s\n' suite waitFor run passing failing verdict
printf '%s\n' "${SUMMARY[@]}"
if ((FAILED)); then
	echo "conformance: FAILED (a run with the waitFor fix did not pass every test)"
	echo "(the suites are timing-sensitive: pingInterval is 300 ms; on a busy machine read the logs, then rerun)"
	exit 1
fi
echo "conformance: OK (every run with the waitFor fix passed every test)"
