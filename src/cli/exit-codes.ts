/**
 * Process exit codes, in one place so that systemd units, scripts and tests agree.
 * 64 is EX_USAGE from sysexits.h.
 */
export const EXIT = {
  ok: 0,
  /** A runtime failure: a service failed to start or stop, a crash, the stop deadline passed. */
  failure: 1,
  /** The configuration (file or environment) is invalid; fixing it is the operator's job. */
  badConfig: 2,
  /** Bad command line: unknown command or option, missing argument. */
  usage: 64,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
