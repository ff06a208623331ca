#!/usr/bin/env node
/*
 * Builds native/gemm (the AVX2 GEMM addon the wasm backend multiplies on where it can) with
 * node-gyp against the running Node's headers. Run by `npm ci` (postinstall) and by hand.
 *
 * A failed build is not an error: without the addon every product runs on the wasm SIMD GEMM,
 * about half as fast (docs/engine.md). The reason is printed; `node scripts/build-native.js
 * --require` exits 1 instead (.ci/run uses it where the CPU has AVX2 and FMA, right after npm ci:
 * an addon that is already built, loads and runs on this CPU is accepted without a rebuild).
 */
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const addonDir = path.join(root, 'native', 'gemm');
const required = process.argv.includes('--require');
const addon = path.join(addonDir, 'build', 'Release', 'tfleet_gemm.node');

/** Whether the built addon loads and this CPU runs it (throws when it does not load). */
function addonSupported() {
  return require(addon).supported() === true;
}

function nodeGypScript() {
  // npm puts its own node-gyp on lifecycle scripts' environment; by hand, use the copy npm ships.
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm && fs.existsSync(fromNpm)) return fromNpm;
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  for (const candidate of [
    path.join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    path.join(prefix, 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ]) {
    if (fs.existsSync(candidate)) return candidate;
  }
  return null;
}

function fail(reason) {
  const message = `tfleet: native GEMM not built (${reason}); the wasm backend multiplies on its wasm SIMD GEMM`;
  if (required) {
    console.error(message);
    process.exit(1);
  }
  console.warn(message);
  process.exit(0);
}

if (required && fs.existsSync(addon)) {
  let ready = false;
  try {
    ready = addonSupported();
  } catch {
    // not loadable: rebuilt below
  }
  if (ready) {
    console.log(`tfleet: native GEMM already built at ${path.relative(root, addon)}`);
    process.exit(0);
  }
}
if (process.env.TFLEET_NATIVE_GEMM === '0') fail('TFLEET_NATIVE_GEMM=0');
if (process.arch !== 'x64') fail(`it needs x86-64, this is ${process.arch}`);
if (!fs.existsSync(path.join(addonDir, 'binding.gyp'))) fail(`${addonDir}/binding.gyp is missing`);
const gyp = nodeGypScript();
if (!gyp) fail('node-gyp not found next to npm');

const args = [gyp, 'rebuild', '--release'];
// Node's own headers where they are installed (Debian's nodejs, the Docker images' /usr/local):
// node-gyp would otherwise download them, and nothing is downloaded after npm ci.
if (!process.env.npm_config_nodedir) {
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  if (fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);
}
const result = spawnSync(process.execPath, args, { cwd: addonDir, encoding: 'utf8' });
if (result.status !== 0) {
  const tail = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n').slice(-8).join('\n');
  fail(`node-gyp exited ${result.status ?? result.signal}:\n${tail}\n`);
}
let supported = false;
try {
  supported = addonSupported();
} catch (error) {
  fail(`the built addon does not load: ${error instanceof Error ? error.message : String(error)}`);
}
if (!supported && required) fail('this CPU lacks AVX2 or FMA');
console.log(`tfleet: native GEMM built at ${path.relative(root, addon)}${supported ? '' : ' (this CPU lacks AVX2 or FMA: unused here)'}`);
