#!/usr/bin/env bash
# The headless browser the demo page's end-to-end test drives: Debian's `chromium` package, installed
# with apt-get when missing (the test never downloads a browser of its own). Quick when present.
# PAYREQ_CHROMIUM may name another Chromium binary; then nothing is installed.
set -euo pipefail

say() { echo "install-browser: $*" >&2; }

if [[ -n "${PAYREQ_CHROMIUM:-}" ]]; then
    if [[ -x "$PAYREQ_CHROMIUM" ]]; then
        exit 0
    fi
    say "PAYREQ_CHROMIUM=$PAYREQ_CHROMIUM is not an executable file"
    exit 1
fi
if command -v chromium >/dev/null 2>&1; then
    exit 0
fi

install=(apt-get install -y --no-install-recommends chromium)
if ! command -v apt-get >/dev/null 2>&1; then
    say "no apt-get here: install Chromium with your package manager and set PAYREQ_CHROMIUM to its binary"
    exit 1
fi
if [[ $(id -u) -eq 0 ]]; then
    run=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    run=(sudo -n)
else
    say "Chromium is missing; install it with: sudo apt-get update && sudo ${install[*]}"
    say "(or set PAYREQ_CHROMIUM to a Chromium binary)"
    exit 1
fi
say "installing Debian's chromium (once)"
export DEBIAN_FRONTEND=noninteractive
"${run[@]}" apt-get update -qq
"${run[@]}" "${install[@]}" -qq >/dev/null
command -v chromium >/dev/null 2>&1 || { say "chromium is still not on PATH after installing"; exit 1; }
say "$(chromium --version 2>/dev/null || echo chromium installed)"
