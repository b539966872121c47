/**
 * Infinite-width kernel maps, one per layer, composed with serial() — neural-tangents' stax style.
 *
 * A map transforms a block of kernel entries in place: the engine fills a block (a tile of the output Gram,
 * rows × cols point pairs) with input kernels, runs the network's maps over it, and reads the result. Blocks are
 * reused tile after tile, so nothing is allocated per entry.
 */
import type { Layer } from './architecture.js';
import { invSqrt0, paperReluDual, reluDual } from './dual.js';

/** A block of kernel entries between `rows` row points u_i and `cols` column points u'_j. */
export class KernelBlock {
  rows = 0;
  cols = 0;
  /** Σ(u_i, u'_j), row-major rows × cols (capacity may be larger). */
  readonly nngp: Float64Array;
  /** Θ(u_i, u'_j), row-major rows × cols. */
  readonly ntk: Float64Array;
  /** Σ(u_i, u_i) of the row points: κ's a. */
  readonly var1: Float64Array;
  /** Σ(u'_j, u'_j) of the column points: κ's b. */
  readonly var2: Float64Array;
  /** Scratch: √var1, 1/√var1, √var2, 1/√var2. */
  readonly s1: Float64Array;
  readonly i1: Float64Array;
  readonly s2: Float64Array;
  readonly i2: Float64Array;

  constructor(readonly maxRows: number, readonly maxCols: number) {
    this.nngp = new Float64Array(maxRows * maxCols);
    this.ntk = new Float64Array(maxRows * maxCols);
    this.var1 = new Float64Array(maxRows);
    this.var2 = new Float64Array(maxCols);
    this.s1 = new Float64Array(maxRows);
    this.i1 = new Float64Array(maxRows);
    this.s2 = new Float64Array(maxCols);
    this.i2 = new Float64Array(maxCols);
  }

  resize(rows: number, cols: number): this {
    if (rows > this.maxRows || cols > this.maxCols) throw new RangeError(`block ${rows}×${cols} exceeds capacity`);
    this.rows = rows;
    this.cols = cols;
    return this;
  }
}

/** One layer's infinite-width map, applied in place to a block. */
export type KernelMap = (k: KernelBlock) => void;

/** Compose maps left to right: serial(a, b)(k) = b(a(k)). */
export const serial =
  (...maps: KernelMap[]): KernelMap =>
  (k) => {
    for (const m of maps) m(k);
  };

/**
 * Dense layer of free weights, NTK parametrization, W ~ N(0, 1), no bias: the covariance is unchanged
 * (inputs are already scaled) and the layer's own weights add Σ to the tangent kernel: Θ ← Θ + Σ.
 */
export const dense = (): KernelMap => (k) => {
  const n = k.rows * k.cols, s = k.nngp, t = k.ntk;
  for (let e = 0; e < n; e++) t[e] += s[e];
};

/**
 * ReLU, exact: Σ ← κ1(Σ), Θ ← Θ·κ0(Σ) (dual.ts). Variances are unchanged (κ1 = a on the diagonal).
 */
export const relu = (): KernelMap => (k) => {
  const { rows, cols, nngp, ntk, var1, var2, s1, i1, s2, i2 } = k;
  for (let j = 0; j < cols; j++) {
    s2[j] = Math.sqrt(var2[j]);
    i2[j] = invSqrt0(s2[j]);
  }
  for (let i = 0; i < rows; i++) {
    s1[i] = Math.sqrt(var1[i]);
    i1[i] = invSqrt0(s1[i]);
  }
  for (let i = 0; i < rows; i++) {
    const sa = s1[i], ia = i1[i], row = i * cols;
    for (let j = 0; j < cols; j++) {
      const e = row + j;
      const d = reluDual(nngp[e], sa, ia, s2[j], i2[j]);
      nngp[e] = d.k1;
      ntk[e] *= d.k0;
    }
  }
};

/**
 * A dense layer of g whose weights are outputs of f (exact): its weights have covariance Σ_f(x, x') across
 * the two points, so crossing it multiplies by Σ_f forward and backward, while its own weights contribute the
 * incoming covariance with no Σ_f:
 *   S ← Σ_f ⊙ F,   K ← F + Σ_f ⊙ K,   var ← var_f · var.
 * `f` must be a block of the same shape holding Σ_f (nngp) and its diagonal (var1, var2) for the same pairs.
 */
export const producedDense =
  (f: KernelBlock): KernelMap =>
  (k) => {
    const n = k.rows * k.cols, s = k.nngp, t = k.ntk, sf = f.nngp;
    for (let e = 0; e < n; e++) {
      const c = s[e], m = sf[e];
      t[e] = c + m * t[e];
      s[e] = m * c;
    }
    for (let i = 0; i < k.rows; i++) k.var1[i] *= f.var1[i];
    for (let j = 0; j < k.cols; j++) k.var2[j] *= f.var2[j];
  };

/* ---------------------------------------------------------------------------------------------------------------
 * Paper-code mode: the maps of `hyperkernel/kernels_image_completion.py` (TomerGalanti/InfiniteWidthHypernets).
 * The entry itself is taken as the correlation (the code assumes unit variances and never renormalises), shrunk by
 * 1e−4 toward 0 before the arccos (dual.ts, paperReluDual).
 * ------------------------------------------------------------------------------------------------------------- */

function paperReluInPlace(k: KernelBlock, f: KernelBlock | null): void {
  const { rows, cols, nngp, ntk, var1, var2 } = k;
  const n = rows * cols, sf = f?.nngp;
  for (let e = 0; e < n; e++) {
    const d = paperReluDual(sf ? nngp[e] * sf[e] : nngp[e]);
    nngp[e] = d.k1;
    ntk[e] *= d.k0;
  }
  // The diagonal drifts the same way (κ1 of a shrunk 1 is not 1); keep var consistent with it.
  for (let i = 0; i < rows; i++) var1[i] = paperReluDual(f ? var1[i] * f.var1[i] : var1[i]).k1;
  for (let j = 0; j < cols; j++) var2[j] = paperReluDual(f ? var2[j] * f.var2[j] : var2[j]).k1;
}

/** ReLU as the official code computes it (shrunk raw correlation). */
export const paperRelu = (): KernelMap => (k) => paperReluInPlace(k, null);

/**
 * The official code's g layer: Σ_f enters only the ReLU's input (ρ = shrink(Σ_f ⊙ F)); the backward product and
 * the returned GP kernel carry no Σ_f. Use with plain dense() between: serial(dense(), paperProducedRelu(f), dense()).
 */
export const paperProducedRelu =
  (f: KernelBlock): KernelMap =>
  (k) =>
    paperReluInPlace(k, f);

/** Which kernel formulas: the exact infinite-width limit or the official code's. */
export type KernelMode = 'exact' | 'paper-code';

/**
 * A layer's infinite-width map (architecture.ts). `f` is the block holding Σ_f for the same pairs when the layers
 * are g's (its weights are produced by f), null for a network of free weights (f itself, the MLP baseline).
 *   exact:      dense, gWeights → dense;  relu → relu;  producedDense → producedDense(f)
 *               (g: K_GP = nngp, K_g = ntk).
 *   paper-code: dense, gWeights → dense;  relu → paperRelu (f's, the MLP's) or paperProducedRelu(f) (g's);
 *               producedDense → dense (g: its GP kernel F^{L−1} = nngp, its K_g = ntk).
 */
export function layerMap(layer: Layer, mode: KernelMode, f: KernelBlock | null): KernelMap {
  if (layer.bias) throw new Error('kernel maps: layers with biases have no analytic kernel here');
  switch (layer.kind) {
    case 'linear':
      throw new Error("kernel maps: the paper-code g's linear layer has no analytic kernel here");
    case 'dense':
    case 'gWeights':
      return dense();
    case 'relu':
      if (mode === 'exact') return relu();
      return f ? paperProducedRelu(f) : paperRelu();
    case 'producedDense':
      if (!f) throw new Error('kernel maps: a producedDense layer needs the block of Σ_f');
      return mode === 'exact' ? producedDense(f) : dense();
  }
}

/** The map of a layer list: serial over its layers' maps. */
export const layersMap = (layers: readonly Layer[], mode: KernelMode, f: KernelBlock | null = null): KernelMap =>
  serial(...layers.map((l) => layerMap(l, mode, f)));
