#!/usr/bin/env bash
# Installs the Debian packages the workbench needs to build and test, when they are missing:
#   libasound2-dev            cpal (ALSA headers; needed even for PulseAudio/PipeWire)
#   pkg-config                finds ALSA
#   mesa-vulkan-drivers       lavapipe: a software Vulkan device for wgpu on machines without a GPU
#   libvulkan1 xvfb           real windows on headless machines (screenshots)
#   libopenblas-dev           OpenBLAS: the CPU matrix multiply behind the Flex backend (vendor/gemm)
set -euo pipefail
need=()
for p in libasound2-dev pkg-config mesa-vulkan-drivers libvulkan1 xvfb libopenblas-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
echo "installing Debian packages: ${need[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
