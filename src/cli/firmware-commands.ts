/**
 * `lockbridge firmware status [--job JOBID] [--json]`: the firmware jobs the hub holds (running
 * and the last ended ones) and where each lock stands, from the local API (`GET /api/firmware`).
 */
import { firmwareJobsResponseSchema, type FirmwareJobView } from "../firmware/view.js";
import { EXIT, type ExitCode } from "./exit-codes.js";
import { colours, outOf, table, type Out } from "./output.js";
import { CliUsageError, clientFor, parseCli } from "./property-commands.js";

const USAGE = "usage: lockbridge firmware status [--job JOBID] [--json]";

export async function firmwareCommand(args: string[], out: Out = outOf(process.stdout)): Promise<ExitCode> {
  const [sub, ...rest] = args;
  if (sub !== "status") throw new CliUsageError(sub === undefined ? USAGE : `firmware: unknown sub-command "${sub}"; ${USAGE}`);
  const { values } = parseCli("firmware status", rest, { job: { type: "string" } });
  const api = clientFor(values.config);
  const { jobs } = await api.get("/api/firmware", firmwareJobsResponseSchema);
  const shown = typeof values.job === "string" ? jobs.filter((j) => j.jobId === values.job) : jobs;
  if (values.json) {
    out.write(`${JSON.stringify({ jobs: shown }, null, 2)}\n`);
    return EXIT.ok;
  }
  if (shown.length === 0) {
    out.write(typeof values.job === "string" ? `no firmware job ${values.job} on this hub\n` : "no firmware jobs\n");
    return typeof values.job === "string" ? EXIT.failure : EXIT.ok;
  }
  for (const job of shown) out.write(jobText(job, out));
  return EXIT.ok;
}

function jobText(job: FirmwareJobView, out: Out): string {
  const c = colours(out);
  const applied = job.locks.filter((l) => l.state === "applied").length;
  const failed = job.locks.filter((l) => l.state === "failed").length;
  const head = `${c.bold(`Job ${job.jobId}`)}: firmware ${job.version} (${job.size} bytes), ${job.endedAt ? `ended ${job.endedAt}` : "running"} — ${applied}/${job.locks.length} applied${failed ? `, ${c.red(`${failed} failed`)}` : ""}\n`;
  const rows = job.locks.map((l) => {
    const state = l.state === "applied" ? c.green(l.state) : l.state === "failed" ? c.red(l.state) : c.yellow(l.state);
    return [l.lockId, state, `${l.percent}%`, l.state === "failed" ? `${l.reason ?? ""}${l.message ? `: ${l.message}` : ""}` : ""];
  });
  return `${head}${table(["LOCK", "STATE", "PROGRESS", "REASON"], rows).replace(/^(?=.)/gm, "  ")}\n`;
}
