import { type DataSource, type EntityManager, IsNull, type Repository } from 'typeorm';
import { ApiKeyEntity } from './entities/api-key.entity';
import { type WriteSerializer, writeSerializerFor } from './write-serializer';

export type NewApiKey = Pick<ApiKeyEntity, 'id' | 'name' | 'scopes' | 'hash' | 'prefix' | 'rateLimit'>;

/** What revoking a key did. */
export type RevokeResult = { outcome: 'revoked' | 'already-revoked'; key: ApiKeyEntity } | { outcome: 'not-found' } | { outcome: 'last-admin'; key: ApiKeyEntity };

/** All SQL about API keys. Writes go through the data source's one WriteSerializer. */
export class ApiKeysRepository {
  private readonly keys: Repository<ApiKeyEntity>;
  private readonly serializer: WriteSerializer;

  constructor(private readonly dataSource: DataSource) {
    this.keys = dataSource.getRepository(ApiKeyEntity);
    this.serializer = writeSerializerFor(dataSource);
  }

  private write<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.serializer.run(() => this.dataSource.transaction(work));
  }

  async insert(key: NewApiKey): Promise<ApiKeyEntity> {
    await this.write((manager) => manager.insert(ApiKeyEntity, { ...key, lastUsedAt: null, revokedAt: null }));
    return this.keys.findOneByOrFail({ id: key.id });
  }

  /** Every key, revoked ones included, oldest first. */
  listAll(): Promise<ApiKeyEntity[]> {
    return this.keys.find({ order: { createdAt: 'ASC', id: 'ASC' } });
  }

  listActive(): Promise<ApiKeyEntity[]> {
    return this.keys.find({ where: { revokedAt: IsNull() }, order: { createdAt: 'ASC', id: 'ASC' } });
  }

  findByHash(hash: string): Promise<ApiKeyEntity | null> {
    return this.keys.findOneBy({ hash });
  }

  /**
   * Revokes a key unless it is the last active key with the admin scope (then nobody could
   * manage keys any more). Checked and written in one unit of work, so two concurrent revokes
   * cannot both pass the check.
   */
  revoke(id: string, at: Date): Promise<RevokeResult> {
    return this.write(async (manager) => {
      const key = await manager.findOneBy(ApiKeyEntity, { id });
      if (!key) return { outcome: 'not-found' };
      if (key.revokedAt !== null) return { outcome: 'already-revoked', key };
      if (key.scopes.includes('admin')) {
        const active = await manager.find(ApiKeyEntity, { where: { revokedAt: IsNull() } });
        if (active.filter((k) => k.scopes.includes('admin')).length <= 1) return { outcome: 'last-admin', key };
      }
      await manager.update(ApiKeyEntity, { id }, { revokedAt: at });
      return { outcome: 'revoked', key: { ...key, revokedAt: at } };
    });
  }

  /** Revokes every active key of this name except `keepHash` (a rotated start-up key). */
  revokeOthersNamed(name: string, keepHash: string, at: Date): Promise<number> {
    return this.write(async (manager) => {
      const stale = (await manager.find(ApiKeyEntity, { where: { name, revokedAt: IsNull() } })).filter((k) => k.hash !== keepHash);
      for (const key of stale) await manager.update(ApiKeyEntity, { id: key.id }, { revokedAt: at });
      return stale.length;
    });
  }

  async touchLastUsed(ids: string[], at: Date): Promise<void> {
    if (ids.length === 0) return;
    await this.write(async (manager) => {
      for (const id of ids) await manager.update(ApiKeyEntity, { id }, { lastUsedAt: at });
    });
  }

  count(): Promise<number> {
    return this.keys.count();
  }
}
