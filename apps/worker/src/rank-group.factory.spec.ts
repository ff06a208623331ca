import { RANK_ENTRY_POINTS } from '../../../workers/rank-entry-points';
import { RankGroupFactory } from './rank-group.factory';

describe('RankGroupFactory', () => {
  it('builds groups on the entry points it was wired with', () => {
    const factory = new RankGroupFactory({ thread: '/nowhere/thread-rank.js', process: '/nowhere/process-rank.js' });
    expect(() => factory.create({ transport: 'threads', worldSize: 2 })).toThrow('rank entry /nowhere/thread-rank.js does not exist');
    expect(() => factory.create({ transport: 'processes', worldSize: 2 })).toThrow('rank entry /nowhere/process-rank.js does not exist');
  });

  it('builds groups on the workers/ entries the worker module passes in', () => {
    const group = new RankGroupFactory(RANK_ENTRY_POINTS).create({ transport: 'threads', worldSize: 2 });
    expect(typeof group.run).toBe('function');
  });
});
