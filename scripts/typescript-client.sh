#!/usr/bin/env bash
# The TypeScript client (clients/typescript): its npm dependencies, its types from openapi.json.
#   install   npm ci from package-lock.json (skipped when node_modules matches it)
#   generate  rewrite src/schema.d.ts from openapi.json (commit it)
#   check     fail if src/schema.d.ts has drifted from openapi.json, then tsc --noEmit
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../clients/typescript"

if ! command -v npm >/dev/null; then
	echo "npm is not installed: install Node.js 20 or later (Debian: apt-get install nodejs npm)" >&2
	exit 1
fi

install() {
	# Installed from this very lock file already: nothing to do.
	if ! cmp -s package-lock.json node_modules/.installed-from-lock 2>/dev/null; then
		npm ci --no-audit --no-fund --loglevel=error
		cp package-lock.json node_modules/.installed-from-lock
	fi
}

case "${1:-}" in
install) install ;;
generate)
	install
	npm run --silent generate
	;;
check)
	install
	fresh=$(mktemp --suffix=.d.ts)
	trap 'rm -f "$fresh"' EXIT
	npx --no-install openapi-typescript ../../openapi.json --default-non-nullable false --output "$fresh" >/dev/null
	if ! diff -q src/schema.d.ts "$fresh" >/dev/null; then
		echo "clients/typescript/src/schema.d.ts is stale: run \`make client\` and commit it" >&2
		exit 1
	fi
	npx --no-install tsc --noEmit
	echo "clients/typescript is up to date and type-checks"
	;;
*)
	echo "usage: $0 install | generate | check" >&2
	exit 2
	;;
esac
