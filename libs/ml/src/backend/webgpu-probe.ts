import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';

/**
 * What can be known about WebGPU on this machine without loading Dawn: whether the `webgpu`
 * package and its prebuilt `dawn.node` are installed, and (Linux) whether a Vulkan loader and
 * any Vulkan ICD (driver manifest) exist. Only file-system checks: `auto` runs it on every
 * worker start, so a machine without a GPU pays about a millisecond, never Dawn's start-up.
 */
export interface WebGpuProbe {
  /** The native API Dawn would use for a hardware adapter on this platform. */
  api: 'vulkan' | 'metal' | 'd3d12' | null;
  /** Absolute path of `dawn.node`, or null when the `webgpu` package (or its binary) is missing. */
  dawnNode: string | null;
  /** Linux: where `libvulkan.so.1` was found (null: no Vulkan loader). */
  vulkanLoader: string | null;
  /** Linux: Vulkan ICD manifests found (VK_DRIVER_FILES / VK_ICD_FILENAMES, or the standard folders). */
  icds: string[];
  /** The ICDs that are software rasterizers (lavapipe, SwiftShader). */
  softwareIcds: string[];
  /** True when a hardware adapter may exist: worth creating Dawn for. */
  hardwareCandidate: boolean;
  /** What is missing for a hardware adapter, when `hardwareCandidate` is false. */
  missing: string[];
}

export interface ProbeDeps {
  exists?: (file: string) => boolean;
  list?: (dir: string) => string[];
  resolve?: (request: string) => string;
  platform?: NodeJS.Platform;
  arch?: string;
}

const SOFTWARE_ICD = /lvp|lavapipe|swiftshader|swrast|softpipe/i;

/** Library folders the dynamic loader searches on common distributions. */
const LIB_DIRS = [
  '/usr/lib/x86_64-linux-gnu',
  '/usr/lib/aarch64-linux-gnu',
  '/lib/x86_64-linux-gnu',
  '/lib/aarch64-linux-gnu',
  '/usr/lib64',
  '/lib64',
  '/usr/lib',
  '/lib',
  '/usr/local/lib',
];

/** Where `dawn.node` sits inside the `webgpu` package for this platform. */
export function dawnNodePath(deps: ProbeDeps = {}): string | null {
  const resolve = deps.resolve ?? ((request: string) => require.resolve(request));
  const exists = deps.exists ?? existsSync;
  const platform = deps.platform ?? process.platform;
  const arch = platform === 'darwin' ? 'universal' : (deps.arch ?? process.arch);
  let root: string;
  try {
    root = path.dirname(resolve('webgpu/package.json'));
  } catch {
    return null;
  }
  const file = path.join(root, 'dist', `${platform}-${arch}`, 'dawn.node');
  return exists(file) ? file : null;
}

export function probeWebGpu(env: NodeJS.ProcessEnv = process.env, deps: ProbeDeps = {}): WebGpuProbe {
  const exists = deps.exists ?? existsSync;
  const list = deps.list ?? ((dir: string) => (existsSync(dir) ? readdirSync(dir) : []));
  const platform = deps.platform ?? process.platform;
  const dawnNode = dawnNodePath(deps);
  const missing: string[] = [];
  if (!dawnNode) missing.push(`the 'webgpu' package with a prebuilt dawn.node for ${platform}-${deps.arch ?? process.arch}`);

  if (platform !== 'linux') {
    const api = platform === 'darwin' ? 'metal' : platform === 'win32' ? 'd3d12' : null;
    if (!api) missing.push(`a Dawn backend for platform ${platform}`);
    return { api, dawnNode, vulkanLoader: null, icds: [], softwareIcds: [], hardwareCandidate: missing.length === 0, missing };
  }

  const libDirs = [...(env['LD_LIBRARY_PATH'] ?? '').split(':').filter(Boolean), ...LIB_DIRS];
  const vulkanLoader = libDirs.map((dir) => path.join(dir, 'libvulkan.so.1')).find((file) => exists(file)) ?? null;
  if (!vulkanLoader) missing.push('the Vulkan loader libvulkan.so.1 (Debian/Ubuntu: apt-get install libvulkan1)');

  const icds = vulkanIcds(env, exists, list);
  const softwareIcds = icds.filter((file) => SOFTWARE_ICD.test(path.basename(file)));
  if (icds.length === 0) {
    missing.push('a Vulkan ICD for the GPU driver (no manifest in /usr/share/vulkan/icd.d or /etc/vulkan/icd.d; NVIDIA in a container: the driver\'s graphics capability, nvidia_icd.json)');
  } else if (softwareIcds.length === icds.length) {
    missing.push(`a hardware Vulkan ICD (only software ones: ${softwareIcds.map((f) => path.basename(f)).join(', ')})`);
  }
  return { api: 'vulkan', dawnNode, vulkanLoader, icds, softwareIcds, hardwareCandidate: missing.length === 0, missing };
}

/** The Vulkan loader's ICD search: the override variables replace the folders. */
function vulkanIcds(env: NodeJS.ProcessEnv, exists: (file: string) => boolean, list: (dir: string) => string[]): string[] {
  const override = env['VK_DRIVER_FILES'] ?? env['VK_ICD_FILENAMES'];
  if (override) return override.split(':').filter((file) => file.length > 0 && exists(file));
  const dataDirs = (env['XDG_DATA_DIRS'] ?? '/usr/local/share:/usr/share').split(':').filter(Boolean);
  const configDirs = (env['XDG_CONFIG_DIRS'] ?? '/etc/xdg').split(':').filter(Boolean);
  const home = env['HOME'] ?? safeHome();
  const dirs = [
    ...configDirs.map((d) => path.join(d, 'vulkan', 'icd.d')),
    '/etc/vulkan/icd.d',
    ...dataDirs.map((d) => path.join(d, 'vulkan', 'icd.d')),
    '/usr/share/vulkan/icd.d',
    ...(home ? [path.join(home, '.local', 'share', 'vulkan', 'icd.d')] : []),
  ];
  const found = new Set<string>();
  for (const dir of new Set(dirs)) {
    let names: string[];
    try {
      names = list(dir);
    } catch {
      continue;
    }
    for (const name of names) if (name.endsWith('.json')) found.add(path.join(dir, name));
  }
  return [...found];
}

function safeHome(): string | null {
  try {
    return homedir();
  } catch {
    return null;
  }
}
