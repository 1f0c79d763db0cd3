/**
 * Reading the property through the local API: `status`, `locks|doors|keys list|show`,
 * `events [--follow]`, `diagnose --key|--door`. Plain text for people, `--json` for scripts.
 */
import { parseArgs } from "node:util";
import { z } from "zod";
import { actionResponseSchema, busViewSchema, doorViewSchema, eventSchema, keyViewSchema, lockViewSchema, statusSchema, type FeedEvent, type KeyView, type LockView } from "../api/schemas.js";
import { loadConfig } from "../config/index.js";
import { LockBridgeError, errorMessage } from "../shared/errors.js";
import { ApiClient, lines } from "./api-client.js";
import { EXIT, type ExitCode } from "./exit-codes.js";
import { ago, colours, outOf, table, type Out } from "./output.js";

export class CliUsageError extends LockBridgeError {
  constructor(message: string) {
    super("cli_usage", message);
  }
}

type Options = NonNullable<Parameters<typeof parseArgs>[0]>["options"];

export interface ParsedCli {
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  positionals: string[];
}

export function parseCli(command: string, args: string[], options: Options = {}, positionals = 0): ParsedCli {
  let parsed: ParsedCli;
  try {
    parsed = parseArgs({ args, options: { config: { type: "string" }, json: { type: "boolean" }, ...options }, allowPositionals: positionals > 0, strict: true });
  } catch (e) {
    throw new CliUsageError(`${command}: ${errorMessage(e).split("\n")[0]!}`);
  }
  if (parsed.positionals.length > positionals) throw new CliUsageError(`${command}: unexpected argument "${parsed.positionals[positionals]!}"`);
  return parsed;
}

export function clientFor(configFile: unknown): ApiClient {
  return ApiClient.fromConfig(loadConfig({ file: typeof configFile === "string" ? configFile : undefined, env: process.env }));
}

function json(out: Out, value: unknown): ExitCode {
  out.write(`${JSON.stringify(value, null, 2)}\n`);
  return EXIT.ok;
}

// ------------------------------------------------------------------ status

export async function statusCommand(args: string[], out: Out = outOf(process.stdout)): Promise<ExitCode> {
  const { values } = parseCli("status", args);
  const api = clientFor(values.config);
  const s = await api.get("/api/status", statusSchema);
  if (values.json) return json(out, s);
  const c = colours(out);
  const h = s.health;
  const state = h.status === "ready" ? c.green(h.status) : h.status === "degraded" ? c.yellow(h.status) : c.red(h.status);
  out.write(`${c.bold(`Hub ${h.hubId}`)} (lockbridge ${h.version}): ${state}${h.problems.length ? ` — ${h.problems.join("; ")}` : ""}\n`);
  out.write(`Cloud: ${s.cloud.connected ? c.green("connected") : c.red("not connected")} to ${s.cloud.broker}\n`);
  out.write(`Outbox: ${s.outbox.pending} event${s.outbox.pending === 1 ? "" : "s"} waiting${s.outbox.oldestPendingAgeS !== null ? ` (oldest ${s.outbox.oldestPendingAgeS} s)` : ""}\n`);
  out.write(`Provisioning: ${s.progress.summary}\n`);
  for (const bus of s.buses) {
    const errors = bus.errors.timeouts + bus.errors.crcErrors + bus.errors.retries > 0 ? `  errors: ${bus.errors.timeouts} timeouts, ${bus.errors.crcErrors} CRC, ${bus.errors.retries} retries` : "";
    out.write(`\n${c.bold(bus.bus)}${bus.link !== null && bus.link !== "open" ? c.red(` (link ${bus.link}${bus.lastError ? `: ${bus.lastError}` : ""})`) : ""}${errors}\n`);
    out.write(indent(lockTable(bus.locks, out)));
  }
  if (s.keysNeedingAttention.length > 0) {
    out.write(`\n${c.bold("Keys pending or failed")}\n`);
    out.write(indent(keyTable(s.keysNeedingAttention)));
  }
  return EXIT.ok;
}

const indent = (text: string) => text.replace(/^(?=.)/gm, "  ");

function lockTable(locks: readonly LockView[], out: Out): string {
  const c = colours(out);
  return table(
    ["ADDR", "LOCK", "DOOR", "STATE", "BATTERY", "SLOTS (code/card/mobile)", "LAST SEEN", "ALERTS"],
    locks.map((l) => [
      // A BLE lock has no address: its signal strength instead ("-67 dBm good").
      l.address !== null ? String(l.address) : l.signal ? `${l.signal.rssi} dBm ${l.signal.quality}` : "-",
      l.lockId,
      l.doorNames.join(", ") || "-",
      l.state !== "commissioned" ? c.yellow(l.state) : l.online ? c.green("online") : c.red("offline"),
      l.battery === null ? "-" : `${l.battery} %`,
      ["doorCode", "keycard", "smartKey"].map((k) => (l.slots[k] && l.slots[k].total ? `${l.slots[k].used}/${l.slots[k].total}` : "-")).join(" "),
      ago(l.lastSeen),
      l.alerts.join("; "),
    ]),
  );
}

function keyTable(keys: readonly KeyView[]): string {
  return table(
    ["KEY", "HOLDER", "STATE", "DOORS"],
    keys.map((k) => [k.keyId, k.holder ?? "-", k.state, k.doors.map((d) => `${d.doorId}: ${d.state}${d.reasons.length ? ` (${d.reasons.join(", ")})` : ""}`).join("; ")]),
  );
}

// ------------------------------------------------------------------ locks | doors | keys

export async function inventoryCommand(kind: "locks" | "doors" | "keys", args: string[], out: Out = outOf(process.stdout)): Promise<ExitCode> {
  const [sub, ...rest] = args;
  if (sub !== "list" && sub !== "show") throw new CliUsageError(`${kind}: expected "list" or "show ID", got ${sub === undefined ? "nothing" : `"${sub}"`}`);
  const { values, positionals } = parseCli(`${kind} ${sub}`, rest, kind === "keys" && sub === "list" ? { search: { type: "string" }, state: { type: "string" } } : {}, sub === "show" ? 1 : 0);
  const api = clientFor(values.config);
  if (sub === "show") {
    const id = positionals[0];
    if (id === undefined) throw new CliUsageError(`${kind} show: expected an id`);
    const path = `/api/${kind}/${encodeURIComponent(id)}`;
    const view = await api.get(path, kind === "locks" ? lockViewSchema : kind === "doors" ? doorViewSchema : keyViewSchema);
    if (values.json) return json(out, view);
    out.write(showText(view));
    return EXIT.ok;
  }
  if (kind === "locks") {
    const { buses } = await api.get("/api/locks", z.object({ buses: z.array(busViewSchema) }));
    if (values.json) return json(out, buses);
    for (const bus of buses) out.write(`${bus.bus}\n${indent(lockTable(bus.locks, out))}`);
    if (buses.length === 0) out.write("no locks commissioned yet (lockbridge scan, then lockbridge lock commission)\n");
    return EXIT.ok;
  }
  if (kind === "doors") {
    const { doors } = await api.get("/api/doors", z.object({ doors: z.array(doorViewSchema) }));
    if (values.json) return json(out, doors);
    out.write(table(["DOOR", "NAME", "KIND", "LOCK", "LOCK STATE", "KEYS"], doors.map((d) => [d.doorId, d.name, d.kind, d.lockId ?? "-", d.lockOnline === null ? "no lock" : d.lockOnline ? "online" : "offline", String(d.keys)])));
    return EXIT.ok;
  }
  const query = new URLSearchParams();
  if (typeof values.search === "string") query.set("search", values.search);
  if (typeof values.state === "string") query.set("state", values.state);
  const { keys } = await api.get(`/api/keys${query.size ? `?${query}` : ""}`, z.object({ keys: z.array(keyViewSchema) }));
  if (values.json) return json(out, keys);
  out.write(keyTable(keys));
  return EXIT.ok;
}

function showText(view: Record<string, unknown>): string {
  const rows: string[] = [];
  for (const [k, v] of Object.entries(view)) {
    if (Array.isArray(v) && v.some((x) => typeof x === "object" && x !== null)) {
      rows.push(`${k}:`);
      for (const item of v) rows.push(`  - ${Object.entries(item as Record<string, unknown>).map(([a, b]) => `${a}: ${Array.isArray(b) ? b.join(", ") || "-" : String(b)}`).join(", ")}`);
    } else if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      rows.push(`${k}: ${Object.entries(v as Record<string, unknown>).map(([a, b]) => `${a} ${typeof b === "object" && b !== null ? Object.values(b).join("/") : String(b)}`).join(", ")}`);
    } else rows.push(`${k}: ${Array.isArray(v) ? v.join(", ") || "-" : v === null ? "-" : String(v)}`);
  }
  return `${rows.join("\n")}\n`;
}

// ------------------------------------------------------------------ events

/** One readable line per event: time, type, where, what. */
export function eventLine(e: FeedEvent): string {
  const { seq, at, type, ...rest } = e;
  const time = at.replace(/^\d{4}-\d{2}-\d{2}T/, "").replace(/\.\d+Z$|Z$/, "");
  const where = [rest.doorId, rest.lockId].filter((x) => typeof x === "string").join(" ");
  delete rest.doorId;
  delete rest.lockId;
  const detail = Object.entries(rest).map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : String(v)}`).join(" ");
  return `${time}  #${seq}  ${type.padEnd(22)} ${where}${detail ? `  ${detail}` : ""}`.trimEnd();
}

export async function eventsCommand(args: string[], out: Out = outOf(process.stdout)): Promise<ExitCode> {
  const { values } = parseCli("events", args, { follow: { type: "boolean", short: "f" }, type: { type: "string" }, door: { type: "string" }, key: { type: "string" }, lock: { type: "string" }, since: { type: "string" } });
  const api = clientFor(values.config);
  const query = new URLSearchParams();
  for (const [opt, param] of [["type", "type"], ["door", "doorId"], ["key", "keyId"], ["lock", "lockId"], ["since", "since"]] as const) {
    const v = values[opt];
    if (typeof v === "string") query.set(param, v);
  }
  const print = (e: FeedEvent) => out.write(values.json ? `${JSON.stringify(e)}\n` : `${eventLine(e)}\n`);
  if (!values.follow) {
    const { events } = await api.get(`/api/events?${query}`, z.object({ events: z.array(eventSchema) }));
    for (const e of events) print(e);
    return EXIT.ok;
  }
  const abort = new AbortController();
  const stop = () => abort.abort();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  try {
    const res = await api.raw(`/api/events?${query}`, { accept: "text/event-stream", signal: abort.signal });
    if (!res.ok) throw new LockBridgeError("internal", `the hub refused the event stream (HTTP ${res.status})`);
    // On stderr, so stdout stays the events alone: from here on nothing new is missed.
    process.stderr.write("following the hub's events (Ctrl-C to stop)\n");
    for await (const line of lines(res)) {
      if (!line.startsWith("data: ")) continue;
      print(eventSchema.parse(JSON.parse(line.slice(6))));
    }
  } catch (e) {
    if (!abort.signal.aborted) throw e;
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  }
  return EXIT.ok;
}

// ------------------------------------------------------------------ diagnose

const findingSchema = z.object({ code: z.string(), severity: z.string(), doorId: z.string().optional(), message: z.string(), fix: z.string() });

export async function diagnoseCommand(args: string[], out: Out = outOf(process.stdout)): Promise<ExitCode> {
  const { values } = parseCli("diagnose", args, { key: { type: "string" }, door: { type: "string" } });
  if ((values.key === undefined) === (values.door === undefined)) throw new CliUsageError("diagnose: give exactly one of --key KEYID or --door DOORID");
  const api = clientFor(values.config);
  const body = typeof values.key === "string" ? { keyId: values.key } : { doorId: String(values.door) };
  const response = await api.post("/api/actions/diagnose", body, actionResponseSchema);
  if (values.json) return json(out, response);
  if (!response.ok) {
    process.stderr.write(`diagnose: ${response.error.message} (${response.error.code})\n`);
    return EXIT.failure;
  }
  const findings = z.array(findingSchema).parse(response.result.findings);
  const c = colours(out);
  if (findings.length === 0) out.write(`${c.green("no problem found")}\n`);
  for (const f of findings) {
    const sev = f.severity === "error" ? c.red("ERROR") : f.severity === "warning" ? c.yellow("WARN ") : c.dim("INFO ");
    out.write(`${sev} ${f.doorId ? `${f.doorId}: ` : ""}${f.message}\n      fix: ${f.fix}\n`);
  }
  return findings.some((f) => f.severity === "error") ? EXIT.failure : EXIT.ok;
}
