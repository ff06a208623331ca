// node cpustep.js <repoRoot> <entries comma> <warmupSeconds> <steps>
// CPU time (process.cpuUsage) per training step, one process, wasm backend.
const [root, entriesArg, warmArg, stepsArg] = process.argv.slice(2);
const tf = require(root + '/node_modules/@tensorflow/tfjs');
const { initBackend, Trainer } = require(root + '/dist/libs/ml/src/index.js');
const { SoloCollective } = require(root + '/dist/libs/parallel/src/index.js');
const { summedSoftmaxCrossEntropy, buildWorkload } = require(root + '/dist/bench/src/workloads.js');
const { selectZooEntries, zooWorkload } = require(root + '/dist/bench/src/zoo.js');
(async () => {
  await initBackend('wasm');
  const out = {};
  for (const name of entriesArg.split(',')) {
    const workload = name.includes('/') ? zooWorkload(selectZooEntries([name])[0]) : buildWorkload(name);
    const batch = workload.globalBatch;
    const data = workload.makeBatch(batch, 1);
    const optimizer = workload.makeOptimizer ? workload.makeOptimizer() : tf.train.adam(1e-3);
    const trainer = new Trainer({ model: workload.model, optimizer, loss: workload.loss ?? summedSoftmaxCrossEntropy(), collective: new SoloCollective() });
    const w0 = Date.now();
    for (let i = 0; i < 3 || Date.now() - w0 < +warmArg * 1000; i++) await trainer.step(data.inputs, data.labels, 1 / batch);
    const c0 = process.cpuUsage();
    for (let i = 0; i < +stepsArg; i++) await trainer.step(data.inputs, data.labels, 1 / batch);
    const c = process.cpuUsage(c0);
    out[name] = (c.user + c.system) / 1000 / +stepsArg;
    tf.dispose([data.inputs, data.labels].flat());
  }
  console.log(JSON.stringify(out));
  process.exit(0);
})();
