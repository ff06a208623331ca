;; tfleet SIMD activations (Tanh, Exp, Erf and the Tanh/Erf gradients) on the tfjs-backend-wasm heap.
;;
;; tfjs-backend-wasm 4.22 runs Tanh, Exp and Erf through a generic C++ unary loop calling libm
;; (tens of ns per element for Tanh, 24-75 ns as measured); these take a few ns (bench/src/activation-ab.ts,
;; docs/engine.md). Like ../simd/kernels.wat the module
;; imports the backend's own linear memory ("env" "memory"): pointers are byte offsets of float32
;; tensors on that heap, counts are elements. Outputs may alias inputs (element-wise).
;;
;; Accuracy (float32 arithmetic, no fused multiply-add; against float64 references, asserted by
;; act-simd.spec.ts): exp within 1 ulp over its whole range (subnormal results included), tanh
;; within 1.5 ulp (8e-8 absolute), erf within 1.5 ulp (9e-8 absolute). tanh and erf are
;; exactly +-1 where the float32-rounded true value is, NaN gives NaN, -0 gives -0.
;; The polynomial coefficients were fitted (minimax, Lawson's iteration in float64, then
;; rounded to float32) for this module by fit-coefficients.py.
;;
;; The vector loops inline the whole computation (V8 does not inline wasm calls, and passing
;; v128 values through calls spilled them); the count % 4 tail calls the same code as functions.
;;
;; Compiled by generate.ts into act-kernels-wasm.ts (see index.ts); a unit test fails when the
;; two differ.
(module
  (import "env" "memory" (memory 0))

  ;; exp(x): n = round(x / ln 2), r = x - n ln 2 (Cody-Waite: ln 2 split so n * hi is exact),
  ;; e^r by the Cephes expf polynomial on |r| <= ln2/2, times 2^n built in two halves so that
  ;; results down to the subnormals (n = -150) and up to overflow (n = 129) come out of one
  ;; correctly rounded multiply. x is clamped to [-104, 89] first: beyond them the result is 0
  ;; or +Infinity anyway; min/max keep NaN.
  (func $exp4 (param $in v128) (result v128) (local $e_x v128) (local $e_n v128) (local $e_r v128) (local $e_p v128) (local $e_ni v128) (local $e_n1 v128) (local $a v128) (local $z v128) (local $p v128) (local $t v128) (local $b v128) (local $u v128) (local $r v128) (local $e v128) (local $res v128) (local $v v128) (local $w v128)
    (local.set $v (local.get $in))
    (local.set $e_x (f32x4.min (f32x4.max (local.get $v) (v128.const f32x4 -104.0 -104.0 -104.0 -104.0)) (v128.const f32x4 89.0 89.0 89.0 89.0)))
    (local.set $e_n (f32x4.nearest (f32x4.mul (local.get $e_x) (v128.const f32x4 1.4426950216293335 1.4426950216293335 1.4426950216293335 1.4426950216293335))))
    (local.set $e_r (f32x4.sub (local.get $e_x) (f32x4.mul (local.get $e_n) (v128.const f32x4 0.693359375 0.693359375 0.693359375 0.693359375))))
    (local.set $e_r (f32x4.sub (local.get $e_r) (f32x4.mul (local.get $e_n) (v128.const f32x4 -0.00021219444170128554 -0.00021219444170128554 -0.00021219444170128554 -0.00021219444170128554))))
    (local.set $e_p (v128.const f32x4 0.00019875691214110702 0.00019875691214110702 0.00019875691214110702 0.00019875691214110702))
    (local.set $e_p (f32x4.add (f32x4.mul (local.get $e_p) (local.get $e_r)) (v128.const f32x4 0.001398199936375022 0.001398199936375022 0.001398199936375022 0.001398199936375022)))
    (local.set $e_p (f32x4.add (f32x4.mul (local.get $e_p) (local.get $e_r)) (v128.const f32x4 0.008333452045917511 0.008333452045917511 0.008333452045917511 0.008333452045917511)))
    (local.set $e_p (f32x4.add (f32x4.mul (local.get $e_p) (local.get $e_r)) (v128.const f32x4 0.04166579619050026 0.04166579619050026 0.04166579619050026 0.04166579619050026)))
    (local.set $e_p (f32x4.add (f32x4.mul (local.get $e_p) (local.get $e_r)) (v128.const f32x4 0.1666666567325592 0.1666666567325592 0.1666666567325592 0.1666666567325592)))
    (local.set $e_p (f32x4.add (f32x4.mul (local.get $e_p) (local.get $e_r)) (v128.const f32x4 0.5 0.5 0.5 0.5)))
    (local.set $e_p (f32x4.add (f32x4.add (f32x4.mul (local.get $e_p) (f32x4.mul (local.get $e_r) (local.get $e_r))) (local.get $e_r)) (v128.const f32x4 1.0 1.0 1.0 1.0)))
    (local.set $e_ni (i32x4.trunc_sat_f32x4_s (local.get $e_n)))
    (local.set $e_n1 (i32x4.shr_s (local.get $e_ni) (i32.const 1)))
    (local.set $res (f32x4.mul (f32x4.mul (local.get $e_p) (i32x4.shl (i32x4.add (local.get $e_n1) (v128.const i32x4 127 127 127 127)) (i32.const 23))) (i32x4.shl (i32x4.add (i32x4.sub (local.get $e_ni) (local.get $e_n1)) (v128.const i32x4 127 127 127 127)) (i32.const 23))))
    (local.get $res))

  ;; tanh(x): |x| < 0.625: x + x^3 P(x^2) (relative error 4e-9 before rounding); otherwise
  ;; sign(x) (1 - 2 / (e^(2|x|) + 1)), no cancellation there (the result is above 0.55). e^(2|x|)
  ;; overflows to +Infinity for |x| > 44, where the quotient is 0 and the result exactly +-1.
    (func $tanh4 (param $in v128) (result v128) (local $e_x v128) (local $e_n v128) (local $e_r v128) (local $e_p v128) (local $e_ni v128) (local $e_n1 v128) (local $a v128) (local $z v128) (local $p v128) (local $t v128) (local $b v128) (local $u v128) (local $r v128) (local $e v128) (local $res v128) (local $v v128) (local $w v128)
    (local.set $v (local.get $in))
    (local.set $a (f32x4.abs (local.get $v)))
    (local.set $z (f32x4.mul (local.get $v) (local.get $v)))
    (local.set $p (v128.const f32x4 -0.005704967770725489 -0.005704967770725489 -0.005704967770725489 -0.005704967770725489))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z)) (v128.const f32x4 0.020639071241021156 0.020639071241021156 0.020639071241021156 0.020639071241021156)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z)) (v128.const f32x4 -0.05373971164226532 -0.05373971164226532 -0.05373971164226532 -0.05373971164226532)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z)) (v128.const f32x4 0.13331441581249237 0.13331441581249237 0.13331441581249237 0.13331441581249237)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z)) (v128.const f32x4 -0.3333328068256378 -0.3333328068256378 -0.3333328068256378 -0.3333328068256378)))
    (local.set $p (f32x4.add (local.get $v) (f32x4.mul (f32x4.mul (local.get $v) (local.get $z)) (local.get $p))))
    (local.set $e_x (f32x4.min (f32x4.max (f32x4.add (local.get $a) (local.get $a)) (v128.const f32x4 -104.0 -104.0 -104.0 -104.0)) (v128.const f32x4 89.0 89.0 89.0 89.0)))
    (local.set $e_n (f32x4.nearest (f32x4.mul (local.get $e_x) (v128.const f32x4 1.4426950216293335 1.4426950216293335 1.4426950216293335 1.4426950216293335))))
    (local.set $e_r (f32x4.sub (local.get $e_x) (f32x4.mul (local.get $e_n) (v128.const f32x4 0.693359375 0.693359375 0.693359375 0.693359375))))
    (local.set $e_r (f32x4.sub (local.get $e_r) (f32x4.mul (local.get $e_n) (v128.const f32x4 -0.00021219444170128554 -0.00021219444170128554 -0.00021219444170128554 -0.00021219444170128554))))
    (local.set $e_p (v128.const f32x4 0.00019875691214110702 0.00019875691214110702 0.00019875691214110702 0.00019875691214110702))
    (local.set $e_p (f32x4.add (f32x4.mul (local.get $e_p) (local.get $e_r)) (v128.const f32x4 0.001398199936375022 0.001398199936375022 0.001398199936375022 0.001398199936375022)))
    (local.set $e_p (f32x4.add (f32x4.mul (local.get $e_p) (local.get $e_r)) (v128.const f32x4 0.008333452045917511 0.008333452045917511 0.008333452045917511 0.008333452045917511)))
    (local.set $e_p (f32x4.add (f32x4.mul (local.get $e_p) (local.get $e_r)) (v128.const f32x4 0.04166579619050026 0.04166579619050026 0.04166579619050026 0.04166579619050026)))
    (local.set $e_p (f32x4.add (f32x4.mul (local.get $e_p) (local.get $e_r)) (v128.const f32x4 0.1666666567325592 0.1666666567325592 0.1666666567325592 0.1666666567325592)))
    (local.set $e_p (f32x4.add (f32x4.mul (local.get $e_p) (local.get $e_r)) (v128.const f32x4 0.5 0.5 0.5 0.5)))
    (local.set $e_p (f32x4.add (f32x4.add (f32x4.mul (local.get $e_p) (f32x4.mul (local.get $e_r) (local.get $e_r))) (local.get $e_r)) (v128.const f32x4 1.0 1.0 1.0 1.0)))
    (local.set $e_ni (i32x4.trunc_sat_f32x4_s (local.get $e_n)))
    (local.set $e_n1 (i32x4.shr_s (local.get $e_ni) (i32.const 1)))
    (local.set $e (f32x4.mul (f32x4.mul (local.get $e_p) (i32x4.shl (i32x4.add (local.get $e_n1) (v128.const i32x4 127 127 127 127)) (i32.const 23))) (i32x4.shl (i32x4.add (i32x4.sub (local.get $e_ni) (local.get $e_n1)) (v128.const i32x4 127 127 127 127)) (i32.const 23))))
    (local.set $t (f32x4.sub (v128.const f32x4 1.0 1.0 1.0 1.0) (f32x4.div (v128.const f32x4 2.0 2.0 2.0 2.0) (f32x4.add (local.get $e) (v128.const f32x4 1.0 1.0 1.0 1.0)))))
    ;; The sign bit of x goes onto both branches: the polynomial alone gives +0 for -0.
    (local.set $res (v128.or (v128.bitselect (local.get $p) (local.get $t) (f32x4.lt (local.get $a) (v128.const f32x4 0.625 0.625 0.625 0.625))) (v128.and (local.get $v) (v128.const i32x4 0x80000000 0x80000000 0x80000000 0x80000000))))
    (local.get $res))

  ;; erf(x): |x| < 1: x + x Q(x^2), Q(z) = erf(x)/x - 1 (relative error 1.2e-9 before rounding;
  ;; adding the small correction to x last keeps the rounding near half an ulp). Otherwise
  ;; sign(x) (1 - e^(-x^2) R(1/|x|)), R(u) fitted to erfc(x) e^(x^2) on [1, 4] (relative 1.4e-7;
  ;; erfc is below 0.16 there, so this is 2.3e-8 absolute). |x| is clamped to 4, where erfc is
  ;; 1.5e-8 and the result rounds to exactly +-1, as it does in float32 from |x| = 3.92.
    (func $erf4 (param $in v128) (result v128) (local $e_x v128) (local $e_n v128) (local $e_r v128) (local $e_p v128) (local $e_ni v128) (local $e_n1 v128) (local $a v128) (local $z v128) (local $p v128) (local $t v128) (local $b v128) (local $u v128) (local $r v128) (local $e v128) (local $res v128) (local $v v128) (local $w v128)
    (local.set $v (local.get $in))
    (local.set $a (f32x4.abs (local.get $v)))
    (local.set $z (f32x4.mul (local.get $v) (local.get $v)))
    (local.set $p (v128.const f32x4 7.853827264625579e-05 7.853827264625579e-05 7.853827264625579e-05 7.853827264625579e-05))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z)) (v128.const f32x4 -0.0008010184392333031 -0.0008010184392333031 -0.0008010184392333031 -0.0008010184392333031)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z)) (v128.const f32x4 0.005188326817005873 0.005188326817005873 0.005188326817005873 0.005188326817005873)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z)) (v128.const f32x4 -0.026853810995817184 -0.026853810995817184 -0.026853810995817184 -0.026853810995817184)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z)) (v128.const f32x4 0.1128358542919159 0.1128358542919159 0.1128358542919159 0.1128358542919159)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z)) (v128.const f32x4 -0.3761262595653534 -0.3761262595653534 -0.3761262595653534 -0.3761262595653534)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z)) (v128.const f32x4 0.12837916612625122 0.12837916612625122 0.12837916612625122 0.12837916612625122)))
    (local.set $p (f32x4.add (local.get $v) (f32x4.mul (local.get $v) (local.get $p))))
    (local.set $b (f32x4.min (local.get $a) (v128.const f32x4 4.0 4.0 4.0 4.0)))
    (local.set $u (f32x4.div (v128.const f32x4 1.0 1.0 1.0 1.0) (local.get $b)))
    (local.set $r (v128.const f32x4 -0.016678960993885994 -0.016678960993885994 -0.016678960993885994 -0.016678960993885994))
    (local.set $r (f32x4.add (f32x4.mul (local.get $r) (local.get $u)) (v128.const f32x4 0.11580431461334229 0.11580431461334229 0.11580431461334229 0.11580431461334229)))
    (local.set $r (f32x4.add (f32x4.mul (local.get $r) (local.get $u)) (v128.const f32x4 -0.34574514627456665 -0.34574514627456665 -0.34574514627456665 -0.34574514627456665)))
    (local.set $r (f32x4.add (f32x4.mul (local.get $r) (local.get $u)) (v128.const f32x4 0.5678316950798035 0.5678316950798035 0.5678316950798035 0.5678316950798035)))
    (local.set $r (f32x4.add (f32x4.mul (local.get $r) (local.get $u)) (v128.const f32x4 -0.5015533566474915 -0.5015533566474915 -0.5015533566474915 -0.5015533566474915)))
    (local.set $r (f32x4.add (f32x4.mul (local.get $r) (local.get $u)) (v128.const f32x4 0.04961300641298294 0.04961300641298294 0.04961300641298294 0.04961300641298294)))
    (local.set $r (f32x4.add (f32x4.mul (local.get $r) (local.get $u)) (v128.const f32x4 0.557979166507721 0.557979166507721 0.557979166507721 0.557979166507721)))
    (local.set $r (f32x4.add (f32x4.mul (local.get $r) (local.get $u)) (v128.const f32x4 0.00033293585875071585 0.00033293585875071585 0.00033293585875071585 0.00033293585875071585)))
    (local.set $e_x (f32x4.min (f32x4.max (f32x4.neg (f32x4.mul (local.get $b) (local.get $b))) (v128.const f32x4 -104.0 -104.0 -104.0 -104.0)) (v128.const f32x4 89.0 89.0 89.0 89.0)))
    (local.set $e_n (f32x4.nearest (f32x4.mul (local.get $e_x) (v128.const f32x4 1.4426950216293335 1.4426950216293335 1.4426950216293335 1.4426950216293335))))
    (local.set $e_r (f32x4.sub (local.get $e_x) (f32x4.mul (local.get $e_n) (v128.const f32x4 0.693359375 0.693359375 0.693359375 0.693359375))))
    (local.set $e_r (f32x4.sub (local.get $e_r) (f32x4.mul (local.get $e_n) (v128.const f32x4 -0.00021219444170128554 -0.00021219444170128554 -0.00021219444170128554 -0.00021219444170128554))))
    (local.set $e_p (v128.const f32x4 0.00019875691214110702 0.00019875691214110702 0.00019875691214110702 0.00019875691214110702))
    (local.set $e_p (f32x4.add (f32x4.mul (local.get $e_p) (local.get $e_r)) (v128.const f32x4 0.001398199936375022 0.001398199936375022 0.001398199936375022 0.001398199936375022)))
    (local.set $e_p (f32x4.add (f32x4.mul (local.get $e_p) (local.get $e_r)) (v128.const f32x4 0.008333452045917511 0.008333452045917511 0.008333452045917511 0.008333452045917511)))
    (local.set $e_p (f32x4.add (f32x4.mul (local.get $e_p) (local.get $e_r)) (v128.const f32x4 0.04166579619050026 0.04166579619050026 0.04166579619050026 0.04166579619050026)))
    (local.set $e_p (f32x4.add (f32x4.mul (local.get $e_p) (local.get $e_r)) (v128.const f32x4 0.1666666567325592 0.1666666567325592 0.1666666567325592 0.1666666567325592)))
    (local.set $e_p (f32x4.add (f32x4.mul (local.get $e_p) (local.get $e_r)) (v128.const f32x4 0.5 0.5 0.5 0.5)))
    (local.set $e_p (f32x4.add (f32x4.add (f32x4.mul (local.get $e_p) (f32x4.mul (local.get $e_r) (local.get $e_r))) (local.get $e_r)) (v128.const f32x4 1.0 1.0 1.0 1.0)))
    (local.set $e_ni (i32x4.trunc_sat_f32x4_s (local.get $e_n)))
    (local.set $e_n1 (i32x4.shr_s (local.get $e_ni) (i32.const 1)))
    (local.set $e (f32x4.mul (f32x4.mul (local.get $e_p) (i32x4.shl (i32x4.add (local.get $e_n1) (v128.const i32x4 127 127 127 127)) (i32.const 23))) (i32x4.shl (i32x4.add (i32x4.sub (local.get $e_ni) (local.get $e_n1)) (v128.const i32x4 127 127 127 127)) (i32.const 23))))
    (local.set $t (f32x4.sub (v128.const f32x4 1.0 1.0 1.0 1.0) (f32x4.mul (local.get $e) (local.get $r))))
    (local.set $res (v128.or (v128.bitselect (local.get $p) (local.get $t) (f32x4.lt (local.get $a) (v128.const f32x4 1.0 1.0 1.0 1.0))) (v128.and (local.get $v) (v128.const i32x4 0x80000000 0x80000000 0x80000000 0x80000000))))
    (local.get $res))

  ;; Tanh gradient from its output y: dy (1 - y^2), the same float operations in the same order
  ;; as tfjs-core's mul(sub(1, square(y)), dy) (three kernels there).
  (func $tanhGrad4 (param $in1 v128) (param $in2 v128) (result v128) (local $e_x v128) (local $e_n v128) (local $e_r v128) (local $e_p v128) (local $e_ni v128) (local $e_n1 v128) (local $a v128) (local $z v128) (local $p v128) (local $t v128) (local $b v128) (local $u v128) (local $r v128) (local $e v128) (local $res v128) (local $v v128) (local $w v128)
    (local.set $v (local.get $in1))
    (local.set $w (local.get $in2))
    (local.set $res (f32x4.mul (f32x4.sub (v128.const f32x4 1.0 1.0 1.0 1.0) (f32x4.mul (local.get $w) (local.get $w))) (local.get $v)))
    (local.get $res))

  ;; Erf gradient from its input x: dy (e^(-x^2) 2/sqrt(pi)), tfjs-core's
  ;; mul(dy, mul(exp(neg(square(x))), 2 / sqrt(pi))) in one pass (five kernels there).
  (func $erfGrad4 (param $in1 v128) (param $in2 v128) (result v128) (local $e_x v128) (local $e_n v128) (local $e_r v128) (local $e_p v128) (local $e_ni v128) (local $e_n1 v128) (local $a v128) (local $z v128) (local $p v128) (local $t v128) (local $b v128) (local $u v128) (local $r v128) (local $e v128) (local $res v128) (local $v v128) (local $w v128)
    (local.set $v (local.get $in1))
    (local.set $w (local.get $in2))
    (local.set $e_x (f32x4.min (f32x4.max (f32x4.neg (f32x4.mul (local.get $w) (local.get $w))) (v128.const f32x4 -104.0 -104.0 -104.0 -104.0)) (v128.const f32x4 89.0 89.0 89.0 89.0)))
    (local.set $e_n (f32x4.nearest (f32x4.mul (local.get $e_x) (v128.const f32x4 1.4426950216293335 1.4426950216293335 1.4426950216293335 1.4426950216293335))))
    (local.set $e_r (f32x4.sub (local.get $e_x) (f32x4.mul (local.get $e_n) (v128.const f32x4 0.693359375 0.693359375 0.693359375 0.693359375))))
    (local.set $e_r (f32x4.sub (local.get $e_r) (f32x4.mul (local.get $e_n) (v128.const f32x4 -0.00021219444170128554 -0.00021219444170128554 -0.00021219444170128554 -0.00021219444170128554))))
    (local.set $e_p (v128.const f32x4 0.00019875691214110702 0.00019875691214110702 0.00019875691214110702 0.00019875691214110702))
    (local.set $e_p (f32x4.add (f32x4.mul (local.get $e_p) (local.get $e_r)) (v128.const f32x4 0.001398199936375022 0.001398199936375022 0.001398199936375022 0.001398199936375022)))
    (local.set $e_p (f32x4.add (f32x4.mul (local.get $e_p) (local.get $e_r)) (v128.const f32x4 0.008333452045917511 0.008333452045917511 0.008333452045917511 0.008333452045917511)))
    (local.set $e_p (f32x4.add (f32x4.mul (local.get $e_p) (local.get $e_r)) (v128.const f32x4 0.04166579619050026 0.04166579619050026 0.04166579619050026 0.04166579619050026)))
    (local.set $e_p (f32x4.add (f32x4.mul (local.get $e_p) (local.get $e_r)) (v128.const f32x4 0.1666666567325592 0.1666666567325592 0.1666666567325592 0.1666666567325592)))
    (local.set $e_p (f32x4.add (f32x4.mul (local.get $e_p) (local.get $e_r)) (v128.const f32x4 0.5 0.5 0.5 0.5)))
    (local.set $e_p (f32x4.add (f32x4.add (f32x4.mul (local.get $e_p) (f32x4.mul (local.get $e_r) (local.get $e_r))) (local.get $e_r)) (v128.const f32x4 1.0 1.0 1.0 1.0)))
    (local.set $e_ni (i32x4.trunc_sat_f32x4_s (local.get $e_n)))
    (local.set $e_n1 (i32x4.shr_s (local.get $e_ni) (i32.const 1)))
    (local.set $e (f32x4.mul (f32x4.mul (local.get $e_p) (i32x4.shl (i32x4.add (local.get $e_n1) (v128.const i32x4 127 127 127 127)) (i32.const 23))) (i32x4.shl (i32x4.add (i32x4.sub (local.get $e_ni) (local.get $e_n1)) (v128.const i32x4 127 127 127 127)) (i32.const 23))))
    (local.set $res (f32x4.mul (local.get $v) (f32x4.mul (local.get $e) (v128.const f32x4 1.128379225730896 1.128379225730896 1.128379225730896 1.128379225730896))))
    (local.get $res))

  ;; out[i] = exp(x[i]) for i < count.
  (func (export "exp") (param $x i32) (param $out i32) (param $count i32)
    (local $i i32) (local $end i32) (local $vecEnd i32) (local $e_x v128) (local $e_n v128) (local $e_r v128) (local $e_p v128) (local $e_ni v128) (local $e_n1 v128) (local $a v128) (local $z v128) (local $p v128) (local $t v128) (local $b v128) (local $u v128) (local $r v128) (local $e v128) (local $res v128) (local $v v128) (local $w v128)
    (local.set $end (i32.shl (local.get $count) (i32.const 2)))
    (local.set $vecEnd (i32.and (local.get $end) (i32.const -16)))
    (block $vecDone
      (loop $vec
        (br_if $vecDone (i32.ge_u (local.get $i) (local.get $vecEnd)))
        (local.set $v (v128.load (i32.add (local.get $x) (local.get $i))))
    (local.set $e_x (f32x4.min (f32x4.max (local.get $v) (v128.const f32x4 -104.0 -104.0 -104.0 -104.0)) (v128.const f32x4 89.0 89.0 89.0 89.0)))
    (local.set $e_n (f32x4.nearest (f32x4.mul (local.get $e_x) (v128.const f32x4 1.4426950216293335 1.4426950216293335 1.4426950216293335 1.4426950216293335))))
    (local.set $e_r (f32x4.sub (local.get $e_x) (f32x4.mul (local.get $e_n) (v128.const f32x4 0.693359375 0.693359375 0.693359375 0.693359375))))
    (local.set $e_r (f32x4.sub (local.get $e_r) (f32x4.mul (local.get $e_n) (v128.const f32x4 -0.00021219444170128554 -0.00021219444170128554 -0.00021219444170128554 -0.00021219444170128554))))
    (local.set $e_p (v128.const f32x4 0.00019875691214110702 0.00019875691214110702 0.00019875691214110702 0.00019875691214110702))
    (local.set $e_p (f32x4.add (f32x4.mul (local.get $e_p) (local.get $e_r)) (v128.const f32x4 0.001398199936375022 0.001398199936375022 0.001398199936375022 0.001398199936375022)))
    (local.set $e_p (f32x4.add (f32x4.mul (local.get $e_p) (local.get $e_r)) (v128.const f32x4 0.008333452045917511 0.008333452045917511 0.008333452045917511 0.008333452045917511)))
    (local.set $e_p (f32x4.add (f32x4.mul (local.get $e_p) (local.get $e_r)) (v128.const f32x4 0.04166579619050026 0.04166579619050026 0.04166579619050026 0.04166579619050026)))
    (local.set $e_p (f32x4.add (f32x4.mul (local.get $e_p) (local.get $e_r)) (v128.const f32x4 0.1666666567325592 0.1666666567325592 0.1666666567325592 0.1666666567325592)))
    (local.set $e_p (f32x4.add (f32x4.mul (local.get $e_p) (local.get $e_r)) (v128.const f32x4 0.5 0.5 0.5 0.5)))
    (local.set $e_p (f32x4.add (f32x4.add (f32x4.mul (local.get $e_p) (f32x4.mul (local.get $e_r) (local.get $e_r))) (local.get $e_r)) (v128.const f32x4 1.0 1.0 1.0 1.0)))
    (local.set $e_ni (i32x4.trunc_sat_f32x4_s (local.get $e_n)))
    (local.set $e_n1 (i32x4.shr_s (local.get $e_ni) (i32.const 1)))
    (local.set $res (f32x4.mul (f32x4.mul (local.get $e_p) (i32x4.shl (i32x4.add (local.get $e_n1) (v128.const i32x4 127 127 127 127)) (i32.const 23))) (i32x4.shl (i32x4.add (i32x4.sub (local.get $e_ni) (local.get $e_n1)) (v128.const i32x4 127 127 127 127)) (i32.const 23))))
        (v128.store (i32.add (local.get $out) (local.get $i)) (local.get $res))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $vec)))
    ;; The last count % 4 elements go through the same code one lane at a time (bit-identical
    ;; results wherever an element sits).
    (block $done
      (loop $scalar
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (f32.store (i32.add (local.get $out) (local.get $i))
          (f32x4.extract_lane 0 (call $exp4 (f32x4.splat (f32.load (i32.add (local.get $x) (local.get $i)))))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $scalar))))

  ;; out[i] = tanh(x[i]).
  (func (export "tanh") (param $x i32) (param $out i32) (param $count i32)
    (local $i i32) (local $end i32) (local $vecEnd i32) (local $e_x v128) (local $e_n v128) (local $e_r v128) (local $e_p v128) (local $e_ni v128) (local $e_n1 v128) (local $a v128) (local $z v128) (local $p v128) (local $t v128) (local $b v128) (local $u v128) (local $r v128) (local $e v128) (local $res v128) (local $v v128) (local $w v128)
    (local.set $end (i32.shl (local.get $count) (i32.const 2)))
    (local.set $vecEnd (i32.and (local.get $end) (i32.const -16)))
    (block $vecDone
      (loop $vec
        (br_if $vecDone (i32.ge_u (local.get $i) (local.get $vecEnd)))
        (local.set $v (v128.load (i32.add (local.get $x) (local.get $i))))
    (local.set $a (f32x4.abs (local.get $v)))
    (local.set $z (f32x4.mul (local.get $v) (local.get $v)))
    (local.set $p (v128.const f32x4 -0.005704967770725489 -0.005704967770725489 -0.005704967770725489 -0.005704967770725489))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z)) (v128.const f32x4 0.020639071241021156 0.020639071241021156 0.020639071241021156 0.020639071241021156)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z)) (v128.const f32x4 -0.05373971164226532 -0.05373971164226532 -0.05373971164226532 -0.05373971164226532)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z)) (v128.const f32x4 0.13331441581249237 0.13331441581249237 0.13331441581249237 0.13331441581249237)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z)) (v128.const f32x4 -0.3333328068256378 -0.3333328068256378 -0.3333328068256378 -0.3333328068256378)))
    (local.set $p (f32x4.add (local.get $v) (f32x4.mul (f32x4.mul (local.get $v) (local.get $z)) (local.get $p))))
    (local.set $e_x (f32x4.min (f32x4.max (f32x4.add (local.get $a) (local.get $a)) (v128.const f32x4 -104.0 -104.0 -104.0 -104.0)) (v128.const f32x4 89.0 89.0 89.0 89.0)))
    (local.set $e_n (f32x4.nearest (f32x4.mul (local.get $e_x) (v128.const f32x4 1.4426950216293335 1.4426950216293335 1.4426950216293335 1.4426950216293335))))
    (local.set $e_r (f32x4.sub (local.get $e_x) (f32x4.mul (local.get $e_n) (v128.const f32x4 0.693359375 0.693359375 0.693359375 0.693359375))))
    (local.set $e_r (f32x4.sub (local.get $e_r) (f32x4.mul (local.get $e_n) (v128.const f32x4 -0.00021219444170128554 -0.00021219444170128554 -0.00021219444170128554 -0.00021219444170128554))))
    (local.set $e_p (v128.const f32x4 0.00019875691214110702 0.00019875691214110702 0.00019875691214110702 0.00019875691214110702))
    (local.set $e_p (f32x4.add (f32x4.mul (local.get $e_p) (local.get $e_r)) (v128.const f32x4 0.001398199936375022 0.001398199936375022 0.001398199936375022 0.001398199936375022)))
    (local.set $e_p (f32x4.add (f32x4.mul (local.get $e_p) (local.get $e_r)) (v128.const f32x4 0.008333452045917511 0.008333452045917511 0.008333452045917511 0.008333452045917511)))
    (local.set $e_p (f32x4.add (f32x4.mul (local.get $e_p) (local.get $e_r)) (v128.const f32x4 0.04166579619050026 0.04166579619050026 0.04166579619050026 0.04166579619050026)))
    (local.set $e_p (f32x4.add (f32x4.mul (local.get $e_p) (local.get $e_r)) (v128.const f32x4 0.1666666567325592 0.1666666567325592 0.1666666567325592 0.1666666567325592)))
    (local.set $e_p (f32x4.add (f32x4.mul (local.get $e_p) (local.get $e_r)) (v128.const f32x4 0.5 0.5 0.5 0.5)))
    (local.set $e_p (f32x4.add (f32x4.add (f32x4.mul (local.get $e_p) (f32x4.mul (local.get $e_r) (local.get $e_r))) (local.get $e_r)) (v128.const f32x4 1.0 1.0 1.0 1.0)))
    (local.set $e_ni (i32x4.trunc_sat_f32x4_s (local.get $e_n)))
    (local.set $e_n1 (i32x4.shr_s (local.get $e_ni) (i32.const 1)))
    (local.set $e (f32x4.mul (f32x4.mul (local.get $e_p) (i32x4.shl (i32x4.add (local.get $e_n1) (v128.const i32x4 127 127 127 127)) (i32.const 23))) (i32x4.shl (i32x4.add (i32x4.sub (local.get $e_ni) (local.get $e_n1)) (v128.const i32x4 127 127 127 127)) (i32.const 23))))
    (local.set $t (f32x4.sub (v128.const f32x4 1.0 1.0 1.0 1.0) (f32x4.div (v128.const f32x4 2.0 2.0 2.0 2.0) (f32x4.add (local.get $e) (v128.const f32x4 1.0 1.0 1.0 1.0)))))
    ;; The sign bit of x goes onto both branches: the polynomial alone gives +0 for -0.
    (local.set $res (v128.or (v128.bitselect (local.get $p) (local.get $t) (f32x4.lt (local.get $a) (v128.const f32x4 0.625 0.625 0.625 0.625))) (v128.and (local.get $v) (v128.const i32x4 0x80000000 0x80000000 0x80000000 0x80000000))))
        (v128.store (i32.add (local.get $out) (local.get $i)) (local.get $res))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $vec)))
    ;; The last count % 4 elements go through the same code one lane at a time (bit-identical
    ;; results wherever an element sits).
    (block $done
      (loop $scalar
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (f32.store (i32.add (local.get $out) (local.get $i))
          (f32x4.extract_lane 0 (call $tanh4 (f32x4.splat (f32.load (i32.add (local.get $x) (local.get $i)))))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $scalar))))

  ;; out[i] = erf(x[i]).
  (func (export "erf") (param $x i32) (param $out i32) (param $count i32)
    (local $i i32) (local $end i32) (local $vecEnd i32) (local $e_x v128) (local $e_n v128) (local $e_r v128) (local $e_p v128) (local $e_ni v128) (local $e_n1 v128) (local $a v128) (local $z v128) (local $p v128) (local $t v128) (local $b v128) (local $u v128) (local $r v128) (local $e v128) (local $res v128) (local $v v128) (local $w v128)
    (local.set $end (i32.shl (local.get $count) (i32.const 2)))
    (local.set $vecEnd (i32.and (local.get $end) (i32.const -16)))
    (block $vecDone
      (loop $vec
        (br_if $vecDone (i32.ge_u (local.get $i) (local.get $vecEnd)))
        (local.set $v (v128.load (i32.add (local.get $x) (local.get $i))))
    (local.set $a (f32x4.abs (local.get $v)))
    (local.set $z (f32x4.mul (local.get $v) (local.get $v)))
    (local.set $p (v128.const f32x4 7.853827264625579e-05 7.853827264625579e-05 7.853827264625579e-05 7.853827264625579e-05))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z)) (v128.const f32x4 -0.0008010184392333031 -0.0008010184392333031 -0.0008010184392333031 -0.0008010184392333031)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z)) (v128.const f32x4 0.005188326817005873 0.005188326817005873 0.005188326817005873 0.005188326817005873)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z)) (v128.const f32x4 -0.026853810995817184 -0.026853810995817184 -0.026853810995817184 -0.026853810995817184)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z)) (v128.const f32x4 0.1128358542919159 0.1128358542919159 0.1128358542919159 0.1128358542919159)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z)) (v128.const f32x4 -0.3761262595653534 -0.3761262595653534 -0.3761262595653534 -0.3761262595653534)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z)) (v128.const f32x4 0.12837916612625122 0.12837916612625122 0.12837916612625122 0.12837916612625122)))
    (local.set $p (f32x4.add (local.get $v) (f32x4.mul (local.get $v) (local.get $p))))
    (local.set $b (f32x4.min (local.get $a) (v128.const f32x4 4.0 4.0 4.0 4.0)))
    (local.set $u (f32x4.div (v128.const f32x4 1.0 1.0 1.0 1.0) (local.get $b)))
    (local.set $r (v128.const f32x4 -0.016678960993885994 -0.016678960993885994 -0.016678960993885994 -0.016678960993885994))
    (local.set $r (f32x4.add (f32x4.mul (local.get $r) (local.get $u)) (v128.const f32x4 0.11580431461334229 0.11580431461334229 0.11580431461334229 0.11580431461334229)))
    (local.set $r (f32x4.add (f32x4.mul (local.get $r) (local.get $u)) (v128.const f32x4 -0.34574514627456665 -0.34574514627456665 -0.34574514627456665 -0.34574514627456665)))
    (local.set $r (f32x4.add (f32x4.mul (local.get $r) (local.get $u)) (v128.const f32x4 0.5678316950798035 0.5678316950798035 0.5678316950798035 0.5678316950798035)))
    (local.set $r (f32x4.add (f32x4.mul (local.get $r) (local.get $u)) (v128.const f32x4 -0.5015533566474915 -0.5015533566474915 -0.5015533566474915 -0.5015533566474915)))
    (local.set $r (f32x4.add (f32x4.mul (local.get $r) (local.get $u)) (v128.const f32x4 0.04961300641298294 0.04961300641298294 0.04961300641298294 0.04961300641298294)))
    (local.set $r (f32x4.add (f32x4.mul (local.get $r) (local.get $u)) (v128.const f32x4 0.557979166507721 0.557979166507721 0.557979166507721 0.557979166507721)))
    (local.set $r (f32x4.add (f32x4.mul (local.get $r) (local.get $u)) (v128.const f32x4 0.00033293585875071585 0.00033293585875071585 0.00033293585875071585 0.00033293585875071585)))
    (local.set $e_x (f32x4.min (f32x4.max (f32x4.neg (f32x4.mul (local.get $b) (local.get $b))) (v128.const f32x4 -104.0 -104.0 -104.0 -104.0)) (v128.const f32x4 89.0 89.0 89.0 89.0)))
    (local.set $e_n (f32x4.nearest (f32x4.mul (local.get $e_x) (v128.const f32x4 1.4426950216293335 1.4426950216293335 1.4426950216293335 1.4426950216293335))))
    (local.set $e_r (f32x4.sub (local.get $e_x) (f32x4.mul (local.get $e_n) (v128.const f32x4 0.693359375 0.693359375 0.693359375 0.693359375))))
    (local.set $e_r (f32x4.sub (local.get $e_r) (f32x4.mul (local.get $e_n) (v128.const f32x4 -0.00021219444170128554 -0.00021219444170128554 -0.00021219444170128554 -0.00021219444170128554))))
    (local.set $e_p (v128.const f32x4 0.00019875691214110702 0.00019875691214110702 0.00019875691214110702 0.00019875691214110702))
    (local.set $e_p (f32x4.add (f32x4.mul (local.get $e_p) (local.get $e_r)) (v128.const f32x4 0.001398199936375022 0.001398199936375022 0.001398199936375022 0.001398199936375022)))
    (local.set $e_p (f32x4.add (f32x4.mul (local.get $e_p) (local.get $e_r)) (v128.const f32x4 0.008333452045917511 0.008333452045917511 0.008333452045917511 0.008333452045917511)))
    (local.set $e_p (f32x4.add (f32x4.mul (local.get $e_p) (local.get $e_r)) (v128.const f32x4 0.04166579619050026 0.04166579619050026 0.04166579619050026 0.04166579619050026)))
    (local.set $e_p (f32x4.add (f32x4.mul (local.get $e_p) (local.get $e_r)) (v128.const f32x4 0.1666666567325592 0.1666666567325592 0.1666666567325592 0.1666666567325592)))
    (local.set $e_p (f32x4.add (f32x4.mul (local.get $e_p) (local.get $e_r)) (v128.const f32x4 0.5 0.5 0.5 0.5)))
    (local.set $e_p (f32x4.add (f32x4.add (f32x4.mul (local.get $e_p) (f32x4.mul (local.get $e_r) (local.get $e_r))) (local.get $e_r)) (v128.const f32x4 1.0 1.0 1.0 1.0)))
    (local.set $e_ni (i32x4.trunc_sat_f32x4_s (local.get $e_n)))
    (local.set $e_n1 (i32x4.shr_s (local.get $e_ni) (i32.const 1)))
    (local.set $e (f32x4.mul (f32x4.mul (local.get $e_p) (i32x4.shl (i32x4.add (local.get $e_n1) (v128.const i32x4 127 127 127 127)) (i32.const 23))) (i32x4.shl (i32x4.add (i32x4.sub (local.get $e_ni) (local.get $e_n1)) (v128.const i32x4 127 127 127 127)) (i32.const 23))))
    (local.set $t (f32x4.sub (v128.const f32x4 1.0 1.0 1.0 1.0) (f32x4.mul (local.get $e) (local.get $r))))
    (local.set $res (v128.or (v128.bitselect (local.get $p) (local.get $t) (f32x4.lt (local.get $a) (v128.const f32x4 1.0 1.0 1.0 1.0))) (v128.and (local.get $v) (v128.const i32x4 0x80000000 0x80000000 0x80000000 0x80000000))))
        (v128.store (i32.add (local.get $out) (local.get $i)) (local.get $res))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $vec)))
    ;; The last count % 4 elements go through the same code one lane at a time (bit-identical
    ;; results wherever an element sits).
    (block $done
      (loop $scalar
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (f32.store (i32.add (local.get $out) (local.get $i))
          (f32x4.extract_lane 0 (call $erf4 (f32x4.splat (f32.load (i32.add (local.get $x) (local.get $i)))))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $scalar))))

  ;; out[i] = dy[i] (1 - y[i]^2), y = tanh(x).
  (func (export "tanh_grad") (param $dy i32) (param $x i32) (param $out i32) (param $count i32)
    (local $i i32) (local $end i32) (local $vecEnd i32) (local $e_x v128) (local $e_n v128) (local $e_r v128) (local $e_p v128) (local $e_ni v128) (local $e_n1 v128) (local $a v128) (local $z v128) (local $p v128) (local $t v128) (local $b v128) (local $u v128) (local $r v128) (local $e v128) (local $res v128) (local $v v128) (local $w v128)
    (local.set $end (i32.shl (local.get $count) (i32.const 2)))
    (local.set $vecEnd (i32.and (local.get $end) (i32.const -16)))
    (block $vecDone
      (loop $vec
        (br_if $vecDone (i32.ge_u (local.get $i) (local.get $vecEnd)))
        (local.set $v (v128.load (i32.add (local.get $dy) (local.get $i))))
        (local.set $w (v128.load (i32.add (local.get $x) (local.get $i))))
    (local.set $res (f32x4.mul (f32x4.sub (v128.const f32x4 1.0 1.0 1.0 1.0) (f32x4.mul (local.get $w) (local.get $w))) (local.get $v)))
        (v128.store (i32.add (local.get $out) (local.get $i)) (local.get $res))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $vec)))
    (block $done
      (loop $scalar
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (f32.store (i32.add (local.get $out) (local.get $i))
          (f32x4.extract_lane 0 (call $tanhGrad4
            (f32x4.splat (f32.load (i32.add (local.get $dy) (local.get $i))))
            (f32x4.splat (f32.load (i32.add (local.get $x) (local.get $i)))))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $scalar))))

  ;; out[i] = dy[i] 2/sqrt(pi) exp(-x[i]^2).
  (func (export "erf_grad") (param $dy i32) (param $x i32) (param $out i32) (param $count i32)
    (local $i i32) (local $end i32) (local $vecEnd i32) (local $e_x v128) (local $e_n v128) (local $e_r v128) (local $e_p v128) (local $e_ni v128) (local $e_n1 v128) (local $a v128) (local $z v128) (local $p v128) (local $t v128) (local $b v128) (local $u v128) (local $r v128) (local $e v128) (local $res v128) (local $v v128) (local $w v128)
    (local.set $end (i32.shl (local.get $count) (i32.const 2)))
    (local.set $vecEnd (i32.and (local.get $end) (i32.const -16)))
    (block $vecDone
      (loop $vec
        (br_if $vecDone (i32.ge_u (local.get $i) (local.get $vecEnd)))
        (local.set $v (v128.load (i32.add (local.get $dy) (local.get $i))))
        (local.set $w (v128.load (i32.add (local.get $x) (local.get $i))))
    (local.set $e_x (f32x4.min (f32x4.max (f32x4.neg (f32x4.mul (local.get $w) (local.get $w))) (v128.const f32x4 -104.0 -104.0 -104.0 -104.0)) (v128.const f32x4 89.0 89.0 89.0 89.0)))
    (local.set $e_n (f32x4.nearest (f32x4.mul (local.get $e_x) (v128.const f32x4 1.4426950216293335 1.4426950216293335 1.4426950216293335 1.4426950216293335))))
    (local.set $e_r (f32x4.sub (local.get $e_x) (f32x4.mul (local.get $e_n) (v128.const f32x4 0.693359375 0.693359375 0.693359375 0.693359375))))
    (local.set $e_r (f32x4.sub (local.get $e_r) (f32x4.mul (local.get $e_n) (v128.const f32x4 -0.00021219444170128554 -0.00021219444170128554 -0.00021219444170128554 -0.00021219444170128554))))
    (local.set $e_p (v128.const f32x4 0.00019875691214110702 0.00019875691214110702 0.00019875691214110702 0.00019875691214110702))
    (local.set $e_p (f32x4.add (f32x4.mul (local.get $e_p) (local.get $e_r)) (v128.const f32x4 0.001398199936375022 0.001398199936375022 0.001398199936375022 0.001398199936375022)))
    (local.set $e_p (f32x4.add (f32x4.mul (local.get $e_p) (local.get $e_r)) (v128.const f32x4 0.008333452045917511 0.008333452045917511 0.008333452045917511 0.008333452045917511)))
    (local.set $e_p (f32x4.add (f32x4.mul (local.get $e_p) (local.get $e_r)) (v128.const f32x4 0.04166579619050026 0.04166579619050026 0.04166579619050026 0.04166579619050026)))
    (local.set $e_p (f32x4.add (f32x4.mul (local.get $e_p) (local.get $e_r)) (v128.const f32x4 0.1666666567325592 0.1666666567325592 0.1666666567325592 0.1666666567325592)))
    (local.set $e_p (f32x4.add (f32x4.mul (local.get $e_p) (local.get $e_r)) (v128.const f32x4 0.5 0.5 0.5 0.5)))
    (local.set $e_p (f32x4.add (f32x4.add (f32x4.mul (local.get $e_p) (f32x4.mul (local.get $e_r) (local.get $e_r))) (local.get $e_r)) (v128.const f32x4 1.0 1.0 1.0 1.0)))
    (local.set $e_ni (i32x4.trunc_sat_f32x4_s (local.get $e_n)))
    (local.set $e_n1 (i32x4.shr_s (local.get $e_ni) (i32.const 1)))
    (local.set $e (f32x4.mul (f32x4.mul (local.get $e_p) (i32x4.shl (i32x4.add (local.get $e_n1) (v128.const i32x4 127 127 127 127)) (i32.const 23))) (i32x4.shl (i32x4.add (i32x4.sub (local.get $e_ni) (local.get $e_n1)) (v128.const i32x4 127 127 127 127)) (i32.const 23))))
    (local.set $res (f32x4.mul (local.get $v) (f32x4.mul (local.get $e) (v128.const f32x4 1.128379225730896 1.128379225730896 1.128379225730896 1.128379225730896))))
        (v128.store (i32.add (local.get $out) (local.get $i)) (local.get $res))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $vec)))
    (block $done
      (loop $scalar
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (f32.store (i32.add (local.get $out) (local.get $i))
          (f32x4.extract_lane 0 (call $erfGrad4
            (f32x4.splat (f32.load (i32.add (local.get $dy) (local.get $i))))
            (f32x4.splat (f32.load (i32.add (local.get $x) (local.get $i)))))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $scalar))))
)
