import { Body, Controller, Get, Header, HttpCode, Param, Post, StreamableFile } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { predictInputSchemas } from '@tfleet/contracts';
import { WEIGHTS_FILE } from './model-export';
import { ModelsService } from './models.service';

/** The predict bodies for the OpenAPI document, one per kind of input, from the zod schemas. */
const predictBodyJsonSchema = {
  oneOf: Object.values(predictInputSchemas).map((schema) => z.toJSONSchema(schema, { io: 'input', target: 'openapi-3.0' }) as Record<string, unknown>),
};

/**
 * A completed experiment's model: model.json and its weights as `tf.loadLayersModel` reads
 * them (the weights path is relative to model.json), the task's vocabulary, and predictions.
 */
@ApiTags('models')
@ApiBearerAuth()
@Controller('experiments/:id')
export class ModelsController {
  constructor(private readonly models: ModelsService) {}

  @Get('model/model.json')
  @ApiOperation({ summary: "The trained model's topology and weights manifest for tf.loadLayersModel (409 without a final model)" })
  async modelJson(@Param('id') id: string) {
    return (await this.models.export(id)).modelJson;
  }

  @Get(`model/${WEIGHTS_FILE}`)
  @Header('content-type', 'application/octet-stream')
  @ApiOperation({ summary: 'The weights model.json names (little-endian float32, in manifest order)' })
  async weights(@Param('id') id: string) {
    return new StreamableFile((await this.models.export(id)).weights);
  }

  @Get('model/task.json')
  @ApiOperation({ summary: "The task's vocabulary, labels and preprocessing, saved with the model" })
  async task(@Param('id') id: string) {
    return this.models.task(id);
  }

  @Post('predict')
  @HttpCode(200)
  @ApiOperation({ summary: "Predict with the trained model; the body's shape depends on the data set (README)" })
  @ApiBody({ schema: predictBodyJsonSchema })
  async predict(@Param('id') id: string, @Body() body: unknown) {
    return this.models.predict(id, body);
  }
}
