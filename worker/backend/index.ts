/**
 * Choosing the TensorFlow.js backend. Every backend is loaded lazily and offline; asking for one that cannot run
 * here throws a HypersweepError saying why (never a silent fallback). `auto` tries tensorflow, webgpu, native
 * (wasm with native matmuls, see native.ts), then wasm, printing one line when native cannot load. Its webgpu
 * probe runs in a child process first, so that what Dawn and the Vulkan loader print on a machine without a usable
 * GPU stays out of the output (shown with HYPERSWEEP_VERBOSE=1, set by `--verbose`).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { HypersweepError } from '../../core/errors.js';
import { backendNames, BackendUnavailableError, HOST_MEMORY_FROM_BYTES, nativeHostMemory, WASM_HEAP_MAX_BYTES, type BackendName } from '../../core/backend.js';
import { registerGradients } from './gradients.js';
import { pinnedVersions, setHostMatMul, setNativeMatMul } from './native.js';
import { applyWasmPatches } from './wasm-patches.js';

export { backendNames, type BackendName, BackendUnavailableError } from '../../core/backend.js';

export interface BackendInfo {
  /** 'native' (the wasm backend with native matmuls), 'wasm', 'cpu', 'tensorflow' or 'webgpu'. */
  name: string;
  /** What computes, in words: 'cpu (wasm SIMD, 1 thread)', the GPU adapter, … */
  device: string;
  /** tfjs-core version (plus the backend package's where it differs). */
  version: string;
  /** webgpu: the adapter's buffer limits (the memory estimate checks the largest tensor against them). */
  gpu?: { maxBufferSize: number; maxStorageBufferBindingSize: number };
  /** native's mode: true in host memory (tensors are JS arrays in the machine's memory), false in the wasm heap. */
  hostMemory?: boolean;
}

/** What the trial about to run needs (from its memory estimate), so `native` can pick its mode. */
export interface BackendNeeds {
  /** Bytes of tensors in wasm-heap mode (`estimateTrialCost(config, { name: 'wasm' })`): core/backend.ts nativeHostMemory. */
  tensorBytes: number;
}

const require = createRequire(import.meta.url);

function reason(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0] ?? msg;
}

/** The wasm backend, patched, with its native matmuls off. */
async function useWasm(): Promise<BackendInfo> {
  const info = await initWasm();
  setNativeMatMul(false);
  return info;
}

/** The wasm backend with its large matmuls on onnxruntime-node's MLAS (native.ts). */
async function useNative(): Promise<BackendInfo> {
  const info = await initWasm();
  const why = setNativeMatMul(true);
  if (why) throw new BackendUnavailableError('native', why);
  return { name: 'native', device: 'cpu (wasm SIMD + onnxruntime MLAS matmuls, 1 thread)', version: `${info.version}, onnxruntime-node ${pinnedVersions['onnxruntime-node']}`, hostMemory: false };
}

/**
 * native in host-memory mode (native-host.ts): the cpu backend's JS arrays, its large matmuls on MLAS. Chosen by
 * `native` (and `auto` where it lands on native) for a large trial (core/backend.ts nativeHostMemory).
 */
async function useNativeHost(): Promise<BackendInfo> {
  const info = await useCpu();
  const why = setHostMatMul(true);
  if (why) throw new BackendUnavailableError('native', why);
  return {
    name: 'native',
    device: 'cpu (JS arrays in host memory + onnxruntime MLAS matmuls, 1 thread)',
    version: `${info.version}, onnxruntime-node ${pinnedVersions['onnxruntime-node']}`,
    hostMemory: true,
  };
}

async function initWasm(): Promise<BackendInfo> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  if (tf.getBackend() !== 'wasm' || !tf.findBackend('wasm')) {
    // The .wasm binaries ship in the package's dist/: load them from disk, never from a URL.
    const dist = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep;
    wasm.setWasmPaths(dist);
    const ok = await tf.setBackend('wasm');
    if (!ok) throw new BackendUnavailableError('wasm', `could not initialise the WebAssembly module from ${dist}`);
  }
  applyWasmPatches();
  return { name: 'wasm', device: 'cpu (wasm SIMD, 1 thread)', version: `tfjs-core ${tf.version_core}, tfjs-backend-wasm ${wasm.version_wasm}` };
}

async function useCpu(): Promise<BackendInfo> {
  const cpu = await import('@tensorflow/tfjs-backend-cpu');
  if (!(await tf.setBackend('cpu'))) throw new BackendUnavailableError('cpu', 'tf.setBackend(cpu) failed');
  setHostMatMul(false);
  // The cpu backend prints a multi-line "install tfjs-node" banner on its first write; we chose cpu on purpose.
  (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
  return { name: 'cpu', device: 'cpu (pure JavaScript)', version: `tfjs-core ${tf.version_core}, tfjs-backend-cpu ${cpu.version_cpu}` };
}

/** Dynamic import through a variable so TypeScript does not need the optional packages' types. */
async function importOptional(pkg: string): Promise<unknown> {
  return import(pkg) as Promise<unknown>;
}

async function useTensorflow(): Promise<BackendInfo> {
  const failures: string[] = [];
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      await importOptional(pkg);
    } catch (e) {
      failures.push(`${pkg}: ${reason(e)}`);
      continue;
    }
    if (!(await tf.setBackend('tensorflow'))) {
      failures.push(`${pkg}: loaded, but tf.setBackend(tensorflow) failed`);
      continue;
    }
    const gpu = pkg.endsWith('-gpu');
    return { name: 'tensorflow', device: gpu ? 'libtensorflow (CUDA)' : 'libtensorflow (cpu)', version: `tfjs-core ${tf.version_core}, ${pkg}` };
  }
  throw new BackendUnavailableError('tensorflow', failures.join('; '));
}

interface WebGpuModule {
  create(args: string[]): {
    requestAdapter(): Promise<{
      info?: { vendor?: string; architecture?: string; device?: string; description?: string };
      limits?: { maxBufferSize?: number; maxStorageBufferBindingSize?: number };
    } | null>;
  };
  globals?: Record<string, unknown>;
}

/** Where the dynamic loader looks for libraries on Linux (enough to tell whether a Vulkan loader exists at all). */
function linuxLibraryDirs(): string[] {
  const dirs = (process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean);
  dirs.push('/lib', '/lib64', '/usr/lib', '/usr/lib64', '/usr/local/lib', `/usr/lib/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`,
    `/lib/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`);
  try {
    for (const f of readdirSync('/etc/ld.so.conf.d')) {
      for (const line of readFileSync(path.join('/etc/ld.so.conf.d', f), 'utf8').split('\n')) {
        const d = line.trim();
        if (d.startsWith('/')) dirs.push(d);
      }
    }
  } catch {
    // no ld.so.conf.d: the standard directories above
  }
  return dirs;
}

/** Whether the Vulkan loader can find any driver manifest (ICD), searching where the loader itself looks. */
function hasVulkanDriverManifest(): boolean {
  const env = process.env;
  const files = [env.VK_DRIVER_FILES, env.VK_ICD_FILENAMES, env.VK_ADD_DRIVER_FILES].flatMap((v) => (v ? v.split(':') : []));
  if (files.some((f) => f && existsSync(f))) return true;
  const configDirs = (env.XDG_CONFIG_DIRS || '/etc/xdg').split(':');
  const dataDirs = [env.XDG_DATA_HOME || path.join(env.HOME ?? '/root', '.local/share'), ...(env.XDG_DATA_DIRS || '/usr/local/share:/usr/share').split(':')];
  const dirs = [...configDirs, '/etc', ...dataDirs].filter(Boolean).map((d) => path.join(d, 'vulkan', 'icd.d'));
  return dirs.some((d) => {
    try {
      return readdirSync(d).some((f) => f.endsWith('.json'));
    } catch {
      return false;
    }
  });
}

/**
 * Dawn prints native warnings when it probes Vulkan on a machine without a GPU driver: check first for the loader
 * (libvulkan.so.1) and for a driver manifest, the two things a CPU-only machine lacks.
 */
function assertVulkanLoader(): void {
  if (process.platform !== 'linux') return;
  if (!linuxLibraryDirs().some((d) => existsSync(path.join(d, 'libvulkan.so.1')))) {
    throw new BackendUnavailableError('webgpu', 'no Vulkan loader (libvulkan.so.1); install libvulkan1 and the GPU driver');
  }
  if (!hasVulkanDriverManifest()) {
    throw new BackendUnavailableError('webgpu', 'no Vulkan driver (no ICD manifest in the vulkan/icd.d folders or VK_DRIVER_FILES)');
  }
}

async function useWebgpu(): Promise<BackendInfo> {
  assertVulkanLoader();
  let gpuMod: WebGpuModule;
  try {
    gpuMod = (await importOptional('webgpu')) as WebGpuModule;
  } catch (e) {
    throw new BackendUnavailableError('webgpu', `npm package webgpu did not load (${reason(e)})`);
  }
  const gpu = gpuMod.create([]);
  const adapter = await gpu.requestAdapter();
  if (!adapter) throw new BackendUnavailableError('webgpu', 'no GPU adapter (needs libvulkan1 and a GPU Vulkan driver)');
  // tfjs-backend-webgpu finds the GPU through navigator.gpu and uses the WebGPU globals (GPUBufferUsage, …).
  if (gpuMod.globals) Object.assign(globalThis, gpuMod.globals);
  // Node ≥ 21 has a read-only navigator getter: define the property instead of assigning it.
  Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  const wgpu = await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) throw new BackendUnavailableError('webgpu', 'tf.setBackend(webgpu) failed');
  const i = adapter.info ?? {};
  const device = [i.vendor, i.architecture, i.device, i.description].filter((s) => s).join(' ') || 'WebGPU adapter';
  const lim = adapter.limits;
  const limits = lim?.maxBufferSize && lim.maxStorageBufferBindingSize
    ? { maxBufferSize: lim.maxBufferSize, maxStorageBufferBindingSize: lim.maxStorageBufferBindingSize }
    : undefined;
  return { name: 'webgpu', device, ...(limits ? { gpu: limits } : {}), version: `tfjs-core ${tf.version_core}, tfjs-backend-webgpu ${wgpu.WebGPUBackend ? tf.version_core : "?"}` };
}

/** What the child-process probe found: a hardware adapter, or why not, and what the native code printed. */
interface GpuProbe {
  ok: boolean;
  why: string;
  stderr: string;
}

/** Adapters that are Vulkan on the CPU (mesa's lavapipe, SwiftShader): slower than native, never chosen by auto. */
const SOFTWARE_ADAPTER = /llvmpipe|lavapipe|swiftshader|software/i;

/** The child: request an adapter and print what it is as one JSON line on stdout (native warnings go to its stderr). */
const PROBE_SCRIPT = `
const m = await import(process.argv[1]);
const a = await m.create([]).requestAdapter();
const i = a?.info ?? {};
process.stdout.write(JSON.stringify(a ? { adapter: [i.vendor, i.architecture, i.device, i.description].filter(Boolean).join(' '), fallback: a.isFallbackAdapter === true || i.isFallbackAdapter === true } : { adapter: null }) + '\\n');
process.exit(0);
`;

let gpuProbe: GpuProbe | null = null;

/** Probe WebGPU once per process, in a child process whose stderr is kept (and shown only when verbose). */
export function probeGpuQuietly(): GpuProbe {
  if (gpuProbe) return gpuProbe;
  let entry: string;
  try {
    entry = import.meta.resolve('webgpu');
  } catch (e) {
    return (gpuProbe = { ok: false, why: `npm package webgpu not found (${reason(e)})`, stderr: '' });
  }
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', PROBE_SCRIPT, entry], { encoding: 'utf8', timeout: 30_000, env: process.env });
  const stderr = r.stderr ?? '';
  const line = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  let found: { adapter: string | null; fallback?: boolean } | null = null;
  try {
    found = JSON.parse(line) as { adapter: string | null; fallback?: boolean };
  } catch {
    found = null;
  }
  if (!found) gpuProbe = { ok: false, why: `the WebGPU probe failed (${r.error ? reason(r.error) : `exit ${r.status ?? r.signal}`})`, stderr };
  else if (found.adapter === null) gpuProbe = { ok: false, why: 'no GPU adapter (needs libvulkan1 and a GPU Vulkan driver)', stderr };
  else if (found.fallback || SOFTWARE_ADAPTER.test(found.adapter)) gpuProbe = { ok: false, why: `only a software adapter (${found.adapter})`, stderr };
  else gpuProbe = { ok: true, why: found.adapter, stderr };
  if (process.env.HYPERSWEEP_VERBOSE === '1' && stderr.trim()) {
    process.stderr.write(stderr.trim().split('\n').map((l) => `hypersweep: webgpu probe: ${l}\n`).join(''));
  }
  return gpuProbe;
}

/** `auto`'s webgpu: the quiet probe first; only a hardware adapter is loaded in this process. */
async function useWebgpuIfQuietlyFound(): Promise<BackendInfo> {
  assertVulkanLoader();
  const p = probeGpuQuietly();
  if (!p.ok) throw new BackendUnavailableError('webgpu', p.why);
  return useWebgpu();
}

/**
 * Throws when the active backend cannot read tensors synchronously (webgpu in Node has no dataSync), naming the
 * async variant to use instead. A bug in the caller, not a user error.
 */
export function assertSyncReadable(what: string): void {
  if (tf.getBackend() === 'webgpu') {
    throw new Error(`${what}: the webgpu backend has no synchronous read in Node; use the …Async variant`);
  }
}

const loaders: Record<Exclude<BackendName, 'auto'>, () => Promise<BackendInfo>> = {
  native: useNative,
  wasm: useWasm,
  cpu: useCpu,
  tensorflow: useTensorflow,
  webgpu: useWebgpu,
};

/** The tfjs backend under a hypersweep backend name. */
const tfjsName = (info: BackendInfo) => (info.hostMemory ? 'cpu' : info.name === 'native' ? 'wasm' : info.name);

/**
 * Make `name` the active tfjs backend (patched on wasm) and register hypersweep's gradients.
 * `auto`: tensorflow, then webgpu, then native, then wasm.
 */
export async function selectBackend(name: BackendName, needs?: BackendNeeds): Promise<BackendInfo> {
  // A worker thread runs many trials: probe once per requested name, then reuse the backend it chose.
  const known = selected.get(name);
  if (known?.name === 'native') {
    if (wantsHostMemory(needs)) return hostMode(name, needs);
    if (tf.getBackend() !== 'wasm') await useNative(); // back from host-memory mode
  }
  if (known && tf.getBackend() === tfjsName(known)) {
    if (known.name === 'native' || known.name === 'wasm') setNativeMatMul(known.name === 'native');
    if (known.name === 'cpu') setHostMatMul(false);
    return known;
  }
  const info = await activate(name);
  registerGradients();
  selected.set(name, info);
  if (info.name === 'native' && wantsHostMemory(needs)) return hostMode(name, needs);
  return info;
}

/** native's host-memory mode: for large trials (core/backend.ts nativeHostMemory), or forced by HYPERSWEEP_NATIVE_MEMORY. */
function wantsHostMemory(needs?: BackendNeeds): boolean {
  return nativeHostMemory(needs?.tensorBytes ?? 0);
}

/** Switch native to host-memory mode, saying so (and why) in one line. */
async function hostMode(name: BackendName, needs?: BackendNeeds): Promise<BackendInfo> {
  const info = await useNativeHost();
  registerGradients();
  const mb = (b: number) => Math.ceil(b / 2 ** 20);
  const t = needs?.tensorBytes ?? 0;
  const why = process.env.HYPERSWEEP_NATIVE_MEMORY === 'host' ? 'HYPERSWEEP_NATIVE_MEMORY=host'
    : t > WASM_HEAP_MAX_BYTES ? `the trial's tensors (about ${mb(t)} MB) exceed the wasm heap (${mb(WASM_HEAP_MAX_BYTES)} MB)`
    : `the trial's tensors (about ${mb(t)} MB) are over ${mb(HOST_MEMORY_FROM_BYTES)} MB (the wasm heap would keep more of them)`;
  process.stderr.write(`hypersweep: backend ${name}: ${why}: running native in host-memory mode (JS arrays + MLAS matmuls)\n`);
  return info;
}

const selected = new Map<BackendName, BackendInfo>();

async function activate(name: BackendName): Promise<BackendInfo> {
  if (!(backendNames as readonly string[]).includes(name)) {
    throw new HypersweepError(`unknown backend '${String(name)}': use one of ${backendNames.join(', ')}`);
  }
  if (name !== 'auto') {
    try {
      return await loaders[name]();
    } catch (e) {
      if (e instanceof HypersweepError) throw e;
      throw new BackendUnavailableError(name, reason(e));
    }
  }
  const tried: string[] = [];
  for (const load of [useTensorflow, useWebgpuIfQuietlyFound]) {
    try {
      return await load();
    } catch (e) {
      tried.push(reason(e));
    }
  }
  try {
    return await useNative();
  } catch (e) {
    tried.push(reason(e));
    if (!nativeFallbackSaid) process.stderr.write(`hypersweep: ${reason(e)}; using wasm\n`);
    nativeFallbackSaid = true;
  }
  try {
    return await useWasm();
  } catch (e) {
    throw new BackendUnavailableError('auto', [...tried, reason(e)].join('; '));
  }
}

/** The native-to-wasm fallback line is printed once per process. */
let nativeFallbackSaid = false;
