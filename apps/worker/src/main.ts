import 'reflect-metadata';
import { Logger, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { loadConfig, type TfleetConfig } from '@tfleet/config';
import { TfleetLogger } from '@tfleet/logging';
import { initBackend } from '@tfleet/ml';
import { WorkerShutdown } from './shutdown';
import { WorkerModule } from './worker.module';
import { describeRecycle, WorkerVitals } from './worker-vitals';

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
  stopGracefullyOn(['SIGTERM', 'SIGINT'], app, config.shutdownGraceMs, logger);
  // Recycling (TFLEET_WORKER_MAX_JOBS / _MAX_RSS_MB): the last job is done and moved on; exit
  // cleanly (code 0) for the supervisor (docker compose `restart:`, the launcher) to start anew.
  void app
    .get(WorkerVitals)
    .whenRecycleDue()
    .then(async (reason) => {
      logger.log(`worker ${config.workerId}: recycling (${describeRecycle(reason)}); exiting for the supervisor to restart it`);
      await app.close();
      process.exit(0);
    });
  return app;
}

/**
 * A signal stops the worker in order: no new job; runs in progress checkpoint at their next
 * step and their jobs go back to the queue (WorkerShutdown); then the application closes (its
 * queue worker, then Redis). Past `graceMs` the process exits anyway, with status 1.
 */
function stopGracefullyOn(signals: NodeJS.Signals[], app: INestApplicationContext, graceMs: number, logger: Logger): void {
  let stopping = false;
  const stop = async (signal: NodeJS.Signals): Promise<void> => {
    if (stopping) return;
    stopping = true;
    const started = Date.now();
    logger.log(`${signal}: handing running jobs back and stopping (grace ${graceMs} ms)`);
    setTimeout(() => {
      logger.error(`still stopping after ${graceMs} ms (TFLEET_SHUTDOWN_GRACE_MS): exiting now`);
      process.exit(1);
    }, graceMs).unref();
    try {
      await app.get(WorkerShutdown).drain();
      await app.close();
      logger.log(`stopped in ${Date.now() - started} ms`);
      process.exit(0);
    } catch (error) {
      logger.error(`stopping failed: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    }
  };
  for (const signal of signals) process.on(signal, (s: NodeJS.Signals) => void stop(s));
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
