/** A dense row-major float64 matrix: entry (i, j) is data[i * cols + j]. */
export interface Gram {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float64Array;
}

export function zeroGram(rows: number, cols: number): Gram {
  return { rows, cols, data: new Float64Array(rows * cols) };
}

/** Copy the upper triangle of a square Gram onto its lower triangle, in place. */
export function mirrorUpper(g: Gram): void {
  const n = g.rows, d = g.data;
  for (let i = 1; i < n; i++) {
    const row = i * n;
    for (let j = 0; j < i; j++) d[row + j] = d[j * n + i];
  }
}

function sameShape(a: Gram, b: Gram, what: string): void {
  if (a.rows !== b.rows || a.cols !== b.cols) {
    throw new RangeError(`${what}: shapes differ (${a.rows}×${a.cols} vs ${b.rows}×${b.cols})`);
  }
}

/** Relative Frobenius distance ‖K̂ − K‖_F / ‖K‖_F. */
export function relFrob(est: Gram, ref: Gram): number {
  sameShape(est, ref, 'relFrob');
  let num = 0, den = 0;
  const e = est.data, r = ref.data;
  for (let i = 0; i < r.length; i++) {
    const diff = e[i] - r[i];
    num += diff * diff;
    den += r[i] * r[i];
  }
  return Math.sqrt(num / den);
}

/** Kernel alignment ⟨A, B⟩_F / (‖A‖_F ‖B‖_F). */
export function alignment(a: Gram, b: Gram): number {
  sameShape(a, b, 'alignment');
  let ab = 0, aa = 0, bb = 0;
  const x = a.data, y = b.data;
  for (let i = 0; i < x.length; i++) {
    ab += x[i] * y[i];
    aa += x[i] * x[i];
    bb += y[i] * y[i];
  }
  return ab / Math.sqrt(aa * bb);
}

/** Entry (i, j) of a Gram. */
export const at = (g: Gram, i: number, j: number): number => g.data[i * g.cols + j];

/** A Gram as an array of row arrays (for JSON). */
export function toRows(g: Gram): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < g.rows; i++) out.push(Array.from(g.data.subarray(i * g.cols, (i + 1) * g.cols)));
  return out;
}
