import type { Command } from 'commander';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CliError, ExitCode } from '../tfleet-errors';
import type { CommandContext } from '../tfleet-context';
import { int } from '../tfleet-output';
import { modelJsonShape } from '../tfleet-shapes';

const FEATURE = 'model export';

export function registerExportCommand(program: Command, ctx: CommandContext): void {
  program
    .command('export')
    .description("download a completed experiment's trained model (tfjs model.json and weights) and its task.json")
    .argument('<id>', 'experiment id')
    .argument('<dir>', 'directory to write into (created if missing)')
    .action(async (id: string, dir: string) => {
      const base = `/api/experiments/${encodeURIComponent(id)}/model`;
      const client = ctx.client();
      const { value: model, raw } = await client.json('GET', `${base}/model.json`, modelJsonShape, { feature: FEATURE });
      const target = resolve(dir);
      try {
        mkdirSync(target, { recursive: true });
      } catch (error) {
        throw new CliError(`cannot create ${target}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, ExitCode.BadInput);
      }
      const written: [string, number][] = [];
      const save = (name: string, bytes: Buffer) => {
        writeFileSync(join(target, name), bytes);
        written.push([name, bytes.length]);
      };
      save('model.json', Buffer.from(JSON.stringify(raw)));
      // Weight files are named relative to model.json (tfjs' rule), and checked to be plain names above.
      for (const name of model.weightsManifest.flatMap((group) => group.paths)) save(name, await client.bytes(`${base}/${encodeURIComponent(name)}`, { feature: FEATURE }));
      try {
        save('task.json', await client.bytes(`${base}/task.json`, { feature: FEATURE }));
      } catch (error) {
        if (!(error instanceof CliError) || error.exitCode !== ExitCode.NotFound) throw error;
        ctx.output.err(`no task.json for ${id} (${error.message}); the model was exported without it`);
      }
      for (const [name, bytes] of written) ctx.output.out(`${join(target, name)} (${int(bytes)} bytes)`);
    });
}
