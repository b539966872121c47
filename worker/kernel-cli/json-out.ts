import type { Gram } from '../kernels/index.js';

/**
 * Write a JSON value whose leaves may be Gram matrices (as arrays of rows) to a stream piece by piece, so the
 * output may exceed V8's largest string (3,000 points: six 3000×3000 matrices, about 1 GB of JSON). The bytes are
 * those of JSON.stringify on the same value with toRows() matrices.
 */
export type JsonOut = string | number | boolean | null | Gram | { [key: string]: JsonOut };

const isGram = (v: JsonOut): v is Gram => typeof v === 'object' && v !== null && (v as Gram).data instanceof Float64Array;

function* pieces(v: JsonOut): Generator<string> {
  if (isGram(v)) {
    yield '[';
    for (let i = 0; i < v.rows; i++) {
      yield (i ? ',' : '') + JSON.stringify(Array.from(v.data.subarray(i * v.cols, (i + 1) * v.cols)));
    }
    yield ']';
  } else if (typeof v === 'object' && v !== null) {
    yield '{';
    let first = true;
    for (const [k, x] of Object.entries(v)) {
      yield `${first ? '' : ','}${JSON.stringify(k)}:`;
      first = false;
      yield* pieces(x);
    }
    yield '}';
  } else {
    yield JSON.stringify(v);
  }
}

/** Write `value` and a newline, in chunks of about `chunkBytes`, waiting for 'drain' when the stream is full. */
export async function writeJson(out: NodeJS.WritableStream, value: JsonOut, chunkBytes = 1 << 20): Promise<void> {
  let buf = '';
  const flush = async (s: string) => {
    if (!out.write(s)) await new Promise<void>((resolve) => out.once('drain', resolve));
  };
  for (const p of pieces(value)) {
    buf += p;
    if (buf.length >= chunkBytes) {
      await flush(buf);
      buf = '';
    }
  }
  await flush(`${buf}\n`);
}
