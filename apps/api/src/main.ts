import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { json } from 'express';
import { ConfigError, loadConfig, type TfleetConfig } from '@tfleet/config';
import { TfleetLogger } from '@tfleet/logging';
import { ApiModule } from './api.module';
import { resolveApiKey } from './api-key';
import { bodyParserErrorHandler } from './common/body-parser-errors';
import { keyAllows } from './common/api-key.guard';
import { ApiKeys } from './keys/api-keys.service';
import { operatorAuth } from './queue-board/operator-auth';
import { QUEUE_BOARD_PATH, QueueBoard } from './queue-board/queue-board';

export async function startApi(config: TfleetConfig): Promise<NestExpressApplication> {
  const apiKey = resolveApiKey(config);
  const app = await NestFactory.create<NestExpressApplication>(ApiModule.forRoot(config, apiKey.key), {
    bodyParser: false,
    logger: new TfleetLogger(config.logFormat),
  });
  app.use(json({ limit: config.bodyLimit }));
  app.use(bodyParserErrorHandler);
  app.setGlobalPrefix('api', { exclude: ['metrics'] });
  const keys = app.get(ApiKeys);
  app.use(
    QUEUE_BOARD_PATH,
    operatorAuth(async (key) => {
      const verified = await keys.verify(key);
      return verified !== null && keyAllows(verified, 'read');
    }),
    app.get(QueueBoard).router,
  );
  app.enableShutdownHooks();
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('tfleet')
      .setDescription('Submit, watch, cancel and compare training experiments.')
      .addBearerAuth()
      .build(),
  );
  SwaggerModule.setup('docs', app, document);
  await app.listen(config.port, config.host);
  const logger = new Logger('tfleet-api');
  logger.log(`listening on ${await app.getUrl()} (docs at /docs)`);
  if (apiKey.file !== null) {
    logger.log(`API key (${apiKey.generated ? 'generated, ' : ''}kept in ${apiKey.file}): ${apiKey.key}`);
  }
  return app;
}

if (require.main === module) {
  try {
    void startApi(loadConfig()).catch((error: unknown) => {
      console.error(`tfleet api failed to start: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    });
  } catch (error) {
    console.error(error instanceof ConfigError ? error.message : error);
    process.exit(1);
  }
}
