const tf = require(require('path').resolve(process.argv[2] ?? '.') + '/node_modules/@tensorflow/tfjs');
const repo = require('path').resolve(process.argv[2] ?? '.');
const root = repo + '/dist/libs/ml/src/backend/';
const { initBackend } = require(root + 'backend');
const { stockConfig } = require(root + 'wasm-kernels/stock-kernels');
const { fusedConv2DKernel, conv2DKernel } = require(root + 'wasm-kernels/conv2d-forward');
(async () => {
  await initBackend('wasm');
  const backend = tf.backend();
  const shapes = [
    ['mnist c1', [64,28,28,1],[3,3,1,32],'FusedConv2D'],
    ['mnist c2', [64,13,13,32],[3,3,32,64],'FusedConv2D'],
    ['ref c1', [64,28,28,1],[3,3,1,16],'FusedConv2D'],
    ['ref c2', [64,13,13,16],[3,3,16,32],'FusedConv2D'],
    ['adding c1', [64,100,1,2],[3,1,2,32],'FusedConv2D'],
    ['adding c2', [64,49,1,32],[3,1,32,64],'FusedConv2D'],
    ['spam c1', [64,128,1,64],[3,1,64,32],'FusedConv2D'],
    ['spam c2', [64,63,1,32],[3,1,32,64],'FusedConv2D'],
  ];
  for (const [name, xs, fs, kn] of shapes) {
    const x = tf.randomNormal(xs), f = tf.randomNormal(fs), b = tf.randomNormal([fs[3]]);
    const inputs = kn === 'FusedConv2D' ? { x, filter: f, bias: b } : { x, filter: f };
    const attrs = { strides: [1,1], pad: 'valid', dataFormat: 'NHWC', dilations: [1,1], dimRoundingMode: undefined, activation: 'relu' };
    const mine = kn === 'FusedConv2D' ? fusedConv2DKernel : conv2DKernel;
    const stock = stockConfig(kn);
    const run = (cfg) => { const o = cfg.kernelFunc({ inputs, backend, attrs }); backend.disposeData(o.dataId); };
    const timeIt = (cfg, reps) => { const c0 = process.cpuUsage(); for (let i = 0; i < reps; i++) run(cfg); const c = process.cpuUsage(c0); return (c.user + c.system) / 1000 / reps; };
    for (let i = 0; i < 5; i++) { run(stock); run(mine); }
    const reps = 20; const rs = []; let ts = [], tm = [];
    for (let r = 0; r < 5; r++) { const a = timeIt(stock, reps), m = timeIt(mine, reps); ts.push(a); tm.push(m); rs.push(a / m); }
    const med = (v) => v.slice().sort((p, q) => p - q)[Math.floor(v.length / 2)];
    // check agreement
    const o1 = stock.kernelFunc({ inputs, backend, attrs }), o2 = mine.kernelFunc({ inputs, backend, attrs });
    const a1 = backend.readSync(o1.dataId), a2 = backend.readSync(o2.dataId);
    let md = 0; for (let i = 0; i < a1.length; i++) md = Math.max(md, Math.abs(a1[i] - a2[i]));
    backend.disposeData(o1.dataId); backend.disposeData(o2.dataId);
    console.log(`${name} ${kn} x=${xs} f=${fs}: stock ${med(ts).toFixed(3)} ms, im2col ${med(tm).toFixed(3)} ms, speedup median ${med(rs).toFixed(2)}x, maxdiff ${md.toExponential(2)}`);
    tf.dispose([x, f, b]);
  }
})();
