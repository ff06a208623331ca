import { probeWebGpu, type ProbeDeps } from './webgpu-probe';

/** A fake file system: the files that exist, and the folders that list them. */
function fakeFs(files: string[], platform: NodeJS.Platform = 'linux'): ProbeDeps {
  const set = new Set(files);
  return {
    platform,
    arch: 'x64',
    exists: (file) => set.has(file),
    list: (dir) => files.filter((f) => f.startsWith(`${dir}/`) && !f.slice(dir.length + 1).includes('/')).map((f) => f.slice(dir.length + 1)),
    resolve: (request) => {
      if (request === 'webgpu/package.json' && set.has('/nm/webgpu/package.json')) return '/nm/webgpu/package.json';
      throw new Error(`Cannot find module '${request}'`);
    },
  };
}

const DAWN = ['/nm/webgpu/package.json', '/nm/webgpu/dist/linux-x64/dawn.node'];
const LOADER = '/usr/lib/x86_64-linux-gnu/libvulkan.so.1';

describe('probeWebGpu (file checks only, no Dawn)', () => {
  it('says the webgpu package is missing when it cannot be resolved', () => {
    const probe = probeWebGpu({}, fakeFs([LOADER, '/usr/share/vulkan/icd.d/nvidia_icd.json']));
    expect(probe.dawnNode).toBeNull();
    expect(probe.hardwareCandidate).toBe(false);
    expect(probe.missing.join('\n')).toMatch(/'webgpu' package/);
  });

  it('names the missing Vulkan loader and ICD', () => {
    const probe = probeWebGpu({}, fakeFs(DAWN));
    expect(probe.dawnNode).toBe('/nm/webgpu/dist/linux-x64/dawn.node');
    expect(probe.hardwareCandidate).toBe(false);
    expect(probe.missing).toEqual([expect.stringMatching(/libvulkan\.so\.1/), expect.stringMatching(/Vulkan ICD.*nvidia_icd\.json/)]);
  });

  it('does not count software ICDs (lavapipe) as a GPU', () => {
    const probe = probeWebGpu({}, fakeFs([...DAWN, LOADER, '/usr/share/vulkan/icd.d/lvp_icd.x86_64.json']));
    expect(probe.softwareIcds).toEqual(['/usr/share/vulkan/icd.d/lvp_icd.x86_64.json']);
    expect(probe.hardwareCandidate).toBe(false);
    expect(probe.missing).toEqual([expect.stringMatching(/hardware Vulkan ICD \(only software ones: lvp_icd/)]);
  });

  it('is a candidate with the package, the loader and a hardware ICD', () => {
    const probe = probeWebGpu({}, fakeFs([...DAWN, LOADER, '/etc/vulkan/icd.d/nvidia_icd.json', '/usr/share/vulkan/icd.d/lvp_icd.x86_64.json']));
    expect(probe).toMatchObject({ api: 'vulkan', vulkanLoader: LOADER, hardwareCandidate: true, missing: [] });
    expect(probe.icds).toHaveLength(2);
  });

  it('honours VK_DRIVER_FILES / VK_ICD_FILENAMES and LD_LIBRARY_PATH', () => {
    const files = [...DAWN, '/opt/vk/libvulkan.so.1', '/opt/icd/amd.json'];
    const probe = probeWebGpu({ LD_LIBRARY_PATH: '/opt/vk', VK_ICD_FILENAMES: '/opt/icd/amd.json:/missing.json' }, fakeFs(files));
    expect(probe).toMatchObject({ vulkanLoader: '/opt/vk/libvulkan.so.1', icds: ['/opt/icd/amd.json'], hardwareCandidate: true });
  });

  it('on macOS needs only the package (Metal)', () => {
    const files = ['/nm/webgpu/package.json', '/nm/webgpu/dist/darwin-universal/dawn.node'];
    expect(probeWebGpu({}, fakeFs(files, 'darwin'))).toMatchObject({ api: 'metal', hardwareCandidate: true });
  });
});
