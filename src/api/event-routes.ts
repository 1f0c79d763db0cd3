/**
 * `/api/events`: the hub's events as Server-Sent Events (resumable with Last-Event-ID or
 * ?since=SEQ) or as JSON (?since=SEQ, or ?last=N for the newest N that match), filtered by
 * type (or prefix), doorId, keyId, lockId, or alerts=1 (the hub's own alerts). The SSE stream
 * also carries installer actions as `event: installer` (no id: they are not the contract's
 * events and do not move the resume point).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { ALERT_TYPES } from "./alerts.js";
import type { EventFeed } from "./event-feed.js";
import { HttpError, sendJson } from "./http-util.js";
import type { InstallerEntry, InstallerLog } from "./installer-log.js";
import type { FeedEvent } from "./schemas.js";

const SSE_KEEPALIVE_MS = 15_000;
const MAX_SSE_CLIENTS = 32;
const MAX_LAST = 500;
/** How far back ?last=N looks. */
const LAST_WINDOW = 10_000;

export function eventFilter(url: URL): (e: FeedEvent) => boolean {
  const type = url.searchParams.get("type");
  const doorId = url.searchParams.get("doorId");
  const keyId = url.searchParams.get("keyId");
  const lockId = url.searchParams.get("lockId");
  const alerts = url.searchParams.get("alerts") === "1";
  return (e) =>
    (type === null || e.type === type || e.type.startsWith(`${type}.`)) &&
    (!alerts || ALERT_TYPES.has(e.type)) &&
    (doorId === null || e.doorId === doorId) &&
    (keyId === null || e.keyId === keyId) &&
    (lockId === null || e.lockId === lockId);
}

export class EventRoutes {
  private readonly streams = new Map<ServerResponse, { token: string; write: (text: string) => void; done: () => void }>();

  constructor(
    private readonly feed: EventFeed,
    private readonly installerLog: InstallerLog,
  ) {}

  /** Live streams open now. */
  get streamCount(): number {
    return this.streams.size;
  }

  handle(url: URL, req: IncomingMessage, res: ServerResponse, token: string | undefined): void {
    const matches = eventFilter(url);
    const accept = req.headers.accept ?? "";
    if (!accept.includes("text/event-stream")) return sendJson(res, 200, { events: this.json(url, matches) });
    if (this.streams.size >= MAX_SSE_CLIENTS) throw new HttpError(503, "too_many_streams", `at most ${MAX_SSE_CLIENTS} live event streams at once`);
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store", connection: "keep-alive", "x-accel-buffering": "no" });
    // A stream ended by the hub (token rotated, shutdown) may still be told of an event before its
    // close event runs: nothing is written after the end.
    const write = (text: string) => {
      if (!res.writableEnded && !res.destroyed) res.write(text);
    };
    write(": lockbridge events\n\n");
    const send = (e: FeedEvent) => {
      if (matches(e)) write(`id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
    };
    const sendInstaller = (e: InstallerEntry) => write(`event: installer\ndata: ${JSON.stringify(e)}\n\n`);
    const lastId = Number(req.headers["last-event-id"] ?? url.searchParams.get("since") ?? NaN);
    if (Number.isSafeInteger(lastId)) for (const e of this.feed.since(lastId + 1)) send(e);
    const unsubscribe = this.feed.subscribe(send);
    const unsubscribeInstaller = this.installerLog.subscribe(sendInstaller);
    const keepalive = setInterval(() => write(": keepalive\n\n"), SSE_KEEPALIVE_MS);
    const done = () => {
      clearInterval(keepalive);
      unsubscribe();
      unsubscribeInstaller();
      this.streams.delete(res);
    };
    this.streams.set(res, { token: token ?? "", write, done });
    res.on("close", done);
  }

  private json(url: URL, matches: (e: FeedEvent) => boolean): FeedEvent[] {
    const lastParam = url.searchParams.get("last");
    if (lastParam !== null) {
      const last = Number(lastParam);
      if (!Number.isSafeInteger(last) || last < 1 || last > MAX_LAST) throw new HttpError(400, "invalid_query", `last: expected 1..${MAX_LAST}`);
      const out: FeedEvent[] = [];
      const newest = this.feed.newestSeq;
      for (let from = Math.max(0, newest - LAST_WINDOW + 1); from <= newest; ) {
        const batch = this.feed.since(from);
        if (batch.length === 0) break;
        for (const e of batch) if (matches(e)) out.push(e);
        if (out.length > last) out.splice(0, out.length - last);
        from = batch[batch.length - 1]!.seq + 1;
      }
      return out;
    }
    const since = Number(url.searchParams.get("since") ?? this.feed.newestSeq - 49);
    if (!Number.isSafeInteger(since)) throw new HttpError(400, "invalid_query", "since: expected an event seq (integer)");
    return this.feed.since(since).filter(matches);
  }

  /** Tells every live stream something changed that no event says (`event: hub`, no id). */
  broadcast(what: string): void {
    for (const s of this.streams.values()) s.write(`event: hub\ndata: ${JSON.stringify({ changed: what })}\n\n`);
  }

  /** Ends the streams opened with another token than `token` (after a rotation), or all. */
  endStreams(keepToken?: string): void {
    for (const [res, s] of [...this.streams]) {
      if (keepToken !== undefined && s.token === keepToken) continue;
      s.done();
      res.end();
    }
  }
}
