;; tfleet SIMD gate arithmetic for the fused LSTM/GRU/SimpleRNN sequence kernels
;; (../recurrent-sequence.ts, ../simple-rnn-sequence.ts), on the tfjs-backend-wasm heap.
;;
;; Like ../simd/kernels.wat, the module imports the tfjs wasm backend's own linear memory
;; ("env" "memory"): pointers are byte offsets on that heap, `batch` and `u` (units) count
;; elements, and `u` may be any width >= 1.
;; Every [batch, k·u] block is row-major; a gate block g of row b starts at row + g·4u bytes.
;;
;; Each column loop runs f32x4 over the first floor(u/4)·4 columns of a row (block $done /
;; loop $cols), then the same body once per remaining column (block $tailDone / loop $tail)
;; with v128.load32_zero for loads and v128.store32_lane 0 for stores: lane 0 carries the
;; column, so the tail computes exactly what a vector lane would (same operations, same
;; rounding) without reading or writing past the row. Rows are 4u bytes apart, so with u not a
;; multiple of 4 the vector loads are unaligned (wasm allows it; x86 movups costs the same).
;; The tail blocks are the vector blocks with those three substitutions and j += 4: keep them
;; in step when editing a body.
;; `mask` points at this step's [batch] mask row, or is -1 when there is no mask; a row whose
;; mask is 0 carries the state through unchanged (as tfjs-layers does).
;; The exp of sigmoid and tanh stays in the backend's vectorised Sigmoid kernel, called by the
;; caller between these functions; here are only the elementwise combines.
;;
;; Compiled by generate.ts into rnn-kernels-wasm.ts (see index.ts); a unit test fails when the
;; two differ.
(module
  (import "env" "memory" (memory 0))

;; The elementwise helpers are written out at each use (V8 in Node 20 does not inline small
  ;; wasm functions, and a call per vector cost as much as the arithmetic):
  ;;   hardSigmoid(x)  = min(max(0.2x + 0.5, 0), 1)                 (tfjs-layers' hardSigmoid)
  ;;   gateSlope(a)    = hard ? (0 < a < 1 ? 0.2 : 0) : a(1 - a)     (d activation / d pre-activation)
  ;;   flushTiny(x)    = |x| < 1e-30 ? 0 : x, NaN passes             (as flushTiny in
  ;;                     ../recurrent-sequence.ts: keeps backward values off the subnormal path)
  ;;   tanh from s = sigmoid(2x): 2s - 1
  ;;   bias[j..j+3] += v

  ;; Whether row b of the step is kept (mask -1: no mask).
  (func $keep (param $mask i32) (param $b i32) (result i32)
    (if (result i32) (i32.eq (local.get $mask) (i32.const -1))
      (then (i32.const 1))
      (else (f32.ne (f32.load (i32.add (local.get $mask) (i32.shl (local.get $b) (i32.const 2)))) (f32.const 0)))))

  ;; ---- LSTM (gate order i, f, c, o) -------------------------------------------------------

  ;; z [batch, 4u] holds this step's pre-activations. hard: gates[i, f, o] = hardSigmoid(z) and
  ;; twice [batch, u] = 2·z_c. Otherwise z_c is doubled in place (the caller then runs the
  ;; sigmoid over all of z into the gate rows).
  (func (export "lstm_pre") (param $z i32) (param $gates i32) (param $twice i32) (param $batch i32) (param $u i32) (param $hard i32)
    (local $ub i32) (local $b i32) (local $j i32) (local $zr i32) (local $gr i32) (local $tr i32)
    (local.set $ub (i32.shl (local.get $u) (i32.const 2)))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.ge_u (local.get $b) (local.get $batch)))
        (local.set $zr (i32.add (local.get $z) (i32.mul (local.get $b) (i32.shl (local.get $ub) (i32.const 2)))))
        (local.set $gr (i32.add (local.get $gates) (i32.mul (local.get $b) (i32.shl (local.get $ub) (i32.const 2)))))
        (local.set $tr (i32.add (local.get $twice) (i32.mul (local.get $b) (local.get $ub))))
        (local.set $j (i32.const 0))
        (block $done
          (loop $cols
            (br_if $done (i32.gt_u (i32.add (local.get $j) (i32.const 16)) (local.get $ub)))
            (if (local.get $hard)
              (then
                (v128.store (i32.add (local.get $gr) (local.get $j))
                  (f32x4.min (f32x4.max (f32x4.add (f32x4.mul (v128.load (i32.add (local.get $zr) (local.get $j))) (v128.const f32x4 0.2 0.2 0.2 0.2)) (v128.const f32x4 0.5 0.5 0.5 0.5)) (v128.const f32x4 0 0 0 0)) (v128.const f32x4 1 1 1 1)))
                (v128.store (i32.add (i32.add (local.get $gr) (local.get $ub)) (local.get $j))
                  (f32x4.min (f32x4.max (f32x4.add (f32x4.mul (v128.load (i32.add (i32.add (local.get $zr) (local.get $ub)) (local.get $j))) (v128.const f32x4 0.2 0.2 0.2 0.2)) (v128.const f32x4 0.5 0.5 0.5 0.5)) (v128.const f32x4 0 0 0 0)) (v128.const f32x4 1 1 1 1)))
                (v128.store (i32.add (i32.add (local.get $gr) (i32.mul (local.get $ub) (i32.const 3))) (local.get $j))
                  (f32x4.min (f32x4.max (f32x4.add (f32x4.mul (v128.load (i32.add (i32.add (local.get $zr) (i32.mul (local.get $ub) (i32.const 3))) (local.get $j))) (v128.const f32x4 0.2 0.2 0.2 0.2)) (v128.const f32x4 0.5 0.5 0.5 0.5)) (v128.const f32x4 0 0 0 0)) (v128.const f32x4 1 1 1 1)))
                (v128.store (i32.add (local.get $tr) (local.get $j))
                  (f32x4.mul (v128.const f32x4 2 2 2 2)
                    (v128.load (i32.add (i32.add (local.get $zr) (i32.shl (local.get $ub) (i32.const 1))) (local.get $j))))))
              (else
                (v128.store (i32.add (i32.add (local.get $zr) (i32.shl (local.get $ub) (i32.const 1))) (local.get $j))
                  (f32x4.mul (v128.const f32x4 2 2 2 2)
                    (v128.load (i32.add (i32.add (local.get $zr) (i32.shl (local.get $ub) (i32.const 1))) (local.get $j)))))))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $cols)))
        (block $tailDone
          (loop $tail
            (br_if $tailDone (i32.ge_u (local.get $j) (local.get $ub)))
            (if (local.get $hard)
              (then
                (v128.store32_lane 0 (i32.add (local.get $gr) (local.get $j))
                  (f32x4.min (f32x4.max (f32x4.add (f32x4.mul (v128.load32_zero (i32.add (local.get $zr) (local.get $j))) (v128.const f32x4 0.2 0.2 0.2 0.2)) (v128.const f32x4 0.5 0.5 0.5 0.5)) (v128.const f32x4 0 0 0 0)) (v128.const f32x4 1 1 1 1)))
                (v128.store32_lane 0 (i32.add (i32.add (local.get $gr) (local.get $ub)) (local.get $j))
                  (f32x4.min (f32x4.max (f32x4.add (f32x4.mul (v128.load32_zero (i32.add (i32.add (local.get $zr) (local.get $ub)) (local.get $j))) (v128.const f32x4 0.2 0.2 0.2 0.2)) (v128.const f32x4 0.5 0.5 0.5 0.5)) (v128.const f32x4 0 0 0 0)) (v128.const f32x4 1 1 1 1)))
                (v128.store32_lane 0 (i32.add (i32.add (local.get $gr) (i32.mul (local.get $ub) (i32.const 3))) (local.get $j))
                  (f32x4.min (f32x4.max (f32x4.add (f32x4.mul (v128.load32_zero (i32.add (i32.add (local.get $zr) (i32.mul (local.get $ub) (i32.const 3))) (local.get $j))) (v128.const f32x4 0.2 0.2 0.2 0.2)) (v128.const f32x4 0.5 0.5 0.5 0.5)) (v128.const f32x4 0 0 0 0)) (v128.const f32x4 1 1 1 1)))
                (v128.store32_lane 0 (i32.add (local.get $tr) (local.get $j))
                  (f32x4.mul (v128.const f32x4 2 2 2 2)
                    (v128.load32_zero (i32.add (i32.add (local.get $zr) (i32.shl (local.get $ub) (i32.const 1))) (local.get $j))))))
              (else
                (v128.store32_lane 0 (i32.add (i32.add (local.get $zr) (i32.shl (local.get $ub) (i32.const 1))) (local.get $j))
                  (f32x4.mul (v128.const f32x4 2 2 2 2)
                    (v128.load32_zero (i32.add (i32.add (local.get $zr) (i32.shl (local.get $ub) (i32.const 1))) (local.get $j)))))))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $tail)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $rows))))

  ;; gates [batch, 4u] hold i, f (activated) and o; sigc (row stride sigcStride bytes) holds
  ;; sigmoid(2·z_c). Writes tanh(z_c) into the gates' c block, c_t into cNext (c_{t-1} where
  ;; masked) and 2·c_t into twice [batch, u] for the caller's tanh(c_t).
  (func (export "lstm_cell") (param $gates i32) (param $sigc i32) (param $sigcStride i32) (param $cPrev i32) (param $cNext i32) (param $twice i32) (param $mask i32) (param $batch i32) (param $u i32)
    (local $ub i32) (local $b i32) (local $j i32) (local $gr i32) (local $sr i32) (local $sc i32)
    (local $keepv v128) (local $cc v128) (local $cp v128) (local $c v128)
    (local.set $ub (i32.shl (local.get $u) (i32.const 2)))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.ge_u (local.get $b) (local.get $batch)))
        (local.set $gr (i32.add (local.get $gates) (i32.mul (local.get $b) (i32.shl (local.get $ub) (i32.const 2)))))
        (local.set $sr (i32.mul (local.get $b) (local.get $ub)))
        (local.set $sc (i32.add (local.get $sigc) (i32.mul (local.get $b) (local.get $sigcStride))))
        (local.set $keepv (i32x4.splat (i32.sub (i32.const 0) (call $keep (local.get $mask) (local.get $b)))))
        (local.set $j (i32.const 0))
        (block $done
          (loop $cols
            (br_if $done (i32.gt_u (i32.add (local.get $j) (i32.const 16)) (local.get $ub)))
            (local.set $cc (f32x4.sub (f32x4.mul (v128.load (i32.add (local.get $sc) (local.get $j))) (v128.const f32x4 2 2 2 2)) (v128.const f32x4 1 1 1 1)))
            (v128.store (i32.add (i32.add (local.get $gr) (i32.shl (local.get $ub) (i32.const 1))) (local.get $j)) (local.get $cc))
            (local.set $cp (v128.load (i32.add (local.get $cPrev) (i32.add (local.get $sr) (local.get $j)))))
            (local.set $c
              (f32x4.add
                (f32x4.mul (v128.load (i32.add (i32.add (local.get $gr) (local.get $ub)) (local.get $j))) (local.get $cp))
                (f32x4.mul (v128.load (i32.add (local.get $gr) (local.get $j))) (local.get $cc))))
            (v128.store (i32.add (local.get $cNext) (i32.add (local.get $sr) (local.get $j)))
              (v128.bitselect (local.get $c) (local.get $cp) (local.get $keepv)))
            (v128.store (i32.add (local.get $twice) (i32.add (local.get $sr) (local.get $j)))
              (f32x4.add (local.get $c) (local.get $c)))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $cols)))
        (block $tailDone
          (loop $tail
            (br_if $tailDone (i32.ge_u (local.get $j) (local.get $ub)))
            (local.set $cc (f32x4.sub (f32x4.mul (v128.load32_zero (i32.add (local.get $sc) (local.get $j))) (v128.const f32x4 2 2 2 2)) (v128.const f32x4 1 1 1 1)))
            (v128.store32_lane 0 (i32.add (i32.add (local.get $gr) (i32.shl (local.get $ub) (i32.const 1))) (local.get $j)) (local.get $cc))
            (local.set $cp (v128.load32_zero (i32.add (local.get $cPrev) (i32.add (local.get $sr) (local.get $j)))))
            (local.set $c
              (f32x4.add
                (f32x4.mul (v128.load32_zero (i32.add (i32.add (local.get $gr) (local.get $ub)) (local.get $j))) (local.get $cp))
                (f32x4.mul (v128.load32_zero (i32.add (local.get $gr) (local.get $j))) (local.get $cc))))
            (v128.store32_lane 0 (i32.add (local.get $cNext) (i32.add (local.get $sr) (local.get $j)))
              (v128.bitselect (local.get $c) (local.get $cp) (local.get $keepv)))
            (v128.store32_lane 0 (i32.add (local.get $twice) (i32.add (local.get $sr) (local.get $j)))
              (f32x4.add (local.get $c) (local.get $c)))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $tail)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $rows))))

  ;; sig [batch, u] holds sigmoid(2·c_t). tanhC = tanh(c_t); hNext = o·tanh(c_t) (h_{t-1}
  ;; where masked).
  (func (export "lstm_out") (param $gates i32) (param $sig i32) (param $tanhC i32) (param $hPrev i32) (param $hNext i32) (param $mask i32) (param $batch i32) (param $u i32)
    (local $ub i32) (local $b i32) (local $j i32) (local $or i32) (local $sr i32) (local $keepv v128) (local $tc v128)
    (local.set $ub (i32.shl (local.get $u) (i32.const 2)))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.ge_u (local.get $b) (local.get $batch)))
        (local.set $or (i32.add (i32.add (local.get $gates) (i32.mul (local.get $b) (i32.shl (local.get $ub) (i32.const 2)))) (i32.mul (local.get $ub) (i32.const 3))))
        (local.set $sr (i32.mul (local.get $b) (local.get $ub)))
        (local.set $keepv (i32x4.splat (i32.sub (i32.const 0) (call $keep (local.get $mask) (local.get $b)))))
        (local.set $j (i32.const 0))
        (block $done
          (loop $cols
            (br_if $done (i32.gt_u (i32.add (local.get $j) (i32.const 16)) (local.get $ub)))
            (local.set $tc (f32x4.sub (f32x4.mul (v128.load (i32.add (local.get $sig) (i32.add (local.get $sr) (local.get $j)))) (v128.const f32x4 2 2 2 2)) (v128.const f32x4 1 1 1 1)))
            (v128.store (i32.add (local.get $tanhC) (i32.add (local.get $sr) (local.get $j))) (local.get $tc))
            (v128.store (i32.add (local.get $hNext) (i32.add (local.get $sr) (local.get $j)))
              (v128.bitselect
                (f32x4.mul (v128.load (i32.add (local.get $or) (local.get $j))) (local.get $tc))
                (v128.load (i32.add (local.get $hPrev) (i32.add (local.get $sr) (local.get $j))))
                (local.get $keepv)))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $cols)))
        (block $tailDone
          (loop $tail
            (br_if $tailDone (i32.ge_u (local.get $j) (local.get $ub)))
            (local.set $tc (f32x4.sub (f32x4.mul (v128.load32_zero (i32.add (local.get $sig) (i32.add (local.get $sr) (local.get $j)))) (v128.const f32x4 2 2 2 2)) (v128.const f32x4 1 1 1 1)))
            (v128.store32_lane 0 (i32.add (local.get $tanhC) (i32.add (local.get $sr) (local.get $j))) (local.get $tc))
            (v128.store32_lane 0 (i32.add (local.get $hNext) (i32.add (local.get $sr) (local.get $j)))
              (v128.bitselect
                (f32x4.mul (v128.load32_zero (i32.add (local.get $or) (local.get $j))) (local.get $tc))
                (v128.load32_zero (i32.add (local.get $hPrev) (i32.add (local.get $sr) (local.get $j))))
                (local.get $keepv)))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $tail)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $rows))))

  ;; One backward step. gates/dz: this step's [batch, 4u] rows; tanhC, cPrev: [batch, u] rows
  ;; of step t; dh, dc: [batch, u] carried gradients (dc becomes the gradient of c_{t-1}, dh the
  ;; part of h_{t-1}'s gradient not through z_t: the output gradient `extra` of step t-1, or 0
  ;; when extra is -1); bias [4u] accumulates dz.
  (func (export "lstm_backward") (param $gates i32) (param $tanhC i32) (param $cPrev i32) (param $dh i32) (param $dc i32) (param $dz i32) (param $extra i32) (param $bias i32) (param $mask i32) (param $batch i32) (param $u i32) (param $hard i32)
    (local $t v128) (local $ub i32) (local $b i32) (local $j i32) (local $gr i32) (local $dr i32) (local $sr i32) (local $at i32)
    (local $i v128) (local $f v128) (local $cc v128) (local $o v128) (local $tc v128) (local $dhv v128) (local $dcv v128)
    (local $di v128) (local $df v128) (local $dcc v128) (local $dout v128)
    (local.set $ub (i32.shl (local.get $u) (i32.const 2)))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.ge_u (local.get $b) (local.get $batch)))
        (local.set $gr (i32.add (local.get $gates) (i32.mul (local.get $b) (i32.shl (local.get $ub) (i32.const 2)))))
        (local.set $dr (i32.add (local.get $dz) (i32.mul (local.get $b) (i32.shl (local.get $ub) (i32.const 2)))))
        (local.set $sr (i32.mul (local.get $b) (local.get $ub)))
        (local.set $j (i32.const 0))
        (if (call $keep (local.get $mask) (local.get $b))
          (then
            (block $done
              (loop $cols
                (br_if $done (i32.gt_u (i32.add (local.get $j) (i32.const 16)) (local.get $ub)))
                (local.set $at (i32.add (local.get $sr) (local.get $j)))
                (local.set $i (v128.load (i32.add (local.get $gr) (local.get $j))))
                (local.set $f (v128.load (i32.add (i32.add (local.get $gr) (local.get $ub)) (local.get $j))))
                (local.set $cc (v128.load (i32.add (i32.add (local.get $gr) (i32.shl (local.get $ub) (i32.const 1))) (local.get $j))))
                (local.set $o (v128.load (i32.add (i32.add (local.get $gr) (i32.mul (local.get $ub) (i32.const 3))) (local.get $j))))
                (local.set $tc (v128.load (i32.add (local.get $tanhC) (local.get $at))))
                (local.set $dhv (v128.load (i32.add (local.get $dh) (local.get $at))))
                (local.set $dcv
                  (f32x4.add
                    (v128.load (i32.add (local.get $dc) (local.get $at)))
                    (f32x4.mul (f32x4.mul (local.get $dhv) (local.get $o))
                      (f32x4.sub (v128.const f32x4 1 1 1 1) (f32x4.mul (local.get $tc) (local.get $tc))))))
                (local.set $di (v128.andnot (local.tee $t (f32x4.mul (f32x4.mul (local.get $dcv) (local.get $cc)) (if (result v128) (local.get $hard) (then (v128.and (v128.and (f32x4.gt (local.get $i) (v128.const f32x4 0 0 0 0)) (f32x4.lt (local.get $i) (v128.const f32x4 1 1 1 1))) (v128.const f32x4 0.2 0.2 0.2 0.2))) (else (f32x4.mul (local.get $i) (f32x4.sub (v128.const f32x4 1 1 1 1) (local.get $i))))))) (f32x4.lt (f32x4.abs (local.get $t)) (v128.const f32x4 1e-30 1e-30 1e-30 1e-30))))
                (local.set $df (v128.andnot (local.tee $t (f32x4.mul (f32x4.mul (local.get $dcv) (v128.load (i32.add (local.get $cPrev) (local.get $at))))
                    (if (result v128) (local.get $hard) (then (v128.and (v128.and (f32x4.gt (local.get $f) (v128.const f32x4 0 0 0 0)) (f32x4.lt (local.get $f) (v128.const f32x4 1 1 1 1))) (v128.const f32x4 0.2 0.2 0.2 0.2))) (else (f32x4.mul (local.get $f) (f32x4.sub (v128.const f32x4 1 1 1 1) (local.get $f))))))) (f32x4.lt (f32x4.abs (local.get $t)) (v128.const f32x4 1e-30 1e-30 1e-30 1e-30))))
                (local.set $dcc (v128.andnot (local.tee $t (f32x4.mul (f32x4.mul (local.get $dcv) (local.get $i))
                    (f32x4.sub (v128.const f32x4 1 1 1 1) (f32x4.mul (local.get $cc) (local.get $cc))))) (f32x4.lt (f32x4.abs (local.get $t)) (v128.const f32x4 1e-30 1e-30 1e-30 1e-30))))
                (local.set $dout (v128.andnot (local.tee $t (f32x4.mul (f32x4.mul (local.get $dhv) (local.get $tc)) (if (result v128) (local.get $hard) (then (v128.and (v128.and (f32x4.gt (local.get $o) (v128.const f32x4 0 0 0 0)) (f32x4.lt (local.get $o) (v128.const f32x4 1 1 1 1))) (v128.const f32x4 0.2 0.2 0.2 0.2))) (else (f32x4.mul (local.get $o) (f32x4.sub (v128.const f32x4 1 1 1 1) (local.get $o))))))) (f32x4.lt (f32x4.abs (local.get $t)) (v128.const f32x4 1e-30 1e-30 1e-30 1e-30))))
                (v128.store (i32.add (local.get $dr) (local.get $j)) (local.get $di))
                (v128.store (i32.add (i32.add (local.get $dr) (local.get $ub)) (local.get $j)) (local.get $df))
                (v128.store (i32.add (i32.add (local.get $dr) (i32.shl (local.get $ub) (i32.const 1))) (local.get $j)) (local.get $dcc))
                (v128.store (i32.add (i32.add (local.get $dr) (i32.mul (local.get $ub) (i32.const 3))) (local.get $j)) (local.get $dout))
                (v128.store (i32.add (local.get $bias) (local.get $j)) (f32x4.add (v128.load (i32.add (local.get $bias) (local.get $j))) (local.get $di)))
                (v128.store (i32.add (i32.add (local.get $bias) (local.get $ub)) (local.get $j)) (f32x4.add (v128.load (i32.add (i32.add (local.get $bias) (local.get $ub)) (local.get $j))) (local.get $df)))
                (v128.store (i32.add (i32.add (local.get $bias) (i32.shl (local.get $ub) (i32.const 1))) (local.get $j)) (f32x4.add (v128.load (i32.add (i32.add (local.get $bias) (i32.shl (local.get $ub) (i32.const 1))) (local.get $j))) (local.get $dcc)))
                (v128.store (i32.add (i32.add (local.get $bias) (i32.mul (local.get $ub) (i32.const 3))) (local.get $j)) (f32x4.add (v128.load (i32.add (i32.add (local.get $bias) (i32.mul (local.get $ub) (i32.const 3))) (local.get $j))) (local.get $dout)))
                (v128.store (i32.add (local.get $dc) (local.get $at)) (v128.andnot (local.tee $t (f32x4.mul (local.get $dcv) (local.get $f))) (f32x4.lt (f32x4.abs (local.get $t)) (v128.const f32x4 1e-30 1e-30 1e-30 1e-30))))
                (v128.store (i32.add (local.get $dh) (local.get $at))
                  (if (result v128) (i32.eq (local.get $extra) (i32.const -1))
                    (then (v128.const f32x4 0 0 0 0))
                    (else (v128.load (i32.add (local.get $extra) (local.get $at))))))
                (local.set $j (i32.add (local.get $j) (i32.const 16)))
                (br $cols)))
            (block $tailDone
              (loop $tail
                (br_if $tailDone (i32.ge_u (local.get $j) (local.get $ub)))
                (local.set $at (i32.add (local.get $sr) (local.get $j)))
                (local.set $i (v128.load32_zero (i32.add (local.get $gr) (local.get $j))))
                (local.set $f (v128.load32_zero (i32.add (i32.add (local.get $gr) (local.get $ub)) (local.get $j))))
                (local.set $cc (v128.load32_zero (i32.add (i32.add (local.get $gr) (i32.shl (local.get $ub) (i32.const 1))) (local.get $j))))
                (local.set $o (v128.load32_zero (i32.add (i32.add (local.get $gr) (i32.mul (local.get $ub) (i32.const 3))) (local.get $j))))
                (local.set $tc (v128.load32_zero (i32.add (local.get $tanhC) (local.get $at))))
                (local.set $dhv (v128.load32_zero (i32.add (local.get $dh) (local.get $at))))
                (local.set $dcv
                  (f32x4.add
                    (v128.load32_zero (i32.add (local.get $dc) (local.get $at)))
                    (f32x4.mul (f32x4.mul (local.get $dhv) (local.get $o))
                      (f32x4.sub (v128.const f32x4 1 1 1 1) (f32x4.mul (local.get $tc) (local.get $tc))))))
                (local.set $di (v128.andnot (local.tee $t (f32x4.mul (f32x4.mul (local.get $dcv) (local.get $cc)) (if (result v128) (local.get $hard) (then (v128.and (v128.and (f32x4.gt (local.get $i) (v128.const f32x4 0 0 0 0)) (f32x4.lt (local.get $i) (v128.const f32x4 1 1 1 1))) (v128.const f32x4 0.2 0.2 0.2 0.2))) (else (f32x4.mul (local.get $i) (f32x4.sub (v128.const f32x4 1 1 1 1) (local.get $i))))))) (f32x4.lt (f32x4.abs (local.get $t)) (v128.const f32x4 1e-30 1e-30 1e-30 1e-30))))
                (local.set $df (v128.andnot (local.tee $t (f32x4.mul (f32x4.mul (local.get $dcv) (v128.load32_zero (i32.add (local.get $cPrev) (local.get $at))))
                    (if (result v128) (local.get $hard) (then (v128.and (v128.and (f32x4.gt (local.get $f) (v128.const f32x4 0 0 0 0)) (f32x4.lt (local.get $f) (v128.const f32x4 1 1 1 1))) (v128.const f32x4 0.2 0.2 0.2 0.2))) (else (f32x4.mul (local.get $f) (f32x4.sub (v128.const f32x4 1 1 1 1) (local.get $f))))))) (f32x4.lt (f32x4.abs (local.get $t)) (v128.const f32x4 1e-30 1e-30 1e-30 1e-30))))
                (local.set $dcc (v128.andnot (local.tee $t (f32x4.mul (f32x4.mul (local.get $dcv) (local.get $i))
                    (f32x4.sub (v128.const f32x4 1 1 1 1) (f32x4.mul (local.get $cc) (local.get $cc))))) (f32x4.lt (f32x4.abs (local.get $t)) (v128.const f32x4 1e-30 1e-30 1e-30 1e-30))))
                (local.set $dout (v128.andnot (local.tee $t (f32x4.mul (f32x4.mul (local.get $dhv) (local.get $tc)) (if (result v128) (local.get $hard) (then (v128.and (v128.and (f32x4.gt (local.get $o) (v128.const f32x4 0 0 0 0)) (f32x4.lt (local.get $o) (v128.const f32x4 1 1 1 1))) (v128.const f32x4 0.2 0.2 0.2 0.2))) (else (f32x4.mul (local.get $o) (f32x4.sub (v128.const f32x4 1 1 1 1) (local.get $o))))))) (f32x4.lt (f32x4.abs (local.get $t)) (v128.const f32x4 1e-30 1e-30 1e-30 1e-30))))
                (v128.store32_lane 0 (i32.add (local.get $dr) (local.get $j)) (local.get $di))
                (v128.store32_lane 0 (i32.add (i32.add (local.get $dr) (local.get $ub)) (local.get $j)) (local.get $df))
                (v128.store32_lane 0 (i32.add (i32.add (local.get $dr) (i32.shl (local.get $ub) (i32.const 1))) (local.get $j)) (local.get $dcc))
                (v128.store32_lane 0 (i32.add (i32.add (local.get $dr) (i32.mul (local.get $ub) (i32.const 3))) (local.get $j)) (local.get $dout))
                (v128.store32_lane 0 (i32.add (local.get $bias) (local.get $j)) (f32x4.add (v128.load32_zero (i32.add (local.get $bias) (local.get $j))) (local.get $di)))
                (v128.store32_lane 0 (i32.add (i32.add (local.get $bias) (local.get $ub)) (local.get $j)) (f32x4.add (v128.load32_zero (i32.add (i32.add (local.get $bias) (local.get $ub)) (local.get $j))) (local.get $df)))
                (v128.store32_lane 0 (i32.add (i32.add (local.get $bias) (i32.shl (local.get $ub) (i32.const 1))) (local.get $j)) (f32x4.add (v128.load32_zero (i32.add (i32.add (local.get $bias) (i32.shl (local.get $ub) (i32.const 1))) (local.get $j))) (local.get $dcc)))
                (v128.store32_lane 0 (i32.add (i32.add (local.get $bias) (i32.mul (local.get $ub) (i32.const 3))) (local.get $j)) (f32x4.add (v128.load32_zero (i32.add (i32.add (local.get $bias) (i32.mul (local.get $ub) (i32.const 3))) (local.get $j))) (local.get $dout)))
                (v128.store32_lane 0 (i32.add (local.get $dc) (local.get $at)) (v128.andnot (local.tee $t (f32x4.mul (local.get $dcv) (local.get $f))) (f32x4.lt (f32x4.abs (local.get $t)) (v128.const f32x4 1e-30 1e-30 1e-30 1e-30))))
                (v128.store32_lane 0 (i32.add (local.get $dh) (local.get $at))
                  (if (result v128) (i32.eq (local.get $extra) (i32.const -1))
                    (then (v128.const f32x4 0 0 0 0))
                    (else (v128.load32_zero (i32.add (local.get $extra) (local.get $at))))))
                (local.set $j (i32.add (local.get $j) (i32.const 4)))
                (br $tail))))
          (else
            ;; A masked step passes h and c through: their gradients go on to step t-1 as they are.
            (memory.fill (local.get $dr) (i32.const 0) (i32.shl (local.get $ub) (i32.const 2)))
            (if (i32.ne (local.get $extra) (i32.const -1))
              (then
                (block $done
                  (loop $cols
                    (br_if $done (i32.gt_u (i32.add (local.get $j) (i32.const 16)) (local.get $ub)))
                    (local.set $at (i32.add (local.get $sr) (local.get $j)))
                    (v128.store (i32.add (local.get $dh) (local.get $at))
                      (f32x4.add (v128.load (i32.add (local.get $dh) (local.get $at))) (v128.load (i32.add (local.get $extra) (local.get $at)))))
                    (local.set $j (i32.add (local.get $j) (i32.const 16)))
                    (br $cols)))
                (block $tailDone
                  (loop $tail
                    (br_if $tailDone (i32.ge_u (local.get $j) (local.get $ub)))
                    (local.set $at (i32.add (local.get $sr) (local.get $j)))
                    (v128.store32_lane 0 (i32.add (local.get $dh) (local.get $at))
                      (f32x4.add (v128.load32_zero (i32.add (local.get $dh) (local.get $at))) (v128.load32_zero (i32.add (local.get $extra) (local.get $at)))))
                    (local.set $j (i32.add (local.get $j) (i32.const 4)))
                    (br $tail)))))))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $rows))))

  ;; ---- GRU (gate order z, r, h) -----------------------------------------------------------

  ;; zr [batch, 2u] += the z and r blocks of xw's rows [batch, 3u].
  (func (export "gru_add_input") (param $zr i32) (param $xw i32) (param $batch i32) (param $u i32)
    (local $ub i32) (local $b i32) (local $j i32) (local $zrr i32) (local $xr i32)
    (local.set $ub (i32.shl (local.get $u) (i32.const 2)))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.ge_u (local.get $b) (local.get $batch)))
        (local.set $zrr (i32.add (local.get $zr) (i32.mul (local.get $b) (i32.shl (local.get $ub) (i32.const 1)))))
        (local.set $xr (i32.add (local.get $xw) (i32.mul (local.get $b) (i32.mul (local.get $ub) (i32.const 3)))))
        (local.set $j (i32.const 0))
        (block $done
          (loop $cols
            (br_if $done (i32.gt_u (i32.add (local.get $j) (i32.const 16)) (i32.shl (local.get $ub) (i32.const 1))))
            (v128.store (i32.add (local.get $zrr) (local.get $j))
              (f32x4.add (v128.load (i32.add (local.get $zrr) (local.get $j))) (v128.load (i32.add (local.get $xr) (local.get $j)))))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $cols)))
        (block $tailDone
          (loop $tail
            (br_if $tailDone (i32.ge_u (local.get $j) (i32.shl (local.get $ub) (i32.const 1))))
            (v128.store32_lane 0 (i32.add (local.get $zrr) (local.get $j))
              (f32x4.add (v128.load32_zero (i32.add (local.get $zrr) (local.get $j))) (v128.load32_zero (i32.add (local.get $xr) (local.get $j)))))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $tail)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $rows))))

  ;; za [batch, 2u]: pre-activations of z and r (hard) or their sigmoids. Writes the z and r
  ;; blocks of gates [batch, 3u] and rh [batch, u] = r·h_{t-1}.
  (func (export "gru_gates") (param $za i32) (param $gates i32) (param $hPrev i32) (param $rh i32) (param $batch i32) (param $u i32) (param $hard i32)
    (local $ub i32) (local $b i32) (local $j i32) (local $zar i32) (local $gr i32) (local $sr i32) (local $zv v128) (local $r v128)
    (local.set $ub (i32.shl (local.get $u) (i32.const 2)))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.ge_u (local.get $b) (local.get $batch)))
        (local.set $zar (i32.add (local.get $za) (i32.mul (local.get $b) (i32.shl (local.get $ub) (i32.const 1)))))
        (local.set $gr (i32.add (local.get $gates) (i32.mul (local.get $b) (i32.mul (local.get $ub) (i32.const 3)))))
        (local.set $sr (i32.mul (local.get $b) (local.get $ub)))
        (local.set $j (i32.const 0))
        (block $done
          (loop $cols
            (br_if $done (i32.gt_u (i32.add (local.get $j) (i32.const 16)) (local.get $ub)))
            (local.set $zv (v128.load (i32.add (local.get $zar) (local.get $j))))
            (local.set $r (v128.load (i32.add (i32.add (local.get $zar) (local.get $ub)) (local.get $j))))
            (if (local.get $hard)
              (then
                (local.set $zv (f32x4.min (f32x4.max (f32x4.add (f32x4.mul (local.get $zv) (v128.const f32x4 0.2 0.2 0.2 0.2)) (v128.const f32x4 0.5 0.5 0.5 0.5)) (v128.const f32x4 0 0 0 0)) (v128.const f32x4 1 1 1 1)))
                (local.set $r (f32x4.min (f32x4.max (f32x4.add (f32x4.mul (local.get $r) (v128.const f32x4 0.2 0.2 0.2 0.2)) (v128.const f32x4 0.5 0.5 0.5 0.5)) (v128.const f32x4 0 0 0 0)) (v128.const f32x4 1 1 1 1)))))
            (v128.store (i32.add (local.get $gr) (local.get $j)) (local.get $zv))
            (v128.store (i32.add (i32.add (local.get $gr) (local.get $ub)) (local.get $j)) (local.get $r))
            (v128.store (i32.add (local.get $rh) (i32.add (local.get $sr) (local.get $j)))
              (f32x4.mul (local.get $r) (v128.load (i32.add (local.get $hPrev) (i32.add (local.get $sr) (local.get $j))))))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $cols)))
        (block $tailDone
          (loop $tail
            (br_if $tailDone (i32.ge_u (local.get $j) (local.get $ub)))
            (local.set $zv (v128.load32_zero (i32.add (local.get $zar) (local.get $j))))
            (local.set $r (v128.load32_zero (i32.add (i32.add (local.get $zar) (local.get $ub)) (local.get $j))))
            (if (local.get $hard)
              (then
                (local.set $zv (f32x4.min (f32x4.max (f32x4.add (f32x4.mul (local.get $zv) (v128.const f32x4 0.2 0.2 0.2 0.2)) (v128.const f32x4 0.5 0.5 0.5 0.5)) (v128.const f32x4 0 0 0 0)) (v128.const f32x4 1 1 1 1)))
                (local.set $r (f32x4.min (f32x4.max (f32x4.add (f32x4.mul (local.get $r) (v128.const f32x4 0.2 0.2 0.2 0.2)) (v128.const f32x4 0.5 0.5 0.5 0.5)) (v128.const f32x4 0 0 0 0)) (v128.const f32x4 1 1 1 1)))))
            (v128.store32_lane 0 (i32.add (local.get $gr) (local.get $j)) (local.get $zv))
            (v128.store32_lane 0 (i32.add (i32.add (local.get $gr) (local.get $ub)) (local.get $j)) (local.get $r))
            (v128.store32_lane 0 (i32.add (local.get $rh) (i32.add (local.get $sr) (local.get $j)))
              (f32x4.mul (local.get $r) (v128.load32_zero (i32.add (local.get $hPrev) (i32.add (local.get $sr) (local.get $j))))))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $tail)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $rows))))

  ;; twice [batch, u] = 2·(xwh + hr): xwh is the h block of xw's rows [batch, 3u] (pointer to
  ;; row 0's h block), hr [batch, u].
  (func (export "gru_candidate") (param $xwh i32) (param $hr i32) (param $twice i32) (param $batch i32) (param $u i32)
    (local $ub i32) (local $b i32) (local $j i32) (local $xr i32) (local $sr i32)
    (local.set $ub (i32.shl (local.get $u) (i32.const 2)))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.ge_u (local.get $b) (local.get $batch)))
        (local.set $xr (i32.add (local.get $xwh) (i32.mul (local.get $b) (i32.mul (local.get $ub) (i32.const 3)))))
        (local.set $sr (i32.mul (local.get $b) (local.get $ub)))
        (local.set $j (i32.const 0))
        (block $done
          (loop $cols
            (br_if $done (i32.gt_u (i32.add (local.get $j) (i32.const 16)) (local.get $ub)))
            (v128.store (i32.add (local.get $twice) (i32.add (local.get $sr) (local.get $j)))
              (f32x4.mul (v128.const f32x4 2 2 2 2)
                (f32x4.add (v128.load (i32.add (local.get $xr) (local.get $j)))
                  (v128.load (i32.add (local.get $hr) (i32.add (local.get $sr) (local.get $j)))))))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $cols)))
        (block $tailDone
          (loop $tail
            (br_if $tailDone (i32.ge_u (local.get $j) (local.get $ub)))
            (v128.store32_lane 0 (i32.add (local.get $twice) (i32.add (local.get $sr) (local.get $j)))
              (f32x4.mul (v128.const f32x4 2 2 2 2)
                (f32x4.add (v128.load32_zero (i32.add (local.get $xr) (local.get $j)))
                  (v128.load32_zero (i32.add (local.get $hr) (i32.add (local.get $sr) (local.get $j)))))))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $tail)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $rows))))

  ;; sig [batch, u] = sigmoid(2·candidate pre-activation). Writes hh = tanh into the gates' h
  ;; block and hNext = z·h_{t-1} + (1 - z)·hh (h_{t-1} where masked).
  (func (export "gru_out") (param $sig i32) (param $gates i32) (param $hPrev i32) (param $hNext i32) (param $mask i32) (param $batch i32) (param $u i32)
    (local $ub i32) (local $b i32) (local $j i32) (local $gr i32) (local $sr i32) (local $keepv v128) (local $hh v128) (local $zv v128) (local $hp v128)
    (local.set $ub (i32.shl (local.get $u) (i32.const 2)))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.ge_u (local.get $b) (local.get $batch)))
        (local.set $gr (i32.add (local.get $gates) (i32.mul (local.get $b) (i32.mul (local.get $ub) (i32.const 3)))))
        (local.set $sr (i32.mul (local.get $b) (local.get $ub)))
        (local.set $keepv (i32x4.splat (i32.sub (i32.const 0) (call $keep (local.get $mask) (local.get $b)))))
        (local.set $j (i32.const 0))
        (block $done
          (loop $cols
            (br_if $done (i32.gt_u (i32.add (local.get $j) (i32.const 16)) (local.get $ub)))
            (local.set $hh (f32x4.sub (f32x4.mul (v128.load (i32.add (local.get $sig) (i32.add (local.get $sr) (local.get $j)))) (v128.const f32x4 2 2 2 2)) (v128.const f32x4 1 1 1 1)))
            (v128.store (i32.add (i32.add (local.get $gr) (i32.shl (local.get $ub) (i32.const 1))) (local.get $j)) (local.get $hh))
            (local.set $zv (v128.load (i32.add (local.get $gr) (local.get $j))))
            (local.set $hp (v128.load (i32.add (local.get $hPrev) (i32.add (local.get $sr) (local.get $j)))))
            (v128.store (i32.add (local.get $hNext) (i32.add (local.get $sr) (local.get $j)))
              (v128.bitselect
                (f32x4.add (f32x4.mul (local.get $zv) (local.get $hp))
                  (f32x4.mul (f32x4.sub (v128.const f32x4 1 1 1 1) (local.get $zv)) (local.get $hh)))
                (local.get $hp)
                (local.get $keepv)))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $cols)))
        (block $tailDone
          (loop $tail
            (br_if $tailDone (i32.ge_u (local.get $j) (local.get $ub)))
            (local.set $hh (f32x4.sub (f32x4.mul (v128.load32_zero (i32.add (local.get $sig) (i32.add (local.get $sr) (local.get $j)))) (v128.const f32x4 2 2 2 2)) (v128.const f32x4 1 1 1 1)))
            (v128.store32_lane 0 (i32.add (i32.add (local.get $gr) (i32.shl (local.get $ub) (i32.const 1))) (local.get $j)) (local.get $hh))
            (local.set $zv (v128.load32_zero (i32.add (local.get $gr) (local.get $j))))
            (local.set $hp (v128.load32_zero (i32.add (local.get $hPrev) (i32.add (local.get $sr) (local.get $j)))))
            (v128.store32_lane 0 (i32.add (local.get $hNext) (i32.add (local.get $sr) (local.get $j)))
              (v128.bitselect
                (f32x4.add (f32x4.mul (local.get $zv) (local.get $hp))
                  (f32x4.mul (f32x4.sub (v128.const f32x4 1 1 1 1) (local.get $zv)) (local.get $hh)))
                (local.get $hp)
                (local.get $keepv)))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $tail)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $rows))))

  ;; Backward, first half of a step: the z and candidate pre-activation gradients.
  ;; gates/dz: [batch, 3u] rows of step t; hPrev, dh, dhh: [batch, u]; dzr: [batch, 2u].
  (func (export "gru_backward_zh") (param $gates i32) (param $hPrev i32) (param $dh i32) (param $dz i32) (param $dzr i32) (param $dhh i32) (param $bias i32) (param $mask i32) (param $batch i32) (param $u i32) (param $hard i32)
    (local $t v128) (local $ub i32) (local $b i32) (local $j i32) (local $gr i32) (local $dr i32) (local $zrr i32) (local $sr i32) (local $at i32)
    (local $zv v128) (local $hh v128) (local $dhv v128) (local $dAz v128) (local $dAh v128)
    (local.set $ub (i32.shl (local.get $u) (i32.const 2)))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.ge_u (local.get $b) (local.get $batch)))
        (local.set $gr (i32.add (local.get $gates) (i32.mul (local.get $b) (i32.mul (local.get $ub) (i32.const 3)))))
        (local.set $dr (i32.add (local.get $dz) (i32.mul (local.get $b) (i32.mul (local.get $ub) (i32.const 3)))))
        (local.set $zrr (i32.add (local.get $dzr) (i32.mul (local.get $b) (i32.shl (local.get $ub) (i32.const 1)))))
        (local.set $sr (i32.mul (local.get $b) (local.get $ub)))
        (local.set $j (i32.const 0))
        (if (call $keep (local.get $mask) (local.get $b))
          (then
            (block $done
              (loop $cols
                (br_if $done (i32.gt_u (i32.add (local.get $j) (i32.const 16)) (local.get $ub)))
                (local.set $at (i32.add (local.get $sr) (local.get $j)))
                (local.set $zv (v128.load (i32.add (local.get $gr) (local.get $j))))
                (local.set $hh (v128.load (i32.add (i32.add (local.get $gr) (i32.shl (local.get $ub) (i32.const 1))) (local.get $j))))
                (local.set $dhv (v128.load (i32.add (local.get $dh) (local.get $at))))
                (local.set $dAz (v128.andnot (local.tee $t (f32x4.mul
                    (f32x4.mul (local.get $dhv) (f32x4.sub (v128.load (i32.add (local.get $hPrev) (local.get $at))) (local.get $hh)))
                    (if (result v128) (local.get $hard) (then (v128.and (v128.and (f32x4.gt (local.get $zv) (v128.const f32x4 0 0 0 0)) (f32x4.lt (local.get $zv) (v128.const f32x4 1 1 1 1))) (v128.const f32x4 0.2 0.2 0.2 0.2))) (else (f32x4.mul (local.get $zv) (f32x4.sub (v128.const f32x4 1 1 1 1) (local.get $zv))))))) (f32x4.lt (f32x4.abs (local.get $t)) (v128.const f32x4 1e-30 1e-30 1e-30 1e-30))))
                (local.set $dAh (v128.andnot (local.tee $t (f32x4.mul
                    (f32x4.mul (local.get $dhv) (f32x4.sub (v128.const f32x4 1 1 1 1) (local.get $zv)))
                    (f32x4.sub (v128.const f32x4 1 1 1 1) (f32x4.mul (local.get $hh) (local.get $hh))))) (f32x4.lt (f32x4.abs (local.get $t)) (v128.const f32x4 1e-30 1e-30 1e-30 1e-30))))
                (v128.store (i32.add (local.get $zrr) (local.get $j)) (local.get $dAz))
                (v128.store (i32.add (local.get $dr) (local.get $j)) (local.get $dAz))
                (v128.store (i32.add (local.get $dhh) (local.get $at)) (local.get $dAh))
                (v128.store (i32.add (i32.add (local.get $dr) (i32.shl (local.get $ub) (i32.const 1))) (local.get $j)) (local.get $dAh))
                (v128.store (i32.add (local.get $bias) (local.get $j)) (f32x4.add (v128.load (i32.add (local.get $bias) (local.get $j))) (local.get $dAz)))
                (v128.store (i32.add (i32.add (local.get $bias) (i32.shl (local.get $ub) (i32.const 1))) (local.get $j)) (f32x4.add (v128.load (i32.add (i32.add (local.get $bias) (i32.shl (local.get $ub) (i32.const 1))) (local.get $j))) (local.get $dAh)))
                (local.set $j (i32.add (local.get $j) (i32.const 16)))
                (br $cols)))
            (block $tailDone
              (loop $tail
                (br_if $tailDone (i32.ge_u (local.get $j) (local.get $ub)))
                (local.set $at (i32.add (local.get $sr) (local.get $j)))
                (local.set $zv (v128.load32_zero (i32.add (local.get $gr) (local.get $j))))
                (local.set $hh (v128.load32_zero (i32.add (i32.add (local.get $gr) (i32.shl (local.get $ub) (i32.const 1))) (local.get $j))))
                (local.set $dhv (v128.load32_zero (i32.add (local.get $dh) (local.get $at))))
                (local.set $dAz (v128.andnot (local.tee $t (f32x4.mul
                    (f32x4.mul (local.get $dhv) (f32x4.sub (v128.load32_zero (i32.add (local.get $hPrev) (local.get $at))) (local.get $hh)))
                    (if (result v128) (local.get $hard) (then (v128.and (v128.and (f32x4.gt (local.get $zv) (v128.const f32x4 0 0 0 0)) (f32x4.lt (local.get $zv) (v128.const f32x4 1 1 1 1))) (v128.const f32x4 0.2 0.2 0.2 0.2))) (else (f32x4.mul (local.get $zv) (f32x4.sub (v128.const f32x4 1 1 1 1) (local.get $zv))))))) (f32x4.lt (f32x4.abs (local.get $t)) (v128.const f32x4 1e-30 1e-30 1e-30 1e-30))))
                (local.set $dAh (v128.andnot (local.tee $t (f32x4.mul
                    (f32x4.mul (local.get $dhv) (f32x4.sub (v128.const f32x4 1 1 1 1) (local.get $zv)))
                    (f32x4.sub (v128.const f32x4 1 1 1 1) (f32x4.mul (local.get $hh) (local.get $hh))))) (f32x4.lt (f32x4.abs (local.get $t)) (v128.const f32x4 1e-30 1e-30 1e-30 1e-30))))
                (v128.store32_lane 0 (i32.add (local.get $zrr) (local.get $j)) (local.get $dAz))
                (v128.store32_lane 0 (i32.add (local.get $dr) (local.get $j)) (local.get $dAz))
                (v128.store32_lane 0 (i32.add (local.get $dhh) (local.get $at)) (local.get $dAh))
                (v128.store32_lane 0 (i32.add (i32.add (local.get $dr) (i32.shl (local.get $ub) (i32.const 1))) (local.get $j)) (local.get $dAh))
                (v128.store32_lane 0 (i32.add (local.get $bias) (local.get $j)) (f32x4.add (v128.load32_zero (i32.add (local.get $bias) (local.get $j))) (local.get $dAz)))
                (v128.store32_lane 0 (i32.add (i32.add (local.get $bias) (i32.shl (local.get $ub) (i32.const 1))) (local.get $j)) (f32x4.add (v128.load32_zero (i32.add (i32.add (local.get $bias) (i32.shl (local.get $ub) (i32.const 1))) (local.get $j))) (local.get $dAh)))
                (local.set $j (i32.add (local.get $j) (i32.const 4)))
                (br $tail))))
          (else
            (memory.fill (i32.add (local.get $dhh) (local.get $sr)) (i32.const 0) (local.get $ub))
            (memory.fill (local.get $zrr) (i32.const 0) (local.get $ub))
            (memory.fill (local.get $dr) (i32.const 0) (local.get $ub))
            (memory.fill (i32.add (local.get $dr) (i32.shl (local.get $ub) (i32.const 1))) (i32.const 0) (local.get $ub))))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $rows))))

  ;; Backward, second half: drh [batch, u] = d(r·h_{t-1}). Writes the r gradients and
  ;; dh = the direct gradient of h_{t-1} (through z·h_{t-1} and r·h_{t-1}) plus the output
  ;; gradient `extra` of step t-1 (-1: none).
  (func (export "gru_backward_r") (param $gates i32) (param $hPrev i32) (param $drh i32) (param $dh i32) (param $dz i32) (param $dzr i32) (param $extra i32) (param $bias i32) (param $mask i32) (param $batch i32) (param $u i32) (param $hard i32)
    (local $t v128) (local $ub i32) (local $b i32) (local $j i32) (local $gr i32) (local $dr i32) (local $zrr i32) (local $sr i32) (local $at i32)
    (local $r v128) (local $d v128) (local $add v128) (local $dAr v128)
    (local.set $ub (i32.shl (local.get $u) (i32.const 2)))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.ge_u (local.get $b) (local.get $batch)))
        (local.set $gr (i32.add (local.get $gates) (i32.mul (local.get $b) (i32.mul (local.get $ub) (i32.const 3)))))
        (local.set $dr (i32.add (local.get $dz) (i32.mul (local.get $b) (i32.mul (local.get $ub) (i32.const 3)))))
        (local.set $zrr (i32.add (local.get $dzr) (i32.mul (local.get $b) (i32.shl (local.get $ub) (i32.const 1)))))
        (local.set $sr (i32.mul (local.get $b) (local.get $ub)))
        (local.set $j (i32.const 0))
        (if (call $keep (local.get $mask) (local.get $b))
          (then
            (block $done
              (loop $cols
                (br_if $done (i32.gt_u (i32.add (local.get $j) (i32.const 16)) (local.get $ub)))
                (local.set $at (i32.add (local.get $sr) (local.get $j)))
                (local.set $add
                  (if (result v128) (i32.eq (local.get $extra) (i32.const -1))
                    (then (v128.const f32x4 0 0 0 0))
                    (else (v128.load (i32.add (local.get $extra) (local.get $at))))))
                (local.set $r (v128.load (i32.add (i32.add (local.get $gr) (local.get $ub)) (local.get $j))))
                (local.set $d (v128.load (i32.add (local.get $drh) (local.get $at))))
                (local.set $dAr (v128.andnot (local.tee $t (f32x4.mul (f32x4.mul (local.get $d) (v128.load (i32.add (local.get $hPrev) (local.get $at))))
                    (if (result v128) (local.get $hard) (then (v128.and (v128.and (f32x4.gt (local.get $r) (v128.const f32x4 0 0 0 0)) (f32x4.lt (local.get $r) (v128.const f32x4 1 1 1 1))) (v128.const f32x4 0.2 0.2 0.2 0.2))) (else (f32x4.mul (local.get $r) (f32x4.sub (v128.const f32x4 1 1 1 1) (local.get $r))))))) (f32x4.lt (f32x4.abs (local.get $t)) (v128.const f32x4 1e-30 1e-30 1e-30 1e-30))))
                (v128.store (i32.add (i32.add (local.get $zrr) (local.get $ub)) (local.get $j)) (local.get $dAr))
                (v128.store (i32.add (i32.add (local.get $dr) (local.get $ub)) (local.get $j)) (local.get $dAr))
                (v128.store (i32.add (i32.add (local.get $bias) (local.get $ub)) (local.get $j)) (f32x4.add (v128.load (i32.add (i32.add (local.get $bias) (local.get $ub)) (local.get $j))) (local.get $dAr)))
                (v128.store (i32.add (local.get $dh) (local.get $at))
                  (v128.andnot (local.tee $t (f32x4.add
                      (f32x4.add
                        (f32x4.mul (v128.load (i32.add (local.get $dh) (local.get $at))) (v128.load (i32.add (local.get $gr) (local.get $j))))
                        (f32x4.mul (local.get $d) (local.get $r)))
                      (local.get $add))) (f32x4.lt (f32x4.abs (local.get $t)) (v128.const f32x4 1e-30 1e-30 1e-30 1e-30))))
                (local.set $j (i32.add (local.get $j) (i32.const 16)))
                (br $cols)))
            (block $tailDone
              (loop $tail
                (br_if $tailDone (i32.ge_u (local.get $j) (local.get $ub)))
                (local.set $at (i32.add (local.get $sr) (local.get $j)))
                (local.set $add
                  (if (result v128) (i32.eq (local.get $extra) (i32.const -1))
                    (then (v128.const f32x4 0 0 0 0))
                    (else (v128.load32_zero (i32.add (local.get $extra) (local.get $at))))))
                (local.set $r (v128.load32_zero (i32.add (i32.add (local.get $gr) (local.get $ub)) (local.get $j))))
                (local.set $d (v128.load32_zero (i32.add (local.get $drh) (local.get $at))))
                (local.set $dAr (v128.andnot (local.tee $t (f32x4.mul (f32x4.mul (local.get $d) (v128.load32_zero (i32.add (local.get $hPrev) (local.get $at))))
                    (if (result v128) (local.get $hard) (then (v128.and (v128.and (f32x4.gt (local.get $r) (v128.const f32x4 0 0 0 0)) (f32x4.lt (local.get $r) (v128.const f32x4 1 1 1 1))) (v128.const f32x4 0.2 0.2 0.2 0.2))) (else (f32x4.mul (local.get $r) (f32x4.sub (v128.const f32x4 1 1 1 1) (local.get $r))))))) (f32x4.lt (f32x4.abs (local.get $t)) (v128.const f32x4 1e-30 1e-30 1e-30 1e-30))))
                (v128.store32_lane 0 (i32.add (i32.add (local.get $zrr) (local.get $ub)) (local.get $j)) (local.get $dAr))
                (v128.store32_lane 0 (i32.add (i32.add (local.get $dr) (local.get $ub)) (local.get $j)) (local.get $dAr))
                (v128.store32_lane 0 (i32.add (i32.add (local.get $bias) (local.get $ub)) (local.get $j)) (f32x4.add (v128.load32_zero (i32.add (i32.add (local.get $bias) (local.get $ub)) (local.get $j))) (local.get $dAr)))
                (v128.store32_lane 0 (i32.add (local.get $dh) (local.get $at))
                  (v128.andnot (local.tee $t (f32x4.add
                      (f32x4.add
                        (f32x4.mul (v128.load32_zero (i32.add (local.get $dh) (local.get $at))) (v128.load32_zero (i32.add (local.get $gr) (local.get $j))))
                        (f32x4.mul (local.get $d) (local.get $r)))
                      (local.get $add))) (f32x4.lt (f32x4.abs (local.get $t)) (v128.const f32x4 1e-30 1e-30 1e-30 1e-30))))
                (local.set $j (i32.add (local.get $j) (i32.const 4)))
                (br $tail))))
          (else
            ;; h_t = h_{t-1}: dh carries over as it is.
            (memory.fill (i32.add (local.get $zrr) (local.get $ub)) (i32.const 0) (local.get $ub))
            (memory.fill (i32.add (local.get $dr) (local.get $ub)) (i32.const 0) (local.get $ub))
            (if (i32.ne (local.get $extra) (i32.const -1))
              (then
                (block $done
                  (loop $cols
                    (br_if $done (i32.gt_u (i32.add (local.get $j) (i32.const 16)) (local.get $ub)))
                    (local.set $at (i32.add (local.get $sr) (local.get $j)))
                    (v128.store (i32.add (local.get $dh) (local.get $at))
                      (f32x4.add (v128.load (i32.add (local.get $dh) (local.get $at))) (v128.load (i32.add (local.get $extra) (local.get $at)))))
                    (local.set $j (i32.add (local.get $j) (i32.const 16)))
                    (br $cols)))
                (block $tailDone
                  (loop $tail
                    (br_if $tailDone (i32.ge_u (local.get $j) (local.get $ub)))
                    (local.set $at (i32.add (local.get $sr) (local.get $j)))
                    (v128.store32_lane 0 (i32.add (local.get $dh) (local.get $at))
                      (f32x4.add (v128.load32_zero (i32.add (local.get $dh) (local.get $at))) (v128.load32_zero (i32.add (local.get $extra) (local.get $at)))))
                    (local.set $j (i32.add (local.get $j) (i32.const 4)))
                    (br $tail)))))))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $rows))))

  ;; ---- SimpleRNN (../simple-rnn-sequence.ts) ----------------------------------------------

  ;; x[0..count) *= 2 (tanh's argument for the sigmoid). One contiguous run, not rows.
  (func (export "srnn_double") (param $x i32) (param $count i32)
    (local $nb i32) (local $j i32)
    (local.set $nb (i32.shl (local.get $count) (i32.const 2)))
    (block $done
      (loop $cols
        (br_if $done (i32.gt_u (i32.add (local.get $j) (i32.const 16)) (local.get $nb)))
        (v128.store (i32.add (local.get $x) (local.get $j))
          (f32x4.mul (v128.const f32x4 2 2 2 2) (v128.load (i32.add (local.get $x) (local.get $j)))))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $cols)))
    (block $tailDone
      (loop $tail
        (br_if $tailDone (i32.ge_u (local.get $j) (local.get $nb)))
        (v128.store32_lane 0 (i32.add (local.get $x) (local.get $j))
          (f32x4.mul (v128.const f32x4 2 2 2 2) (v128.load32_zero (i32.add (local.get $x) (local.get $j)))))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $tail))))

  ;; Forward activation of one step, [batch, u] rows. relu: hNext = max(0, z) with z = src
  ;; (pmax: 0 for NaN and -0, as `z > 0 ? z : 0`); tanh: src holds sigmoid(2z) and
  ;; hNext = 2·src − 1 (src may be hNext itself). A masked row copies hPrev.
  (func (export "srnn_out") (param $src i32) (param $hPrev i32) (param $hNext i32) (param $mask i32) (param $batch i32) (param $u i32) (param $relu i32)
    (local $ub i32) (local $b i32) (local $j i32) (local $at i32) (local $keepv v128) (local $v v128)
    (local.set $ub (i32.shl (local.get $u) (i32.const 2)))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.ge_u (local.get $b) (local.get $batch)))
        (local.set $keepv (i32x4.splat (i32.sub (i32.const 0) (call $keep (local.get $mask) (local.get $b)))))
        (local.set $j (i32.const 0))
        (block $done
          (loop $cols
            (br_if $done (i32.gt_u (i32.add (local.get $j) (i32.const 16)) (local.get $ub)))
            (local.set $at (i32.add (i32.mul (local.get $b) (local.get $ub)) (local.get $j)))
            (local.set $v (v128.load (i32.add (local.get $src) (local.get $at))))
            (local.set $v
              (if (result v128) (local.get $relu)
                (then (f32x4.pmax (v128.const f32x4 0 0 0 0) (local.get $v)))
                (else (f32x4.sub (f32x4.mul (local.get $v) (v128.const f32x4 2 2 2 2)) (v128.const f32x4 1 1 1 1)))))
            (v128.store (i32.add (local.get $hNext) (local.get $at))
              (v128.bitselect (local.get $v) (v128.load (i32.add (local.get $hPrev) (local.get $at))) (local.get $keepv)))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $cols)))
        (block $tailDone
          (loop $tail
            (br_if $tailDone (i32.ge_u (local.get $j) (local.get $ub)))
            (local.set $at (i32.add (i32.mul (local.get $b) (local.get $ub)) (local.get $j)))
            (local.set $v (v128.load32_zero (i32.add (local.get $src) (local.get $at))))
            (local.set $v
              (if (result v128) (local.get $relu)
                (then (f32x4.pmax (v128.const f32x4 0 0 0 0) (local.get $v)))
                (else (f32x4.sub (f32x4.mul (local.get $v) (v128.const f32x4 2 2 2 2)) (v128.const f32x4 1 1 1 1)))))
            (v128.store32_lane 0 (i32.add (local.get $hNext) (local.get $at))
              (v128.bitselect (local.get $v) (v128.load32_zero (i32.add (local.get $hPrev) (local.get $at))) (local.get $keepv)))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $tail)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $rows))))

  ;; One backward step. h: [batch, u] rows of h_t; dh: [batch, u] d loss / d h_t, replaced by
  ;; the part of dh_{t-1} not through z_t (the output gradient `extra` of step t-1, or 0 when
  ;; extra is -1; a masked row keeps dh_t and adds extra); dz: this step's rows (0 where
  ;; masked); bias [u] accumulates dz. dz = flushTiny(dh·act'(h)): 1 − h² (tanh), h > 0 (relu).
  (func (export "srnn_backward") (param $h i32) (param $dh i32) (param $dz i32) (param $extra i32) (param $bias i32) (param $mask i32) (param $batch i32) (param $u i32) (param $relu i32)
    (local $t v128) (local $ub i32) (local $b i32) (local $j i32) (local $at i32) (local $hv v128) (local $d v128)
    (local.set $ub (i32.shl (local.get $u) (i32.const 2)))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.ge_u (local.get $b) (local.get $batch)))
        (local.set $j (i32.const 0))
        (if (call $keep (local.get $mask) (local.get $b))
          (then
            (block $done
              (loop $cols
                (br_if $done (i32.gt_u (i32.add (local.get $j) (i32.const 16)) (local.get $ub)))
                (local.set $at (i32.add (i32.mul (local.get $b) (local.get $ub)) (local.get $j)))
                (local.set $hv (v128.load (i32.add (local.get $h) (local.get $at))))
                (local.set $d (v128.andnot (local.tee $t (f32x4.mul (v128.load (i32.add (local.get $dh) (local.get $at)))
                    (if (result v128) (local.get $relu)
                      (then (v128.and (f32x4.gt (local.get $hv) (v128.const f32x4 0 0 0 0)) (v128.const f32x4 1 1 1 1)))
                      (else (f32x4.sub (v128.const f32x4 1 1 1 1) (f32x4.mul (local.get $hv) (local.get $hv)))))))
                  (f32x4.lt (f32x4.abs (local.get $t)) (v128.const f32x4 1e-30 1e-30 1e-30 1e-30))))
                (v128.store (i32.add (local.get $dz) (local.get $at)) (local.get $d))
                (v128.store (i32.add (local.get $bias) (local.get $j)) (f32x4.add (v128.load (i32.add (local.get $bias) (local.get $j))) (local.get $d)))
                (v128.store (i32.add (local.get $dh) (local.get $at))
                  (if (result v128) (i32.eq (local.get $extra) (i32.const -1))
                    (then (v128.const f32x4 0 0 0 0))
                    (else (v128.load (i32.add (local.get $extra) (local.get $at))))))
                (local.set $j (i32.add (local.get $j) (i32.const 16)))
                (br $cols)))
            (block $tailDone
              (loop $tail
                (br_if $tailDone (i32.ge_u (local.get $j) (local.get $ub)))
                (local.set $at (i32.add (i32.mul (local.get $b) (local.get $ub)) (local.get $j)))
                (local.set $hv (v128.load32_zero (i32.add (local.get $h) (local.get $at))))
                (local.set $d (v128.andnot (local.tee $t (f32x4.mul (v128.load32_zero (i32.add (local.get $dh) (local.get $at)))
                    (if (result v128) (local.get $relu)
                      (then (v128.and (f32x4.gt (local.get $hv) (v128.const f32x4 0 0 0 0)) (v128.const f32x4 1 1 1 1)))
                      (else (f32x4.sub (v128.const f32x4 1 1 1 1) (f32x4.mul (local.get $hv) (local.get $hv)))))))
                  (f32x4.lt (f32x4.abs (local.get $t)) (v128.const f32x4 1e-30 1e-30 1e-30 1e-30))))
                (v128.store32_lane 0 (i32.add (local.get $dz) (local.get $at)) (local.get $d))
                (v128.store32_lane 0 (i32.add (local.get $bias) (local.get $j)) (f32x4.add (v128.load32_zero (i32.add (local.get $bias) (local.get $j))) (local.get $d)))
                (v128.store32_lane 0 (i32.add (local.get $dh) (local.get $at))
                  (if (result v128) (i32.eq (local.get $extra) (i32.const -1))
                    (then (v128.const f32x4 0 0 0 0))
                    (else (v128.load32_zero (i32.add (local.get $extra) (local.get $at))))))
                (local.set $j (i32.add (local.get $j) (i32.const 4)))
                (br $tail))))
          (else
            ;; A masked step passes h through: its gradient goes on to step t-1 as it is.
            (memory.fill (i32.add (local.get $dz) (i32.mul (local.get $b) (local.get $ub))) (i32.const 0) (local.get $ub))
            (if (i32.ne (local.get $extra) (i32.const -1))
              (then
                (block $done
                  (loop $cols
                    (br_if $done (i32.gt_u (i32.add (local.get $j) (i32.const 16)) (local.get $ub)))
                    (local.set $at (i32.add (i32.mul (local.get $b) (local.get $ub)) (local.get $j)))
                    (v128.store (i32.add (local.get $dh) (local.get $at))
                      (f32x4.add (v128.load (i32.add (local.get $dh) (local.get $at))) (v128.load (i32.add (local.get $extra) (local.get $at)))))
                    (local.set $j (i32.add (local.get $j) (i32.const 16)))
                    (br $cols)))
                (block $tailDone
                  (loop $tail
                    (br_if $tailDone (i32.ge_u (local.get $j) (local.get $ub)))
                    (local.set $at (i32.add (i32.mul (local.get $b) (local.get $ub)) (local.get $j)))
                    (v128.store32_lane 0 (i32.add (local.get $dh) (local.get $at))
                      (f32x4.add (v128.load32_zero (i32.add (local.get $dh) (local.get $at))) (v128.load32_zero (i32.add (local.get $extra) (local.get $at)))))
                    (local.set $j (i32.add (local.get $j) (i32.const 4)))
                    (br $tail)))))))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $rows))))
)
