import type { Command } from 'commander';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CliError, ExitCode } from '../tfleet-errors';
import type { CommandContext } from '../tfleet-context';
import { int, num, printJson } from '../tfleet-output';
import { modelJsonShape, predictionShape } from '../tfleet-shapes';

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

/** One line per kind of prediction the API gives (README "Export and prediction"); JSON for any other. */
function describePrediction(prediction: Record<string, unknown>): string | null {
  const { kind } = prediction;
  if (kind === 'classes' && Array.isArray(prediction['probabilities'])) {
    const top = (prediction['probabilities'] as { label: unknown; probability: unknown }[]).slice(0, 3).map((p) => `${String(p.label)} ${num(typeof p.probability === 'number' ? p.probability : null)}`);
    return `${String(prediction['label'])} (top: ${top.join(', ')})`;
  }
  if (kind === 'value' && typeof prediction['value'] === 'number') return num(prediction['value']);
  if (kind === 'continuation' && typeof prediction['text'] === 'string') return prediction['text'];
  if (kind === 'sequence' && Array.isArray(prediction['output'])) return (prediction['output'] as unknown[]).map(String).join(' ');
  return null;
}

export function registerPredictCommand(program: Command, ctx: CommandContext): void {
  program
    .command('predict')
    .description("ask a completed experiment's model for a prediction (POST /api/experiments/:id/predict)")
    .argument('<id>', 'experiment id')
    .requiredOption('--json <body>', 'the input as JSON, shaped by the data set: {"image": [[...]]}, {"prompt": "..."}, {"word": "cat"}, ... (README "Export and prediction")')
    .option('--raw', "print the API's whole answer as JSON instead of one line")
    .action(async (id: string, opts: { json: string; raw?: boolean }) => {
      let body: unknown;
      try {
        body = JSON.parse(opts.json);
      } catch (error) {
        throw new CliError(`--json is not valid JSON (${error instanceof Error ? error.message : String(error)}): quote the body, e.g. --json '{"word":"cat"}'`, ExitCode.BadInput);
      }
      const { value, raw } = await ctx.client().json('POST', `/api/experiments/${encodeURIComponent(id)}/predict`, predictionShape, { body, feature: 'prediction' });
      if (opts.raw) return printJson(ctx.output, raw);
      ctx.output.out(describePrediction(value.prediction) ?? JSON.stringify(value.prediction));
    });
}
