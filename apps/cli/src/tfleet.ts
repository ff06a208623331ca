#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { registerBoardCommands } from './commands/boards';
import { registerExperimentCommands } from './commands/experiments';
import { registerExportCommand, registerPredictCommand } from './commands/export';
import { registerFleetCommands } from './commands/fleet';
import { registerSweepCommands } from './commands/sweeps';
import { CommandContext } from './tfleet-context';
import { CliError, ExitCode } from './tfleet-errors';
import { type Output, stdio } from './tfleet-output';

/** The `tfleet` program: every command over the REST API. */
export function tfleetProgram(output: Output, tty: boolean, env: NodeJS.ProcessEnv): { program: Command; ctx: CommandContext } {
  const program = new Command('tfleet')
    .description('Submit, watch and compare training experiments on a tfleet control plane.')
    .option('--url <url>', 'the API (default: TFLEET_URL, else http://127.0.0.1:$PORT)')
    .option('--key <key>', "API key (default: TFLEET_API_KEY, else a local API's <data dir>/api-key)")
    .option('--data-dir <dir>', "a local API's data directory, where its generated key is kept (default: TFLEET_DATA_DIR or ./data)")
    .showSuggestionAfterError()
    .exitOverride()
    .configureOutput({ writeOut: (s) => process.stdout.write(s), writeErr: (s) => process.stderr.write(s) });
  const ctx = new CommandContext(output, tty, () => program.opts<{ url?: string; key?: string; dataDir?: string }>(), env);
  registerExperimentCommands(program, ctx);
  registerBoardCommands(program, ctx);
  registerFleetCommands(program, ctx);
  registerSweepCommands(program, ctx);
  registerExportCommand(program, ctx);
  registerPredictCommand(program, ctx);
  // Every subcommand, nested ones too, took the program's error handling (exitOverride) and
  // output when `.command()` created it (commander copies the parent's settings), so nothing is
  // copied again here: that would also undo a subcommand's own settings (shootout's positional options).
  return { program, ctx };
}

/** Runs one command line; returns the exit status. Errors are one line on stderr, never a stack. */
export async function runTfleet(argv: string[], output: Output = stdio, env: NodeJS.ProcessEnv = process.env, tty = process.stderr.isTTY === true): Promise<number> {
  const { program, ctx } = tfleetProgram(output, tty, env);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return ctx.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has printed its one line (or the help); usage errors are bad input.
      return error.exitCode === 0 ? 0 : ExitCode.BadInput;
    }
    if (error instanceof CliError) {
      output.err(`tfleet: ${error.message}`);
      return error.exitCode;
    }
    output.err(`tfleet: unexpected error: ${error instanceof Error ? error.message : String(error)} (please report it)`);
    return ExitCode.ServerError;
  }
}

if (require.main === module) {
  void runTfleet(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
