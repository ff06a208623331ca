import 'reflect-metadata';
import { Logger, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { loadConfig, type TfleetConfig } from '@tfleet/config';
import { initBackend } from '@tfleet/ml';
import { WorkerModule } from './worker.module';
import { WorkerRegistry } from './worker-registry.service';
import { describeRecycle, WorkerVitals } from './worker-vitals';

/**
 * Starts a worker: resolves its backend once (what `auto` means on this machine), then
 * consumes the experiments queue until stopped.
 */
async function startWorker(config: TfleetConfig): Promise<INestApplicationContext> {
  const logger = new Logger('tfleet-worker');
  const backend = await initBackend(config.backend, { webgpuAllowSoftware: config.webgpuAllowSoftware });
  logger.log(`worker ${config.workerId}: backend ${backend.backend} (${backend.device}), up to ${config.maxRanks} rank(s), tfjs ${backend.tfjsVersion}`);
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(config, backend.backend), { logger: ['log', 'warn', 'error'] });
  app.enableShutdownHooks();
  // Recycling (TFLEET_WORKER_MAX_JOBS / _MAX_RSS_MB): the last job is done and moved on; exit
  // cleanly (code 0) for the supervisor (docker compose `restart:`, the launcher) to start anew.
  void app
    .get(WorkerVitals)
    .whenRecycleDue()
    .then(async (reason) => {
      logger.log(`worker ${config.workerId}: recycling (${describeRecycle(reason)}); exiting for the supervisor to restart it`);
      await app.get(WorkerRegistry).sayStopped();
      await app.close();
      process.exit(0);
    });
  return app;
}

if (require.main === module) {
  let config: TfleetConfig;
  try {
    config = loadConfig();
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  }
  startWorker(config).catch((error: unknown) => {
    console.error(`tfleet worker failed to start: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
