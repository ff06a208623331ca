const tf = require(require('path').resolve(process.argv[2] ?? '.') + '/node_modules/@tensorflow/tfjs');
const repo = require('path').resolve(process.argv[2] ?? '.');
const root = repo + '/dist/libs/ml/src/backend/';
const { initBackend } = require(root + 'backend');
const { cnnKernels } = require(root + 'wasm-kernels/cnn-simd');
const { heapOffset } = require(root + 'wasm-kernels/wasm-internals');
(async () => {
  await initBackend('wasm');
  const backend = tf.backend();
  for (const [n,h,w,c,fh,fw,co] of [[64,13,13,32,3,3,64],[64,1,128,64,1,3,32],[64,1,49,32,1,3,64]]) {
    const oh=h-fh+1, ow=w-fw+1, k=fh*fw*c, rows=n*oh*ow;
    const x = tf.randomNormal([n,h,w,c]); const cols = tf.zeros([rows,k]); const f = tf.randomNormal([k,co]);
    const K = cnnKernels(backend);
    const t = (fn, reps=20) => { for (let i=0;i<3;i++) fn(); const c0=process.cpuUsage(); for (let i=0;i<reps;i++) fn(); const d=process.cpuUsage(c0); return (d.user+d.system)/1000/reps; };
    const ti = t(() => K.im2col(heapOffset(backend,x), heapOffset(backend,cols), n,h,w,c,fh,fw,oh,ow,1,1,0,0));
    const tg = t(() => tf.matMul(cols, f).dispose());
    console.log(`[${n},${h},${w},${c}] k=${k} rows=${rows}: im2col ${ti.toFixed(3)} ms, gemm ${tg.toFixed(3)} ms = ${(2*rows*k*co/tg/1e6).toFixed(1)} GFLOPS`);
    tf.dispose([x,cols,f]);
  }
})();
