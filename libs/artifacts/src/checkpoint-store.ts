import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { type CheckpointPayload, checkpointPayloadSchema, type CheckpointPointer, type CheckpointRef, checkpointRefSchema, formatIssues, parseWith } from '@tfleet/contracts';

/** First bytes of every checkpoint file, with the format's version. */
const MAGIC = Buffer.from('TFLTCKP1', 'ascii');
const HEADER_LENGTH_BYTES = 4;

/** What the file says about itself before the weights: the payload less its two byte arrays. */
const headerSchema = z.strictObject({
  step: z.int().min(0),
  epoch: z.int().min(0),
  kind: z.enum(['periodic', 'epoch', 'final']),
  modelTopology: z.record(z.string(), z.unknown()),
  weightSpecs: z.array(z.unknown()),
  modelBytes: z.int().min(0),
  optimizer: z.strictObject({ weightSpecs: z.array(z.unknown()), bytes: z.int().min(0) }).nullable(),
  state: z.record(z.string(), z.unknown()),
});

export class CheckpointStoreError extends Error {
  override name = 'CheckpointStoreError';
}

/**
 * Checkpoints as files in one directory that the API and every worker share (a volume, or NFS
 * for workers on other machines): `<root>/<experimentId>/<step>-<kind>-<attempt>.ckpt`. Workers
 * write them (the weights never pass through Redis or the API's event loop); the API records the
 * reference, reads them for export and fine-tuning, and deletes the ones it prunes.
 *
 * A file is written whole to a temporary name in the same directory, flushed, then renamed: a
 * reader sees a complete checkpoint or none, even if the writer dies mid-write. The weights are
 * stored as raw bytes after a JSON header (base64 only in the payload type that the training
 * library uses), so a file is about a third smaller than the payload's JSON.
 */
export class CheckpointStore {
  constructor(readonly root: string) {}

  /** The reference of an experiment's checkpoint written by `attempt` (one per step, kind and attempt). */
  static refFor(experimentId: string, payload: Pick<CheckpointPayload, 'step' | 'kind'>, attempt: number): CheckpointRef {
    return checkpointRefSchema.parse(`${experimentId}/${payload.step}-${payload.kind}-${attempt}`);
  }

  async writeCheckpoint(experimentId: string, payload: CheckpointPayload, attempt: number): Promise<CheckpointPointer> {
    const ref = CheckpointStore.refFor(experimentId, payload, attempt);
    const model = Buffer.from(payload.model.weightDataBase64, 'base64');
    const optimizer = payload.optimizer ? Buffer.from(payload.optimizer.weightDataBase64, 'base64') : null;
    const header = Buffer.from(
      JSON.stringify({
        step: payload.step,
        epoch: payload.epoch,
        kind: payload.kind,
        modelTopology: payload.model.modelTopology,
        weightSpecs: payload.model.weightSpecs,
        modelBytes: model.length,
        optimizer: payload.optimizer && optimizer ? { weightSpecs: payload.optimizer.weightSpecs, bytes: optimizer.length } : null,
        state: payload.state,
      } satisfies z.infer<typeof headerSchema>),
      'utf8',
    );
    const length = Buffer.alloc(HEADER_LENGTH_BYTES);
    length.writeUInt32LE(header.length);
    const parts = [MAGIC, length, header, model, ...(optimizer ? [optimizer] : [])];
    const path = this.pathOf(ref);
    await mkdir(dirname(path), { recursive: true });
    const temporary = join(dirname(path), `.${randomBytes(6).toString('hex')}.tmp`);
    const file = await open(temporary, 'w');
    try {
      for (const part of parts) await file.write(part);
      await file.sync();
    } catch (error) {
      await file.close();
      await unlink(temporary).catch(() => undefined);
      throw error;
    }
    await file.close();
    await rename(temporary, path);
    return { ref, step: payload.step, epoch: payload.epoch, kind: payload.kind, bytes: parts.reduce((sum, part) => sum + part.length, 0) };
  }

  /** The checkpoint at `ref`, validated as the training library's payload; throws CheckpointStoreError when it is missing or damaged. */
  async readCheckpoint(ref: string): Promise<CheckpointPayload> {
    const path = this.pathOf(ref);
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (error) {
      throw new CheckpointStoreError(`checkpoint ${ref} cannot be read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
    const damaged = (why: string) => new CheckpointStoreError(`checkpoint ${ref} is damaged: ${why}`);
    if (bytes.length < MAGIC.length + HEADER_LENGTH_BYTES || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) throw damaged('not a tfleet checkpoint file');
    const headerLength = bytes.readUInt32LE(MAGIC.length);
    const bodyStart = MAGIC.length + HEADER_LENGTH_BYTES + headerLength;
    if (bodyStart > bytes.length) throw damaged('truncated header');
    let json: unknown;
    try {
      json = JSON.parse(bytes.subarray(MAGIC.length + HEADER_LENGTH_BYTES, bodyStart).toString('utf8'));
    } catch {
      throw damaged('header is not JSON');
    }
    const header = parseWith(headerSchema, json);
    if (!header.ok) throw damaged(formatIssues(header.issues));
    const h = header.value;
    const optimizerBytes = h.optimizer?.bytes ?? 0;
    if (bodyStart + h.modelBytes + optimizerBytes !== bytes.length) throw damaged(`expected ${bodyStart + h.modelBytes + optimizerBytes} bytes, found ${bytes.length}`);
    const model = bytes.subarray(bodyStart, bodyStart + h.modelBytes);
    const payload = parseWith(checkpointPayloadSchema, {
      step: h.step,
      epoch: h.epoch,
      kind: h.kind,
      model: { modelTopology: h.modelTopology, weightSpecs: h.weightSpecs, weightDataBase64: model.toString('base64') },
      ...(h.optimizer ? { optimizer: { weightSpecs: h.optimizer.weightSpecs, weightDataBase64: bytes.subarray(bodyStart + h.modelBytes).toString('base64') } } : {}),
      state: h.state,
    });
    if (!payload.ok) throw damaged(formatIssues(payload.issues));
    return payload.value;
  }

  /** Removes a checkpoint; one already gone is not an error. */
  async delete(ref: string): Promise<void> {
    await rm(this.pathOf(ref), { force: true });
  }

  /** Removes every checkpoint of an experiment. */
  async deleteExperiment(experimentId: string): Promise<void> {
    if (!z.uuid().safeParse(experimentId).success) throw new CheckpointStoreError(`'${experimentId}' is not an experiment id`);
    await rm(join(this.root, experimentId), { recursive: true, force: true });
  }

  /** The file of a reference; a string that is not one (`..`, an absolute path) never reaches the file system. */
  pathOf(ref: string): string {
    if (!checkpointRefSchema.safeParse(ref).success) throw new CheckpointStoreError(`'${ref}' is not a checkpoint reference`);
    return join(this.root, `${ref}.ckpt`);
  }
}
