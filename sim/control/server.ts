import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { isLockBridgeError } from "../../src/shared/errors.js";
import type { Fleet } from "../fleet/fleet.js";
import { applyAction, describeLock, lockLabel, recentEvents } from "./actions.js";
import { listenOn } from "../listen.js";
import { refuseNonLocal } from "./local-only.js";

export interface ControlServer {
  port: number;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > 64 * 1024) throw Object.assign(new Error("body too large"), { status: 413 });
    chunks.push(c);
  }
  const text = Buffer.concat(chunks).toString("utf8").trim();
  if (!text) return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw Object.assign(new Error("body is not JSON"), { status: 400 });
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(`${JSON.stringify(body)}\n`);
}

/**
 * The control endpoint of a running fleet: HTTP + JSON on loopback only.
 *   GET  /ready                      the ready line (ports, doors, links)
 *   GET  /locks                      every lock (sim list)
 *   GET  /locks/:ref                 one lock with its recent events
 *   POST /locks/:ref/:action         code {code} | card {uid} | phone {privateKey} | open | close |
 *                                    bolt {thrown} | pair-button | fault {fault, args}
 *   POST /save                       write the state file now
 * :ref is a doorId or a lockId. Requests from a browser page (foreign Origin) or through a
 * name other than loopback (DNS rebinding) are refused with 403 (local-only.ts).
 */
export async function startControlServer(fleet: Fleet, opts: { port?: number; host?: string } = {}): Promise<ControlServer> {
  let boundPort: number | null = null;
  const server = createServer((req, res) => {
    void (async () => {
      try {
        const refused = refuseNonLocal(req.headers);
        if (refused !== undefined) return send(res, 403, { ok: false, error: { code: "forbidden", message: `${refused}: the control endpoint answers local tools only` } });
        const url = new URL(req.url ?? "/", "http://localhost");
        const parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
        if (req.method === "GET" && parts.length === 1 && parts[0] === "ready") {
          return send(res, 200, { ok: true, result: fleet.ready(boundPort) });
        }
        if (req.method === "GET" && parts.length === 1 && parts[0] === "locks") {
          return send(res, 200, { ok: true, result: { name: fleet.property.name, locks: [...fleet.doors.values()].map(describeLock) } });
        }
        if (req.method === "GET" && parts.length === 2 && parts[0] === "locks") {
          const d = fleet.find(parts[1]!);
          return send(res, 200, { ok: true, result: { ...describeLock(d), label: lockLabel(d), events: recentEvents(d) } });
        }
        if (req.method === "POST" && parts.length === 3 && parts[0] === "locks") {
          const result: unknown = await applyAction(fleet, parts[1]!, parts[2]!, await readBody(req));
          return send(res, 200, { ok: true, result });
        }
        if (req.method === "POST" && parts.length === 1 && parts[0] === "save") {
          await fleet.saveNow();
          return send(res, 200, { ok: true, result: {} });
        }
        return send(res, 404, { ok: false, error: { code: "unknown_command", message: `no route ${req.method} ${url.pathname}` } });
      } catch (e) {
        if (isLockBridgeError(e)) {
          const status = e.code === "unknown_lock" ? 404 : 400;
          return send(res, status, { ok: false, error: { code: e.code, message: e.message, ...(e.path ? { path: e.path } : {}) } });
        }
        const status = (e as { status?: number }).status ?? (e instanceof RangeError ? 400 : 500);
        return send(res, status, { ok: false, error: { code: status === 500 ? "internal" : "invalid_payload", message: e instanceof Error ? e.message : String(e) } });
      }
    })();
  });
  const { port } = await listenOn(server, opts, "control server");
  boundPort = port;
  return {
    port,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
