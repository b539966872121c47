#!/usr/bin/env bash
# One device call (see bench/device/bundle.sh): a real trial end to end on WebGPU, the same trial on wasm, and
# `auto` picking WebGPU. Training-step and NTK timings: `trial.js --backend webgpu` (bench:trial), and
# python3 bench/torch_step.py cuda|cpu for PyTorch on the same machine. Writes under $OUT.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
bash bench/device/unpack.sh >/dev/null || exit 1
nvidia-smi -L
N=.device/run/node; A=.device/run/app
[ -e /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ] && export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
cfg='--config test/fixtures/trial-sphere.json --set f.width=1024 --set g.width=256 --set data.nTrain=128 --set kernels.probe=32 --set train.steps=100 --json'
for b in webgpu wasm auto; do
  /usr/bin/time -f "$b: %e s wall" timeout 150 $N $A/cli.js trial $cfg --backend $b > "$OUT/trial-$b.json" 2> "$OUT/trial-$b.err"
  tail -1 "$OUT/trial-$b.err"
done
$N -e '
for (const b of ["webgpu", "wasm", "auto"]) {
  let r; try { r = JSON.parse(require("fs").readFileSync(process.env.OUT + "/trial-" + b + ".json", "utf8")); } catch (e) { console.log(b, "no result"); continue; }
  const k = r.metrics.kernel;
  console.log(b, "->", r.backend, r.status, "train", r.metrics.trainLoss?.toExponential(4), "test", r.metrics.testLoss?.toExponential(4),
    "init ntkRelFrob", k?.init.ntkRelFrob.toFixed(5), "gpRelFrob", k?.init.gpRelFrob.toFixed(5), "movement", k?.movement.toFixed(5),
    "ms", JSON.stringify(r.timings));
}'
