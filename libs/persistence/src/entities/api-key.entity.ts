/** What a key may do: `read` is GET (and HEAD) routes only, `admin` is everything. */
export const API_KEY_SCOPES = ['read', 'admin'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

/**
 * A named API key. Only the SHA-256 of the key is stored (the key is shown once, at creation);
 * `prefix` is its first characters, to tell keys apart in a list. Mapped in ./schemas.ts.
 */
export class ApiKeyEntity {
  id!: string;
  name!: string;
  scopes!: ApiKeyScope[];
  /** Hex SHA-256 of the whole key. */
  hash!: string;
  prefix!: string;
  /** Requests per minute this key may make; null: the deployment's default (TFLEET_RATE_LIMIT_PER_MINUTE). */
  rateLimit!: number | null;
  createdAt!: Date;
  /** Written at most once a minute per key (see ApiKeysService), so it lags by up to that. */
  lastUsedAt!: Date | null;
  revokedAt!: Date | null;
}
