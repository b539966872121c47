#!/usr/bin/env bash
# One device call (see bench/device/bundle.sh): WebGPU vs wasm vs PyTorch on the same GPU machine.
# Writes everything under $OUT. Usage there: bash bench/device/gpu-check.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
exec > >(tee "$OUT/log.txt") 2>&1
bash bench/device/unpack.sh || exit 1
nvidia-smi -L; nproc
N=.device/run/node; A=.device/run/app
if ! $N $A/cli.js trial --config test/fixtures/trial-sphere.json --backend webgpu --json > /dev/null 2>&1; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
fi
echo "== bench:trial on webgpu"; timeout 200 $N $A/trial.js --backend webgpu
echo "== PyTorch cuda"; timeout 60 python3 bench/torch_step.py cuda
echo "== PyTorch cpu, 1 thread (same machine as the wasm line below)"; timeout 90 python3 bench/torch_step.py cpu 1
echo "== bench:trial on wasm (1 thread)"; timeout 150 $N $A/trial.js --backend wasm --iters 5
echo "== same trial, webgpu vs wasm"
cfg='--config test/fixtures/trial-sphere.json --set f.width=1024 --set g.width=256 --set kernels.probe=32 --json'
timeout 120 $N $A/cli.js trial $cfg --backend webgpu > "$OUT/trial-webgpu.json"
timeout 120 $N $A/cli.js trial $cfg --backend wasm > "$OUT/trial-wasm.json"
$N -e '
const [a, b] = process.argv.slice(1).map((f) => JSON.parse(require("fs").readFileSync(f, "utf8")));
for (const r of [a, b]) console.log(r.backend, r.status, "trainLoss", r.metrics.trainLoss, "init ntkRelFrob", r.metrics.kernel?.init.ntkRelFrob, "movement", r.metrics.kernel?.movement, "timings", JSON.stringify(r.timings));
' "$OUT/trial-webgpu.json" "$OUT/trial-wasm.json"
