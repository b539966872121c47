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
  | 'producedDense';

export interface Layer {
  readonly kind: LayerKind;
}

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

/** f with H weight layers: dense, relu, …, gWeights. */
export const fLayers = (H: number): Layer[] => stack(H, 'dense', 'gWeights');

/** g with L weight layers: producedDense, relu, …, producedDense. */
export const gLayers = (L: number): Layer[] => stack(L, 'producedDense', 'producedDense');

/** The hypernetwork with H weight layers in f and L in g (counts of weight layers, each ≥ 1). */
export const hypernetArchitecture = (depths: { H: number; L: number }): Architecture => ({
  f: fLayers(depths.H),
  g: gLayers(depths.L),
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
}

/** A layer with the sizes a finite network gives it: `fanIn` inputs, `width` outputs (relu: width = fanIn). */
export interface SizedLayer {
  readonly kind: LayerKind;
  readonly fanIn: number;
  readonly width: number;
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
    const width = l.kind === 'relu' ? fanIn : i === lastWeights ? s.k : s.m;
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
  const f = arch.f.map((l) => {
    const width = l.kind === 'relu' ? fanIn : l.kind === 'gWeights' ? ng : s.n;
    const sized = { kind: l.kind, fanIn, width };
    fanIn = width;
    return sized;
  });
  return { f, g };
}

/** The sized hypernetwork of a spec. */
export const sizedHypernet = (s: HyperNetSpec): SizedArchitecture => sizeArchitecture(hypernetArchitecture(s), s);

/** A relu layer's factor √(2/w) on its w inputs (NTK parametrization). */
export const reluScale = (l: SizedLayer): number => Math.sqrt(2 / l.fanIn);

/** Free parameters of f: Σ over its weight layers of fanIn·width. */
export const fParamsOf = (f: readonly SizedLayer[]): number =>
  f.reduce((sum, l) => (l.kind === 'relu' ? sum : sum + l.fanIn * l.width), 0);

/** Σ of the widths of a list's hidden (relu) layers: the activations one sample keeps per pre- or post-activation. */
export const hiddenUnitsOf = (layers: readonly SizedLayer[]): number =>
  layers.reduce((sum, l) => (l.kind === 'relu' ? sum + l.width : sum), 0);
