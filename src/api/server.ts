/**
 * The local API's HTTP server: routing, guard (auth.ts), JSON in and out, SSE.
 *
 *   GET  /health                      ready/degraded with named problems (200 ready, 503 not)
 *   GET  /metrics                     Prometheus text
 *   GET  /api/status                  the one-screen summary (`lockbridge status`)
 *   GET  /api/locks[/:lockId]         locks grouped by bus / one lock
 *   GET  /api/doors[/:doorId]         doors with their lock's state
 *   GET  /api/keys[?search=&state=]   keys with states and reasons; /api/keys/:keyId
 *   GET  /api/keys?limit=N            at most N keys (the console's search)
 *   GET  /api/progress                provisioning progress, the snapshot arriving, firmware jobs
 *   GET  /api/firmware                firmware jobs from the store, each lock's state and progress (`lockbridge firmware status`)
 *   GET  /api/events                  SSE (Accept: text/event-stream; resumes from Last-Event-ID) or JSON (?since=seq, ?last=N);
 *                                     filters type, doorId, keyId, lockId, alerts=1 (event-routes.ts)
 *   GET  /api/installer-log           the installer actions taken lately (installer-log.ts)
 *   GET  /api/backups/:file           a store backup taken by the backup action: always needs the token, logged
 *   POST /api/actions/{commission,recommission,decommission,replace,diagnose,backup,scan,scan-ble,doctor,rotate-token,reveal-code}
 *                                     token + JSON body (action-routes.ts)
 *   GET  /console[/*.js|css]          the installer web console (console-route.ts)
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createReadStream, statSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { errorMessage } from "../shared/errors.js";
import type { Logger } from "../shared/logger.js";
import { InstallerActions } from "./actions.js";
import { ActionRoutes } from "./action-routes.js";
import { serveConsole } from "./console-route.js";
import { guard, type GuardPolicy } from "./auth.js";
import { EventFeed } from "./event-feed.js";
import { EventRoutes } from "./event-routes.js";
import { HttpError, notFound, sendJson } from "./http-util.js";
import { InstallerLog } from "./installer-log.js";
import { ProgressTracker } from "./progress-tracker.js";
import { firmwareJobViews } from "../firmware/view.js";
import { health } from "./health.js";
import type { HubView } from "./hub-view.js";
import { createMetrics, oldestPendingAgeS, type HubMetrics } from "./metrics.js";
import { bleLinkOf, doorViews, keyView, keyViews, locksByBus, lockView, progress } from "./read-models.js";
import type { HubStatusView } from "./schemas.js";
import { echo } from "../cloud/schemas.js";


export interface ApiServerOptions {
  hub: HubView;
  log: Logger;
  policy: GuardPolicy;
  /** Where installer actions are logged (one JSON line each); memory only when absent. */
  installerLogFile?: string;
  /** The installer token's file, rewritten by the rotate-token action. */
  tokenFile?: string;
}

export class ApiServer {
  readonly feed: EventFeed;
  readonly metrics: HubMetrics;
  private readonly actions: InstallerActions;
  private server: Server | undefined;
  readonly installerLog: InstallerLog;
  private readonly events: EventRoutes;
  private readonly tracker: ProgressTracker;
  private readonly actionRoutes: ActionRoutes;
  private detachMetrics: (() => void)[] = [];

  constructor(private readonly opts: ApiServerOptions) {
    this.feed = new EventFeed(opts.hub, opts.log);
    this.metrics = createMetrics(opts.hub);
    this.actions = new InstallerActions(opts.hub, opts.log);
    this.installerLog = new InstallerLog(opts.installerLogFile, opts.log);
    this.events = new EventRoutes(this.feed, this.installerLog);
    this.actionRoutes = new ActionRoutes({
      hub: opts.hub,
      log: opts.log,
      actions: this.actions,
      installerLog: this.installerLog,
      policy: opts.policy,
      tokenFile: opts.tokenFile,
      onTokenRotated: (token) => this.events.endStreams(token),
    });
    this.tracker = new ProgressTracker(opts.hub, (what) => this.events.broadcast(what));
  }

  /** Listens; resolves with the bound URL. Rejects with the listen error (EADDRINUSE...). */
  async listen(host: string, port: number): Promise<string> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.headersTimeout = 10_000;
    server.requestTimeout = 0; // SSE streams and long actions; idle sockets close via keepAliveTimeout
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host, port }, () => {
        server.off("error", reject);
        resolve();
      });
    });
    this.server = server;
    const addr = server.address() as AddressInfo;
    return `http://${addr.family === "IPv6" ? `[${addr.address}]` : addr.address}:${addr.port}`;
  }

  /** Starts the event tail and metrics feeds (once the cloud sync exists). */
  attach(): void {
    this.feed.start();
    this.tracker.start();
    this.detachMetrics.push(() => this.tracker.stop());
    this.detachMetrics.push(this.feed.subscribe((e) => this.metrics.eventAppended(e)));
    const cloud = this.opts.hub.cloud();
    if (cloud) this.detachMetrics.push(cloud.onCommandAnswered((a) => this.metrics.commandAnswered(a)));
  }

  async close(): Promise<void> {
    for (const d of this.detachMetrics) d();
    this.detachMetrics = [];
    this.feed.stop();
    this.events.endStreams();
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const url = new URL(req.url ?? "/", "http://local");
      const isAction = req.method === "POST";
      if (req.method !== "GET" && req.method !== "POST" && req.method !== "HEAD") throw new HttpError(405, "method_not_allowed", `${req.method ?? "?"} is not served`);
      const verdict = guard(req, this.opts.policy, isAction);
      // The console's static files hold no data: served to the LAN without the token (the page asks for it), Host/Origin still checked.
      if (!isAction && url.pathname.startsWith("/console") && (verdict.ok || verdict.code === "token_required") && serveConsole(url.pathname, res)) return;
      if (!verdict.ok) throw new HttpError(verdict.status, verdict.code, verdict.message);
      if (!isAction && url.pathname.startsWith("/api/backups/")) return this.download(url.pathname, verdict.authenticated, req, res);
      if (isAction) return await this.actionRoutes.handle(url.pathname, req, res);
      await this.read(url, req, res);
    } catch (e) {
      if (e instanceof HttpError) return sendJson(res, e.status, { error: { code: e.code, message: e.message } });
      this.opts.log.error({ err: errorMessage(e), url: req.url?.slice(0, 200) }, "local API request failed");
      if (!res.headersSent) sendJson(res, 500, { error: { code: "internal", message: errorMessage(e) } });
      else res.end();
    }
  }

  private async read(url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { hub } = this.opts;
    const path = url.pathname.replace(/\/+$/, "") || "/";
    if (path === "/health") {
      const h = health(hub);
      return sendJson(res, h.ready ? 200 : 503, h);
    }
    if (path === "/metrics") {
      const text = await this.metrics.registry.metrics();
      res.writeHead(200, { "content-type": this.metrics.registry.contentType, "cache-control": "no-store" });
      res.end(text);
      return;
    }
    if (path === "/api/events") return this.events.handle(url, req, res, bearer(req));
    if (path === "/api/installer-log") return sendJson(res, 200, { actions: this.installerLog.recent() });
    const store = hub.store();
    if (!store) throw new HttpError(503, "store_unavailable", "the store is not open (the hub is starting, stopping, or lost its data dir)");
    const statuses = hub.statuses();
    const [, , resource, id, extra] = path.split("/");
    if (extra !== undefined) throw notFound(path);
    const oneId = id === undefined ? undefined : decodeURIComponent(id);
    switch (resource) {
      case "status":
        return sendJson(res, 200, this.status());
      case "firmware":
        return sendJson(res, 200, { jobs: firmwareJobViews(store.firmwareJobs) });
      case "progress":
        return sendJson(res, 200, { ...progress(store, statuses), snapshot: this.tracker.snapshot(), firmware: firmwareJobViews(store.firmwareJobs, 5) });
      case "locks": {
        if (oneId === undefined) return sendJson(res, 200, { buses: locksByBus(store, statuses, hub.linkStats()) });
        const lock = store.locks.get(oneId.toLowerCase());
        if (!lock) throw new HttpError(404, "unknown_lock", `no lock ${echo(oneId)} on this hub`);
        return sendJson(res, 200, lockView(store, statuses, lock, bleLinkOf(hub.linkStats(), lock.lockId)));
      }
      case "doors": {
        const doors = doorViews(store, statuses);
        if (oneId === undefined) return sendJson(res, 200, { doors });
        const door = doors.find((d) => d.doorId === oneId);
        if (!door) throw new HttpError(404, "unknown_door", `no door ${echo(oneId)} on this hub`);
        return sendJson(res, 200, door);
      }
      case "keys": {
        if (oneId === undefined) {
          const search = url.searchParams.get("search") ?? undefined;
          const state = url.searchParams.get("state") ?? undefined;
          const limit = Number(url.searchParams.get("limit") ?? NaN);
          const filter = { search: search?.slice(0, 200), state: state?.slice(0, 32), ...(Number.isSafeInteger(limit) && limit > 0 && { limit }) };
          return sendJson(res, 200, { keys: keyViews(store, statuses, filter) });
        }
        const key = keyView(store, statuses, oneId);
        if (!key) throw new HttpError(404, "unknown_key", `no key ${echo(oneId)} on this hub`);
        return sendJson(res, 200, key);
      }
      default:
        throw notFound(path);
    }
  }

  /** A backup holds every secret of the property: only with the token, even from this machine, and logged. */
  private download(pathname: string, authenticated: boolean, req: IncomingMessage, res: ServerResponse): void {
    if (!authenticated) throw new HttpError(401, "token_required", "a store backup needs the installer token (Authorization: Bearer <token>)");
    const name = decodeURIComponent(pathname.slice("/api/backups/".length));
    if (!/^store-[0-9TZ-]+\.db$/.test(name)) throw notFound(pathname);
    const file = join(this.opts.hub.config.dataDir, "backups", name);
    let size: number;
    try {
      size = statSync(file).size;
    } catch {
      throw notFound(pathname);
    }
    this.installerLog.record({ action: "backup-download", target: name, outcome: "ok", detail: `${size} bytes`, from: req.socket.remoteAddress ?? "?" });
    res.writeHead(200, {
      "content-type": "application/vnd.sqlite3",
      "content-length": String(size),
      "content-disposition": `attachment; filename="lockbridge-${name}"`,
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
    });
    createReadStream(file).pipe(res);
  }

  /** The one-screen summary. */
  status(): HubStatusView {
    const { hub } = this.opts;
    const store = hub.store();
    if (!store) throw new HttpError(503, "store_unavailable", "the store is not open");
    const statuses = hub.statuses();
    const depth = store.outbox.depth();
    const cloud = hub.cloud();
    return {
      health: health(hub),
      cloud: { connected: cloud?.connected ?? false, broker: hub.config.mqtt.url === undefined ? "embedded (127.0.0.1)" : redactUrl(hub.config.mqtt.url) },
      outbox: { pending: depth.pending, total: depth.total, oldestPendingAgeS: oldestPendingAgeS(hub) },
      progress: progress(store, statuses),
      buses: locksByBus(store, statuses, hub.linkStats()),
      keysNeedingAttention: keyViews(store, statuses).filter((k) => k.state === "pending" || k.state === "failed").slice(0, 50),
    };
  }
}

function bearer(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  return auth?.startsWith("Bearer ") ? auth.slice(7).trim() : undefined;
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = "";
    u.password = "";
    return u.toString().replace(/\/$/, "");
  } catch {
    return "(unparsable URL)";
  }
}
