import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'tfleet:public';
/** Marks a route that needs no API key (health checks only). */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(IS_PUBLIC, true);
