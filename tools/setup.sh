#!/usr/bin/env bash
# One-step set-up on Debian 12 (run as root): installs what is missing, builds, then either
# starts the workbench on the default model (`run`) or runs every test headless (`test`).
set -euo pipefail
mode="${1:-run}"
cd "$(dirname "$0")/.."

packages=(cmake g++ make qt6-base-dev qt6-svg-dev libgl-dev libeigen3-dev fonts-dejavu-core)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
fi

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$(nproc)"

case "$mode" in
  run)
    exec ./build/app/attnscope --model default ;;
  test)
    export QT_QPA_PLATFORM=offscreen
    ctest --test-dir build --output-on-failure -j"$(nproc)" ;;
  *)
    echo "usage: tools/setup.sh [run|test]" >&2; exit 2 ;;
esac
