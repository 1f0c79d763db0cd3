/**
 * `POST /api/actions/<name>`: installer actions (token required: auth.ts), each logged in the
 * installer action log when it starts and when it ends. The contract's own commands run through
 * InstallerActions (the cloud sync's queue); scan, doctor and token rotation are the hub's own.
 * Answers NDJSON when asked (Accept: application/x-ndjson): one {"step"} line per step as it
 * happens, then {"response"}; otherwise one JSON response at the end.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { basename } from "node:path";
import type { z } from "zod";
import { runDoctorChecks } from "../doctor/run.js";
import { errorMessage, isLockBridgeError } from "../shared/errors.js";
import type { Logger } from "../shared/logger.js";
import type { InstallerActions, Step } from "./actions.js";
import { rotateToken, type GuardPolicy } from "./auth.js";
import { HttpError, notFound, readJson, sendJson } from "./http-util.js";
import type { HubView } from "./hub-view.js";
import type { InstallerLog } from "./installer-log.js";
import { scanBle, scanBus } from "./scan-action.js";
import {
  backupBodySchema,
  commissionBodySchema,
  decommissionBodySchema,
  diagnoseBodySchema,
  doctorBodySchema,
  recommissionBodySchema,
  replaceBodySchema,
  revealCodeBodySchema,
  rotateTokenBodySchema,
  scanBleBodySchema,
  scanBodySchema,
  type ActionResponse,
} from "./schemas.js";

interface Runner {
  run: (step: Step) => Promise<ActionResponse>;
  /** What the log names as acted on. */
  target?: string | undefined;
  /** Read-only asks (diagnose) are not logged: the Keys page asks on every key it opens. */
  quiet?: boolean;
}

export interface ActionRoutesDeps {
  hub: HubView;
  log: Logger;
  actions: InstallerActions;
  installerLog: InstallerLog;
  policy: GuardPolicy;
  tokenFile: string | undefined;
  /** After a rotation: the streams opened with the old token are ended. */
  onTokenRotated: (token: string) => void;
}

export class ActionRoutes {
  constructor(private readonly d: ActionRoutesDeps) {}

  async handle(pathname: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const name = /^\/api\/actions\/([a-z-]+)$/.exec(pathname)?.[1];
    const body = await readJson(req);
    const runner = this.runner(name, body, pathname);
    const from = req.socket.remoteAddress ?? "?";
    const entry = { action: name!, ...(runner.target !== undefined && { target: runner.target }), from };
    if (!runner.quiet) this.d.installerLog.record({ ...entry, outcome: "started" });
    const run = async (step: Step) => {
      const response = await runner.run(step).catch((e: unknown) => asRefusal(e));
      if (!runner.quiet) {
        const detail = response.ok ? summary(name!, response.result) : `${response.error.code}: ${response.error.message.slice(0, 200)}`;
        this.d.installerLog.record({ ...entry, outcome: response.ok ? "ok" : "refused", ...(detail !== undefined && { detail }) });
      }
      return response;
    };
    if ((req.headers.accept ?? "").includes("application/x-ndjson")) {
      res.writeHead(200, { "content-type": "application/x-ndjson", "cache-control": "no-store", "x-content-type-options": "nosniff" });
      const response = await run((text) => res.write(`${JSON.stringify({ step: text })}\n`));
      res.end(`${JSON.stringify({ response })}\n`);
      return;
    }
    sendJson(res, 200, await run(() => undefined));
  }

  private runner(name: string | undefined, body: unknown, pathname: string): Runner {
    const { actions: a, hub, log } = this.d;
    switch (name) {
      case "commission":
        return parsed(commissionBodySchema, body, (b, step) => a.commission(b, step), (b) => b.lockId);
      case "recommission":
        return parsed(recommissionBodySchema, body, (b, step) => a.recommission(b, step), (b) => b.lockId);
      case "decommission":
        return parsed(decommissionBodySchema, body, (b, step) => a.decommission(b, step), (b) => b.lockId);
      case "replace":
        return parsed(replaceBodySchema, body, (b, step) => a.replace(b, step), (b) => `${b.oldLockId} -> ${b.newLockId}`);
      case "diagnose":
        return { ...parsed(diagnoseBodySchema, body, (b) => a.diagnose(b), () => undefined), quiet: true };
      case "backup":
        return parsed(backupBodySchema, body, async (b, step) => {
          const r = await a.backup(b, step);
          return r.ok ? { ...r, result: { ...r.result, download: `/api/backups/${encodeURIComponent(basename(String(r.result.file)))}` } } : r;
        });
      case "scan":
        return parsed(scanBodySchema, body, async (b, step) => ({ id: null, cmd: "scan", ok: true, result: { ...(await scanBus(hub, b, log, step)) } }), (b) => (b.link.type === "tcp" ? `tcp ${b.link.host}:${b.link.port}` : `serial ${b.link.path}`));
      case "scan-ble":
        return parsed(scanBleBodySchema, body, async (b, step) => ({ id: null, cmd: "scan-ble", ok: true, result: { ...(await scanBle(hub, b, log, step)) } }), () => "ble");
      case "doctor":
        return parsed(doctorBodySchema, body, async (_b, step) => {
          step("running the doctor's checks");
          return { id: null, cmd: "doctor", ok: true, result: { checks: await runDoctorChecks(hub.config) } };
        });
      case "reveal-code":
        return parsed(revealCodeBodySchema, body, (b) => a.revealCode(b), (b) => b.keyId);
      case "rotate-token":
        return parsed(rotateTokenBodySchema, body, async () => this.rotate());
      default:
        throw notFound(pathname);
    }
  }

  private rotate(): Promise<ActionResponse> {
    if (this.d.tokenFile === undefined) throw new HttpError(409, "not_supported", "this API has no token file to rotate");
    const token = rotateToken(this.d.tokenFile);
    this.d.policy.token = token;
    this.d.onTokenRotated(token);
    // The new token goes to the installer who asked (with the old one): it is theirs to keep.
    return Promise.resolve({ id: null, cmd: "rotate-token", ok: true, result: { token, tokenFile: this.d.tokenFile } });
  }
}

function summary(name: string, result: Record<string, unknown>): string | undefined {
  if (name === "backup") return `file ${basename(String(result.file))}, ${String(result.bytes)} bytes`;
  if (name === "scan") return `${(result.found as unknown[]).length} lock(s) answered on ${String(result.bus)}`;
  if (name === "scan-ble") return `${(result.found as unknown[]).length} new BLE lock(s) heard (${(result.skipped as unknown[]).length} of this hub's)`;
  if (name === "doctor") {
    const checks = result.checks as { status: string }[];
    return `${checks.filter((c) => c.status === "pass").length} passed, ${checks.filter((c) => c.status === "warn").length} warnings, ${checks.filter((c) => c.status === "fail").length} failed`;
  }
  if (name === "rotate-token") return "the old token no longer works";
  if (name === "reveal-code") return "door code shown to the installer";
  return undefined;
}

function parsed<S extends z.ZodType>(schema: S, body: unknown, fn: (b: z.output<S>, step: Step) => Promise<ActionResponse>, target?: (b: z.output<S>) => string | undefined): Runner {
  const result = schema.safeParse(body);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const path = issue.path.map(String).join(".");
    throw new HttpError(400, "invalid_payload", `${path === "" ? "body" : path}: ${issue.message}`);
  }
  return { run: (step) => fn(result.data, step), target: target?.(result.data) };
}

function asRefusal(e: unknown): ActionResponse {
  const code = isLockBridgeError(e) ? e.code : "internal";
  return { id: null, cmd: null, ok: false, error: { code, message: errorMessage(e) } };
}
