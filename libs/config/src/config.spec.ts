import { ConfigError, loadConfig } from './config';
import { wasmRelaxedSimdAllowed } from './wasm-simd';
import { nativeGemmAllowed } from './native-gemm';

describe('loadConfig', () => {
  it('applies the embedded defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ port: 3000, redisUrl: 'redis://127.0.0.1:6379', queuePrefix: 'tfleet', backend: 'auto', apiKey: undefined });
    expect(config.dbPath).toMatch(/data\/tfleet\.sqlite$/);
    expect(config.logFormat).toBe('text');
    expect(loadConfig({ TFLEET_LOG_FORMAT: 'json' }).logFormat).toBe('json');
  });

  it('treats an empty TFLEET_API_KEY as unset, so the API generates one', () => {
    expect(loadConfig({ TFLEET_API_KEY: '' }).apiKey).toBeUndefined();
    expect(loadConfig({ TFLEET_API_KEY: 'k'.repeat(16) }).apiKey).toBe('k'.repeat(16));
  });

  it.each([
    [{ PORT: 'eighty' }, 'PORT'],
    [{ REDIS_URL: 'http://x' }, 'REDIS_URL'],
    [{ TFLEET_BACKEND: 'tpu' }, 'TFLEET_BACKEND'],
    [{ TFLEET_API_KEY: 'short' }, 'TFLEET_API_KEY'],
    [{ TFLEET_QUEUE_PREFIX: 'a:b' }, 'TFLEET_QUEUE_PREFIX'],
    [{ TFLEET_LOG_FORMAT: 'xml' }, 'TFLEET_LOG_FORMAT'],
  ])('rejects %j naming the variable', (env, name) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(name);
  });

  it('reads the step timeout, the recycling limits and the stall test hook (unset in production)', () => {
    expect(loadConfig({})).toMatchObject({ stepTimeoutMs: 300_000, workerMaxJobs: 0, workerMaxRssMb: 0, testStallAtStep: null });
    expect(loadConfig({ TFLEET_STEP_TIMEOUT_MS: '3000', TFLEET_WORKER_MAX_JOBS: '2', TFLEET_WORKER_MAX_RSS_MB: '900', TFLEET_TEST_STALL_AT_STEP: '3' })).toMatchObject({
      stepTimeoutMs: 3_000,
      workerMaxJobs: 2,
      workerMaxRssMb: 900,
      testStallAtStep: 3,
    });
    for (const [env, name] of [
      [{ TFLEET_STEP_TIMEOUT_MS: '10' }, 'TFLEET_STEP_TIMEOUT_MS'],
      [{ TFLEET_WORKER_MAX_JOBS: '-1' }, 'TFLEET_WORKER_MAX_JOBS'],
      [{ TFLEET_WORKER_MAX_RSS_MB: 'lots' }, 'TFLEET_WORKER_MAX_RSS_MB'],
      [{ TFLEET_TEST_STALL_AT_STEP: '1.5' }, 'TFLEET_TEST_STALL_AT_STEP'],
    ] as const) {
      expect(() => loadConfig(env)).toThrow(name);
    }
  });
});

describe('wasmRelaxedSimdAllowed', () => {
  it('allows relaxed SIMD unless TFLEET_WASM_RELAXED_SIMD is 0, and refuses other values', () => {
    expect(wasmRelaxedSimdAllowed({})).toBe(true);
    expect(wasmRelaxedSimdAllowed({ TFLEET_WASM_RELAXED_SIMD: '1' })).toBe(true);
    expect(wasmRelaxedSimdAllowed({ TFLEET_WASM_RELAXED_SIMD: '0' })).toBe(false);
    expect(() => wasmRelaxedSimdAllowed({ TFLEET_WASM_RELAXED_SIMD: 'yes' })).toThrow('TFLEET_WASM_RELAXED_SIMD');
  });
});

describe('nativeGemmAllowed', () => {
  it('allows the native GEMM unless TFLEET_NATIVE_GEMM is 0, and refuses other values', () => {
    expect(nativeGemmAllowed({})).toBe(true);
    expect(nativeGemmAllowed({ TFLEET_NATIVE_GEMM: '1' })).toBe(true);
    expect(nativeGemmAllowed({ TFLEET_NATIVE_GEMM: '0' })).toBe(false);
    expect(() => nativeGemmAllowed({ TFLEET_NATIVE_GEMM: 'off' })).toThrow('TFLEET_NATIVE_GEMM');
  });
});

describe('TFLEET_SSE_HEARTBEAT_MS', () => {
  it('defaults to 15 s and refuses intervals under 100 ms or that are not numbers', () => {
    expect(loadConfig({}).sseHeartbeatMs).toBe(15_000);
    expect(loadConfig({ TFLEET_SSE_HEARTBEAT_MS: '500' }).sseHeartbeatMs).toBe(500);
    expect(() => loadConfig({ TFLEET_SSE_HEARTBEAT_MS: '50' })).toThrow('TFLEET_SSE_HEARTBEAT_MS');
    expect(() => loadConfig({ TFLEET_SSE_HEARTBEAT_MS: 'often' })).toThrow('TFLEET_SSE_HEARTBEAT_MS');
  });
});
