import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildKernels, GENERATED_FILE_NAME, simdSourceDir } from './wat-compiler';

/** `npm run build:wasm-kernels`: kernels.wat -> kernels-wasm.ts in the source tree. */
async function main(): Promise<void> {
  const { relaxed, portable, moduleSource } = await buildKernels();
  const target = path.join(simdSourceDir(), GENERATED_FILE_NAME);
  fs.writeFileSync(target, moduleSource);
  console.log(`wrote ${path.relative(process.cwd(), target)} (${relaxed.length} + ${portable.length} wasm bytes)`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
