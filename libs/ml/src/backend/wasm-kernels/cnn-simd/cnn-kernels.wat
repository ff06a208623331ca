;; tfleet SIMD kernels for convolution and pooling gradients, on the tfjs-backend-wasm heap.
;;
;; Like ../simd/kernels.wat, the module imports the tfjs wasm backend's own linear memory
;; ("env" "memory"): pointers are byte offsets of tensors on that heap, sizes count elements.
;; All tensors are float32, NHWC.
;;
;; Compiled by generate.ts into cnn-kernels-wasm.ts (see index.ts); a unit test fails when the
;; two differ.
(module
  (import "env" "memory" (memory 0))

  ;; ---- runs of floats ------------------------------------------------------------------
  ;; Short runs (patch rows of a few channels) are copied with vector moves: a memory.copy
  ;; call costs more than a few vector moves.

  (func $copy (param $dst i32) (param $src i32) (param $bytes i32)
    (if (i32.ge_u (local.get $bytes) (i32.const 256))
      (then (memory.copy (local.get $dst) (local.get $src) (local.get $bytes)) (return)))
    (block $vecDone
      (loop $vec
        (br_if $vecDone (i32.lt_u (local.get $bytes) (i32.const 16)))
        (v128.store (local.get $dst) (v128.load (local.get $src)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (local.set $src (i32.add (local.get $src) (i32.const 16)))
        (local.set $bytes (i32.sub (local.get $bytes) (i32.const 16)))
        (br $vec)))
    (block $done
      (loop $scalar
        (br_if $done (i32.eqz (local.get $bytes)))
        (f32.store (local.get $dst) (f32.load (local.get $src)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
        (local.set $src (i32.add (local.get $src) (i32.const 4)))
        (local.set $bytes (i32.sub (local.get $bytes) (i32.const 4)))
        (br $scalar))))

  (func $zero (param $dst i32) (param $bytes i32)
    (if (i32.ge_u (local.get $bytes) (i32.const 256))
      (then (memory.fill (local.get $dst) (i32.const 0) (local.get $bytes)) (return)))
    (block $vecDone
      (loop $vec
        (br_if $vecDone (i32.lt_u (local.get $bytes) (i32.const 16)))
        (v128.store (local.get $dst) (v128.const i32x4 0 0 0 0))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (local.set $bytes (i32.sub (local.get $bytes) (i32.const 16)))
        (br $vec)))
    (block $done
      (loop $scalar
        (br_if $done (i32.eqz (local.get $bytes)))
        (f32.store (local.get $dst) (f32.const 0))
        (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
        (local.set $bytes (i32.sub (local.get $bytes) (i32.const 4)))
        (br $scalar))))

  ;; dst[0..bytes) += src[0..bytes)
  (func $add (param $dst i32) (param $src i32) (param $bytes i32)
    (block $vecDone
      (loop $vec
        (br_if $vecDone (i32.lt_u (local.get $bytes) (i32.const 16)))
        (v128.store (local.get $dst) (f32x4.add (v128.load (local.get $dst)) (v128.load (local.get $src))))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (local.set $src (i32.add (local.get $src) (i32.const 16)))
        (local.set $bytes (i32.sub (local.get $bytes) (i32.const 16)))
        (br $vec)))
    (block $done
      (loop $scalar
        (br_if $done (i32.eqz (local.get $bytes)))
        (f32.store (local.get $dst) (f32.add (f32.load (local.get $dst)) (f32.load (local.get $src))))
        (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
        (local.set $src (i32.add (local.get $src) (i32.const 4)))
        (local.set $bytes (i32.sub (local.get $bytes) (i32.const 4)))
        (br $scalar))))

  ;; ---- patches (im2col) ----------------------------------------------------------------
  ;; Patch row p = (b, oy, ox) of a conv with filter fh x fw, strides sh/sw and padding
  ;; top/left holds input pixels (oy*sh - top + i, ox*sw - left + j) for i < fh, j < fw, each
  ;; c floats, in that order; out-of-image pixels are zeros. For one filter row i the pixels
  ;; j in [jLo, jHi) that lie inside the image are one contiguous run of the input row.
  ;; mode 0: cols = patches of x (rows [n*oh*ow, fh*fw*c]).
  ;; mode 1: x += the patch rows of cols, scattered back (the adjoint; x must start zeroed
  ;;         or hold what the caller wants to add to).
  (func $patches (param $mode i32) (param $x i32) (param $cols i32)
                 (param $n i32) (param $h i32) (param $w i32) (param $c i32)
                 (param $fh i32) (param $fw i32) (param $oh i32) (param $ow i32)
                 (param $sh i32) (param $sw i32) (param $top i32) (param $left i32)
    (local $cB i32) (local $rowB i32) (local $imageB i32) (local $patchRowB i32)
    (local $b i32) (local $oy i32) (local $ox i32) (local $i i32)
    (local $img i32) (local $y0 i32) (local $x0 i32) (local $iy i32)
    (local $jLo i32) (local $jHi i32) (local $src i32) (local $dst i32)
    (local.set $cB (i32.shl (local.get $c) (i32.const 2)))
    (local.set $rowB (i32.mul (local.get $w) (local.get $cB)))
    (local.set $imageB (i32.mul (local.get $h) (local.get $rowB)))
    (local.set $patchRowB (i32.mul (local.get $fw) (local.get $cB)))
    (local.set $dst (local.get $cols))
    (local.set $b (i32.const 0))
    (block $imagesDone
      (loop $images
        (br_if $imagesDone (i32.ge_s (local.get $b) (local.get $n)))
        (local.set $img (i32.add (local.get $x) (i32.mul (local.get $b) (local.get $imageB))))
        (local.set $oy (i32.const 0))
        (block $rowsDone
          (loop $rows
            (br_if $rowsDone (i32.ge_s (local.get $oy) (local.get $oh)))
            (local.set $y0 (i32.sub (i32.mul (local.get $oy) (local.get $sh)) (local.get $top)))
            (local.set $ox (i32.const 0))
            (block $colsDone
              (loop $columns
                (br_if $colsDone (i32.ge_s (local.get $ox) (local.get $ow)))
                (local.set $x0 (i32.sub (i32.mul (local.get $ox) (local.get $sw)) (local.get $left)))
                ;; jLo = max(0, -x0), jHi = max(jLo, min(fw, w - x0))
                (local.set $jLo (select (i32.sub (i32.const 0) (local.get $x0)) (i32.const 0) (i32.lt_s (local.get $x0) (i32.const 0))))
                (local.set $jHi (i32.sub (local.get $w) (local.get $x0)))
                (if (i32.gt_s (local.get $jHi) (local.get $fw)) (then (local.set $jHi (local.get $fw))))
                (if (i32.lt_s (local.get $jHi) (local.get $jLo)) (then (local.set $jHi (local.get $jLo))))
                (local.set $i (i32.const 0))
                (block $filterRowsDone
                  (loop $filterRows
                    (br_if $filterRowsDone (i32.ge_s (local.get $i) (local.get $fh)))
                    (local.set $iy (i32.add (local.get $y0) (local.get $i)))
                    (if (i32.and (i32.ge_s (local.get $iy) (i32.const 0)) (i32.lt_s (local.get $iy) (local.get $h)))
                      (then
                        (local.set $src
                          (i32.add (i32.add (local.get $img) (i32.mul (local.get $iy) (local.get $rowB)))
                                   (i32.mul (i32.add (local.get $x0) (local.get $jLo)) (local.get $cB))))
                        (if (i32.eqz (local.get $mode))
                          (then
                            (call $zero (local.get $dst) (i32.mul (local.get $jLo) (local.get $cB)))
                            (call $copy (i32.add (local.get $dst) (i32.mul (local.get $jLo) (local.get $cB)))
                                        (local.get $src)
                                        (i32.mul (i32.sub (local.get $jHi) (local.get $jLo)) (local.get $cB)))
                            (call $zero (i32.add (local.get $dst) (i32.mul (local.get $jHi) (local.get $cB)))
                                        (i32.mul (i32.sub (local.get $fw) (local.get $jHi)) (local.get $cB))))
                          (else
                            (call $add (local.get $src)
                                       (i32.add (local.get $dst) (i32.mul (local.get $jLo) (local.get $cB)))
                                       (i32.mul (i32.sub (local.get $jHi) (local.get $jLo)) (local.get $cB))))))
                      (else
                        (if (i32.eqz (local.get $mode)) (then (call $zero (local.get $dst) (local.get $patchRowB))))))
                    (local.set $dst (i32.add (local.get $dst) (local.get $patchRowB)))
                    (local.set $i (i32.add (local.get $i) (i32.const 1)))
                    (br $filterRows)))
                (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
                (br $columns)))
            (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
            (br $rows)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $images))))

  (func (export "im2col") (param $x i32) (param $cols i32)
                          (param $n i32) (param $h i32) (param $w i32) (param $c i32)
                          (param $fh i32) (param $fw i32) (param $oh i32) (param $ow i32)
                          (param $sh i32) (param $sw i32) (param $top i32) (param $left i32)
    (call $patches (i32.const 0) (local.get $x) (local.get $cols) (local.get $n) (local.get $h) (local.get $w) (local.get $c)
                   (local.get $fh) (local.get $fw) (local.get $oh) (local.get $ow)
                   (local.get $sh) (local.get $sw) (local.get $top) (local.get $left)))

  (func (export "col2im_add") (param $cols i32) (param $x i32)
                              (param $n i32) (param $h i32) (param $w i32) (param $c i32)
                              (param $fh i32) (param $fw i32) (param $oh i32) (param $ow i32)
                              (param $sh i32) (param $sw i32) (param $top i32) (param $left i32)
    (call $patches (i32.const 1) (local.get $x) (local.get $cols) (local.get $n) (local.get $h) (local.get $w) (local.get $c)
                   (local.get $fh) (local.get $fw) (local.get $oh) (local.get $ow)
                   (local.get $sh) (local.get $sw) (local.get $top) (local.get $left)))

  ;; ---- max-pool gradient ---------------------------------------------------------------
  ;; The gradient of each window goes to its first strict maximum in row-major window order,
  ;; starting from -Infinity (the cpu backend's rule: ties go to the earliest position, NaN
  ;; never wins, an all -Infinity window routes nothing).

  ;; 2x2 windows, stride 2, no top/left padding: windows (oy, ox) for oy < fullH, ox < fullW
  ;; (all lying inside the image). dy is [n, oh, ow, c]. All four dx positions of each such
  ;; window are written (the gradient or 0), so only positions outside them need zeroing.
  ;; Four channels at a time: the winner masks come from lane-wise compares, no branches.
  (func (export "max_pool_grad_2x2") (param $x i32) (param $dy i32) (param $dx i32)
                                      (param $n i32) (param $h i32) (param $w i32) (param $c i32)
                                      (param $fullH i32) (param $fullW i32) (param $oh i32) (param $ow i32)
    (local $cB i32) (local $rowB i32) (local $vecB i32)
    (local $b i32) (local $oy i32) (local $ox i32) (local $j i32)
    (local $g i32) (local $p i32) (local $rowStart i32)
    (local $v00 v128) (local $v01 v128) (local $v10 v128) (local $v11 v128) (local $gv v128)
    (local $m v128) (local $s00 v128) (local $s01 v128) (local $s10 v128) (local $s11 v128)
    (local $f00 f32) (local $f01 f32) (local $f10 f32) (local $f11 f32) (local $gf f32)
    (local $best f32) (local $pos i32)
    (local.set $cB (i32.shl (local.get $c) (i32.const 2)))
    (local.set $rowB (i32.mul (local.get $w) (local.get $cB)))
    (local.set $vecB (i32.and (local.get $cB) (i32.const -16)))
    (local.set $b (i32.const 0))
    (block $imagesDone
      (loop $images
        (br_if $imagesDone (i32.ge_s (local.get $b) (local.get $n)))
        (local.set $oy (i32.const 0))
        (block $rowsDone
          (loop $rows
            (br_if $rowsDone (i32.ge_s (local.get $oy) (local.get $fullH)))
            ;; dy row (b, oy) and input row (b, 2*oy), as byte offsets
            (local.set $g (i32.add (local.get $dy)
              (i32.mul (i32.mul (i32.add (i32.mul (local.get $b) (local.get $oh)) (local.get $oy)) (local.get $ow)) (local.get $cB))))
            (local.set $rowStart
              (i32.mul (i32.add (i32.mul (local.get $b) (local.get $h)) (i32.shl (local.get $oy) (i32.const 1))) (local.get $rowB)))
            (local.set $ox (i32.const 0))
            (block $colsDone
              (loop $columns
                (br_if $colsDone (i32.ge_s (local.get $ox) (local.get $fullW)))
                (local.set $p (i32.add (local.get $rowStart) (i32.mul (i32.shl (local.get $ox) (i32.const 1)) (local.get $cB))))
                (local.set $j (i32.const 0))
                (block $vecDone
                  (loop $vec
                    (br_if $vecDone (i32.ge_s (local.get $j) (local.get $vecB)))
                    (local.set $v00 (v128.load (i32.add (local.get $x) (local.get $p))))
                    (local.set $v01 (v128.load (i32.add (i32.add (local.get $x) (local.get $p)) (local.get $cB))))
                    (local.set $v10 (v128.load (i32.add (i32.add (local.get $x) (local.get $p)) (local.get $rowB))))
                    (local.set $v11 (v128.load (i32.add (i32.add (i32.add (local.get $x) (local.get $p)) (local.get $rowB)) (local.get $cB))))
                    (local.set $gv (v128.load (i32.add (local.get $g) (local.get $j))))
                    ;; s_k: position k beats the running maximum m (strict >; NaN compares false)
                    (local.set $m (v128.const f32x4 -inf -inf -inf -inf))
                    (local.set $s00 (f32x4.gt (local.get $v00) (local.get $m)))
                    (local.set $m (v128.bitselect (local.get $v00) (local.get $m) (local.get $s00)))
                    (local.set $s01 (f32x4.gt (local.get $v01) (local.get $m)))
                    (local.set $m (v128.bitselect (local.get $v01) (local.get $m) (local.get $s01)))
                    (local.set $s10 (f32x4.gt (local.get $v10) (local.get $m)))
                    (local.set $m (v128.bitselect (local.get $v10) (local.get $m) (local.get $s10)))
                    (local.set $s11 (f32x4.gt (local.get $v11) (local.get $m)))
                    ;; the winner is the last position that beat the running maximum
                    (local.set $s10 (v128.andnot (local.get $s10) (local.get $s11)))
                    (local.set $s01 (v128.andnot (v128.andnot (local.get $s01) (local.get $s11)) (local.get $s10)))
                    (local.set $s00 (v128.andnot (v128.andnot (v128.andnot (local.get $s00) (local.get $s11)) (local.get $s10)) (local.get $s01)))
                    (v128.store (i32.add (local.get $dx) (local.get $p)) (v128.and (local.get $gv) (local.get $s00)))
                    (v128.store (i32.add (i32.add (local.get $dx) (local.get $p)) (local.get $cB)) (v128.and (local.get $gv) (local.get $s01)))
                    (v128.store (i32.add (i32.add (local.get $dx) (local.get $p)) (local.get $rowB)) (v128.and (local.get $gv) (local.get $s10)))
                    (v128.store (i32.add (i32.add (i32.add (local.get $dx) (local.get $p)) (local.get $rowB)) (local.get $cB))
                                (v128.and (local.get $gv) (local.get $s11)))
                    (local.set $p (i32.add (local.get $p) (i32.const 16)))
                    (local.set $j (i32.add (local.get $j) (i32.const 16)))
                    (br $vec)))
                ;; channels left over (c mod 4), one at a time with the same rule
                (block $tailDone
                  (loop $tail
                    (br_if $tailDone (i32.ge_s (local.get $j) (local.get $cB)))
                    (local.set $f00 (f32.load (i32.add (local.get $x) (local.get $p))))
                    (local.set $f01 (f32.load (i32.add (i32.add (local.get $x) (local.get $p)) (local.get $cB))))
                    (local.set $f10 (f32.load (i32.add (i32.add (local.get $x) (local.get $p)) (local.get $rowB))))
                    (local.set $f11 (f32.load (i32.add (i32.add (i32.add (local.get $x) (local.get $p)) (local.get $rowB)) (local.get $cB))))
                    (local.set $gf (f32.load (i32.add (local.get $g) (local.get $j))))
                    (local.set $best (f32.const -inf))
                    (local.set $pos (i32.const -1))
                    (if (f32.gt (local.get $f00) (local.get $best)) (then (local.set $best (local.get $f00)) (local.set $pos (i32.const 0))))
                    (if (f32.gt (local.get $f01) (local.get $best)) (then (local.set $best (local.get $f01)) (local.set $pos (i32.const 1))))
                    (if (f32.gt (local.get $f10) (local.get $best)) (then (local.set $best (local.get $f10)) (local.set $pos (i32.const 2))))
                    (if (f32.gt (local.get $f11) (local.get $best)) (then (local.set $pos (i32.const 3))))
                    (f32.store (i32.add (local.get $dx) (local.get $p))
                      (select (local.get $gf) (f32.const 0) (i32.eq (local.get $pos) (i32.const 0))))
                    (f32.store (i32.add (i32.add (local.get $dx) (local.get $p)) (local.get $cB))
                      (select (local.get $gf) (f32.const 0) (i32.eq (local.get $pos) (i32.const 1))))
                    (f32.store (i32.add (i32.add (local.get $dx) (local.get $p)) (local.get $rowB))
                      (select (local.get $gf) (f32.const 0) (i32.eq (local.get $pos) (i32.const 2))))
                    (f32.store (i32.add (i32.add (i32.add (local.get $dx) (local.get $p)) (local.get $rowB)) (local.get $cB))
                      (select (local.get $gf) (f32.const 0) (i32.eq (local.get $pos) (i32.const 3))))
                    (local.set $p (i32.add (local.get $p) (i32.const 4)))
                    (local.set $j (i32.add (local.get $j) (i32.const 4)))
                    (br $tail)))
                (local.set $g (i32.add (local.get $g) (local.get $cB)))
                (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
                (br $columns)))
            (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
            (br $rows)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $images))))

  ;; Windows of two rows by one column, stride (2, 1), no padding: the 1-D max pool of
  ;; tfjs-layers (MaxPooling1D runs as a [2, 1] pool over [n, steps, 1, c]). Row pair p is input
  ;; rows 2p and 2p+1 at x (rowFloats floats each, consecutive) and dy row p; both dx rows of
  ;; every pair are written. Winner: the first strict maximum from -Infinity, as everywhere.
  (func (export "max_pool_grad_row_pairs") (param $x i32) (param $dy i32) (param $dx i32)
                                            (param $pairs i32) (param $rowFloats i32)
    (local $rowB i32) (local $vecB i32) (local $p i32) (local $j i32)
    (local $a i32) (local $g i32)
    (local $va v128) (local $vb v128) (local $gv v128) (local $sa v128) (local $sb v128) (local $m v128)
    (local $fa f32) (local $fb f32) (local $gf f32) (local $pa i32) (local $pb i32)
    (local.set $rowB (i32.shl (local.get $rowFloats) (i32.const 2)))
    (local.set $vecB (i32.and (local.get $rowB) (i32.const -16)))
    (local.set $p (i32.const 0))
    (block $pairsDone
      (loop $pairsLoop
        (br_if $pairsDone (i32.ge_s (local.get $p) (local.get $pairs)))
        ;; byte offsets of input row 2p (from x and dx) and dy row p
        (local.set $a (i32.mul (i32.shl (local.get $p) (i32.const 1)) (local.get $rowB)))
        (local.set $g (i32.add (local.get $dy) (i32.mul (local.get $p) (local.get $rowB))))
        (local.set $j (i32.const 0))
        (block $vecDone
          (loop $vec
            (br_if $vecDone (i32.ge_s (local.get $j) (local.get $vecB)))
            (local.set $va (v128.load (i32.add (i32.add (local.get $x) (local.get $a)) (local.get $j))))
            (local.set $vb (v128.load (i32.add (i32.add (i32.add (local.get $x) (local.get $a)) (local.get $rowB)) (local.get $j))))
            (local.set $gv (v128.load (i32.add (local.get $g) (local.get $j))))
            (local.set $m (v128.const f32x4 -inf -inf -inf -inf))
            (local.set $sa (f32x4.gt (local.get $va) (local.get $m)))
            (local.set $m (v128.bitselect (local.get $va) (local.get $m) (local.get $sa)))
            (local.set $sb (f32x4.gt (local.get $vb) (local.get $m)))
            (local.set $sa (v128.andnot (local.get $sa) (local.get $sb)))
            (v128.store (i32.add (i32.add (local.get $dx) (local.get $a)) (local.get $j)) (v128.and (local.get $gv) (local.get $sa)))
            (v128.store (i32.add (i32.add (i32.add (local.get $dx) (local.get $a)) (local.get $rowB)) (local.get $j))
                        (v128.and (local.get $gv) (local.get $sb)))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $vec)))
        (block $tailDone
          (loop $tail
            (br_if $tailDone (i32.ge_s (local.get $j) (local.get $rowB)))
            (local.set $fa (f32.load (i32.add (i32.add (local.get $x) (local.get $a)) (local.get $j))))
            (local.set $fb (f32.load (i32.add (i32.add (i32.add (local.get $x) (local.get $a)) (local.get $rowB)) (local.get $j))))
            (local.set $gf (f32.load (i32.add (local.get $g) (local.get $j))))
            (local.set $pa (f32.gt (local.get $fa) (f32.const -inf)))
            (local.set $pb (f32.gt (local.get $fb) (select (local.get $fa) (f32.const -inf) (local.get $pa))))
            (f32.store (i32.add (i32.add (local.get $dx) (local.get $a)) (local.get $j))
              (select (local.get $gf) (f32.const 0) (i32.and (local.get $pa) (i32.eqz (local.get $pb)))))
            (f32.store (i32.add (i32.add (i32.add (local.get $dx) (local.get $a)) (local.get $rowB)) (local.get $j))
              (select (local.get $gf) (f32.const 0) (local.get $pb)))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $tail)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $pairsLoop))))

  ;; Any window size, stride and padding: dx (zeroed here first) += each dy value at its
  ;; window's first maximum. Windows may overlap (stride < size), hence the adds.
  (func (export "max_pool_grad") (param $x i32) (param $dy i32) (param $dx i32)
                                  (param $n i32) (param $h i32) (param $w i32) (param $c i32)
                                  (param $oh i32) (param $ow i32) (param $fh i32) (param $fw i32)
                                  (param $sh i32) (param $sw i32) (param $top i32) (param $left i32)
    (local $cB i32) (local $rowB i32) (local $imageB i32)
    (local $b i32) (local $oy i32) (local $ox i32) (local $j i32) (local $r i32) (local $col i32)
    (local $y0 i32) (local $x0 i32) (local $r0 i32) (local $r1 i32) (local $c0 i32) (local $c1 i32)
    (local $img i32) (local $g i32) (local $at i32) (local $bestAt i32) (local $best f32) (local $v f32)
    (local.set $cB (i32.shl (local.get $c) (i32.const 2)))
    (local.set $rowB (i32.mul (local.get $w) (local.get $cB)))
    (local.set $imageB (i32.mul (local.get $h) (local.get $rowB)))
    (memory.fill (local.get $dx) (i32.const 0) (i32.mul (local.get $n) (local.get $imageB)))
    (local.set $g (local.get $dy))
    (local.set $b (i32.const 0))
    (block $imagesDone
      (loop $images
        (br_if $imagesDone (i32.ge_s (local.get $b) (local.get $n)))
        (local.set $img (i32.mul (local.get $b) (local.get $imageB)))
        (local.set $oy (i32.const 0))
        (block $rowsDone
          (loop $rows
            (br_if $rowsDone (i32.ge_s (local.get $oy) (local.get $oh)))
            (local.set $y0 (i32.sub (i32.mul (local.get $oy) (local.get $sh)) (local.get $top)))
            (local.set $r0 (select (i32.sub (i32.const 0) (local.get $y0)) (i32.const 0) (i32.lt_s (local.get $y0) (i32.const 0))))
            (local.set $r1 (i32.sub (local.get $h) (local.get $y0)))
            (if (i32.gt_s (local.get $r1) (local.get $fh)) (then (local.set $r1 (local.get $fh))))
            (local.set $ox (i32.const 0))
            (block $colsDone
              (loop $columns
                (br_if $colsDone (i32.ge_s (local.get $ox) (local.get $ow)))
                (local.set $x0 (i32.sub (i32.mul (local.get $ox) (local.get $sw)) (local.get $left)))
                (local.set $c0 (select (i32.sub (i32.const 0) (local.get $x0)) (i32.const 0) (i32.lt_s (local.get $x0) (i32.const 0))))
                (local.set $c1 (i32.sub (local.get $w) (local.get $x0)))
                (if (i32.gt_s (local.get $c1) (local.get $fw)) (then (local.set $c1 (local.get $fw))))
                (local.set $j (i32.const 0))
                (block $chDone
                  (loop $channels
                    (br_if $chDone (i32.ge_s (local.get $j) (local.get $cB)))
                    (local.set $best (f32.const -inf))
                    (local.set $bestAt (i32.const -1))
                    (local.set $r (local.get $r0))
                    (block $winRowsDone
                      (loop $winRows
                        (br_if $winRowsDone (i32.ge_s (local.get $r) (local.get $r1)))
                        (local.set $col (local.get $c0))
                        (block $winColsDone
                          (loop $winCols
                            (br_if $winColsDone (i32.ge_s (local.get $col) (local.get $c1)))
                            (local.set $at
                              (i32.add (i32.add (i32.add (local.get $img)
                                (i32.mul (i32.add (local.get $y0) (local.get $r)) (local.get $rowB)))
                                (i32.mul (i32.add (local.get $x0) (local.get $col)) (local.get $cB)))
                                (local.get $j)))
                            (local.set $v (f32.load (i32.add (local.get $x) (local.get $at))))
                            (if (f32.gt (local.get $v) (local.get $best))
                              (then (local.set $best (local.get $v)) (local.set $bestAt (local.get $at))))
                            (local.set $col (i32.add (local.get $col) (i32.const 1)))
                            (br $winCols)))
                        (local.set $r (i32.add (local.get $r) (i32.const 1)))
                        (br $winRows)))
                    (if (i32.ge_s (local.get $bestAt) (i32.const 0))
                      (then
                        (f32.store (i32.add (local.get $dx) (local.get $bestAt))
                          (f32.add (f32.load (i32.add (local.get $dx) (local.get $bestAt))) (f32.load (local.get $g))))))
                    (local.set $g (i32.add (local.get $g) (i32.const 4)))
                    (local.set $j (i32.add (local.get $j) (i32.const 4)))
                    (br $channels)))
                (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
                (br $columns)))
            (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
            (br $rows)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $images))))

  ;; ---- ReLU gradient ---------------------------------------------------------------------
  ;; out = dy * step(x), step(x) = 1 where x > 0, 0 where x <= 0, NaN where x is NaN: the same
  ;; values as tfjs' mul(dy, cast(step(x))) in one pass instead of three kernels.
  (func (export "relu_grad") (param $dy i32) (param $x i32) (param $out i32) (param $count i32)
    (local $end i32) (local $vecEnd i32) (local $i i32) (local $xv v128) (local $s v128) (local $xf f32)
    (local.set $end (i32.shl (local.get $count) (i32.const 2)))
    (local.set $vecEnd (i32.and (local.get $end) (i32.const -16)))
    (block $vecDone
      (loop $vec
        (br_if $vecDone (i32.ge_u (local.get $i) (local.get $vecEnd)))
        (local.set $xv (v128.load (i32.add (local.get $x) (local.get $i))))
        (local.set $s (v128.and (f32x4.gt (local.get $xv) (v128.const f32x4 0 0 0 0)) (v128.const f32x4 1 1 1 1)))
        (local.set $s (v128.bitselect (local.get $xv) (local.get $s) (f32x4.ne (local.get $xv) (local.get $xv))))
        (v128.store (i32.add (local.get $out) (local.get $i))
          (f32x4.mul (v128.load (i32.add (local.get $dy) (local.get $i))) (local.get $s)))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $vec)))
    (block $done
      (loop $scalar
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $xf (f32.load (i32.add (local.get $x) (local.get $i))))
        (f32.store (i32.add (local.get $out) (local.get $i))
          (f32.mul (f32.load (i32.add (local.get $dy) (local.get $i)))
            (select (local.get $xf)
              (select (f32.const 1) (f32.const 0) (f32.gt (local.get $xf) (f32.const 0)))
              (f32.ne (local.get $xf) (local.get $xf)))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $scalar))))
)
