export * from './entities/experiment.entity';
export * from './entities/metric.entity';
export * from './entities/checkpoint.entity';
export * from './entities/schemas';
export * from './data-source';
export * from './experiments.repository';
export * from './write-serializer';
