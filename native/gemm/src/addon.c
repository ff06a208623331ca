/*
 * N-API binding of the AVX2 GEMM for the tfjs wasm backend's heap.
 *
 * The tensors live in the wasm backend's WebAssembly.Memory; JavaScript passes that memory's
 * ArrayBuffer and byte offsets into it, so nothing is copied. The buffer is passed on every
 * call because a grown wasm memory replaces it. Every operand's extent is checked against the
 * buffer before any access: a wrong offset or stride throws a RangeError (as a wasm trap would),
 * it never reads or writes outside the heap.
 *
 * Arguments travel in an Int32Array the caller reuses (one N-API value instead of eighteen).
 * This file is compiled without -mavx2: `supported()` must run on any x86-64 CPU.
 */
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "gemm.h"

enum {
  G_BATCH, G_M, G_N, G_K,
  G_A, G_ABATCH, G_RSA, G_CSA,
  G_B, G_BBATCH, G_RSB, G_CSB,
  G_C, G_CBATCH, G_LDC,
  G_ACCUMULATE, G_BIAS, G_PACKED,
  G_COUNT
};

enum { P_B, P_RSB, P_CSB, P_K, P_N, P_DST, P_COUNT };

/* Heap offsets are unsigned: a wasm32 heap may pass 2 GiB. */
#define OFFSET(x) ((int64_t)(uint32_t)(x))

static int cpu_supported(void) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return 0;
#endif
}

static napi_value throw_range(napi_env env, const char *message) {
  napi_throw_range_error(env, NULL, message);
  return NULL;
}

static napi_value throw_type(napi_env env, const char *message) {
  napi_throw_type_error(env, NULL, message);
  return NULL;
}

/* The heap's bytes and the Int32Array of arguments; 0 on success (an exception is pending otherwise). */
static int read_call(napi_env env, napi_callback_info info, uint8_t **heap, size_t *heap_bytes, const int32_t **args, size_t want) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2) {
    throw_type(env, "expected (heap: ArrayBuffer, args: Int32Array)");
    return -1;
  }
  bool is_buffer = false;
  if (napi_is_arraybuffer(env, argv[0], &is_buffer) != napi_ok || !is_buffer) {
    throw_type(env, "heap must be an ArrayBuffer");
    return -1;
  }
  void *data = NULL;
  if (napi_get_arraybuffer_info(env, argv[0], &data, heap_bytes) != napi_ok) {
    throw_type(env, "could not read the heap ArrayBuffer");
    return -1;
  }
  *heap = (uint8_t *)data;
  bool is_typed = false;
  napi_typedarray_type type;
  size_t length = 0;
  void *values = NULL;
  if (napi_is_typedarray(env, argv[1], &is_typed) != napi_ok || !is_typed ||
      napi_get_typedarray_info(env, argv[1], &type, &length, &values, NULL, NULL) != napi_ok ||
      type != napi_int32_array || length < want) {
    throw_type(env, "args must be an Int32Array of the documented length");
    return -1;
  }
  *args = (const int32_t *)values;
  return 0;
}

/* Whether the operand at byte offset `ptr` with these element extents lies inside the heap. */
static int operand_fits(int64_t ptr, int64_t batch, int64_t batch_stride, int64_t rows, int64_t rs, int64_t cols, int64_t cs, size_t heap_bytes) {
  if (ptr < 0 || (ptr & 3) != 0 || batch_stride < 0 || rs < 0 || cs < 0) return 0;
  int64_t last = (batch - 1) * batch_stride + (rows - 1) * rs + (cols - 1) * cs;
  return ptr + 4 * (last + 1) <= (int64_t)heap_bytes;
}

static napi_value gemm(napi_env env, napi_callback_info info) {
  uint8_t *heap;
  size_t heap_bytes;
  const int32_t *g;
  if (read_call(env, info, &heap, &heap_bytes, &g, G_COUNT) != 0) return NULL;
  int64_t batch = g[G_BATCH], m = g[G_M], n = g[G_N], k = g[G_K];
  if (batch <= 0 || m <= 0 || n <= 0 || k <= 0) return NULL;
  if (!operand_fits(OFFSET(g[G_A]), batch, g[G_ABATCH], m, g[G_RSA], k, g[G_CSA], heap_bytes)) return throw_range(env, "gemm: A lies outside the heap");
  if (!operand_fits(OFFSET(g[G_C]), batch, g[G_CBATCH], m, g[G_LDC], n, 1, heap_bytes)) return throw_range(env, "gemm: C lies outside the heap");
  if (g[G_BIAS] != 0 && !operand_fits(OFFSET(g[G_BIAS]), 1, 0, 1, 0, n, 1, heap_bytes)) return throw_range(env, "gemm: the bias lies outside the heap");
  const float *prepacked = NULL;
  if (g[G_PACKED] != 0) {
    if (batch != 1) return throw_range(env, "gemm: a packed B serves one slice");
    if (!operand_fits(OFFSET(g[G_PACKED]), 1, 0, 1, 0, (int64_t)tfleet_packed_floats((int)n, (int)k), 1, heap_bytes)) return throw_range(env, "gemm: the packed B lies outside the heap");
    prepacked = (const float *)(heap + OFFSET(g[G_PACKED]));
  } else if (!operand_fits(OFFSET(g[G_B]), batch, g[G_BBATCH], k, g[G_RSB], n, g[G_CSB], heap_bytes)) {
    return throw_range(env, "gemm: B lies outside the heap");
  }
  tfleet_gemm_args a = {
    (int)batch, (int)m, (int)n, (int)k,
    (const float *)(heap + OFFSET(g[G_A])), g[G_ABATCH], g[G_RSA], g[G_CSA],
    prepacked ? NULL : (const float *)(heap + OFFSET(g[G_B])), g[G_BBATCH], g[G_RSB], g[G_CSB],
    (float *)(heap + OFFSET(g[G_C])), g[G_CBATCH], g[G_LDC],
    g[G_ACCUMULATE] != 0,
    g[G_BIAS] != 0 && g[G_ACCUMULATE] == 0 ? (const float *)(heap + OFFSET(g[G_BIAS])) : NULL,
  };
  tfleet_buffers *buffers = NULL;
  if (napi_get_instance_data(env, (void **)&buffers) != napi_ok || !buffers) {
    napi_throw_error(env, NULL, "gemm: the addon's per-environment buffers are missing");
    return NULL;
  }
  if (tfleet_gemm(&a, prepacked, buffers) != 0) {
    napi_throw_error(env, NULL, "gemm: out of memory for the packing buffers");
  }
  return NULL;
}

static napi_value pack_b(napi_env env, napi_callback_info info) {
  uint8_t *heap;
  size_t heap_bytes;
  const int32_t *p;
  if (read_call(env, info, &heap, &heap_bytes, &p, P_COUNT) != 0) return NULL;
  int64_t k = p[P_K], n = p[P_N];
  if (k <= 0 || n <= 0) return NULL;
  if (!operand_fits(OFFSET(p[P_B]), 1, 0, k, p[P_RSB], n, p[P_CSB], heap_bytes)) return throw_range(env, "pack_b: B lies outside the heap");
  if (!operand_fits(OFFSET(p[P_DST]), 1, 0, 1, 0, (int64_t)tfleet_packed_floats((int)n, (int)k), 1, heap_bytes)) return throw_range(env, "pack_b: the destination lies outside the heap");
  tfleet_pack_b((const float *)(heap + OFFSET(p[P_B])), p[P_RSB], p[P_CSB], (int)k, (int)n, (float *)(heap + OFFSET(p[P_DST])));
  return NULL;
}

static napi_value packed_bytes(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t n = 0, k = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 ||
      napi_get_value_int32(env, argv[0], &n) != napi_ok || napi_get_value_int32(env, argv[1], &k) != napi_ok) {
    return throw_type(env, "expected (n: number, k: number)");
  }
  napi_value result;
  double bytes = n > 0 && k > 0 ? 4.0 * (double)tfleet_packed_floats(n, k) : 0.0;
  napi_create_double(env, bytes, &result);
  return result;
}

static napi_value supported(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  napi_get_boolean(env, cpu_supported(), &result);
  return result;
}

/* Runs when this environment (main thread or worker) is torn down, before the addon is unloaded. */
static void free_environment_buffers(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  tfleet_buffers_free((tfleet_buffers *)data);
  free(data);
}

NAPI_MODULE_INIT() {
  tfleet_buffers *buffers = (tfleet_buffers *)calloc(1, sizeof(tfleet_buffers));
  if (!buffers || napi_set_instance_data(env, buffers, free_environment_buffers, NULL) != napi_ok) {
    free(buffers);
    napi_throw_error(env, NULL, "tfleet_gemm: could not allocate its per-environment buffers");
    return NULL;
  }
  napi_property_descriptor props[] = {
    { "supported", NULL, supported, NULL, NULL, NULL, napi_enumerable, NULL },
    { "gemm", NULL, gemm, NULL, NULL, NULL, napi_enumerable, NULL },
    { "packB", NULL, pack_b, NULL, NULL, NULL, napi_enumerable, NULL },
    { "packedBytes", NULL, packed_bytes, NULL, NULL, NULL, napi_enumerable, NULL },
  };
  napi_value version;
  napi_create_int32(env, 1, &version);
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  napi_set_named_property(env, exports, "abiVersion", version);
  return exports;
}
