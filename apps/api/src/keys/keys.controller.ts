import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { API_KEY_SCOPES } from '@tfleet/persistence';
import { zodPipe } from '../common/zod-validation.pipe';
import { ApiKeys, STARTUP_KEY_NAME } from './api-keys.service';
import { RequireScope } from './require-scope.decorator';

const createKeySchema = z.strictObject({
  name: z
    .string()
    .trim()
    .min(1)
    .max(100)
    .refine((name) => name !== STARTUP_KEY_NAME, `"${STARTUP_KEY_NAME}" is the name of the key set at start`),
  scopes: z.array(z.enum(API_KEY_SCOPES)).min(1).max(API_KEY_SCOPES.length),
  /** Requests per minute; absent or null: TFLEET_RATE_LIMIT_PER_MINUTE. */
  rateLimit: z.number().int().min(1).max(10_000_000).nullable().default(null),
});

const createKeyJsonSchema = z.toJSONSchema(createKeySchema, { io: 'input', target: 'openapi-3.0' }) as Record<string, unknown>;

/** Named API keys (admin scope): create (the key is shown once), list, revoke. */
@ApiTags('keys')
@ApiBearerAuth()
@RequireScope('admin')
@Controller('keys')
export class KeysController {
  constructor(private readonly keys: ApiKeys) {}

  @Post()
  @ApiOperation({ summary: 'Create a named key with scopes (read, admin) and an optional rate limit (requests per minute); the key is in this response only' })
  @ApiBody({ schema: createKeyJsonSchema })
  create(@Body(zodPipe('API key', createKeySchema)) body: z.output<typeof createKeySchema>) {
    return this.keys.create(body);
  }

  @Get()
  @ApiOperation({ summary: 'Every key, revoked ones included: name, scopes, prefix, rate limit, created, last used (to the minute), revoked' })
  async list() {
    return { keys: await this.keys.list() };
  }

  @Delete(':id')
  @HttpCode(200)
  @ApiOperation({ summary: 'Revoke a key at once (409 for the last active admin key)' })
  revoke(@Param('id') id: string) {
    return this.keys.revoke(id);
  }
}
