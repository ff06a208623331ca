/**
 * The GEMM entry points of kernels.wat, which the native GEMM (native-gemm.ts) can stand in for.
 * Pointers are byte offsets into the backend heap; sizes and strides are float32 elements.
 */
export interface GemmEntryPoints {
  /**
   * Batched C (+)= A·B; see kernels.wat. Operand element (i, p) of slice s is at
   * `ptr + 4 * (s * batchStride + i * rowStride + p * colStride)`.
   */
  gemm(
    batch: number,
    m: number,
    n: number,
    k: number,
    a: number,
    aBatchStride: number,
    aRowStride: number,
    aColStride: number,
    b: number,
    bBatchStride: number,
    bRowStride: number,
    bColStride: number,
    c: number,
    cBatchStride: number,
    cRowStride: number,
    accumulate: number,
    scratch: number,
  ): void;
  /**
   * gemm with a bias row: when `bias` (a pointer to n floats) is not 0 and accumulate is 0,
   * C = A·B + bias broadcast over rows and slices, added as the tiles are stored.
   */
  gemm_bias(
    batch: number,
    m: number,
    n: number,
    k: number,
    a: number,
    aBatchStride: number,
    aRowStride: number,
    aColStride: number,
    b: number,
    bBatchStride: number,
    bRowStride: number,
    bColStride: number,
    c: number,
    cBatchStride: number,
    cRowStride: number,
    accumulate: number,
    bias: number,
    scratch: number,
  ): void;
  /** Scratch bytes gemm needs for n columns and depth k. */
  scratch_bytes(n: number, k: number): number;
  /** Bytes pack_b writes for a k x n B. */
  packed_bytes(n: number, k: number): number;
  /** Packs the k x n B (element (p, j) at `b + 4 * (p * rowStride + j * colStride)`) at `dst` for gemm_packed. */
  pack_b(b: number, bRowStride: number, bColStride: number, k: number, n: number, dst: number): void;
  /**
   * One C (+)= A·B with B as pack_b left it at `packed` (same n and k); `scratch` needs only
   * scratch_bytes(0, 0) bytes.
   */
  gemm_packed(
    m: number,
    n: number,
    k: number,
    a: number,
    aRowStride: number,
    aColStride: number,
    packed: number,
    c: number,
    cRowStride: number,
    accumulate: number,
    scratch: number,
  ): void;
}
