import { type DataSource, type EntityManager, In, type Repository } from 'typeorm';
import { boardOf, type ExperimentSpec } from '@tfleet/contracts';
import { ExperimentEntity, type ExperimentStatus } from './entities/experiment.entity';
import { MetricEntity } from './entities/metric.entity';
import { type EpochTime, type SweepEntity as SweepRow, SweepEntity, type SweepStatus, type SweepStopReason, type TrialStop } from './entities/sweep.entity';
import { writeSerializerFor } from './write-serializer';
import type { Page } from './experiments.repository';
import type { WriteSerializer } from './write-serializer';

/** A trial to store with its sweep: its deterministic id, its spec, and whether it is queued at once or held. */
export interface NewTrial {
  id: string;
  spec: ExperimentSpec;
  status: Extract<ExperimentStatus, 'queued' | 'pending'>;
}

export interface NewSweep {
  id: string;
  key: string;
  name: string | null;
  kind: string;
  request: Record<string, unknown>;
}

/** One metric point of a trial. */
export interface TrialPoint {
  experimentId: string;
  epoch: number;
  split: string;
  name: string;
  value: number;
}

/** A trial's status changes that rerun-failed makes: back to pending, the old outcome cleared. */
const RERUNNABLE: ExperimentStatus[] = ['failed', 'cancelled'];

/** All SQL about sweeps and their trials (experiments with a sweepId). Writes share the experiments' serializer. */
export class SweepsRepository {
  private readonly sweeps: Repository<SweepEntity>;
  private readonly experiments: Repository<ExperimentEntity>;
  private readonly serializer: WriteSerializer;

  constructor(private readonly dataSource: DataSource) {
    this.sweeps = dataSource.getRepository(SweepEntity);
    this.experiments = dataSource.getRepository(ExperimentEntity);
    this.serializer = writeSerializerFor(dataSource);
  }

  private write<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.serializer.run(() => this.dataSource.transaction(work));
  }

  findById(id: string): Promise<SweepRow | null> {
    return this.sweeps.findOneBy({ id });
  }

  /**
   * Stores a sweep and all its trials in one transaction. If a sweep with the same key exists
   * (the same content posted again) nothing is written: `created` is false and the stored one is returned.
   */
  async create(sweep: NewSweep, trials: readonly NewTrial[]): Promise<{ sweep: SweepRow; created: boolean }> {
    const created = await this.write(async (manager) => {
      if (await manager.existsBy(SweepEntity, { key: sweep.key })) return false;
      await manager.save(manager.create(SweepEntity, { ...sweep, status: 'running', stops: {}, stoppedBy: null, epochTimes: {}, finishedAt: null }));
      // Chunks keep each INSERT under SQLite's bound-parameter limit.
      for (let i = 0; i < trials.length; i += 50) {
        await manager.insert(
          ExperimentEntity,
          trials.slice(i, i + 50).map((t) => ({
            id: t.id,
            name: t.spec.name ?? null,
            spec: t.spec,
            datasetName: t.spec.dataset.name,
            modelFamily: t.spec.model.family,
            boardKey: boardOf(t.spec.dataset).key,
            status: t.status,
            attempt: 0,
            sweepId: sweep.id,
          })),
        );
      }
      return true;
    });
    const stored = await this.sweeps.findOneBy({ key: sweep.key });
    if (!stored) throw new Error(`sweep ${sweep.id} was written but cannot be read back`);
    return { sweep: stored, created };
  }

  /** Newest first. */
  async list(page: number, pageSize: number): Promise<Page<SweepRow>> {
    const [items, total] = await this.sweeps.findAndCount({ order: { createdAt: 'DESC', id: 'DESC' }, skip: (page - 1) * pageSize, take: pageSize });
    return { items, total, page, pageSize };
  }

  /** Sweeps still running (the scheduler's safety net after a restart). */
  running(): Promise<SweepRow[]> {
    return this.sweeps.find({ where: { status: 'running' } });
  }

  trials(sweepId: string): Promise<ExperimentEntity[]> {
    return this.experiments.find({ where: { sweepId } });
  }

  /** Each trial's id and status only (the scheduler's count, on every run event of a sweep). */
  async trialStatuses(sweepId: string): Promise<{ id: string; status: ExperimentStatus }[]> {
    return this.experiments.find({ select: { id: true, status: true }, where: { sweepId } });
  }

  /** Trials of a sweep with one of these statuses. */
  trialsWithStatus(sweepId: string, statuses: readonly ExperimentStatus[]): Promise<ExperimentEntity[]> {
    return this.experiments.find({ where: { sweepId, status: In([...statuses]) } });
  }

  /** Moves held trials to queued; returns the ids it moved (a trial no longer pending is skipped). */
  async promote(ids: readonly string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    return this.write(async (manager) => {
      const moved: string[] = [];
      for (const id of ids) {
        const result = await manager.update(ExperimentEntity, { id, status: 'pending' }, { status: 'queued' });
        if ((result.affected ?? 0) > 0) moved.push(id);
      }
      return moved;
    });
  }

  /** Puts a queued trial back to pending (its job could not be added). */
  async hold(id: string): Promise<void> {
    await this.write((manager) => manager.update(ExperimentEntity, { id, status: 'queued' }, { status: 'pending' }));
  }

  /**
   * Stops a live trial early: it becomes `stopped` with the reason as its error text, and the
   * reason is kept on the sweep. False when the trial had already finished.
   */
  async stopTrial(sweepId: string, trialId: string, stop: TrialStop, at: Date): Promise<boolean> {
    return this.write(async (manager) => {
      const result = await manager
        .createQueryBuilder()
        .update(ExperimentEntity)
        .set({ status: 'stopped', finishedAt: at, error: `stopped early at rung ${stop.rung} (epoch ${stop.epoch}): ${stop.metric} ${stop.value} against the rung's cutoff ${stop.cutoff}` })
        .where('id = :id AND status IN (:...live)', { id: trialId, live: ['queued', 'running', 'pending'] })
        .execute();
      if ((result.affected ?? 0) === 0) return false;
      const sweep = await manager.findOneBy(SweepEntity, { id: sweepId });
      if (sweep) await manager.update(SweepEntity, { id: sweepId }, { stops: { ...sweep.stops, [trialId]: stop } });
      return true;
    });
  }

  /**
   * Ends a running sweep: its pending, queued and running trials but `keep` become `finalStatus`;
   * returns the ids of those that were queued or running (their jobs need a stop signal).
   */
  async finishSweep(
    sweepId: string,
    status: Exclude<SweepStatus, 'running'>,
    finalStatus: 'cancelled' | 'stopped',
    stoppedBy: SweepStopReason | null,
    at: Date,
    keep: string | null = null,
  ): Promise<{ finished: boolean; live: string[] }> {
    return this.write(async (manager) => {
      const result = await manager.update(SweepEntity, { id: sweepId, status: 'running' }, { status, stoppedBy, finishedAt: at });
      if ((result.affected ?? 0) === 0) return { finished: false, live: [] };
      const ending = (await manager.find(ExperimentEntity, { select: { id: true, status: true }, where: { sweepId, status: In(['pending', 'queued', 'running']) } })).filter((e) => e.id !== keep);
      const why = stoppedBy ? `the sweep's stopWhen was met by trial ${stoppedBy.trialId}` : 'the sweep was cancelled';
      if (ending.length > 0) await manager.update(ExperimentEntity, { id: In(ending.map((e) => e.id)) }, { status: finalStatus, finishedAt: at, error: why });
      return { finished: true, live: ending.filter((e) => e.status !== 'pending').map((e) => e.id) };
    });
  }

  /** Records a trial's epoch time (a redelivered event replaces its own entry). */
  async recordEpochTime(sweepId: string, trialId: string, time: EpochTime): Promise<void> {
    await this.write(async (manager) => {
      const sweep = await manager.findOneBy(SweepEntity, { id: sweepId });
      if (!sweep) return;
      const times = (sweep.epochTimes[trialId] ?? []).filter((t) => t.epoch !== time.epoch);
      times.push(time);
      times.sort((a, b) => a.epoch - b.epoch);
      await manager.update(SweepEntity, { id: sweepId }, { epochTimes: { ...sweep.epochTimes, [trialId]: times } });
    });
  }

  /** Marks a running sweep completed (every trial finished). */
  async complete(sweepId: string, at: Date): Promise<boolean> {
    const result = await this.write((manager) => manager.update(SweepEntity, { id: sweepId, status: 'running' }, { status: 'completed', finishedAt: at }));
    return (result.affected ?? 0) > 0;
  }

  /**
   * Failed and cancelled trials back to `pending`, their outcome and history cleared, and the
   * sweep running again; returns their ids.
   */
  async resetFailed(sweepId: string): Promise<string[]> {
    return this.write(async (manager) => {
      const rows = await manager.find(ExperimentEntity, { select: { id: true }, where: { sweepId, status: In(RERUNNABLE) } });
      const ids = rows.map((r) => r.id);
      if (ids.length === 0) return [];
      await manager.update(
        ExperimentEntity,
        { id: In(ids) },
        { status: 'pending', error: null, finishedAt: null, startedAt: null, testMetrics: null, baselines: null, steps: null, epochsCompleted: null, samplesPerSecond: null, wallTimeMs: null, scalingEfficiency: null },
      );
      await manager.delete(MetricEntity, { experimentId: In(ids) });
      const sweep = await manager.findOneBy(SweepEntity, { id: sweepId });
      const epochTimes = Object.fromEntries(Object.entries(sweep?.epochTimes ?? {}).filter(([id]) => !ids.includes(id)));
      await manager.update(SweepEntity, { id: sweepId }, { status: 'running', finishedAt: null, epochTimes });
      return ids;
    });
  }

  /** Every point of one metric name recorded by a sweep's trials (train and validation, by epoch). */
  async points(sweepId: string, metric: string): Promise<TrialPoint[]> {
    const rows = await this.dataSource
      .getRepository(MetricEntity)
      .createQueryBuilder('m')
      .innerJoin(ExperimentEntity, 'e', 'e.id = m.experimentId')
      .select(['m.experimentId AS "experimentId"', 'm.epoch AS "epoch"', 'm.split AS "split"', 'm.name AS "name"', 'm.value AS "value"'])
      .where('e.sweepId = :sweepId AND m.name = :metric AND m.split IN (:...splits)', { sweepId, metric, splits: ['train', 'validation'] })
      .getRawMany<{ experimentId: string; epoch: number | string; split: string; name: string; value: number | string }>();
    return rows.map((r) => ({ experimentId: r.experimentId, epoch: Number(r.epoch), split: r.split, name: r.name, value: Number(r.value) }));
  }

  /** Epochs each trial of a sweep has recorded (the highest epoch with a point), by trial id. */
  async epochsByTrial(sweepId: string): Promise<Map<string, number>> {
    const rows = await this.dataSource
      .getRepository(MetricEntity)
      .createQueryBuilder('m')
      .innerJoin(ExperimentEntity, 'e', 'e.id = m.experimentId')
      .select('m.experimentId', 'experimentId')
      .addSelect('MAX(m.epoch)', 'epochs')
      .where('e.sweepId = :sweepId AND m.split IN (:...splits)', { sweepId, splits: ['train', 'validation'] })
      .groupBy('m.experimentId')
      .getRawMany<{ experimentId: string; epochs: number | string }>();
    return new Map(rows.map((r) => [r.experimentId, Number(r.epochs)]));
  }
}
