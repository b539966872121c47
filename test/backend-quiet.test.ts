import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot, runCli } from './helpers/cli.js';

/**
 * `--backend auto` where the Vulkan loader exists but no driver works: Dawn and the loader print warnings from
 * native code (straight to fd 2) when WebGPU is probed. The loader comes from the system, or from Debian's
 * libvulkan1 package unpacked into a temp folder (nothing installed); the driver manifest names a library that
 * does not exist. Skipped where neither is at hand.
 */
const dir = mkdtempSync(join(tmpdir(), 'hs-quiet-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function vulkanLoaderDir(): string | null {
  for (const d of ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib']) {
    if (existsSync(join(d, 'libvulkan.so.1'))) return d;
  }
  const cache = '/var/cache/apt/archives';
  const deb = existsSync(cache) ? readdirSync(cache).find((f) => /^libvulkan1_.*\.deb$/.test(f)) : undefined;
  if (!deb) return null;
  try {
    execFileSync('dpkg-deb', ['-x', join(cache, deb), join(dir, 'vk')], { stdio: 'ignore' });
  } catch {
    return null;
  }
  const found = ['x86_64-linux-gnu', 'aarch64-linux-gnu'].map((a) => join(dir, 'vk', 'usr', 'lib', a)).find((d) => existsSync(join(d, 'libvulkan.so.1')));
  return found ?? null;
}

const loader = process.platform === 'linux' ? vulkanLoaderDir() : null;

function brokenVulkanEnv(): NodeJS.ProcessEnv {
  mkdirSync(join(dir, 'icd'), { recursive: true });
  const icd = join(dir, 'icd', 'broken.json');
  writeFileSync(icd, JSON.stringify({ file_format_version: '1.0.0', ICD: { library_path: join(dir, 'icd', 'libmissing.so'), api_version: '1.3.0' } }));
  const { HYPERSWEEP_VERBOSE: _, ...env } = process.env;
  return { ...env, LD_LIBRARY_PATH: [loader, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':'), VK_ICD_FILENAMES: icd, VK_DRIVER_FILES: icd };
}

/** What Dawn and the Vulkan loader print. */
const noise = /vkCreateInstance|VK_ERROR|loader_icd_scan|XDG_RUNTIME_DIR|Vulkan|dawn/i;

describe.skipIf(loader === null)('auto backend probing on a machine with a Vulkan loader but no usable driver', () => {
  it('prints nothing of the GPU probe, on trial and on run, unless --verbose', async () => {
    const env = brokenVulkanEnv();
    const config = join(repoRoot, 'test', 'fixtures', 'trial-sphere.json');
    const quiet = await runCli(['trial', '--config', config, '--backend', 'auto', '--set', 'train.steps=2', '--json'], { env, timeoutMs: 120_000 });
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).not.toMatch(noise);
    expect((JSON.parse(quiet.stdout) as { backend: string }).backend).toMatch(/^(native|wasm)$/);
    // The same environment does make the noise: --verbose shows it, marked as the probe's.
    const loud = await runCli(['trial', '--config', config, '--backend', 'auto', '--set', 'train.steps=2', '--json', '--verbose'], { env, timeoutMs: 120_000 });
    expect(loud.code).toBe(0);
    expect(loud.stderr).toMatch(/^hypersweep: webgpu probe: .*(vkCreateInstance|VK_ERROR|loader_icd_scan)/m);

    const sweep = join(dir, 'tiny.yaml');
    writeFileSync(sweep, 'name: tiny\ntask: sphere\nfixed: {data: {nTrain: 8, nTest: 8}, train.steps: 2, kernels.probe: 4, f.width: 16, g.width: 8}\ngrid: {seed: [0, 1]}\n');
    const run = await runCli(['run', sweep, '--db', join(dir, 'r.db'), '--backend', 'auto', '--concurrency', '2'], { env, timeoutMs: 120_000 });
    expect(run.code).toBe(0);
    expect(run.stderr).not.toMatch(noise);
    expect(run.stdout).not.toMatch(noise);
    expect(run.stdout).toMatch(/tiny: 2 of 2 trials completed/);
  });
});
