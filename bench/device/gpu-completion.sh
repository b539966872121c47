#!/usr/bin/env bash
# One device call: mnist-completion (f once per distinct image, shared-x path) on WebGPU vs wasm, real MNIST.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
bash bench/device/unpack.sh >/dev/null || exit 1
N=.device/run/node; A=.device/run/app
cfg='--config test/fixtures/trial-mnist-completion.json --set data.nTrain=100 --set data.pixelsPerImage=20 --set f.width=256 --set g.width=64 --set g.rffFeatures=64 --set train.steps=100 --set data.nTest=8 --json'
for b in webgpu wasm; do
  timeout 100 $N $A/cli.js trial $cfg --backend $b > "$OUT/completion-$b.json" 2> "$OUT/completion-$b.err" || tail -3 "$OUT/completion-$b.err"
done
$N -e '
for (const b of ["webgpu", "wasm"]) {
  let r; try { r = JSON.parse(require("fs").readFileSync(process.env.OUT + "/completion-" + b + ".json", "utf8")); } catch (e) { console.log(b, "no result"); continue; }
  const m = r.metrics;
  console.log(b, "->", r.backend, r.status, "train", m.trainLoss?.toExponential(5), "testMseAll", m.testMseAll?.toExponential(5), "testMseHidden", m.testMseHidden?.toExponential(5),
    "init ntk", m.kernel?.init.ntkRelFrob.toFixed(5), "movement", m.kernel?.movement.toFixed(5), "KR hyperkernel mseAll", m.kernelRegression?.hyperkernel?.mseAll, "ms", JSON.stringify(r.timings));
}'
