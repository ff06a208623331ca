import { SetMetadata } from '@nestjs/common';
import type { ApiKeyScope } from '@tfleet/persistence';

export const REQUIRED_SCOPE = 'tfleet:required-scope';
/**
 * The scope a route needs when the method's rule is not enough (GET needs `read`, any other
 * method `admin`): e.g. listing API keys is a GET that only admins may do.
 */
export const RequireScope = (scope: ApiKeyScope): MethodDecorator & ClassDecorator => SetMetadata(REQUIRED_SCOPE, scope);
