import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import type { ExperimentSpec } from '@tfleet/contracts';
import type { ExperimentsRepository } from '@tfleet/persistence';

/** INSERT statements sent to the database while `work` runs (observed, not replaced). */
async function countInserts<T>(dataSource: DataSource, work: () => Promise<T>): Promise<{ result: T; inserts: number }> {
  const query = dataSource.query.bind(dataSource);
  let inserts = 0;
  const spy = jest.spyOn(dataSource, 'query').mockImplementation((sql: string, parameters?: unknown[]) => {
    if (/^INSERT INTO/i.test(sql)) inserts++;
    return query(sql, parameters);
  });
  try {
    return { result: await work(), inserts };
  } finally {
    spy.mockRestore();
  }
}

/**
 * Submissions that arrive together: 40 at once are written by fewer statements than rows, each
 * caller gets exactly the row a later read finds, and nothing else is written.
 */
export async function expectGroupedQueuedInserts(repository: ExperimentsRepository, dataSource: DataSource, spec: ExperimentSpec): Promise<void> {
  const ids = Array.from({ length: 40 }, () => randomUUID());
  const { result: returned, inserts } = await countInserts(dataSource, () => Promise.all(ids.map((id) => repository.insertQueued(id, spec))));
  expect(inserts).toBeGreaterThanOrEqual(1);
  expect(inserts).toBeLessThanOrEqual(2);
  expect(returned.map((r) => r.id)).toEqual(ids);
  for (const row of returned) expect({ ...(await repository.findById(row.id)) }).toEqual({ ...row });
  for (const id of ids) await repository.delete(id);
}

/**
 * A row that cannot be written (its id exists) fails its own submission only: the statement
 * written for the group fails as a whole, and its other rows are then written one by one.
 */
export async function expectFailedRowFailsAlone(repository: ExperimentsRepository, spec: ExperimentSpec): Promise<void> {
  const taken = randomUUID();
  await repository.insertQueued(taken, spec);
  const before = await repository.findById(taken);
  const fresh = [randomUUID(), randomUUID(), randomUUID()];
  const outcomes = await Promise.allSettled([repository.insertQueued(fresh[0]!, spec), repository.insertQueued(taken, spec), repository.insertQueued(fresh[1]!, spec), repository.insertQueued(fresh[2]!, spec)]);
  expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
  expect((await repository.existingIds(fresh)).size).toBe(3);
  expect({ ...(await repository.findById(taken)) }).toEqual({ ...before });
  for (const id of [...fresh, taken]) await repository.delete(id);
}
