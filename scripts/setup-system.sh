#!/usr/bin/env bash
# Install the Debian packages Frontdoor needs (idempotent: apt runs only when something is missing).
# ffmpeg: media probing and cutting; postgresql: the shared-server store (and its tests); xvfb/xauth:
# the app and its tests without a screen; vlc-plugin-video-output: libvlc's X11 video output, which
# vlc-plugin-base lacks (without it libvlc plays into a black window); the libxcb/xkb/egl libraries Qt's
# xcb platform plugin loads; fonts so rendered text is legible; poppler-utils: pdftoppm, which the report
# tests use to render the PDF's pages; p7zip-full: 7z, which opens encrypted export archives (the tests
# check with it that a recipient without Frontdoor can).
set -euo pipefail
PKGS=(python3 python3-venv python3-pip ffmpeg postgresql xvfb xauth libvlc5 vlc-plugin-base
      vlc-plugin-video-output libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1
      libxcb-image0 libxcb-render-util0 libxcb-shape0 libegl1 libgl1 libdbus-1-3 fonts-dejavu-core
      poppler-utils p7zip-full)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "setup: installing Debian packages: ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
