/** Exit statuses of `tfleet`, documented in the README. */
export const ExitCode = {
  Ok: 0,
  /** A watched run ended failed, cancelled or stopped. */
  RunNotCompleted: 1,
  /** Bad input: a usage error, a spec file that does not parse, a 400 from the API. */
  BadInput: 2,
  /** The API could not be reached (or did not answer in time). */
  Unreachable: 3,
  /** No key, or the API refused it (401). */
  Unauthorized: 4,
  /** An unknown id or board (404), or a feature this server does not have. */
  NotFound: 5,
  /** The API failed (5xx, 409) or answered something this CLI does not understand. */
  ServerError: 6,
  /** Interrupted (Ctrl-C) while watching; the experiment goes on. */
  Interrupted: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** An error the CLI reports as one line (what happened and what to do) with its exit status. */
export class CliError extends Error {
  override name = 'CliError';

  constructor(
    message: string,
    readonly exitCode: ExitCodeValue,
  ) {
    super(message);
  }
}
