#!/usr/bin/env bash
# What the tests need outside Python: Debian's Chromium, which the Browser guide test drives
# headless through Playwright (Playwright never downloads a browser here). Installs it with
# apt-get when it is missing (as root, or with sudo); idempotent and quiet when present.
set -euo pipefail
if [ -n "${KGC_CHROMIUM:-}" ] || command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
if ! command -v apt-get >/dev/null 2>&1; then
  echo "test-deps: the Browser guide test needs Chromium; install it (or set KGC_CHROMIUM to its path)" >&2
  exit 1
fi
echo "test-deps: installing Debian's chromium for the Browser guide test (once)" >&2
$SUDO apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >&2
