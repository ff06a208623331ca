import { loadConfig } from '@tfleet/config';
import { STACK_ENTRY_POINTS, startStack } from './stack';

/** `npm start`: the control plane and one worker in this terminal, on embedded defaults. */
async function main(): Promise<void> {
  const config = loadConfig();
  const stack = await startStack(config, process.env, STACK_ENTRY_POINTS);
  console.log(`[tfleet] API at ${stack.apiUrl}/api (docs ${stack.apiUrl}/docs), data in ${config.dataDir}; Ctrl-C stops everything`);
  let stopping = false;
  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    console.log('[tfleet] stopping...');
    void stack.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

main().catch((error: unknown) => {
  console.error(`[tfleet] ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
