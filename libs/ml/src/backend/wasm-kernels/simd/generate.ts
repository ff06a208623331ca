import * as fs from 'node:fs';
import * as path from 'node:path';
import { compileWat, GENERATED_FILE_NAME, generatedModuleSource, simdSourceDir, WAT_FILE_NAME } from './wat-compiler';

/** `npm run build:wasm-kernels`: kernels.wat -> kernels-wasm.ts in the source tree. */
async function main(): Promise<void> {
  const dir = simdSourceDir();
  const source = fs.readFileSync(path.join(dir, WAT_FILE_NAME), 'utf8');
  const bytes = await compileWat(source);
  const target = path.join(dir, GENERATED_FILE_NAME);
  fs.writeFileSync(target, generatedModuleSource(bytes));
  console.log(`wrote ${path.relative(process.cwd(), target)} (${bytes.length} wasm bytes)`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
