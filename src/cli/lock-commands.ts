/**
 * `lockbridge lock commission|decommission|replace`: installer actions through the local API
 * (the contract's own commands, run by the hub), with their steps shown as they happen:
 * a live line on a terminal, plain lines in a pipe.
 */
import { actionResponseSchema, type ActionResponse } from "../api/schemas.js";
import { EXIT, type ExitCode } from "./exit-codes.js";
import { outOf, ProgressDisplay, type Out } from "./output.js";
import { clientFor, CliUsageError, parseCli } from "./property-commands.js";

const USAGE = `lock commission LOCKID --profile ID (--serial PATH | --tcp HOST:PORT) --address N [--setup-key HEX]
lock commission LOCKID --profile ID --ble [--setup-key HEX]
lock decommission LOCKID [--wipe]
lock replace OLD_LOCKID NEW_LOCKID [--profile ID] [--setup-key HEX]`;

export async function lockCommand(args: string[], out: Out = outOf(process.stdout), err: Out = outOf(process.stderr)): Promise<ExitCode> {
  const [sub, ...rest] = args;
  let path: string;
  let body: Record<string, unknown>;
  let values: Record<string, unknown>;
  switch (sub) {
    case "commission": {
      const p = parseCli("lock commission", rest, { profile: { type: "string" }, serial: { type: "string" }, tcp: { type: "string" }, ble: { type: "boolean" }, address: { type: "string" }, "setup-key": { type: "string" } }, 1);
      values = p.values;
      const lockId = p.positionals[0];
      if (lockId === undefined) throw new CliUsageError(`lock commission: expected a LOCKID\n${USAGE}`);
      if (typeof values.profile !== "string") throw new CliUsageError("lock commission: --profile is required (a device-profile id, e.g. rs485-mortise)");
      body = { lockId, profile: values.profile, link: linkOf(values, lockId), ...(typeof values["setup-key"] === "string" && { setupKey: values["setup-key"].replace(/[\s-]/g, "") }) };
      path = "/api/actions/commission";
      break;
    }
    case "decommission": {
      const p = parseCli("lock decommission", rest, { wipe: { type: "boolean" } }, 1);
      values = p.values;
      if (p.positionals[0] === undefined) throw new CliUsageError(`lock decommission: expected a LOCKID\n${USAGE}`);
      body = { lockId: p.positionals[0], wipe: values.wipe === true };
      path = "/api/actions/decommission";
      break;
    }
    case "replace": {
      const p = parseCli("lock replace", rest, { profile: { type: "string" }, "setup-key": { type: "string" } }, 2);
      values = p.values;
      const [oldLockId, newLockId] = p.positionals;
      if (oldLockId === undefined || newLockId === undefined) throw new CliUsageError(`lock replace: expected OLD_LOCKID NEW_LOCKID\n${USAGE}`);
      body = { oldLockId, newLockId, ...(typeof values.profile === "string" && { profile: values.profile }), ...(typeof values["setup-key"] === "string" && { setupKey: values["setup-key"].replace(/[\s-]/g, "") }) };
      path = "/api/actions/replace";
      break;
    }
    default:
      throw new CliUsageError(`lock: expected commission, decommission or replace, got ${sub === undefined ? "nothing" : `"${sub}"`}\n${USAGE}`);
  }
  const api = clientFor(values.config);
  const progress = new ProgressDisplay(err);
  let response: ActionResponse;
  try {
    response = await api.action(path, body, actionResponseSchema, (step) => progress.step(step));
  } catch (e) {
    progress.done(false);
    throw e;
  }
  progress.done(response.ok);
  if (values.json) {
    out.write(`${JSON.stringify(response, null, 2)}\n`);
    return response.ok ? EXIT.ok : EXIT.failure;
  }
  if (!response.ok) {
    err.write(`lockbridge lock ${sub}: ${response.error.message} (${response.error.code})\n`);
    return EXIT.failure;
  }
  out.write(`${summary(sub, body, response.result)}\n`);
  return EXIT.ok;
}

function linkOf(values: Record<string, unknown>, lockId: string): Record<string, unknown> {
  const chosen = ["serial", "tcp", "ble"].filter((k) => values[k] !== undefined);
  if (chosen.length !== 1) throw new CliUsageError("lock commission: give exactly one of --serial PATH, --tcp HOST:PORT or --ble");
  if (values.ble === true) return { type: "ble", lockId };
  const address = Number(values.address);
  if (!Number.isInteger(address) || address < 1 || address > 254) throw new CliUsageError(`lock commission: --address must be the lock's bus address 1..254, got ${values.address === undefined ? "none" : `"${String(values.address)}"`}`);
  if (typeof values.serial === "string") return { type: "serial", path: values.serial, address };
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(String(values.tcp));
  if (!m) throw new CliUsageError(`lock commission: --tcp expects HOST:PORT of the serial server, got "${String(values.tcp)}"`);
  return { type: "tcp", host: m[1], port: Number(m[2]), address };
}

function summary(sub: string, body: Record<string, unknown>, result: Record<string, unknown>): string {
  if (sub === "commission") {
    const ident = result.ident as { model?: string; firmware?: string } | undefined;
    return `lock ${String(body.lockId)} commissioned${ident?.model ? ` (${ident.model}, firmware ${ident.firmware ?? "?"})` : ""}: its keys are being delivered (lockbridge status)`;
  }
  if (sub === "decommission") return `lock ${String(body.lockId)} taken out of service`;
  return `lock ${String(result.oldLockId)} replaced by ${String(result.newLockId)}${Array.isArray(result.doorIds) && result.doorIds.length ? ` on ${result.doorIds.join(", ")}` : ""}`;
}
