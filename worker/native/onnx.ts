/**
 * Serialising the few one-node ONNX models the native compute path runs (MatMul, Gemm, FusedMatMul), without a
 * protobuf library: ONNX models are protobuf messages (onnx.proto, ModelProto), and the fields used here are
 * varints, length-delimited strings/messages and one fixed32 float.
 */

/** ONNX TensorProto.DataType codes used here. */
export const onnxFloat = 1;
export const onnxDouble = 11;
export type OnnxElemType = typeof onnxFloat | typeof onnxDouble;

class Writer {
  private readonly bytes: number[] = [];

  varint(v: number): void {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`onnx: varint ${v}`);
    while (v >= 0x80) {
      this.bytes.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.bytes.push(v);
  }

  /** A varint field (wire type 0). */
  int(field: number, v: number): this {
    this.varint(field * 8);
    this.varint(v);
    return this;
  }

  /** A float field (wire type 5). */
  float(field: number, v: number): this {
    this.varint(field * 8 + 5);
    const b = new Uint8Array(new Float32Array([v]).buffer);
    this.bytes.push(...b);
    return this;
  }

  /** A length-delimited field (wire type 2): a string or an embedded message. */
  bytesField(field: number, data: Uint8Array): this {
    this.varint(field * 8 + 2);
    this.varint(data.length);
    for (const b of data) this.bytes.push(b);
    return this;
  }

  str(field: number, s: string): this {
    return this.bytesField(field, new TextEncoder().encode(s));
  }

  msg(field: number, w: Writer): this {
    return this.bytesField(field, w.finish());
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

/** A dimension: a fixed size or a symbolic name. */
export type Dim = number | string;

export interface ValueInfo {
  name: string;
  elemType: OnnxElemType;
  dims: Dim[];
}

export type AttrValue = { f: number } | { i: number };

export interface OnnxNode {
  op: string;
  /** '' (the default ONNX domain) or 'com.microsoft' (onnxruntime's contrib ops, e.g. FusedMatMul). */
  domain?: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, AttrValue>;
}

function valueInfo(v: ValueInfo): Writer {
  const shape = new Writer();
  for (const d of v.dims) shape.msg(1, typeof d === 'number' ? new Writer().int(1, d) : new Writer().str(2, d));
  const tensorType = new Writer().int(1, v.elemType).msg(2, shape);
  return new Writer().str(1, v.name).msg(2, new Writer().msg(1, tensorType));
}

function node(n: OnnxNode): Writer {
  const w = new Writer();
  for (const i of n.inputs) w.str(1, i);
  for (const o of n.outputs) w.str(2, o);
  w.str(4, n.op);
  for (const [name, v] of Object.entries(n.attrs ?? {})) {
    // AttributeProto: name = 1, f = 2, i = 3, type = 20 (FLOAT = 1, INT = 2)
    const a = new Writer().str(1, name);
    if ('f' in v) a.float(2, v.f).int(20, 1);
    else a.int(3, v.i).int(20, 2);
    w.msg(5, a);
  }
  if (n.domain) w.str(7, n.domain);
  return w;
}

/** A ModelProto (IR version 8, opset 17, plus com.microsoft 1 when a node uses it) holding one graph. */
export function onnxModel(nodes: OnnxNode[], inputs: ValueInfo[], outputs: ValueInfo[]): Uint8Array {
  const graph = new Writer();
  for (const n of nodes) graph.msg(1, node(n));
  graph.str(2, 'hypersweep');
  for (const i of inputs) graph.msg(11, valueInfo(i));
  for (const o of outputs) graph.msg(12, valueInfo(o));
  const model = new Writer().int(1, 8).str(2, 'hypersweep');
  model.msg(8, new Writer().str(1, '').int(2, 17));
  if (nodes.some((n) => n.domain === 'com.microsoft')) model.msg(8, new Writer().str(1, 'com.microsoft').int(2, 1));
  model.msg(7, graph);
  return model.finish();
}
