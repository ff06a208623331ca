import { TfleetClient } from './tfleet-client';
import { type ConnectionFlags, resolveConnection } from './tfleet-connection';
import type { ExitCodeValue } from './tfleet-errors';
import type { Output } from './tfleet-output';
import { EventStreamUpdates, type ExperimentUpdates, PollingUpdates } from './tfleet-watch';

/** What every command gets: the output, whether stderr is a terminal, and (lazily) the API client. */
export class CommandContext {
  /** Set by a command whose outcome is not just "it ran" (a watched run that failed). */
  exitCode: ExitCodeValue = 0;
  private clientInstance: TfleetClient | null = null;

  constructor(
    readonly output: Output,
    readonly tty: boolean,
    private readonly flags: () => ConnectionFlags,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  /** Resolved on first use, so `tfleet --help` and file errors need no key. */
  client(): TfleetClient {
    this.clientInstance ??= new TfleetClient(resolveConnection(this.flags(), this.env));
    return this.clientInstance;
  }

  /** Server-sent events, with polling where the server has none or the stream breaks. */
  updates(): ExperimentUpdates {
    return new EventStreamUpdates(this.client(), new PollingUpdates(this.client()));
  }
}
