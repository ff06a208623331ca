import { type ExecutionContext, Injectable } from '@nestjs/common';
import { ThrottlerGuard } from '@nestjs/throttler';
import type { KeyedRequest } from '../common/api-key.guard';

/**
 * @nestjs/throttler's guard, tracking the request's API key instead of its address: each key
 * has its own window over all routes (429 with Retry-After when it is used up). It runs after
 * ApiKeyGuard; public routes (no key) are not limited.
 */
@Injectable()
export class KeyRateLimitGuard extends ThrottlerGuard {
  protected override async shouldSkip(context: ExecutionContext): Promise<boolean> {
    return context.switchToHttp().getRequest<KeyedRequest>().apiKey === undefined;
  }
}
