/** `lockbridge doctor`: the checks as a pass/warn/fail table with the fix per line; exit 1 on a failure. */
import { runDoctor } from "../doctor/run.js";
import { EXIT, type ExitCode } from "./exit-codes.js";
import { colours, outOf, type Out } from "./output.js";
import { parseCli } from "./property-commands.js";

export async function doctorCommand(args: string[], out: Out = outOf(process.stdout)): Promise<ExitCode> {
  const { values } = parseCli("doctor", args);
  const results = await runDoctor({ configFile: typeof values.config === "string" ? values.config : undefined, env: process.env });
  const failed = results.some((r) => r.status === "fail");
  if (values.json) {
    out.write(`${JSON.stringify(results, null, 2)}\n`);
    return failed ? EXIT.failure : EXIT.ok;
  }
  const c = colours(out);
  const mark = { pass: c.green("PASS"), warn: c.yellow("WARN"), fail: c.red("FAIL") } as const;
  // The fix goes under its line: a table with a fix column is too wide for a terminal.
  const width = Math.max(...results.map((r) => r.name.length));
  for (const r of results) {
    out.write(`${mark[r.status]}  ${r.name.padEnd(width)}  ${r.detail}\n`);
    if (r.fix !== undefined && r.status !== "pass") out.write(`${" ".repeat(width + 8)}${c.dim("fix:")} ${r.fix}\n`);
  }
  const counts = { pass: 0, warn: 0, fail: 0 };
  for (const r of results) counts[r.status]++;
  out.write(`\n${counts.pass} passed, ${counts.warn} warning${counts.warn === 1 ? "" : "s"}, ${counts.fail} failed\n`);
  return failed ? EXIT.failure : EXIT.ok;
}
