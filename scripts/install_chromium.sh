#!/usr/bin/env bash
# Install a headless-capable Chromium for the test that opens the demo's HTML report
# (tests/test_demo.py). Optional: without it that test skips and says why.
#
# Debian/Ubuntu as root: `apt-get install chromium` (Ubuntu's `chromium-browser` as a
# fallback). Elsewhere it only says what to install. Never fails the caller: a missing
# browser is not a broken set-up.
set -uo pipefail

find_browser() {
  for name in chromium chromium-browser google-chrome google-chrome-stable; do
    if command -v "$name" >/dev/null 2>&1; then
      command -v "$name"
      return 0
    fi
  done
  return 1
}

if path=$(find_browser); then
  echo "install_chromium: found $path"
  exit 0
fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -qq chromium >/dev/null 2>&1; then
    # the package lists may be missing or stale on a fresh machine
    (apt-get update -qq && (apt-get install -y -qq chromium \
       || apt-get install -y -qq chromium-browser)) >/dev/null 2>&1
  fi
fi
if path=$(find_browser); then
  echo "install_chromium: installed $path"
else
  echo "install_chromium: no Chromium installed (needs root and apt-get; on Debian/Ubuntu run" \
       "'apt-get install chromium'); the report test will skip" >&2
fi
exit 0
