import { ConflictException, Inject, Injectable, Logger, NotFoundException, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { type ApiKeyEntity, type ApiKeyScope, ApiKeysRepository } from '@tfleet/persistence';
import { apiKeyDigest, apiKeyPrefix, generateApiKey } from '../api-key';
import { API_KEY } from '../common/tokens';

/** Who a request's key belongs to, as the guard and other code (bull-board, /metrics) see it. */
export interface VerifiedApiKey {
  id: string;
  name: string;
  scopes: ApiKeyScope[];
  /** Requests per minute; null: the deployment's default. */
  rateLimit: number | null;
}

/** A key as listed: never the key itself nor its hash. */
export interface ApiKeyView {
  id: string;
  name: string;
  scopes: ApiKeyScope[];
  prefix: string;
  rateLimit: number | null;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

/** The name of the key that TFLEET_API_KEY sets or that the first start generates. */
export const STARTUP_KEY_NAME = 'startup';

/** lastUsedAt is written at most this often per key: a read-heavy client must not become a write per request. */
const LAST_USED_WRITE_EVERY_MS = 60_000;
/** How often the active keys are read again (keys created or revoked by another API process on the same database). */
const RELOAD_EVERY_MS = 10_000;
/** Longer than any key tfleet makes or accepts (TFLEET_API_KEY has no upper bound, but a header this long is not a key). */
const MAX_KEY_LENGTH = 1_024;

interface ActiveKey extends VerifiedApiKey {
  digest: Buffer;
}

export const toApiKeyView = (key: ApiKeyEntity): ApiKeyView => ({
  id: key.id,
  name: key.name,
  scopes: key.scopes,
  prefix: key.prefix,
  rateLimit: key.rateLimit,
  createdAt: key.createdAt.toISOString(),
  lastUsedAt: key.lastUsedAt?.toISOString() ?? null,
  revokedAt: key.revokedAt?.toISOString() ?? null,
});

/**
 * Named API keys. Keys are 256 random bits, so the stored SHA-256 is enough: a slow KDF (bcrypt,
 * scrypt) protects low-entropy passwords against guessing from a stolen table, and nobody can
 * enumerate 2^256 keys however fast the hash. It also lets every request check its key in
 * microseconds. The active keys are held in memory; a check hashes the presented key and compares
 * it with every active digest with timingSafeEqual, without stopping at a match, so the time
 * says nothing about which key (or how much of one) matched.
 */
@Injectable()
export class ApiKeys implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('ApiKeys');
  private active: ActiveKey[] = [];
  private readonly lastUsedWritten = new Map<string, number>();
  private reloadTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly repository: ApiKeysRepository,
    @Inject(API_KEY) private readonly startupKey: string,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.registerStartupKey();
    await this.reload();
    this.reloadTimer = setInterval(() => {
      this.reload().catch((error: unknown) => this.logger.warn(`could not reload API keys: ${error instanceof Error ? error.message : String(error)}`));
    }, RELOAD_EVERY_MS);
    this.reloadTimer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.reloadTimer);
  }

  /** The key's owner and scopes, or null when it is unknown or revoked. */
  async verify(rawKey: string): Promise<VerifiedApiKey | null> {
    if (rawKey.length === 0 || rawKey.length > MAX_KEY_LENGTH) return null;
    const digest = apiKeyDigest(rawKey);
    let match: ActiveKey | null = null;
    for (const key of this.active) {
      if (timingSafeEqual(key.digest, digest)) match = key;
    }
    if (match === null) return null;
    this.noteUse(match.id);
    return { id: match.id, name: match.name, scopes: match.scopes, rateLimit: match.rateLimit };
  }

  /** A new key; the returned `key` is the only time it is shown. */
  async create(input: { name: string; scopes: ApiKeyScope[]; rateLimit: number | null }): Promise<ApiKeyView & { key: string }> {
    const key = generateApiKey();
    const stored = await this.repository.insert({
      id: randomUUID(),
      name: input.name,
      scopes: [...new Set(input.scopes)],
      hash: apiKeyDigest(key).toString('hex'),
      prefix: apiKeyPrefix(key),
      rateLimit: input.rateLimit,
    });
    await this.reload();
    return { ...toApiKeyView(stored), key };
  }

  async list(): Promise<ApiKeyView[]> {
    return (await this.repository.listAll()).map(toApiKeyView);
  }

  /** Revokes a key at once (404 if unknown, 409 if it is the last active admin key); revoking twice is not an error. */
  async revoke(id: string): Promise<ApiKeyView> {
    const result = await this.repository.revoke(id, new Date());
    if (result.outcome === 'not-found') throw new NotFoundException(`API key ${id} not found`);
    if (result.outcome === 'last-admin') {
      throw new ConflictException(`API key ${id} is the last active key with the admin scope; create another admin key before revoking it`);
    }
    await this.reload();
    return toApiKeyView(result.key);
  }

  private async reload(): Promise<void> {
    this.active = (await this.repository.listActive()).map((k) => ({ id: k.id, name: k.name, scopes: k.scopes, rateLimit: k.rateLimit, digest: Buffer.from(k.hash, 'hex') }));
  }

  /**
   * The key from TFLEET_API_KEY or the data directory is an admin key named `startup`. When it
   * changed since the last start (TFLEET_API_KEY rotated, the file replaced), the previous one is
   * revoked. One that was revoked through the API stays revoked.
   */
  private async registerStartupKey(): Promise<void> {
    const hash = apiKeyDigest(this.startupKey).toString('hex');
    const existing = await this.repository.findByHash(hash);
    if (existing === null) {
      await this.repository.insert({ id: randomUUID(), name: STARTUP_KEY_NAME, scopes: ['admin'], hash, prefix: apiKeyPrefix(this.startupKey), rateLimit: null });
    } else if (existing.revokedAt !== null) {
      this.logger.warn(`the start-up API key (${existing.prefix}...) was revoked through the API and stays revoked`);
    }
    const rotated = await this.repository.revokeOthersNamed(STARTUP_KEY_NAME, hash, new Date());
    if (rotated > 0) this.logger.log(`revoked ${rotated} earlier start-up API key(s): the key changed`);
  }

  private noteUse(id: string): void {
    const now = Date.now();
    if (now - (this.lastUsedWritten.get(id) ?? 0) < LAST_USED_WRITE_EVERY_MS) return;
    this.lastUsedWritten.set(id, now);
    this.repository.touchLastUsed([id], new Date(now)).catch((error: unknown) => {
      this.logger.warn(`could not record the use of API key ${id}: ${error instanceof Error ? error.message : String(error)}`);
    });
  }
}
