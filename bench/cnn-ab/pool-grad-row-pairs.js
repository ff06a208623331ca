const tf = require(require('path').resolve(process.argv[2] ?? '.') + '/node_modules/@tensorflow/tfjs');
const repo = require('path').resolve(process.argv[2] ?? '.');
const root = repo + '/dist/libs/ml/src/backend/';
const { initBackend } = require(root + 'backend');
const { cnnKernels } = require(root + 'wasm-kernels/cnn-simd');
const { heapOffset } = require(root + 'wasm-kernels/wasm-internals');
(async () => {
  await initBackend('wasm');
  const backend = tf.backend(); const K = cnnKernels(backend);
  for (const [n,h,c] of [[64,98,32],[64,47,64],[64,126,32],[64,61,64]]) {
    const oh = Math.floor(h/2);
    const x = tf.randomNormal([n,h,1,c]), dy = tf.randomNormal([n,oh,1,c]), dx = tf.zeros([n,h,1,c]);
    const X=heapOffset(backend,x), D=heapOffset(backend,dy), O=heapOffset(backend,dx);
    const t = (fn, reps=50) => { for (let i=0;i<5;i++) fn(); const c0=process.cpuUsage(); for (let i=0;i<reps;i++) fn(); const d=process.cpuUsage(c0); return (d.user+d.system)/1000/reps; };
    const r=[]; for (let k=0;k<5;k++){ const a=t(()=>K.max_pool_grad(X,D,O,n,h,1,c,oh,1,2,1,2,1,0,0)); const b=t(()=>{ if (h%2===0) K.max_pool_grad_row_pairs(X,D,O,n*oh,c); else for (let i=0;i<n;i++) K.max_pool_grad_row_pairs(X+i*4*h*c,D+i*4*oh*c,O+i*4*h*c,oh,c);}); r.push([a,b]); }
    r.sort((p,q)=>p[0]/p[1]-q[0]/q[1]); const m=r[2];
    console.log(`[${n},${h},1,${c}] generic ${m[0].toFixed(3)} ms, row pairs ${m[1].toFixed(3)} ms, ${(m[0]/m[1]).toFixed(1)}x`);
    tf.dispose([x,dy,dx]);
  }
})();
