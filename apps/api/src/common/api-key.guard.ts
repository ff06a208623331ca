import { type CanActivate, type ExecutionContext, ForbiddenException, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import type { ApiKeyScope } from '@tfleet/persistence';
import { ApiKeys, type VerifiedApiKey } from '../keys/api-keys.service';
import { REQUIRED_SCOPE } from '../keys/require-scope.decorator';
import { IS_PUBLIC } from './public.decorator';

/** A request the guard let through carries its key. */
export type KeyedRequest = Request & { apiKey?: VerifiedApiKey };

/** GET and HEAD read; every other method changes something. */
export const scopeForMethod = (method: string): ApiKeyScope => (method === 'GET' || method === 'HEAD' ? 'read' : 'admin');

export const keyAllows = (key: Pick<VerifiedApiKey, 'scopes'>, needed: ApiKeyScope): boolean => key.scopes.includes('admin') || key.scopes.includes(needed);

/**
 * Every route needs `Authorization: Bearer <key>` unless marked @Public(): 401 without a known,
 * active key; 403 when the key's scopes do not cover the route (GET: read, anything else: admin,
 * or what @RequireScope says). Routes added later get the same rule without registering anywhere.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly keys: ApiKeys,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const request = context.switchToHttp().getRequest<KeyedRequest>();
    const header = request.headers.authorization ?? '';
    const match = /^Bearer (.+)$/.exec(header);
    if (!match) throw new UnauthorizedException('missing API key: send Authorization: Bearer <key>');
    const key = await this.keys.verify(match[1]!);
    if (key === null) throw new UnauthorizedException('unknown or revoked API key');
    const needed = this.reflector.getAllAndOverride<ApiKeyScope | undefined>(REQUIRED_SCOPE, targets) ?? scopeForMethod(request.method);
    if (!keyAllows(key, needed)) {
      throw new ForbiddenException(`API key "${key.name}" has scope ${key.scopes.join(', ')}; ${request.method} ${request.path} needs ${needed}`);
    }
    request.apiKey = key;
    return true;
  }
}
