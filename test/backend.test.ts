import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { HypersweepError } from '../core/errors.js';
import { selectBackend } from '../worker/backend/index.js';
import { matMulWide, transpose2dBlocked, unsortedSegmentSumValues } from '../worker/backend/wasm-patches.js';

async function on<T>(backend: 'wasm' | 'cpu', fn: () => T): Promise<T> {
  await selectBackend(backend);
  tf.engine().startScope();
  try {
    return fn();
  } finally {
    tf.engine().endScope();
  }
}

function operands(aS: number[], bS: number[], tA: boolean, tB: boolean, seed: number) {
  const a = tf.randomNormal(aS, 0, 1, 'float32', seed);
  const b = tf.randomNormal(bS, 0, 1, 'float32', seed + 1);
  const w = tf.randomNormal(tf.matMul(a, b, tA, tB).shape, 0, 1, 'float32', seed + 2);
  return { a, b, w };
}

/** Autodiff gradients of Σ w ⊙ matMul(a, b, tA, tB) wrt a and b (the patched gradient), as arrays. */
function matMulGrads(aS: number[], bS: number[], tA: boolean, tB: boolean, seed: number): number[][] {
  const { a, b, w } = operands(aS, bS, tA, tB, seed);
  const g = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.mul(tf.matMul(p, q, tA, tB), w)));
  return g([a, b]).map((t) => Array.from(t.dataSync()));
}

/** The stock tfjs BatchMatMul gradient formulas (matMul with flags), evaluated directly. */
function stockMatMulGrads(aS: number[], bS: number[], tA: boolean, tB: boolean, seed: number): number[][] {
  const { a, b, w: dy } = operands(aS, bS, tA, tB, seed);
  const mm = tf.matMul;
  const [da, db] = !tA && !tB ? [mm(dy, b, false, true), mm(a, dy, true, false)]
    : !tA && tB ? [mm(dy, b, false, false), mm(dy, a, true, false)]
    : tA && !tB ? [mm(b, dy, false, true), mm(a, dy, false, false)]
    : [mm(b, dy, true, true), mm(dy, a, true, true)];
  return [Array.from(da.dataSync()), Array.from(db.dataSync())];
}

function expectClose(got: number[], want: number[], rtol: number): void {
  expect(got.length).toBe(want.length);
  let scale = 0, worst = 0;
  for (let i = 0; i < want.length; i++) {
    scale = Math.max(scale, Math.abs(want[i]));
    worst = Math.max(worst, Math.abs(got[i] - want[i]));
  }
  expect(worst).toBeLessThanOrEqual(rtol * scale);
}

describe('backend selection', () => {
  it('selects wasm and reports it', async () => {
    const info = await selectBackend('wasm');
    expect(info.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(info.version).toContain(tf.version_core);
  });

  it('refuses tensorflow with a HypersweepError naming the reason (tfjs-node is not installed here)', async () => {
    const err = await selectBackend('tensorflow').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HypersweepError);
    expect(String((err as Error).message)).toMatch(/backend tensorflow is not available: .*tfjs-node/);
  });

  it('refuses webgpu without an adapter, and auto falls back to native (wasm + native matmuls) through the documented order', async () => {
    const err = await selectBackend('webgpu').catch((e: unknown) => e);
    if (err instanceof Error) {
      expect(err).toBeInstanceOf(HypersweepError);
      expect(err.message).toMatch(/backend webgpu is not available/);
      const info = await selectBackend('auto');
      expect(info.name).toBe('native'); // onnxruntime-node loads here; without it, wasm (test/native.test.ts)
      expect(tf.getBackend()).toBe('wasm');
    } else {
      expect(tf.getBackend()).toBe('webgpu'); // a machine with a GPU
    }
  });

  it('rejects an unknown backend name', async () => {
    await expect(selectBackend('tpu' as 'wasm')).rejects.toThrow(/unknown backend 'tpu'/);
  });
});

describe('wasm patches', () => {
  it('matMulWide, (wᵀ·aᵀ)ᵀ for a big weight, equals tf.matMul in value and in both gradients', async () => {
    const [got, want] = await on('wasm', () => {
      const a = tf.randomNormal([64, 256], 0, 1, 'float32', 11) as tf.Tensor2D;
      const w = tf.randomNormal([256, 8192], 0, 1, 'float32', 12) as tf.Tensor2D;
      const dy = tf.randomNormal([64, 8192], 0, 1, 'float32', 13) as tf.Tensor2D;
      const run = (mm: (a: tf.Tensor2D, w: tf.Tensor2D) => tf.Tensor2D) => {
        const value = mm(a, w);
        const [da, dw] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(mm(x as tf.Tensor2D, y as tf.Tensor2D), dy)))([a, w]);
        return [value, da, dw].map((t) => Array.from(t.dataSync()));
      };
      return [run(matMulWide), run((x, y) => tf.matMul(x, y))];
    });
    for (let i = 0; i < 3; i++) expectClose(got[i], want[i], 1e-5);
  });

  it('the blocked transpose equals tf.transpose, for tall, wide and ragged shapes', async () => {
    for (const shape of [[1030, 70], [70, 1030], [33, 65]] as [number, number][]) {
      const [got, want] = await on('wasm', () => {
        const x = tf.randomNormal(shape, 0, 1, 'float32', 5) as tf.Tensor2D;
        return [Array.from(transpose2dBlocked(x).dataSync()), Array.from(tf.transpose(x).dataSync())];
      });
      expect(got).toEqual(want);
    }
  });

  const cases: [number[], number[], boolean, boolean][] = [
    [[5, 7], [7, 3], false, false],
    [[5, 7], [3, 7], false, true],
    [[7, 5], [7, 3], true, false],
    [[7, 5], [3, 7], true, true],
    [[4, 5, 7], [4, 7, 3], false, false],
    [[4, 5, 7], [4, 3, 7], false, true],
    // big right operand / big left operand: the gradient takes the other transpose order
    [[2, 40], [40, 50], false, false],
    [[50, 40], [40, 2], false, false],
    [[3, 2, 40], [3, 40, 50], false, false],
    [[40, 2], [40, 50], true, false],
  ];
  for (const [aS, bS, tA, tB] of cases) {
    it(`BatchMatMul gradient equals tfjs's stock formulas on the cpu backend (a ${aS}, b ${bS}, tA ${tA}, tB ${tB})`, async () => {
      const want = await on('cpu', () => stockMatMulGrads(aS, bS, tA, tB, 3));
      const got = await on('wasm', () => matMulGrads(aS, bS, tA, tB, 3));
      expectClose(got[0], want[0], 1e-5);
      expectClose(got[1], want[1], 1e-5);
    });
  }

  it("gather's gradient works on wasm and matches the cpu backend", async () => {
    const f = () => {
      const x = tf.tensor2d([[1, 2], [3, 4], [5, 6]]);
      const idx = tf.tensor1d([2, 0, 2, 2], 'int32');
      const w = tf.tensor2d([[1, -1], [2, 3], [0.5, 0.25], [-2, 1]]);
      const g = tf.grad((p: tf.Tensor) => tf.sum(tf.mul(tf.gather(p, idx), w)))(x);
      return Array.from(g.dataSync());
    };
    const want = await on('cpu', f);
    const got = await on('wasm', f);
    // rows: 0 gets w[1]; 1 gets nothing; 2 gets w[0] + w[2] + w[3]
    expect(got).toEqual([2, 3, 0, 0, -0.5, 0.25]);
    expect(got).toEqual(want);
  });

  it('segment sum drops out-of-range ids', () => {
    const out = new Float32Array(4);
    unsortedSegmentSumValues([1, 2, 3, 4, 5, 6], [1, -1, 5], 2, 2, out);
    expect(Array.from(out)).toEqual([0, 0, 1, 2]);
  });
});
