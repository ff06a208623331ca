import 'reflect-metadata';
import { Logger, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { loadConfig, type TfleetConfig } from '@tfleet/config';
import { TfleetLogger } from '@tfleet/logging';
import { initBackend } from '@tfleet/ml';
import { WorkerModule } from './worker.module';

/**
 * Starts a worker: resolves its backend once (what `auto` means on this machine), then
 * consumes the experiments queue until stopped.
 */
async function startWorker(config: TfleetConfig): Promise<INestApplicationContext> {
  // Installed before the first line is written, so the backend line is in the chosen format too.
  const tfleetLogger = new TfleetLogger(config.logFormat, { workerId: config.workerId });
  Logger.overrideLogger(tfleetLogger);
  const logger = new Logger('tfleet-worker');
  const backend = await initBackend(config.backend, { webgpuAllowSoftware: config.webgpuAllowSoftware });
  logger.log(`worker ${config.workerId}: backend ${backend.backend} (${backend.device}), up to ${config.maxRanks} rank(s), tfjs ${backend.tfjsVersion}`);
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(config, backend.backend), { logger: tfleetLogger });
  app.enableShutdownHooks();
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
