/**
 * The hypernetwork's architecture, described once: two layer lists, f's and g's. Everything that depends on the
 * architecture reads these lists — the finite network's parameters and forward pass (worker/model/hypernet.ts),
 * its structured empirical NTK (worker/model/empirical.ts), the infinite-width kernel maps (maps.ts: `layerMaps`)
 * and the cost model (worker/model/cost.ts). As in neural-tangents' stax, a layer has a finite side (its
 * parameters and apply) and an infinite-width side (its kernel map), and a network is the fold of its layers.
 *
 *   f = dense, relu, dense, relu, …, gWeights        H weight layers (H − 1 hidden ReLU layers of width n)
 *   g = producedDense, relu, …, producedDense        L weight layers (L − 1 hidden ReLU layers of width m)
 *
 * NTK parametrization, all weights N(0, 1), no biases. A `relu` layer computes √(2/w)·relu(·) on its w inputs: the
 * 1/√w of the next weight layer and the √2 that keeps activations at unit scale are folded into it, so a weight
 * layer is a plain product. f's last layer `gWeights` is a dense layer to N_g outputs, read row-major as g's weights:
 * one block per `producedDense` layer of g, in order.
 *
 * Beyond the model (finite networks only; the analytic kernels are the model's): a weight layer of f may carry a
 * bias (`bias: true`), the official rotation code's g has a `linear` layer (no ReLU) after its second weight layer,
 * and the `standard` parametrization (PyTorch's nn.Linear) drops every √(·/w) factor (activationScale).
 */

/** What a layer computes. */
export type LayerKind =
  /** A product with a free weight matrix W ~ N(0, 1) (f's hidden layers). */
  | 'dense'
  /** √(2/w)·relu(·) on w inputs. */
  | 'relu'
  /** f's output layer: a free dense layer to N_g outputs, which are g's weights. */
  | 'gWeights'
  /** A layer of g whose weight matrix is one block of f's output (different for every x). */
  | 'producedDense'
  /** The identity in place of a relu (the paper-code g): √(1/w)·(·) in the NTK parametrization. */
  | 'linear';

export interface Layer {
  readonly kind: LayerKind;
  /** A weight layer of f with a bias vector added to its output. */
  readonly bias?: boolean;
}

/** 'ntk': the model's parametrization; 'standard': PyTorch's nn.Linear (U(±1/√fan_in) init, no factors). */
export type Parametrization = 'ntk' | 'standard';
/** g's variant: the model's (a relu between every two weight layers) or the official rotation code's. */
export type GVariant = 'model' | 'paper-code';

/** The two layer lists of a hypernetwork. */
export interface Architecture {
  readonly f: readonly Layer[];
  readonly g: readonly Layer[];
}

const layer = (kind: LayerKind): Layer => ({ kind });

/** A stack of `depth` weight layers of kind `weights` (the last one `last`) with a relu between each two. */
function stack(depth: number, weights: LayerKind, last: LayerKind): Layer[] {
  const layers: Layer[] = [];
  for (let l = 1; l <= depth; l++) {
    if (l > 1) layers.push(layer('relu'));
    layers.push(layer(l === depth ? last : weights));
  }
  return layers;
}

/** f with H weight layers: dense, relu, …, gWeights (each weight layer with a bias when `biases`). */
export const fLayers = (H: number, biases = false): Layer[] =>
  stack(H, 'dense', 'gWeights').map((l) => (biases && l.kind !== 'relu' ? { kind: l.kind, bias: true } : l));

/**
 * g with L weight layers: producedDense, relu, …, producedDense. 'paper-code' (L ≥ 3): the relu after the second
 * weight layer is `linear` (the official rotation code's g: Linear, ReLU, Linear, Linear for L = 3).
 */
export function gLayers(L: number, variant: GVariant = 'model'): Layer[] {
  const layers = stack(L, 'producedDense', 'producedDense');
  if (variant === 'paper-code') {
    if (L < 3) throw new RangeError(`gLayers: the paper-code g needs L ≥ 3, got ${L}`);
    layers[3] = layer('linear');
  }
  return layers;
}

/** The hypernetwork with H weight layers in f and L in g (counts of weight layers, each ≥ 1). */
export const hypernetArchitecture = (d: { H: number; L: number; fBiases?: boolean; gVariant?: GVariant }): Architecture => ({
  f: fLayers(d.H, d.fBiases ?? false),
  g: gLayers(d.L, d.gVariant ?? 'model'),
});

/** The standard ReLU MLP with `depth` weight layers (the baseline beside the hypernetwork). */
export const mlpLayers = (depth: number): Layer[] => stack(depth, 'dense', 'dense');

/** The shape of one hypernetwork: f: R^dx → R^{N_g} (width n, H weight layers); g: R^dz → R^k (width m, L layers). */
export interface HyperNetSpec {
  dx: number;
  dz: number;
  n: number;
  H: number;
  m: number;
  L: number;
  k: number;
  /** f's hidden widths (H − 1 of them), replacing n per layer; n is then their largest. Unset: all n. */
  fWidths?: readonly number[];
  /** Biases on f's weight layers. @defaultValue false */
  fBiases?: boolean;
  /** @defaultValue 'model' */
  gVariant?: GVariant;
  /** @defaultValue 'ntk' */
  parametrization?: Parametrization;
}

/** A layer with the sizes a finite network gives it: `fanIn` inputs, `width` outputs (relu: width = fanIn). */
export interface SizedLayer {
  readonly kind: LayerKind;
  readonly fanIn: number;
  readonly width: number;
  readonly bias?: boolean;
}

export interface SizedArchitecture {
  readonly f: readonly SizedLayer[];
  readonly g: readonly SizedLayer[];
}

/**
 * Sizes for g's layers: input dz, hidden width m, output k (only dz, m, k of the spec are read). The weight matrix of
 * a producedDense layer is width × fanIn, row-major in f's output.
 */
export function sizeG(g: readonly Layer[], s: Pick<HyperNetSpec, 'dz' | 'm' | 'k'>): SizedLayer[] {
  let lastWeights = -1;
  g.forEach((l, i) => {
    if (l.kind !== 'relu') lastWeights = i;
  });
  let fanIn = s.dz;
  return g.map((l, i) => {
    const width = l.kind === 'relu' || l.kind === 'linear' ? fanIn : i === lastWeights ? s.k : s.m;
    const sized = { kind: l.kind, fanIn, width };
    fanIn = width;
    return sized;
  });
}

/** N_g: the number of g's weights, i.e. f's output size (Σ over producedDense layers of width·fanIn). */
export const gWeightsOf = (g: readonly SizedLayer[]): number =>
  g.reduce((sum, l) => (l.kind === 'producedDense' ? sum + l.width * l.fanIn : sum), 0);

/** Sizes for both lists: f's input dx, hidden width n, output N_g; g as in sizeG. */
export function sizeArchitecture(arch: Architecture, s: HyperNetSpec): SizedArchitecture {
  const g = sizeG(arch.g, s);
  const ng = gWeightsOf(g);
  let fanIn = s.dx;
  let dense = 0;
  const f = arch.f.map((l) => {
    const width = l.kind === 'relu' ? fanIn : l.kind === 'gWeights' ? ng : (s.fWidths?.[dense++] ?? s.n);
    const sized: SizedLayer = l.bias ? { kind: l.kind, fanIn, width, bias: true } : { kind: l.kind, fanIn, width };
    fanIn = width;
    return sized;
  });
  return { f, g };
}

/** The sized hypernetwork of a spec. */
export const sizedHypernet = (s: HyperNetSpec): SizedArchitecture =>
  sizeArchitecture(hypernetArchitecture({ H: s.H, L: s.L, fBiases: s.fBiases, gVariant: s.gVariant }), s);

/** A relu layer's factor √(2/w) on its w inputs (NTK parametrization). */
export const reluScale = (l: SizedLayer): number => Math.sqrt(2 / l.fanIn);

/**
 * The factor an activation layer (relu, linear) multiplies by: in the NTK parametrization √(2/w) for a relu (its
 * √2 and the next layer's 1/√w) and √(1/w) for a linear layer; 1 in the standard parametrization.
 */
export const activationScale = (l: SizedLayer, p: Parametrization): number =>
  p === 'standard' ? 1 : l.kind === 'linear' ? Math.sqrt(1 / l.fanIn) : reluScale(l);

/** Free parameters of f: Σ over its weight layers of fanIn·width (+ width for a bias). */
export const fParamsOf = (f: readonly SizedLayer[]): number =>
  f.reduce((sum, l) => (l.kind === 'relu' ? sum : sum + l.fanIn * l.width + (l.bias ? l.width : 0)), 0);

/** Σ of the widths of a list's hidden (relu) layers: the activations one sample keeps per pre- or post-activation. */
export const hiddenUnitsOf = (layers: readonly SizedLayer[]): number =>
  layers.reduce((sum, l) => (l.kind === 'relu' || l.kind === 'linear' ? sum + l.width : sum), 0);
