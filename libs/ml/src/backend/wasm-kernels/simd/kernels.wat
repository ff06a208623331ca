;; tfleet SIMD kernels for the tfjs-backend-wasm heap.
;;
;; The module imports the tfjs wasm backend's own linear memory ("env" "memory"), so the kernels
;; read and write tensors where they already live: pointers are byte offsets into that heap
;; (a tensor's `memoryOffset`), strides and sizes are counted in float32 elements.
;;
;; Compiled by scripts/build-wasm-kernels.js into kernels-wasm.ts; edit this file, then run
;; `npm run build:wasm-kernels` (a unit test fails when the two differ).
;;
;; gemm: for every batch slice s,
;;     C_s[i, j] (+)= sum_p A_s(i, p) * B_s(p, j)
;; with A_s(i, p) at a + 4*(s*aBatch + i*rsA + p*csA) and B_s(p, j) at b + 4*(s*bBatch + p*rsB + j*csB),
;; so a transposed operand is only a swap of its two strides, and a batch stride of 0 broadcasts
;; one operand over the batch. C_s[i, j] is at c + 4*(s*cBatch + i*ldc + j).
;;
;; Blocking (GotoBLAS order): columns in blocks of NC=512, depth in blocks of KC=256, rows in
;; blocks of MC=64. Each NC x KC block of B is packed into the scratch buffer as 8-column panels
;; (k-major, zero padded to 8 columns), and each MC x KC block of A into 4-row micro-panels
;; (k-major, zero padded to 4 rows), which makes every micro-kernel load contiguous whatever the
;; operands' strides are. The micro-kernel keeps a 4 x 8 tile of C in eight f32x4 accumulators
;; (V8 has 16 xmm registers on x64, one reserved as scratch): per depth step it loads two B
;; vectors, splats four A values and does 8 fused multiply-adds. Rows left over (m mod 4) are computed on the zero padding of
;; the packed A and columns left over (n mod 8) on the zero padding of the panel; only the valid
;; rows and columns are stored.
;;
;; Per C element the products are added in depth order, one f32 rounding (relaxed build: FMA)
;; per step, so the result does not depend on the blocking, the packing or the unrolling.
;;
;; The micro-kernels multiply-add with f32x4.relaxed_madd (relaxed SIMD): V8 emits one FMA
;; instruction where the CPU has FMA3, 1.25-1.3x the GFLOPS of a separate mul and add. Engines
;; without relaxed SIMD get the portable build of this file, in which the build script rewrites
;; every (f32x4.relaxed_madd a b c) as (f32x4.add c (f32x4.mul a b)); see wat-compiler.ts.
;;
;; Scratch: scratch_bytes(n, k) bytes, 16-byte aligned: a 128-byte tile for partial stores,
;; the packed A block (MC x KC floats, 64 KiB), then the packed B panels.
;;
;; Packed once, used many times: pack_b packs all of B (every NC x KC block, in gemm's block
;; order) into packed_bytes(n, k) bytes, and gemm_packed multiplies by it without packing again.
;; The recurrent kernels multiply by the same recurrent weights at every timestep; at 32 rows
;; packing the [128, 512] kernel was ~10% of each product.
(module
  (import "env" "memory" (memory 0))

  (global $KC i32 (i32.const 256))
  (global $NC i32 (i32.const 512))
  (global $MC i32 (i32.const 64))

  (func $min (param $x i32) (param $y i32) (result i32)
    (select (local.get $x) (local.get $y) (i32.lt_s (local.get $x) (local.get $y))))

  ;; Bytes of scratch that gemm needs for an n-column, depth-k product.
  (func (export "scratch_bytes") (param $n i32) (param $k i32) (result i32)
    (i32.add
      (i32.const 65664)
      (i32.mul
        (i32.mul (call $min (local.get $k) (global.get $KC)) (i32.const 32))
        (i32.shr_u
          (i32.add (call $min (local.get $n) (global.get $NC)) (i32.const 7))
          (i32.const 3)))))

  ;; Transposes a 4 x 4 block: column j of B starts at src + j*cs (4 contiguous depth values),
  ;; and depth row r is written as 4 floats at dst + 32*r (one half of a packed panel row).
  (func $transpose4 (param $src i32) (param $cs i32) (param $dst i32)
    (local $r0 v128) (local $r1 v128) (local $r2 v128) (local $r3 v128) (local $t0 v128) (local $t1 v128)
    (local.set $r0 (v128.load (local.get $src)))
    (local.set $r1 (v128.load (i32.add (local.get $src) (local.get $cs))))
    (local.set $r2 (v128.load (i32.add (local.get $src) (i32.shl (local.get $cs) (i32.const 1)))))
    (local.set $r3 (v128.load (i32.add (local.get $src) (i32.mul (local.get $cs) (i32.const 3)))))
    ;; t0 = (r0[0], r1[0], r0[1], r1[1]), t1 = (r2[0], r3[0], r2[1], r3[1])
    (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r0) (local.get $r1)))
    (local.set $t1 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r2) (local.get $r3)))
    (v128.store offset=0 (local.get $dst) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t1)))
    (v128.store offset=32 (local.get $dst) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t1)))
    ;; t0 = (r0[2], r1[2], r0[3], r1[3]), t1 = (r2[2], r3[2], r2[3], r3[3])
    (local.set $t0 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r0) (local.get $r1)))
    (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r2) (local.get $r3)))
    (v128.store offset=64 (local.get $dst) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t1)))
    (v128.store offset=96 (local.get $dst) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t1))))

  ;; Packs A(i, p) for i < mc, p < kc (a points at A(0, 0); strides in bytes) into micro-panels
  ;; of 4 rows: micro-panel g holds, for each p, A(4g .. 4g+3, p) as 4 floats (16 bytes), zero
  ;; past row mc. gemm packs a transposed A of 512 rows or more (see gemm_core): in place, it is a
  ;; 4-byte load from a new cache line, often a new page, per depth step (2048 x 128 x 256 with A
  ;; transposed: 28 GFLOPS in place, 47 packed).
  (func $pack_a (param $a i32) (param $rsA i32) (param $csA i32) (param $mc i32) (param $kc i32) (param $dst i32)
    (local $g i32) (local $p i32) (local $r i32) (local $rows i32) (local $src i32) (local $end i32)
    (local.set $g (i32.const 0))
    (loop $groups
      (local.set $rows (call $min (i32.const 4) (i32.sub (local.get $mc) (local.get $g))))
      (local.set $src (i32.add (local.get $a) (i32.mul (local.get $g) (local.get $rsA))))
      (local.set $p (i32.const 0))
      (if (i32.and (i32.eq (local.get $rows) (i32.const 4)) (i32.eq (local.get $rsA) (i32.const 4)))
        (then
          ;; A transposed (the 4 rows contiguous at each depth): one vector per depth step
          (loop $copy
            (v128.store (i32.add (local.get $dst) (i32.shl (local.get $p) (i32.const 4))) (v128.load (local.get $src)))
            (local.set $src (i32.add (local.get $src) (local.get $csA)))
            (br_if $copy (i32.lt_s (local.tee $p (i32.add (local.get $p) (i32.const 1))) (local.get $kc)))))
        (else
          ;; a partial group (zero padded) or other strides, element by element (a row-major A
          ;; never comes here: gemm reads it in place)
          (block $restDone
            (br_if $restDone (i32.ge_s (local.get $p) (local.get $kc)))
            (loop $rest
              (local.set $end (i32.add (local.get $dst) (i32.shl (local.get $p) (i32.const 4))))
              (v128.store (local.get $end) (v128.const i32x4 0 0 0 0))
              (local.set $r (i32.const 0))
              (loop $row
                (f32.store
                  (i32.add (local.get $end) (i32.shl (local.get $r) (i32.const 2)))
                  (f32.load (i32.add (i32.add (local.get $a) (i32.mul (i32.add (local.get $g) (local.get $r)) (local.get $rsA)))
                                     (i32.mul (local.get $p) (local.get $csA)))))
                (br_if $row (i32.lt_s (local.tee $r (i32.add (local.get $r) (i32.const 1))) (local.get $rows))))
              (br_if $rest (i32.lt_s (local.tee $p (i32.add (local.get $p) (i32.const 1))) (local.get $kc)))))))
      (local.set $dst (i32.add (local.get $dst) (i32.shl (local.get $kc) (i32.const 4))))
      (br_if $groups (i32.lt_s (local.tee $g (i32.add (local.get $g) (i32.const 4))) (local.get $mc)))))

  ;; Packs B(p, j) for p < kc, j < nc (b points at B(0, 0); strides in bytes) into panels of
  ;; 8 columns: panel q holds, for each p, B(p, 8q .. 8q+7), zero past column nc.
  (func $pack (param $b i32) (param $rsB i32) (param $csB i32) (param $kc i32) (param $nc i32) (param $dst i32)
    (local $q i32) (local $p i32) (local $jj i32) (local $nr i32) (local $src i32) (local $col i32) (local $tail i32)
    (local.set $q (i32.const 0))
    (block $panels_done
      (loop $panels
        (br_if $panels_done (i32.ge_s (i32.shl (local.get $q) (i32.const 3)) (local.get $nc)))
        (local.set $nr (call $min (i32.const 8) (i32.sub (local.get $nc) (i32.shl (local.get $q) (i32.const 3)))))
        ;; column 8q of B
        (local.set $col (i32.add (local.get $b) (i32.mul (i32.shl (local.get $q) (i32.const 3)) (local.get $csB))))
        (if (i32.and (i32.eq (local.get $nr) (i32.const 8)) (i32.eq (local.get $csB) (i32.const 4)))
          (then
            ;; contiguous rows: two vector copies per depth step
            (local.set $p (i32.const 0))
            (local.set $src (local.get $col))
            (loop $rows
              (v128.store (local.get $dst) (v128.load (local.get $src)))
              (v128.store offset=16 (local.get $dst) (v128.load offset=16 (local.get $src)))
              (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
              (local.set $src (i32.add (local.get $src) (local.get $rsB)))
              (br_if $rows (i32.lt_s (local.tee $p (i32.add (local.get $p) (i32.const 1))) (local.get $kc)))))
          (else
            (if (i32.and (i32.eq (local.get $nr) (i32.const 8)) (i32.eq (local.get $rsB) (i32.const 4)))
              (then
                ;; B transposed (each column contiguous along the depth): 4 x 4 SIMD transposes,
                ;; the scalar loop below packed these panels at a quarter of the speed (per-head
                ;; attention products pack B for every batch slice)
                (local.set $p (i32.const 0))
                (local.set $src (local.get $col))
                (block $blocksDone
                  (loop $blocks
                    (br_if $blocksDone (i32.gt_s (i32.add (local.get $p) (i32.const 4)) (local.get $kc)))
                    (call $transpose4 (local.get $src) (local.get $csB) (i32.add (local.get $dst) (i32.shl (local.get $p) (i32.const 5))))
                    (call $transpose4 (i32.add (local.get $src) (i32.shl (local.get $csB) (i32.const 2))) (local.get $csB)
                                      (i32.add (local.get $dst) (i32.add (i32.shl (local.get $p) (i32.const 5)) (i32.const 16))))
                    (local.set $src (i32.add (local.get $src) (i32.const 16)))
                    (local.set $p (i32.add (local.get $p) (i32.const 4)))
                    (br $blocks)))
                ;; depth left over (kc mod 4), column by column
                (block $tailDone
                  (br_if $tailDone (i32.ge_s (local.get $p) (local.get $kc)))
                  (local.set $jj (i32.const 0))
                  (loop $tailCols
                    (local.set $tail (local.get $p))
                    (loop $tailDepth
                      (f32.store
                        (i32.add (local.get $dst) (i32.add (i32.shl (local.get $tail) (i32.const 5)) (i32.shl (local.get $jj) (i32.const 2))))
                        (f32.load (i32.add (local.get $col) (i32.add (i32.mul (local.get $jj) (local.get $csB)) (i32.shl (local.get $tail) (i32.const 2))))))
                      (br_if $tailDepth (i32.lt_s (local.tee $tail (i32.add (local.get $tail) (i32.const 1))) (local.get $kc))))
                    (br_if $tailCols (i32.lt_s (local.tee $jj (i32.add (local.get $jj) (i32.const 1))) (i32.const 8)))))
                (local.set $dst (i32.add (local.get $dst) (i32.shl (local.get $kc) (i32.const 5)))))
              (else
            (if (i32.lt_s (local.get $nr) (i32.const 8))
              (then
                ;; zero the panel first, so the padding columns contribute nothing
                (local.set $p (i32.const 0))
                (local.set $src (local.get $dst))
                (loop $zero
                  (v128.store (local.get $src) (v128.const i32x4 0 0 0 0))
                  (v128.store offset=16 (local.get $src) (v128.const i32x4 0 0 0 0))
                  (local.set $src (i32.add (local.get $src) (i32.const 32)))
                  (br_if $zero (i32.lt_s (local.tee $p (i32.add (local.get $p) (i32.const 1))) (local.get $kc))))))
            ;; strided: column by column, walking down B's depth (contiguous when B is transposed)
            (local.set $jj (i32.const 0))
            (loop $cols
              (local.set $p (i32.const 0))
              (local.set $src (i32.add (local.get $col) (i32.mul (local.get $jj) (local.get $csB))))
              (loop $depth
                (f32.store
                  (i32.add (local.get $dst) (i32.add (i32.shl (local.get $p) (i32.const 5)) (i32.shl (local.get $jj) (i32.const 2))))
                  (f32.load (local.get $src)))
                (local.set $src (i32.add (local.get $src) (local.get $rsB)))
                (br_if $depth (i32.lt_s (local.tee $p (i32.add (local.get $p) (i32.const 1))) (local.get $kc))))
              (br_if $cols (i32.lt_s (local.tee $jj (i32.add (local.get $jj) (i32.const 1))) (local.get $nr))))
            (local.set $dst (i32.add (local.get $dst) (i32.shl (local.get $kc) (i32.const 5))))))))
        (local.set $q (i32.add (local.get $q) (i32.const 1)))
        (br $panels))))

  ;; Copies the first nr columns of `rows` rows of the 8-wide tile at tmp to C (row stride ldc
  ;; bytes), adding to what is there when acc is 1, or the bias row at `bias` when acc is 2.
  (func $store_partial (param $tmp i32) (param $c i32) (param $ldc i32) (param $rows i32) (param $nr i32) (param $acc i32) (param $bias i32)
    (local $r i32) (local $jj i32) (local $dst i32) (local $v f32)
    (local.set $r (i32.const 0))
    (loop $row
      (local.set $jj (i32.const 0))
      (loop $col
        (local.set $dst (i32.add (local.get $c) (i32.shl (local.get $jj) (i32.const 2))))
        (local.set $v (f32.load (i32.add (local.get $tmp) (i32.add (i32.shl (local.get $r) (i32.const 5)) (i32.shl (local.get $jj) (i32.const 2))))))
        (if (i32.eq (local.get $acc) (i32.const 1)) (then (local.set $v (f32.add (f32.load (local.get $dst)) (local.get $v)))))
        (if (i32.eq (local.get $acc) (i32.const 2))
          (then (local.set $v (f32.add (f32.load (i32.add (local.get $bias) (i32.shl (local.get $jj) (i32.const 2)))) (local.get $v)))))
        (f32.store (local.get $dst) (local.get $v))
        (br_if $col (i32.lt_s (local.tee $jj (i32.add (local.get $jj) (i32.const 1))) (local.get $nr))))
      (local.set $c (i32.add (local.get $c) (local.get $ldc)))
      (br_if $row (i32.lt_s (local.tee $r (i32.add (local.get $r) (i32.const 1))) (local.get $rows)))))

  ;; C[0..rows, 0..nr) (+)= A[0..4, 0..kc) . panel, A as pack_a's micro-panel at pa (4 floats per
  ;; depth step). ldc in bytes. acc: 0 stores the products, 1 adds them to C, 2 adds them to the
  ;; bias row at `bias`. Rows past `rows` (zero padding of the packed A) are computed, not stored.
  ;; Every load is at an immediate offset from the two panel pointers (the unpacked A needed four
  ;; row addresses computed per step). Unrolling the depth loop by two ran at half the speed
  ;; under Node 20's V8 (measured, 2026-12-05; cause not found), so it is one step per iteration.
  (func $kernel4x8 (param $pa i32) (param $panel i32) (param $kc i32)
                   (param $c i32) (param $ldc i32) (param $acc i32) (param $nr i32) (param $rows i32) (param $tmp i32) (param $bias i32)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local $b0 v128) (local $b1 v128) (local $av v128)
    (local $dst i32)
    (loop $depth
      (local.set $b0 (v128.load (local.get $panel)))
      (local.set $b1 (v128.load offset=16 (local.get $panel)))
      (local.set $av (v128.load32_splat (local.get $pa)))
      (local.set $c00 (f32x4.relaxed_madd (local.get $av) (local.get $b0) (local.get $c00)))
      (local.set $c01 (f32x4.relaxed_madd (local.get $av) (local.get $b1) (local.get $c01)))
      (local.set $av (v128.load32_splat offset=4 (local.get $pa)))
      (local.set $c10 (f32x4.relaxed_madd (local.get $av) (local.get $b0) (local.get $c10)))
      (local.set $c11 (f32x4.relaxed_madd (local.get $av) (local.get $b1) (local.get $c11)))
      (local.set $av (v128.load32_splat offset=8 (local.get $pa)))
      (local.set $c20 (f32x4.relaxed_madd (local.get $av) (local.get $b0) (local.get $c20)))
      (local.set $c21 (f32x4.relaxed_madd (local.get $av) (local.get $b1) (local.get $c21)))
      (local.set $av (v128.load32_splat offset=12 (local.get $pa)))
      (local.set $c30 (f32x4.relaxed_madd (local.get $av) (local.get $b0) (local.get $c30)))
      (local.set $c31 (f32x4.relaxed_madd (local.get $av) (local.get $b1) (local.get $c31)))
      (local.set $pa (i32.add (local.get $pa) (i32.const 16)))
      (local.set $panel (i32.add (local.get $panel) (i32.const 32)))
      (br_if $depth (local.tee $kc (i32.sub (local.get $kc) (i32.const 1)))))
    (if (i32.and (i32.eq (local.get $nr) (i32.const 8)) (i32.eq (local.get $rows) (i32.const 4)))
      (then
        (local.set $dst (local.get $c))
        (if (i32.eq (local.get $acc) (i32.const 2))
          (then
            (local.set $b0 (v128.load (local.get $bias)))
            (local.set $b1 (v128.load offset=16 (local.get $bias)))
            (local.set $c00 (f32x4.add (local.get $c00) (local.get $b0)))
            (local.set $c01 (f32x4.add (local.get $c01) (local.get $b1)))
            (local.set $c10 (f32x4.add (local.get $c10) (local.get $b0)))
            (local.set $c11 (f32x4.add (local.get $c11) (local.get $b1)))
            (local.set $c20 (f32x4.add (local.get $c20) (local.get $b0)))
            (local.set $c21 (f32x4.add (local.get $c21) (local.get $b1)))
            (local.set $c30 (f32x4.add (local.get $c30) (local.get $b0)))
            (local.set $c31 (f32x4.add (local.get $c31) (local.get $b1)))))
        (if (i32.eq (local.get $acc) (i32.const 1))
          (then
            (local.set $c00 (f32x4.add (local.get $c00) (v128.load (local.get $dst))))
            (local.set $c01 (f32x4.add (local.get $c01) (v128.load offset=16 (local.get $dst))))
            (local.set $dst (i32.add (local.get $dst) (local.get $ldc)))
            (local.set $c10 (f32x4.add (local.get $c10) (v128.load (local.get $dst))))
            (local.set $c11 (f32x4.add (local.get $c11) (v128.load offset=16 (local.get $dst))))
            (local.set $dst (i32.add (local.get $dst) (local.get $ldc)))
            (local.set $c20 (f32x4.add (local.get $c20) (v128.load (local.get $dst))))
            (local.set $c21 (f32x4.add (local.get $c21) (v128.load offset=16 (local.get $dst))))
            (local.set $dst (i32.add (local.get $dst) (local.get $ldc)))
            (local.set $c30 (f32x4.add (local.get $c30) (v128.load (local.get $dst))))
            (local.set $c31 (f32x4.add (local.get $c31) (v128.load offset=16 (local.get $dst))))
            (local.set $dst (local.get $c))))
        (v128.store (local.get $dst) (local.get $c00))
        (v128.store offset=16 (local.get $dst) (local.get $c01))
        (local.set $dst (i32.add (local.get $dst) (local.get $ldc)))
        (v128.store (local.get $dst) (local.get $c10))
        (v128.store offset=16 (local.get $dst) (local.get $c11))
        (local.set $dst (i32.add (local.get $dst) (local.get $ldc)))
        (v128.store (local.get $dst) (local.get $c20))
        (v128.store offset=16 (local.get $dst) (local.get $c21))
        (local.set $dst (i32.add (local.get $dst) (local.get $ldc)))
        (v128.store (local.get $dst) (local.get $c30))
        (v128.store offset=16 (local.get $dst) (local.get $c31)))
      (else
        (v128.store offset=0 (local.get $tmp) (local.get $c00))
        (v128.store offset=16 (local.get $tmp) (local.get $c01))
        (v128.store offset=32 (local.get $tmp) (local.get $c10))
        (v128.store offset=48 (local.get $tmp) (local.get $c11))
        (v128.store offset=64 (local.get $tmp) (local.get $c20))
        (v128.store offset=80 (local.get $tmp) (local.get $c21))
        (v128.store offset=96 (local.get $tmp) (local.get $c30))
        (v128.store offset=112 (local.get $tmp) (local.get $c31))
        (call $store_partial (local.get $tmp) (local.get $c) (local.get $ldc) (local.get $rows) (local.get $nr) (local.get $acc) (local.get $bias)))))

  ;; The micro-kernels for an A read in place (row-major, or transposed with fewer than 512
  ;; rows): packing a row-major A measured 2-4% slower on the recurrent shapes ([64, 128] x
  ;; [128, 256]), and see gemm_core for the transposed ones.
  ;; C[0..4, 0..nr) (+)= A[0..4, 0..kc) . panel. a points at A(0, 0); rsA, csA, ldc in bytes.
  ;; acc: 0 stores the products, 1 adds them to C, 2 adds them to the bias row at `bias`.
  (func $kernel4x8_rows (param $a i32) (param $rsA i32) (param $csA i32) (param $panel i32) (param $kc i32)
                   (param $c i32) (param $ldc i32) (param $acc i32) (param $nr i32) (param $tmp i32) (param $bias i32)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local $b0 v128) (local $b1 v128) (local $av v128)
    (local $r2 i32) (local $r3 i32) (local $dst i32)
    (local.set $r2 (i32.shl (local.get $rsA) (i32.const 1)))
    (local.set $r3 (i32.add (local.get $r2) (local.get $rsA)))
    (loop $depth
      (local.set $b0 (v128.load (local.get $panel)))
      (local.set $b1 (v128.load offset=16 (local.get $panel)))
      (local.set $av (v128.load32_splat (local.get $a)))
      (local.set $c00 (f32x4.relaxed_madd (local.get $av) (local.get $b0) (local.get $c00)))
      (local.set $c01 (f32x4.relaxed_madd (local.get $av) (local.get $b1) (local.get $c01)))
      (local.set $av (v128.load32_splat (i32.add (local.get $a) (local.get $rsA))))
      (local.set $c10 (f32x4.relaxed_madd (local.get $av) (local.get $b0) (local.get $c10)))
      (local.set $c11 (f32x4.relaxed_madd (local.get $av) (local.get $b1) (local.get $c11)))
      (local.set $av (v128.load32_splat (i32.add (local.get $a) (local.get $r2))))
      (local.set $c20 (f32x4.relaxed_madd (local.get $av) (local.get $b0) (local.get $c20)))
      (local.set $c21 (f32x4.relaxed_madd (local.get $av) (local.get $b1) (local.get $c21)))
      (local.set $av (v128.load32_splat (i32.add (local.get $a) (local.get $r3))))
      (local.set $c30 (f32x4.relaxed_madd (local.get $av) (local.get $b0) (local.get $c30)))
      (local.set $c31 (f32x4.relaxed_madd (local.get $av) (local.get $b1) (local.get $c31)))
      (local.set $a (i32.add (local.get $a) (local.get $csA)))
      (local.set $panel (i32.add (local.get $panel) (i32.const 32)))
      (br_if $depth (local.tee $kc (i32.sub (local.get $kc) (i32.const 1)))))
    (if (i32.eq (local.get $nr) (i32.const 8))
      (then
        (local.set $dst (local.get $c))
        (if (i32.eq (local.get $acc) (i32.const 2))
          (then
            (local.set $b0 (v128.load (local.get $bias)))
            (local.set $b1 (v128.load offset=16 (local.get $bias)))
            (local.set $c00 (f32x4.add (local.get $c00) (local.get $b0)))
            (local.set $c01 (f32x4.add (local.get $c01) (local.get $b1)))
            (local.set $c10 (f32x4.add (local.get $c10) (local.get $b0)))
            (local.set $c11 (f32x4.add (local.get $c11) (local.get $b1)))
            (local.set $c20 (f32x4.add (local.get $c20) (local.get $b0)))
            (local.set $c21 (f32x4.add (local.get $c21) (local.get $b1)))
            (local.set $c30 (f32x4.add (local.get $c30) (local.get $b0)))
            (local.set $c31 (f32x4.add (local.get $c31) (local.get $b1)))))
        (if (i32.eq (local.get $acc) (i32.const 1))
          (then
            (local.set $c00 (f32x4.add (local.get $c00) (v128.load (local.get $dst))))
            (local.set $c01 (f32x4.add (local.get $c01) (v128.load offset=16 (local.get $dst))))
            (local.set $dst (i32.add (local.get $dst) (local.get $ldc)))
            (local.set $c10 (f32x4.add (local.get $c10) (v128.load (local.get $dst))))
            (local.set $c11 (f32x4.add (local.get $c11) (v128.load offset=16 (local.get $dst))))
            (local.set $dst (i32.add (local.get $dst) (local.get $ldc)))
            (local.set $c20 (f32x4.add (local.get $c20) (v128.load (local.get $dst))))
            (local.set $c21 (f32x4.add (local.get $c21) (v128.load offset=16 (local.get $dst))))
            (local.set $dst (i32.add (local.get $dst) (local.get $ldc)))
            (local.set $c30 (f32x4.add (local.get $c30) (v128.load (local.get $dst))))
            (local.set $c31 (f32x4.add (local.get $c31) (v128.load offset=16 (local.get $dst))))
            (local.set $dst (local.get $c))))
        (v128.store (local.get $dst) (local.get $c00))
        (v128.store offset=16 (local.get $dst) (local.get $c01))
        (local.set $dst (i32.add (local.get $dst) (local.get $ldc)))
        (v128.store (local.get $dst) (local.get $c10))
        (v128.store offset=16 (local.get $dst) (local.get $c11))
        (local.set $dst (i32.add (local.get $dst) (local.get $ldc)))
        (v128.store (local.get $dst) (local.get $c20))
        (v128.store offset=16 (local.get $dst) (local.get $c21))
        (local.set $dst (i32.add (local.get $dst) (local.get $ldc)))
        (v128.store (local.get $dst) (local.get $c30))
        (v128.store offset=16 (local.get $dst) (local.get $c31)))
      (else
        (v128.store offset=0 (local.get $tmp) (local.get $c00))
        (v128.store offset=16 (local.get $tmp) (local.get $c01))
        (v128.store offset=32 (local.get $tmp) (local.get $c10))
        (v128.store offset=48 (local.get $tmp) (local.get $c11))
        (v128.store offset=64 (local.get $tmp) (local.get $c20))
        (v128.store offset=80 (local.get $tmp) (local.get $c21))
        (v128.store offset=96 (local.get $tmp) (local.get $c30))
        (v128.store offset=112 (local.get $tmp) (local.get $c31))
        (call $store_partial (local.get $tmp) (local.get $c) (local.get $ldc) (i32.const 4) (local.get $nr) (local.get $acc) (local.get $bias)))))

  ;; One row: C[0, 0..nr) (+)= A[0, 0..kc) . panel.
  (func $kernel1x8_rows (param $a i32) (param $csA i32) (param $panel i32) (param $kc i32)
                   (param $c i32) (param $acc i32) (param $nr i32) (param $tmp i32) (param $bias i32)
    (local $c0 v128) (local $c1 v128) (local $av v128)
    (loop $depth
      (local.set $av (v128.load32_splat (local.get $a)))
      (local.set $c0 (f32x4.relaxed_madd (local.get $av) (v128.load (local.get $panel)) (local.get $c0)))
      (local.set $c1 (f32x4.relaxed_madd (local.get $av) (v128.load offset=16 (local.get $panel)) (local.get $c1)))
      (local.set $a (i32.add (local.get $a) (local.get $csA)))
      (local.set $panel (i32.add (local.get $panel) (i32.const 32)))
      (br_if $depth (local.tee $kc (i32.sub (local.get $kc) (i32.const 1)))))
    (if (i32.eq (local.get $nr) (i32.const 8))
      (then
        (if (i32.eq (local.get $acc) (i32.const 1))
          (then
            (local.set $c0 (f32x4.add (local.get $c0) (v128.load (local.get $c))))
            (local.set $c1 (f32x4.add (local.get $c1) (v128.load offset=16 (local.get $c))))))
        (if (i32.eq (local.get $acc) (i32.const 2))
          (then
            (local.set $c0 (f32x4.add (local.get $c0) (v128.load (local.get $bias))))
            (local.set $c1 (f32x4.add (local.get $c1) (v128.load offset=16 (local.get $bias))))))
        (v128.store (local.get $c) (local.get $c0))
        (v128.store offset=16 (local.get $c) (local.get $c1)))
      (else
        (v128.store offset=0 (local.get $tmp) (local.get $c0))
        (v128.store offset=16 (local.get $tmp) (local.get $c1))
        (call $store_partial (local.get $tmp) (local.get $c) (i32.const 0) (i32.const 1) (local.get $nr) (local.get $acc) (local.get $bias)))))

  ;; Copies the n floats at src into each of `rows` consecutive n-float rows at dst (a bias
  ;; broadcast over rows, before a gemm with accumulate). The filled rows are copied onto the
  ;; rest in doubling blocks: log2(rows) memory.copy calls instead of one per row, which cost
  ;; more than the bytes for 512-byte rows.
  (func (export "fill_rows") (param $dst i32) (param $rows i32) (param $n i32) (param $src i32)
    (local $bytes i32) (local $filled i32) (local $count i32)
    (if (i32.le_s (local.get $rows) (i32.const 0)) (then (return)))
    (local.set $bytes (i32.shl (local.get $n) (i32.const 2)))
    (memory.copy (local.get $dst) (local.get $src) (local.get $bytes))
    (local.set $filled (i32.const 1))
    (block $done
      (loop $double
        (br_if $done (i32.ge_s (local.get $filled) (local.get $rows)))
        (local.set $count (call $min (local.get $filled) (i32.sub (local.get $rows) (local.get $filled))))
        (memory.copy
          (i32.add (local.get $dst) (i32.mul (local.get $filled) (local.get $bytes)))
          (local.get $dst)
          (i32.mul (local.get $count) (local.get $bytes)))
        (local.set $filled (i32.add (local.get $filled) (local.get $count)))
        (br $double))))

  ;; out[j] = sum over r < rows of x[r * cols + j], for j < cols (reducing the leading axis of
  ;; a row-major [rows, cols] block; rows >= 1). Rows are added in order, one f32 sum per column.
  (func (export "sum_rows") (param $x i32) (param $rows i32) (param $cols i32) (param $out i32)
    (local $bytes i32) (local $vecEnd i32) (local $j i32) (local $r i32)
    (local.set $bytes (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $vecEnd (i32.and (local.get $bytes) (i32.const -16)))
    (memory.copy (local.get $out) (local.get $x) (local.get $bytes))
    (local.set $r (i32.const 1))
    (block $done
      (loop $row
        (br_if $done (i32.ge_s (local.get $r) (local.get $rows)))
        (local.set $x (i32.add (local.get $x) (local.get $bytes)))
        (local.set $j (i32.const 0))
        (block $vecDone
          (loop $vec
            (br_if $vecDone (i32.ge_s (local.get $j) (local.get $vecEnd)))
            (v128.store (i32.add (local.get $out) (local.get $j))
              (f32x4.add (v128.load (i32.add (local.get $out) (local.get $j)))
                         (v128.load (i32.add (local.get $x) (local.get $j)))))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $vec)))
        (block $tailDone
          (loop $tail
            (br_if $tailDone (i32.ge_s (local.get $j) (local.get $bytes)))
            (f32.store (i32.add (local.get $out) (local.get $j))
              (f32.add (f32.load (i32.add (local.get $out) (local.get $j)))
                       (f32.load (i32.add (local.get $x) (local.get $j)))))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $tail)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $row))))

  ;; dst row i = src row ids[i] (rows of rowBytes bytes; ids are i32), for i < count. Returns -1,
  ;; or the position of the first id outside [0, numRows) (nothing is copied for it or after it).
  (func (export "gather_rows") (param $src i32) (param $numRows i32) (param $rowBytes i32)
                               (param $ids i32) (param $count i32) (param $dst i32) (result i32)
    (local $i i32) (local $id i32)
    (block $done
      (loop $row
        (br_if $done (i32.ge_s (local.get $i) (local.get $count)))
        (local.set $id (i32.load (i32.add (local.get $ids) (i32.shl (local.get $i) (i32.const 2)))))
        (if (i32.ge_u (local.get $id) (local.get $numRows)) (then (return (local.get $i))))
        (memory.copy (local.get $dst) (i32.add (local.get $src) (i32.mul (local.get $id) (local.get $rowBytes))) (local.get $rowBytes))
        (local.set $dst (i32.add (local.get $dst) (local.get $rowBytes)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $row)))
    (i32.const -1))

  (func $hsum (param $v v128) (result f32)
    (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $v)) (f32x4.extract_lane 1 (local.get $v)))
      (f32.add (f32x4.extract_lane 2 (local.get $v)) (f32x4.extract_lane 3 (local.get $v)))))

  ;; Layer normalisation over the last axis of a row-major [rows, cols] x:
  ;;   mean_r = mean(x_r), var_r = mean((x_r - mean_r)^2), rstd_r = 1 / sqrt(var_r + eps),
  ;;   y_r = (x_r - mean_r) * rstd_r * gamma + beta,
  ;; writing y [rows, cols] and mean, rstd [rows] (kept for the gradient).
  (func (export "layer_norm") (param $x i32) (param $rows i32) (param $cols i32) (param $gamma i32) (param $beta i32)
                              (param $eps f32) (param $y i32) (param $mean i32) (param $rstd i32)
    (local $r i32) (local $j i32) (local $bytes i32) (local $vecEnd i32)
    (local $acc v128) (local $d v128) (local $mv v128) (local $sv v128)
    (local $sum f32) (local $m f32) (local $s f32) (local $t f32) (local $n f32)
    (local.set $bytes (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $vecEnd (i32.and (local.get $bytes) (i32.const -16)))
    (local.set $n (f32.convert_i32_s (local.get $cols)))
    (block $done
      (loop $row
        (br_if $done (i32.ge_s (local.get $r) (local.get $rows)))
        ;; mean
        (local.set $acc (v128.const i32x4 0 0 0 0))
        (local.set $j (i32.const 0))
        (block $e1 (loop $l1
          (br_if $e1 (i32.ge_s (local.get $j) (local.get $vecEnd)))
          (local.set $acc (f32x4.add (local.get $acc) (v128.load (i32.add (local.get $x) (local.get $j)))))
          (local.set $j (i32.add (local.get $j) (i32.const 16)))
          (br $l1)))
        (local.set $sum (call $hsum (local.get $acc)))
        (block $e2 (loop $l2
          (br_if $e2 (i32.ge_s (local.get $j) (local.get $bytes)))
          (local.set $sum (f32.add (local.get $sum) (f32.load (i32.add (local.get $x) (local.get $j)))))
          (local.set $j (i32.add (local.get $j) (i32.const 4)))
          (br $l2)))
        (local.set $m (f32.div (local.get $sum) (local.get $n)))
        (local.set $mv (f32x4.splat (local.get $m)))
        ;; variance
        (local.set $acc (v128.const i32x4 0 0 0 0))
        (local.set $j (i32.const 0))
        (block $e3 (loop $l3
          (br_if $e3 (i32.ge_s (local.get $j) (local.get $vecEnd)))
          (local.set $d (f32x4.sub (v128.load (i32.add (local.get $x) (local.get $j))) (local.get $mv)))
          (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (local.get $d) (local.get $d))))
          (local.set $j (i32.add (local.get $j) (i32.const 16)))
          (br $l3)))
        (local.set $sum (call $hsum (local.get $acc)))
        (block $e4 (loop $l4
          (br_if $e4 (i32.ge_s (local.get $j) (local.get $bytes)))
          (local.set $t (f32.sub (f32.load (i32.add (local.get $x) (local.get $j))) (local.get $m)))
          (local.set $sum (f32.add (local.get $sum) (f32.mul (local.get $t) (local.get $t))))
          (local.set $j (i32.add (local.get $j) (i32.const 4)))
          (br $l4)))
        (local.set $s (f32.div (f32.const 1) (f32.sqrt (f32.add (f32.div (local.get $sum) (local.get $n)) (local.get $eps)))))
        (local.set $sv (f32x4.splat (local.get $s)))
        (f32.store (i32.add (local.get $mean) (i32.shl (local.get $r) (i32.const 2))) (local.get $m))
        (f32.store (i32.add (local.get $rstd) (i32.shl (local.get $r) (i32.const 2))) (local.get $s))
        ;; y
        (local.set $j (i32.const 0))
        (block $e5 (loop $l5
          (br_if $e5 (i32.ge_s (local.get $j) (local.get $vecEnd)))
          (v128.store (i32.add (local.get $y) (local.get $j))
            (f32x4.add
              (f32x4.mul
                (f32x4.mul (f32x4.sub (v128.load (i32.add (local.get $x) (local.get $j))) (local.get $mv)) (local.get $sv))
                (v128.load (i32.add (local.get $gamma) (local.get $j))))
              (v128.load (i32.add (local.get $beta) (local.get $j)))))
          (local.set $j (i32.add (local.get $j) (i32.const 16)))
          (br $l5)))
        (block $e6 (loop $l6
          (br_if $e6 (i32.ge_s (local.get $j) (local.get $bytes)))
          (f32.store (i32.add (local.get $y) (local.get $j))
            (f32.add
              (f32.mul
                (f32.mul (f32.sub (f32.load (i32.add (local.get $x) (local.get $j))) (local.get $m)) (local.get $s))
                (f32.load (i32.add (local.get $gamma) (local.get $j))))
              (f32.load (i32.add (local.get $beta) (local.get $j)))))
          (local.set $j (i32.add (local.get $j) (i32.const 4)))
          (br $l6)))
        (local.set $x (i32.add (local.get $x) (local.get $bytes)))
        (local.set $y (i32.add (local.get $y) (local.get $bytes)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $row))))

  ;; Gradient of layer_norm, given dy, x and the saved mean and rstd. With xhat = (x - mean) * rstd
  ;; and g = dy * gamma, per row:
  ;;   dx = rstd * (g - mean(g) - xhat * mean(g * xhat)),
  ;; and over all rows: dgamma = sum(dy * xhat), dbeta = sum(dy).
  (func (export "layer_norm_grad") (param $dy i32) (param $x i32) (param $rows i32) (param $cols i32)
                                   (param $gamma i32) (param $mean i32) (param $rstd i32)
                                   (param $dx i32) (param $dgamma i32) (param $dbeta i32)
    (local $r i32) (local $j i32) (local $bytes i32) (local $vecEnd i32)
    (local $mv v128) (local $sv v128) (local $xh v128) (local $dyv v128) (local $g v128)
    (local $accG v128) (local $accGx v128) (local $av v128) (local $bv v128)
    (local $m f32) (local $s f32) (local $n f32) (local $sumG f32) (local $sumGx f32)
    (local $xs f32) (local $dys f32) (local $gs f32) (local $a f32) (local $b f32)
    (local.set $bytes (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $vecEnd (i32.and (local.get $bytes) (i32.const -16)))
    (local.set $n (f32.convert_i32_s (local.get $cols)))
    (memory.fill (local.get $dgamma) (i32.const 0) (local.get $bytes))
    (memory.fill (local.get $dbeta) (i32.const 0) (local.get $bytes))
    (block $done
      (loop $row
        (br_if $done (i32.ge_s (local.get $r) (local.get $rows)))
        (local.set $m (f32.load (i32.add (local.get $mean) (i32.shl (local.get $r) (i32.const 2)))))
        (local.set $s (f32.load (i32.add (local.get $rstd) (i32.shl (local.get $r) (i32.const 2)))))
        (local.set $mv (f32x4.splat (local.get $m)))
        (local.set $sv (f32x4.splat (local.get $s)))
        ;; pass 1: row sums of g and g * xhat; parameter gradients
        (local.set $accG (v128.const i32x4 0 0 0 0))
        (local.set $accGx (v128.const i32x4 0 0 0 0))
        (local.set $j (i32.const 0))
        (block $e1 (loop $l1
          (br_if $e1 (i32.ge_s (local.get $j) (local.get $vecEnd)))
          (local.set $xh (f32x4.mul (f32x4.sub (v128.load (i32.add (local.get $x) (local.get $j))) (local.get $mv)) (local.get $sv)))
          (local.set $dyv (v128.load (i32.add (local.get $dy) (local.get $j))))
          (local.set $g (f32x4.mul (local.get $dyv) (v128.load (i32.add (local.get $gamma) (local.get $j)))))
          (local.set $accG (f32x4.add (local.get $accG) (local.get $g)))
          (local.set $accGx (f32x4.add (local.get $accGx) (f32x4.mul (local.get $g) (local.get $xh))))
          (v128.store (i32.add (local.get $dgamma) (local.get $j))
            (f32x4.add (v128.load (i32.add (local.get $dgamma) (local.get $j))) (f32x4.mul (local.get $dyv) (local.get $xh))))
          (v128.store (i32.add (local.get $dbeta) (local.get $j))
            (f32x4.add (v128.load (i32.add (local.get $dbeta) (local.get $j))) (local.get $dyv)))
          (local.set $j (i32.add (local.get $j) (i32.const 16)))
          (br $l1)))
        (local.set $sumG (call $hsum (local.get $accG)))
        (local.set $sumGx (call $hsum (local.get $accGx)))
        (block $e2 (loop $l2
          (br_if $e2 (i32.ge_s (local.get $j) (local.get $bytes)))
          (local.set $xs (f32.mul (f32.sub (f32.load (i32.add (local.get $x) (local.get $j))) (local.get $m)) (local.get $s)))
          (local.set $dys (f32.load (i32.add (local.get $dy) (local.get $j))))
          (local.set $gs (f32.mul (local.get $dys) (f32.load (i32.add (local.get $gamma) (local.get $j)))))
          (local.set $sumG (f32.add (local.get $sumG) (local.get $gs)))
          (local.set $sumGx (f32.add (local.get $sumGx) (f32.mul (local.get $gs) (local.get $xs))))
          (f32.store (i32.add (local.get $dgamma) (local.get $j))
            (f32.add (f32.load (i32.add (local.get $dgamma) (local.get $j))) (f32.mul (local.get $dys) (local.get $xs))))
          (f32.store (i32.add (local.get $dbeta) (local.get $j))
            (f32.add (f32.load (i32.add (local.get $dbeta) (local.get $j))) (local.get $dys)))
          (local.set $j (i32.add (local.get $j) (i32.const 4)))
          (br $l2)))
        (local.set $a (f32.div (local.get $sumG) (local.get $n)))
        (local.set $b (f32.div (local.get $sumGx) (local.get $n)))
        (local.set $av (f32x4.splat (local.get $a)))
        (local.set $bv (f32x4.splat (local.get $b)))
        ;; pass 2: dx
        (local.set $j (i32.const 0))
        (block $e3 (loop $l3
          (br_if $e3 (i32.ge_s (local.get $j) (local.get $vecEnd)))
          (local.set $xh (f32x4.mul (f32x4.sub (v128.load (i32.add (local.get $x) (local.get $j))) (local.get $mv)) (local.get $sv)))
          (local.set $g (f32x4.mul (v128.load (i32.add (local.get $dy) (local.get $j))) (v128.load (i32.add (local.get $gamma) (local.get $j)))))
          (v128.store (i32.add (local.get $dx) (local.get $j))
            (f32x4.mul (local.get $sv)
              (f32x4.sub (f32x4.sub (local.get $g) (local.get $av)) (f32x4.mul (local.get $xh) (local.get $bv)))))
          (local.set $j (i32.add (local.get $j) (i32.const 16)))
          (br $l3)))
        (block $e4 (loop $l4
          (br_if $e4 (i32.ge_s (local.get $j) (local.get $bytes)))
          (local.set $xs (f32.mul (f32.sub (f32.load (i32.add (local.get $x) (local.get $j))) (local.get $m)) (local.get $s)))
          (local.set $gs (f32.mul (f32.load (i32.add (local.get $dy) (local.get $j))) (f32.load (i32.add (local.get $gamma) (local.get $j)))))
          (f32.store (i32.add (local.get $dx) (local.get $j))
            (f32.mul (local.get $s) (f32.sub (f32.sub (local.get $gs) (local.get $a)) (f32.mul (local.get $xs) (local.get $b)))))
          (local.set $j (i32.add (local.get $j) (i32.const 4)))
          (br $l4)))
        (local.set $x (i32.add (local.get $x) (local.get $bytes)))
        (local.set $dy (i32.add (local.get $dy) (local.get $bytes)))
        (local.set $dx (i32.add (local.get $dx) (local.get $bytes)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $row))))

  ;; Softmax gradient over the last axis of row-major [rows, cols] probabilities p:
  ;;   ds = p * (dp - sum(dp * p)) per row.
  (func (export "softmax_grad") (param $p i32) (param $dp i32) (param $rows i32) (param $cols i32) (param $ds i32)
    (local $r i32) (local $j i32) (local $bytes i32) (local $vecEnd i32)
    (local $acc v128) (local $dotv v128) (local $dot f32)
    (local.set $bytes (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $vecEnd (i32.and (local.get $bytes) (i32.const -16)))
    (block $done
      (loop $row
        (br_if $done (i32.ge_s (local.get $r) (local.get $rows)))
        (local.set $acc (v128.const i32x4 0 0 0 0))
        (local.set $j (i32.const 0))
        (block $e1 (loop $l1
          (br_if $e1 (i32.ge_s (local.get $j) (local.get $vecEnd)))
          (local.set $acc (f32x4.add (local.get $acc)
            (f32x4.mul (v128.load (i32.add (local.get $p) (local.get $j))) (v128.load (i32.add (local.get $dp) (local.get $j))))))
          (local.set $j (i32.add (local.get $j) (i32.const 16)))
          (br $l1)))
        (local.set $dot (call $hsum (local.get $acc)))
        (block $e2 (loop $l2
          (br_if $e2 (i32.ge_s (local.get $j) (local.get $bytes)))
          (local.set $dot (f32.add (local.get $dot)
            (f32.mul (f32.load (i32.add (local.get $p) (local.get $j))) (f32.load (i32.add (local.get $dp) (local.get $j))))))
          (local.set $j (i32.add (local.get $j) (i32.const 4)))
          (br $l2)))
        (local.set $dotv (f32x4.splat (local.get $dot)))
        (local.set $j (i32.const 0))
        (block $e3 (loop $l3
          (br_if $e3 (i32.ge_s (local.get $j) (local.get $vecEnd)))
          (v128.store (i32.add (local.get $ds) (local.get $j))
            (f32x4.mul (v128.load (i32.add (local.get $p) (local.get $j)))
                       (f32x4.sub (v128.load (i32.add (local.get $dp) (local.get $j))) (local.get $dotv))))
          (local.set $j (i32.add (local.get $j) (i32.const 16)))
          (br $l3)))
        (block $e4 (loop $l4
          (br_if $e4 (i32.ge_s (local.get $j) (local.get $bytes)))
          (f32.store (i32.add (local.get $ds) (local.get $j))
            (f32.mul (f32.load (i32.add (local.get $p) (local.get $j)))
                     (f32.sub (f32.load (i32.add (local.get $dp) (local.get $j))) (local.get $dot))))
          (local.set $j (i32.add (local.get $j) (i32.const 4)))
          (br $l4)))
        (local.set $p (i32.add (local.get $p) (local.get $bytes)))
        (local.set $dp (i32.add (local.get $dp) (local.get $bytes)))
        (local.set $ds (i32.add (local.get $ds) (local.get $bytes)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $row))))

  ;; e^x on four lanes, for x <= 0 (the callers subtract the row maximum first). x is clamped at
  ;; -87.33 so that n >= -126 and 2^n stays a normal float: lanes below that come out as ~1e-38
  ;; instead of 0, which no softmax sum (>= 1) can see. NaN stays NaN.
  ;; e^x = 2^n * e^r with n = round(x / ln 2), r = x - n ln 2 in [-ln2/2, ln2/2] (ln 2 split in a
  ;; high part exact in float32 and a low part), e^r by its degree-6 Taylor polynomial (relative
  ;; error below 2e-7 on that interval), 2^n built in the exponent bits. The rounding adds
  ;; 1.5 * 2^23, which leaves n in the low mantissa bits of k: cheaper than f32x4.nearest plus
  ;; i32x4.trunc_sat_f32x4_s, which are several instructions each on x64.
  (func $exp4 (param $x v128) (result v128)
    (local $k v128) (local $n v128) (local $r v128) (local $p v128)
    (local.set $x (f32x4.max (local.get $x) (v128.const f32x4 -87.33 -87.33 -87.33 -87.33)))
    (local.set $k (f32x4.relaxed_madd (local.get $x) (v128.const f32x4 1.44269504 1.44269504 1.44269504 1.44269504)
                                      (v128.const f32x4 12582912 12582912 12582912 12582912)))
    (local.set $n (f32x4.sub (local.get $k) (v128.const f32x4 12582912 12582912 12582912 12582912)))
    (local.set $r (f32x4.relaxed_madd (local.get $n) (v128.const f32x4 -0.693359375 -0.693359375 -0.693359375 -0.693359375) (local.get $x)))
    (local.set $r (f32x4.relaxed_madd (local.get $n) (v128.const f32x4 2.12194440e-4 2.12194440e-4 2.12194440e-4 2.12194440e-4) (local.get $r)))
    (local.set $p (f32x4.relaxed_madd (local.get $r) (v128.const f32x4 1.38888889e-3 1.38888889e-3 1.38888889e-3 1.38888889e-3)
                                      (v128.const f32x4 8.33333333e-3 8.33333333e-3 8.33333333e-3 8.33333333e-3)))
    (local.set $p (f32x4.relaxed_madd (local.get $p) (local.get $r) (v128.const f32x4 4.16666667e-2 4.16666667e-2 4.16666667e-2 4.16666667e-2)))
    (local.set $p (f32x4.relaxed_madd (local.get $p) (local.get $r) (v128.const f32x4 0.166666667 0.166666667 0.166666667 0.166666667)))
    (local.set $p (f32x4.relaxed_madd (local.get $p) (local.get $r) (v128.const f32x4 0.5 0.5 0.5 0.5)))
    (local.set $p (f32x4.relaxed_madd (local.get $p) (local.get $r) (v128.const f32x4 1 1 1 1)))
    (local.set $p (f32x4.relaxed_madd (local.get $p) (local.get $r) (v128.const f32x4 1 1 1 1)))
    ;; k's bits are those of 1.5 * 2^23 plus n: subtracting them (0x4b400000) leaves n; add the bias, shift into the exponent.
    (f32x4.mul (local.get $p)
      (i32x4.shl (i32x4.add (i32x4.sub (local.get $k) (v128.const i32x4 0x4b400000 0x4b400000 0x4b400000 0x4b400000))
                            (v128.const i32x4 127 127 127 127)) (i32.const 23))))

  ;; Natural log of a positive, finite double: x = 2^e * m with m in [sqrt(1/2), sqrt(2)),
  ;; ln m = 2 atanh(t), t = (m - 1) / (m + 1), |t| < 0.172, by its series to t^13 (error < 1e-12).
  ;; Used once per row, so it is scalar and in double.
  (func $ln64 (param $x f64) (result f64)
    (local $bits i64) (local $e f64) (local $m f64) (local $t f64) (local $t2 f64)
    (local.set $bits (i64.reinterpret_f64 (local.get $x)))
    (local.set $e (f64.convert_i64_s (i64.sub (i64.and (i64.shr_u (local.get $bits) (i64.const 52)) (i64.const 0x7ff)) (i64.const 1023))))
    (local.set $m (f64.reinterpret_i64 (i64.or (i64.and (local.get $bits) (i64.const 0x000fffffffffffff)) (i64.const 0x3ff0000000000000))))
    (if (f64.gt (local.get $m) (f64.const 1.4142135623730951))
      (then
        (local.set $m (f64.mul (local.get $m) (f64.const 0.5)))
        (local.set $e (f64.add (local.get $e) (f64.const 1)))))
    (local.set $t (f64.div (f64.sub (local.get $m) (f64.const 1)) (f64.add (local.get $m) (f64.const 1))))
    (local.set $t2 (f64.mul (local.get $t) (local.get $t)))
    (f64.add
      (f64.mul (local.get $e) (f64.const 0.6931471805599453))
      (f64.mul (f64.mul (f64.const 2) (local.get $t))
        (f64.add (f64.const 1) (f64.mul (local.get $t2)
        (f64.add (f64.const 0.3333333333333333) (f64.mul (local.get $t2)
        (f64.add (f64.const 0.2) (f64.mul (local.get $t2)
        (f64.add (f64.const 0.14285714285714285) (f64.mul (local.get $t2)
        (f64.add (f64.const 0.1111111111111111) (f64.mul (local.get $t2)
        (f64.add (f64.const 0.09090909090909091) (f64.mul (local.get $t2) (f64.const 0.07692307692307693))))))))))))))))

;; Softmax cross-entropy against integer labels, over the last axis of row-major [rows, cols]
  ;; logits, in two passes per row (maximum; exponentials and their sum):
  ;;   loss[r] = ln(s_r) - (x[r, labels[r]] - max_r),  s_r = sum_j e^(x[r,j] - max_r)
  ;;   e[r, j] = e^(x[r,j] - max_r),  inv[r] = 1 / s_r
  ;; e and inv are what xent_grad needs: the gradient softmax - onehot is formed there, scaled
  ;; by the upstream gradient in the same pass, which saves a pass over the logits here.
  ;; A label outside [0, cols) gives loss 0 and inv 0, so its gradient row is 0: the same as the
  ;; composite logSoftmax-times-one-hot, where the one-hot of such a label is all zeros.
  ;; NaN logits give NaN. cols >= 1.
  (func (export "softmax_xent") (param $x i32) (param $labels i32) (param $rows i32) (param $cols i32)
                                (param $loss i32) (param $e i32) (param $inv i32)
    (local $r i32) (local $j i32) (local $bytes i32) (local $vecEnd i32) (local $label i32) (local $at i32)
    (local $maxv v128) (local $acc v128) (local $ev v128) (local $mx f32) (local $sum f32)
    (local.set $bytes (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $vecEnd (i32.and (local.get $bytes) (i32.const -16)))
    (block $done
      (loop $row
        (br_if $done (i32.ge_s (local.get $r) (local.get $rows)))
        ;; pass 1: the row maximum
        (local.set $maxv (f32x4.splat (f32.load (local.get $x))))
        (local.set $j (i32.const 0))
        (block $e1 (loop $l1
          (br_if $e1 (i32.ge_s (local.get $j) (local.get $vecEnd)))
          (local.set $maxv (f32x4.max (local.get $maxv) (v128.load (i32.add (local.get $x) (local.get $j)))))
          (local.set $j (i32.add (local.get $j) (i32.const 16)))
          (br $l1)))
        (local.set $mx (f32.max (f32.max (f32x4.extract_lane 0 (local.get $maxv)) (f32x4.extract_lane 1 (local.get $maxv)))
                                (f32.max (f32x4.extract_lane 2 (local.get $maxv)) (f32x4.extract_lane 3 (local.get $maxv)))))
        (block $e2 (loop $l2
          (br_if $e2 (i32.ge_s (local.get $j) (local.get $bytes)))
          (local.set $mx (f32.max (local.get $mx) (f32.load (i32.add (local.get $x) (local.get $j)))))
          (local.set $j (i32.add (local.get $j) (i32.const 4)))
          (br $l2)))
        ;; pass 2: e^(x - max), and their sum
        (local.set $maxv (f32x4.splat (local.get $mx)))
        (local.set $acc (v128.const i32x4 0 0 0 0))
        (local.set $j (i32.const 0))
        (block $e3 (loop $l3
          (br_if $e3 (i32.ge_s (local.get $j) (local.get $vecEnd)))
          (local.set $ev (call $exp4 (f32x4.sub (v128.load (i32.add (local.get $x) (local.get $j))) (local.get $maxv))))
          (v128.store (i32.add (local.get $e) (local.get $j)) (local.get $ev))
          (local.set $acc (f32x4.add (local.get $acc) (local.get $ev)))
          (local.set $j (i32.add (local.get $j) (i32.const 16)))
          (br $l3)))
        (local.set $sum (call $hsum (local.get $acc)))
        (block $e4 (loop $l4
          (br_if $e4 (i32.ge_s (local.get $j) (local.get $bytes)))
          (local.set $ev (call $exp4 (f32x4.splat (f32.sub (f32.load (i32.add (local.get $x) (local.get $j))) (local.get $mx)))))
          (f32.store (i32.add (local.get $e) (local.get $j)) (f32x4.extract_lane 0 (local.get $ev)))
          (local.set $sum (f32.add (local.get $sum) (f32x4.extract_lane 0 (local.get $ev))))
          (local.set $j (i32.add (local.get $j) (i32.const 4)))
          (br $l4)))
        (local.set $at (i32.shl (local.get $r) (i32.const 2)))
        (local.set $label (i32.load (i32.add (local.get $labels) (local.get $at))))
        (if (i32.and (i32.ge_s (local.get $label) (i32.const 0)) (i32.lt_s (local.get $label) (local.get $cols)))
          (then
            (f32.store (i32.add (local.get $inv) (local.get $at)) (f32.div (f32.const 1) (local.get $sum)))
            (f32.store (i32.add (local.get $loss) (local.get $at))
              (f32.demote_f64 (f64.sub
                (call $ln64 (f64.promote_f32 (local.get $sum)))
                (f64.sub (f64.promote_f32 (f32.load (i32.add (local.get $x) (i32.shl (local.get $label) (i32.const 2)))))
                         (f64.promote_f32 (local.get $mx)))))))
          (else
            (f32.store (i32.add (local.get $inv) (local.get $at)) (f32.const 0))
            (f32.store (i32.add (local.get $loss) (local.get $at)) (f32.const 0))))
        (local.set $x (i32.add (local.get $x) (local.get $bytes)))
        (local.set $e (i32.add (local.get $e) (local.get $bytes)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $row))))

  ;; The gradient of softmax_xent's loss, from its e and inv: for each row,
  ;;   out[r, j] = e[r, j] * inv[r] * dy[r] - [j == labels[r]] * dy[r]
  ;; (no subtraction for a label outside [0, cols); its inv is 0, so the row is 0).
  (func (export "xent_grad") (param $e i32) (param $inv i32) (param $labels i32) (param $dy i32)
                             (param $rows i32) (param $cols i32) (param $out i32)
    (local $r i32) (local $j i32) (local $bytes i32) (local $vecEnd i32) (local $at i32) (local $label i32)
    (local $g f32) (local $s f32) (local $sv v128)
    (local.set $bytes (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $vecEnd (i32.and (local.get $bytes) (i32.const -16)))
    (block $done
      (loop $row
        (br_if $done (i32.ge_s (local.get $r) (local.get $rows)))
        (local.set $at (i32.shl (local.get $r) (i32.const 2)))
        (local.set $g (f32.load (i32.add (local.get $dy) (local.get $at))))
        (local.set $s (f32.mul (f32.load (i32.add (local.get $inv) (local.get $at))) (local.get $g)))
        (local.set $sv (f32x4.splat (local.get $s)))
        (local.set $j (i32.const 0))
        (block $e1 (loop $l1
          (br_if $e1 (i32.ge_s (local.get $j) (local.get $vecEnd)))
          (v128.store (i32.add (local.get $out) (local.get $j))
            (f32x4.mul (v128.load (i32.add (local.get $e) (local.get $j))) (local.get $sv)))
          (local.set $j (i32.add (local.get $j) (i32.const 16)))
          (br $l1)))
        (block $e2 (loop $l2
          (br_if $e2 (i32.ge_s (local.get $j) (local.get $bytes)))
          (f32.store (i32.add (local.get $out) (local.get $j))
            (f32.mul (f32.load (i32.add (local.get $e) (local.get $j))) (local.get $s)))
          (local.set $j (i32.add (local.get $j) (i32.const 4)))
          (br $l2)))
        (local.set $label (i32.load (i32.add (local.get $labels) (local.get $at))))
        (if (i32.and (i32.ge_s (local.get $label) (i32.const 0)) (i32.lt_s (local.get $label) (local.get $cols)))
          (then
            (local.set $j (i32.add (local.get $out) (i32.shl (local.get $label) (i32.const 2))))
            (f32.store (local.get $j) (f32.sub (f32.load (local.get $j)) (local.get $g)))))
        (local.set $e (i32.add (local.get $e) (local.get $bytes)))
        (local.set $out (i32.add (local.get $out) (local.get $bytes)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $row))))

  ;; One Adam step over n parameters, in tfjs' AdamOptimizer's operation order (so the float32
  ;; results are the same): m' = m * b1 + g * (1 - b1); v' = v * b2 + g^2 * (1 - b2);
  ;; value' = (m' / c1) / (sqrt(v' / c2) + eps) * (-lr) + value, with c1 = 1 - b1^t, c2 = 1 - b2^t.
  ;; ob1 and ob2 are 1 - b1 and 1 - b2 as tfjs rounds them (computed in double, then to float32).
  (func (export "adam") (param $value i32) (param $m i32) (param $v i32) (param $g i32) (param $n i32)
                        (param $b1 f32) (param $ob1 f32) (param $b2 f32) (param $ob2 f32)
                        (param $lr f32) (param $c1 f32) (param $c2 f32) (param $eps f32)
                        (param $outValue i32) (param $outM i32) (param $outV i32)
    (local $i i32) (local $bytes i32) (local $vecEnd i32)
    (local $gv v128) (local $mv v128) (local $vv v128)
    (local $b1v v128) (local $b2v v128) (local $ob1v v128) (local $ob2v v128)
    (local $c1v v128) (local $c2v v128) (local $epsv v128) (local $nlrv v128)
    (local $gs f32) (local $ms f32) (local $vs f32)
    (local.set $bytes (i32.shl (local.get $n) (i32.const 2)))
    (local.set $vecEnd (i32.and (local.get $bytes) (i32.const -16)))
    (local.set $b1v (f32x4.splat (local.get $b1)))
    (local.set $b2v (f32x4.splat (local.get $b2)))
    (local.set $ob1v (f32x4.splat (local.get $ob1)))
    (local.set $ob2v (f32x4.splat (local.get $ob2)))
    (local.set $c1v (f32x4.splat (local.get $c1)))
    (local.set $c2v (f32x4.splat (local.get $c2)))
    (local.set $epsv (f32x4.splat (local.get $eps)))
    (local.set $nlrv (f32x4.splat (f32.neg (local.get $lr))))
    (block $e1 (loop $l1
      (br_if $e1 (i32.ge_s (local.get $i) (local.get $vecEnd)))
      (local.set $gv (v128.load (i32.add (local.get $g) (local.get $i))))
      (local.set $mv (f32x4.add (f32x4.mul (v128.load (i32.add (local.get $m) (local.get $i))) (local.get $b1v))
                                (f32x4.mul (local.get $gv) (local.get $ob1v))))
      (local.set $vv (f32x4.add (f32x4.mul (v128.load (i32.add (local.get $v) (local.get $i))) (local.get $b2v))
                                (f32x4.mul (f32x4.mul (local.get $gv) (local.get $gv)) (local.get $ob2v))))
      (v128.store (i32.add (local.get $outM) (local.get $i)) (local.get $mv))
      (v128.store (i32.add (local.get $outV) (local.get $i)) (local.get $vv))
      (v128.store (i32.add (local.get $outValue) (local.get $i))
        (f32x4.add
          (f32x4.mul
            (f32x4.div (f32x4.div (local.get $mv) (local.get $c1v))
                       (f32x4.add (f32x4.sqrt (f32x4.div (local.get $vv) (local.get $c2v))) (local.get $epsv)))
            (local.get $nlrv))
          (v128.load (i32.add (local.get $value) (local.get $i)))))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $l1)))
    (block $e2 (loop $l2
      (br_if $e2 (i32.ge_s (local.get $i) (local.get $bytes)))
      (local.set $gs (f32.load (i32.add (local.get $g) (local.get $i))))
      (local.set $ms (f32.add (f32.mul (f32.load (i32.add (local.get $m) (local.get $i))) (local.get $b1))
                              (f32.mul (local.get $gs) (local.get $ob1))))
      (local.set $vs (f32.add (f32.mul (f32.load (i32.add (local.get $v) (local.get $i))) (local.get $b2))
                              (f32.mul (f32.mul (local.get $gs) (local.get $gs)) (local.get $ob2))))
      (f32.store (i32.add (local.get $outM) (local.get $i)) (local.get $ms))
      (f32.store (i32.add (local.get $outV) (local.get $i)) (local.get $vs))
      (f32.store (i32.add (local.get $outValue) (local.get $i))
        (f32.add
          (f32.mul
            (f32.div (f32.div (local.get $ms) (local.get $c1))
                     (f32.add (f32.sqrt (f32.div (local.get $vs) (local.get $c2))) (local.get $eps)))
            (f32.neg (local.get $lr)))
          (f32.load (i32.add (local.get $value) (local.get $i)))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $l2))))

  ;; Panels (8 columns each) that an n-column block of B packs into.
  (func $panel_count (param $n i32) (result i32)
    (i32.add
      (i32.mul (i32.div_u (local.get $n) (global.get $NC)) (i32.shr_u (global.get $NC) (i32.const 3)))
      (i32.shr_u (i32.add (i32.rem_u (local.get $n) (global.get $NC)) (i32.const 7)) (i32.const 3))))

  ;; Bytes pack_b writes for a depth-k, n-column B.
  (func (export "packed_bytes") (param $n i32) (param $k i32) (result i32)
    (i32.mul (i32.shl (call $panel_count (local.get $n)) (i32.const 5)) (local.get $k)))

  ;; Packs all of B (k x n; B(p, j) at b + 4*(p*rsB + j*csB)) at dst, block after block in the
  ;; order gemm_packed reads them: column blocks of NC, and within each the depth blocks of KC.
  (func (export "pack_b") (param $b i32) (param $rsB i32) (param $csB i32) (param $k i32) (param $n i32) (param $dst i32)
    (local $jc i32) (local $nc i32) (local $pc i32) (local $kc i32)
    (if (i32.or (i32.le_s (local.get $n) (i32.const 0)) (i32.le_s (local.get $k) (i32.const 0))) (then (return)))
    (local.set $rsB (i32.shl (local.get $rsB) (i32.const 2)))
    (local.set $csB (i32.shl (local.get $csB) (i32.const 2)))
    (local.set $jc (i32.const 0))
    (loop $colBlocks
      (local.set $nc (call $min (global.get $NC) (i32.sub (local.get $n) (local.get $jc))))
      (local.set $pc (i32.const 0))
      (loop $depthBlocks
        (local.set $kc (call $min (global.get $KC) (i32.sub (local.get $k) (local.get $pc))))
        (call $pack
          (i32.add (local.get $b) (i32.add (i32.mul (local.get $pc) (local.get $rsB)) (i32.mul (local.get $jc) (local.get $csB))))
          (local.get $rsB) (local.get $csB) (local.get $kc) (local.get $nc) (local.get $dst))
        (local.set $dst (i32.add (local.get $dst) (i32.mul (i32.shl (local.get $kc) (i32.const 5)) (call $panel_count (local.get $nc)))))
        (br_if $depthBlocks (i32.lt_s (local.tee $pc (i32.add (local.get $pc) (global.get $KC))) (local.get $k))))
      (br_if $colBlocks (i32.lt_s (local.tee $jc (i32.add (local.get $jc) (global.get $NC))) (local.get $n)))))

  ;; See the header. Sizes and strides in elements, pointers in bytes; accumulate != 0 adds to C.
  (func (export "gemm")
    (param $batch i32) (param $m i32) (param $n i32) (param $k i32)
    (param $a i32) (param $aBatch i32) (param $rsA i32) (param $csA i32)
    (param $b i32) (param $bBatch i32) (param $rsB i32) (param $csB i32)
    (param $c i32) (param $cBatch i32) (param $ldc i32)
    (param $accumulate i32) (param $scratch i32)
    (call $gemm_core
      (local.get $batch) (local.get $m) (local.get $n) (local.get $k)
      (local.get $a) (local.get $aBatch) (local.get $rsA) (local.get $csA)
      (local.get $b) (local.get $bBatch) (local.get $rsB) (local.get $csB)
      (local.get $c) (local.get $cBatch) (local.get $ldc)
      (local.get $accumulate) (i32.const 0) (local.get $scratch) (i32.const 0)))

  ;; gemm, plus a bias row: with bias != 0 (and accumulate 0), C_s[i, j] = sum_p A_s(i, p) * B_s(p, j)
  ;; + bias[j] for every slice and row, added in the micro-kernels' store (the float32 result
  ;; equals filling C with the bias and accumulating onto it, without the extra pass over C).
  (func (export "gemm_bias")
    (param $batch i32) (param $m i32) (param $n i32) (param $k i32)
    (param $a i32) (param $aBatch i32) (param $rsA i32) (param $csA i32)
    (param $b i32) (param $bBatch i32) (param $rsB i32) (param $csB i32)
    (param $c i32) (param $cBatch i32) (param $ldc i32)
    (param $accumulate i32) (param $bias i32) (param $scratch i32)
    (call $gemm_core
      (local.get $batch) (local.get $m) (local.get $n) (local.get $k)
      (local.get $a) (local.get $aBatch) (local.get $rsA) (local.get $csA)
      (local.get $b) (local.get $bBatch) (local.get $rsB) (local.get $csB)
      (local.get $c) (local.get $cBatch) (local.get $ldc)
      (local.get $accumulate) (local.get $bias) (local.get $scratch) (i32.const 0)))

  ;; One product C (m x n, row stride ldc) (+)= A (m x k) * B with B as pack_b left it at
  ;; `packed`; scratch needs scratch_bytes(0, 0) bytes (the tile and the packed A block).
  (func (export "gemm_packed")
    (param $m i32) (param $n i32) (param $k i32)
    (param $a i32) (param $rsA i32) (param $csA i32)
    (param $packed i32) (param $c i32) (param $ldc i32)
    (param $accumulate i32) (param $scratch i32)
    (call $gemm_core
      (i32.const 1) (local.get $m) (local.get $n) (local.get $k)
      (local.get $a) (i32.const 0) (local.get $rsA) (local.get $csA)
      (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)
      (local.get $c) (i32.const 0) (local.get $ldc)
      (local.get $accumulate) (i32.const 0) (local.get $scratch) (local.get $packed)))

  ;; The shared loop nest; `prepacked` != 0 points at pack_b's output, used in place of packing.
  (func $gemm_core
    (param $batch i32) (param $m i32) (param $n i32) (param $k i32)
    (param $a i32) (param $aBatch i32) (param $rsA i32) (param $csA i32)
    (param $b i32) (param $bBatch i32) (param $rsB i32) (param $csB i32)
    (param $c i32) (param $cBatch i32) (param $ldc i32)
    (param $accumulate i32) (param $bias i32) (param $scratch i32) (param $prepacked i32)
    (local $s i32) (local $jc i32) (local $nc i32) (local $pc i32) (local $kc i32)
    (local $ic i32) (local $mc i32) (local $i i32) (local $iEnd i32) (local $q i32) (local $nr i32)
    (local $acc i32) (local $panels i32) (local $panel i32) (local $packed i32) (local $oneBlock i32)
    (local $aS i32) (local $bS i32) (local $cS i32) (local $aBlock i32) (local $cBlock i32)
    (local $aRow i32) (local $cTile i32) (local $biasTile i32) (local $apack i32)
    (if (i32.or (i32.or (i32.le_s (local.get $batch) (i32.const 0)) (i32.le_s (local.get $m) (i32.const 0)))
                (i32.or (i32.le_s (local.get $n) (i32.const 0)) (i32.le_s (local.get $k) (i32.const 0))))
      (then (return)))
    ;; everything to bytes
    (local.set $aBatch (i32.shl (local.get $aBatch) (i32.const 2)))
    (local.set $rsA (i32.shl (local.get $rsA) (i32.const 2)))
    (local.set $csA (i32.shl (local.get $csA) (i32.const 2)))
    (local.set $bBatch (i32.shl (local.get $bBatch) (i32.const 2)))
    (local.set $rsB (i32.shl (local.get $rsB) (i32.const 2)))
    (local.set $csB (i32.shl (local.get $csB) (i32.const 2)))
    (local.set $cBatch (i32.shl (local.get $cBatch) (i32.const 2)))
    (local.set $ldc (i32.shl (local.get $ldc) (i32.const 2)))
    ;; scratch: the 128-byte tile, the packed A block (MC x KC floats), the packed B panels
    (local.set $apack (i32.add (local.get $scratch) (i32.const 128)))
    (local.set $panels (i32.add (local.get $scratch) (i32.const 65664)))
    ;; B shared by all slices and packed in one block: pack it once
    (local.set $oneBlock
      (i32.and (i32.eqz (local.get $bBatch))
               (i32.and (i32.le_s (local.get $n) (global.get $NC)) (i32.le_s (local.get $k) (global.get $KC)))))
    (local.set $packed (i32.const 0))
    (local.set $s (i32.const 0))
    (loop $slices
      (local.set $aS (i32.add (local.get $a) (i32.mul (local.get $s) (local.get $aBatch))))
      (local.set $bS (i32.add (local.get $b) (i32.mul (local.get $s) (local.get $bBatch))))
      (local.set $cS (i32.add (local.get $c) (i32.mul (local.get $s) (local.get $cBatch))))
      (if (local.get $prepacked) (then (local.set $panels (local.get $prepacked))))
      (local.set $jc (i32.const 0))
      (loop $colBlocks
        (local.set $nc (call $min (global.get $NC) (i32.sub (local.get $n) (local.get $jc))))
        (local.set $pc (i32.const 0))
        (loop $depthBlocks
          (local.set $kc (call $min (global.get $KC) (i32.sub (local.get $k) (local.get $pc))))
          (if (i32.eqz (i32.or (local.get $prepacked) (i32.and (local.get $oneBlock) (local.get $packed))))
            (then
              (call $pack
                (i32.add (local.get $bS) (i32.add (i32.mul (local.get $pc) (local.get $rsB)) (i32.mul (local.get $jc) (local.get $csB))))
                (local.get $rsB) (local.get $csB) (local.get $kc) (local.get $nc) (local.get $panels))
              (local.set $packed (i32.const 1))))
          (local.set $acc
            (select (i32.const 1)
                    (select (i32.const 2) (i32.const 0) (local.get $bias))
                    (i32.or (local.get $accumulate) (i32.gt_s (local.get $pc) (i32.const 0)))))
          (local.set $ic (i32.const 0))
          (loop $rowBlocks
            (local.set $mc (call $min (global.get $MC) (i32.sub (local.get $m) (local.get $ic))))
            ;; A(ic, pc) and C(ic, jc)
            (local.set $aBlock (i32.add (local.get $aS) (i32.add (i32.mul (local.get $ic) (local.get $rsA)) (i32.mul (local.get $pc) (local.get $csA)))))
            (local.set $cBlock (i32.add (local.get $cS) (i32.add (i32.mul (local.get $ic) (local.get $ldc)) (i32.shl (local.get $jc) (i32.const 2)))))
            ;; A is read in place unless it is not row-major, B has 64 columns or more (8 panels
            ;; or more to spread the packing over), and either A's depth stride is 2 KiB or more
            ;; (a transposed A of 512 rows or more: a new cache line, and every few steps a new
            ;; page, per depth step) or A has fewer than 4 rows (the 1 x 8 kernel is
            ;; latency-bound on its two accumulators): then it is packed into 4-row micro-panels
            ;; first. Packing every transposed A lost up to a third on the per-head attention
            ;; products (m 13 to 128, n 32) and on [800, 64]^T x [64, 10]; measured with
            ;; bench:gemm.
            (if (i32.eqz (i32.and (i32.and (i32.ne (local.get $csA) (i32.const 4)) (i32.ge_s (local.get $n) (i32.const 64)))
                                  (i32.or (i32.ge_u (local.get $csA) (i32.const 2048)) (i32.lt_s (local.get $m) (i32.const 4)))))
              (then
                (local.set $q (i32.const 0))
                (local.set $panel (local.get $panels))
                (loop $panelLoop
                  (local.set $nr (call $min (i32.const 8) (i32.sub (local.get $nc) (i32.shl (local.get $q) (i32.const 3)))))
                  (local.set $aRow (local.get $aBlock))
                  (local.set $cTile (i32.add (local.get $cBlock) (i32.shl (local.get $q) (i32.const 5))))
                  (local.set $biasTile (i32.add (local.get $bias) (i32.shl (i32.add (local.get $jc) (i32.shl (local.get $q) (i32.const 3))) (i32.const 2))))
                  (local.set $i (i32.const 0))
                  (local.set $iEnd (i32.sub (local.get $mc) (i32.const 3)))
                  (block $fourDone
                    (loop $fourRows
                      (br_if $fourDone (i32.ge_s (local.get $i) (local.get $iEnd)))
                      (call $kernel4x8_rows (local.get $aRow) (local.get $rsA) (local.get $csA) (local.get $panel) (local.get $kc)
                                       (local.get $cTile) (local.get $ldc) (local.get $acc) (local.get $nr) (local.get $scratch) (local.get $biasTile))
                      (local.set $aRow (i32.add (local.get $aRow) (i32.shl (local.get $rsA) (i32.const 2))))
                      (local.set $cTile (i32.add (local.get $cTile) (i32.shl (local.get $ldc) (i32.const 2))))
                      (local.set $i (i32.add (local.get $i) (i32.const 4)))
                      (br $fourRows)))
                  (block $oneDone
                    (loop $oneRows
                      (br_if $oneDone (i32.ge_s (local.get $i) (local.get $mc)))
                      (call $kernel1x8_rows (local.get $aRow) (local.get $csA) (local.get $panel) (local.get $kc)
                                       (local.get $cTile) (local.get $acc) (local.get $nr) (local.get $scratch) (local.get $biasTile))
                      (local.set $aRow (i32.add (local.get $aRow) (local.get $rsA)))
                      (local.set $cTile (i32.add (local.get $cTile) (local.get $ldc)))
                      (local.set $i (i32.add (local.get $i) (i32.const 1)))
                      (br $oneRows)))
                  (local.set $panel (i32.add (local.get $panel) (i32.shl (local.get $kc) (i32.const 5))))
                  (br_if $panelLoop (i32.lt_s (i32.shl (local.tee $q (i32.add (local.get $q) (i32.const 1))) (i32.const 3)) (local.get $nc)))))
              (else
                (call $pack_a (local.get $aBlock) (local.get $rsA) (local.get $csA) (local.get $mc) (local.get $kc) (local.get $apack))
                (local.set $q (i32.const 0))
                (local.set $panel (local.get $panels))
                (loop $panelLoop
                  (local.set $nr (call $min (i32.const 8) (i32.sub (local.get $nc) (i32.shl (local.get $q) (i32.const 3)))))
                  (local.set $aRow (local.get $apack))
                  (local.set $cTile (i32.add (local.get $cBlock) (i32.shl (local.get $q) (i32.const 5))))
                  (local.set $biasTile (i32.add (local.get $bias) (i32.shl (i32.add (local.get $jc) (i32.shl (local.get $q) (i32.const 3))) (i32.const 2))))
                  ;; every 4 rows (the last group zero padded in the packed A) through the 4 x 8 kernel
                  (local.set $i (i32.const 0))
                  (loop $fourRows
                    (call $kernel4x8 (local.get $aRow) (local.get $panel) (local.get $kc)
                                     (local.get $cTile) (local.get $ldc) (local.get $acc) (local.get $nr)
                                     (call $min (i32.const 4) (i32.sub (local.get $mc) (local.get $i))) (local.get $scratch) (local.get $biasTile))
                    (local.set $aRow (i32.add (local.get $aRow) (i32.shl (local.get $kc) (i32.const 4))))
                    (local.set $cTile (i32.add (local.get $cTile) (i32.shl (local.get $ldc) (i32.const 2))))
                    (br_if $fourRows (i32.lt_s (local.tee $i (i32.add (local.get $i) (i32.const 4))) (local.get $mc))))
                  (local.set $panel (i32.add (local.get $panel) (i32.shl (local.get $kc) (i32.const 5))))
                  (br_if $panelLoop (i32.lt_s (i32.shl (local.tee $q (i32.add (local.get $q) (i32.const 1))) (i32.const 3)) (local.get $nc))))))
            (br_if $rowBlocks (i32.lt_s (local.tee $ic (i32.add (local.get $ic) (global.get $MC))) (local.get $m))))
          ;; prepacked: the next block follows this one
          (if (local.get $prepacked)
            (then (local.set $panels (i32.add (local.get $panels) (i32.mul (i32.shl (local.get $kc) (i32.const 5)) (call $panel_count (local.get $nc)))))))
          (br_if $depthBlocks (i32.lt_s (local.tee $pc (i32.add (local.get $pc) (global.get $KC))) (local.get $k))))
        (br_if $colBlocks (i32.lt_s (local.tee $jc (i32.add (local.get $jc) (global.get $NC))) (local.get $n))))
      (br_if $slices (i32.lt_s (local.tee $s (i32.add (local.get $s) (i32.const 1))) (local.get $batch)))))
)
