import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Named API keys with scopes and a rate limit, stored as the SHA-256 of the key (see
 * ApiKeysService for why a fast hash is enough for random keys). The key that TFLEET_API_KEY
 * sets or that the first start generates is inserted by the API at start, not here.
 */
export class ApiKeys1765600000000 implements MigrationInterface {
  name = 'ApiKeys1765600000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.driver.options.type === 'postgres') {
      await queryRunner.query(
        `CREATE TABLE "api_keys" ("id" character varying(36) NOT NULL, "name" character varying(100) NOT NULL, "scopes" text NOT NULL, "hash" character varying(64) NOT NULL, "prefix" character varying(16) NOT NULL, "rateLimit" integer, "createdAt" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "lastUsedAt" TIMESTAMP WITH TIME ZONE, "revokedAt" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_5c8a79801b44bd27b79228e1dad" PRIMARY KEY ("id"))`,
      );
    } else {
      await queryRunner.query(
        `CREATE TABLE "api_keys" ("id" varchar(36) PRIMARY KEY NOT NULL, "name" varchar(100) NOT NULL, "scopes" text NOT NULL, "hash" varchar(64) NOT NULL, "prefix" varchar(16) NOT NULL, "rateLimit" integer, "createdAt" datetime NOT NULL DEFAULT (datetime('now')), "lastUsedAt" datetime, "revokedAt" datetime)`,
      );
    }
    await queryRunner.query(`CREATE UNIQUE INDEX "UQ_api_keys_hash" ON "api_keys" ("hash") `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "UQ_api_keys_hash"`);
    await queryRunner.query(`DROP TABLE "api_keys"`);
  }
}
