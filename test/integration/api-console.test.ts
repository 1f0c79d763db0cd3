/**
 * The local API's parts the web console relies on, against a real hub in process and simulated
 * locks (no browser): the installer action log, the event feed's last=N and alerts=1, a backup's
 * download (token only, no path out of the backups folder), token rotation ending the old token's
 * streams, reveal-code refusals, the scan action's input checks, and no code in the read models.
 */
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { actionResponseSchema } from "../../src/api/schemas.js";
import { startApiHub, type ApiHub } from "../helpers/api-hub.js";
import { runLockbridge } from "../helpers/process.js";

let h: ApiHub;
let token = "";
beforeAll(async () => {
  h = await startApiHub();
  token = h.token;
  await h.configureSite();
}, 30_000);
afterAll(async () => h?.close());

const auth = () => ({ authorization: `Bearer ${token}` });
const post = async (name: string, body: unknown) =>
  actionResponseSchema.parse(await (await fetch(`${h.url}/api/actions/${name}`, { method: "POST", headers: { ...auth(), "content-type": "application/json" }, body: JSON.stringify(body) })).json());
/** The setup key on a simulated lock's label, for models that pair with PAIR_KX (none when the simulator has no such field). */
const setupKeyOf = (lockId: string): { setupKey?: string } => {
  const key = (h.fleet.find(lockId).lock as { setupKey?: string | null }).setupKey;
  return typeof key === "string" ? { setupKey: key } : {};
};
const link = (address: number) => {
  const bus = h.fleet.ready(null).tcpBuses[0]!;
  return { type: "tcp", host: bus.host, port: bus.port, address };
};

describe("local API for the console", () => {
  it("logs each action when it starts and when it ends, with the refusal's code", async () => {
    const ok = await post("commission", { lockId: "4c4200000000a101", profile: "rs485-mortise", link: link(1), ...setupKeyOf("4c4200000000a101") });
    expect(ok.ok).toBe(true);
    const refused = await post("decommission", { lockId: "4c42000000000999" });
    expect(refused.ok).toBe(false);
    const { actions } = (await (await fetch(`${h.url}/api/installer-log`, { headers: auth() })).json()) as { actions: { action: string; target?: string; outcome: string; detail?: string; from: string }[] };
    expect(actions.map((a) => `${a.action} ${a.target} ${a.outcome}`)).toEqual([
      "commission 4c4200000000a101 started",
      "commission 4c4200000000a101 ok",
      "decommission 4c42000000000999 started",
      "decommission 4c42000000000999 refused",
    ]);
    expect(actions[3]!.detail).toMatch(/^unknown_lock: /);
    expect(actions[0]!.from).toMatch(/127\.0\.0\.1/);
    const file = readFileSync(join(h.config.dataDir, "installer-actions.jsonl"), "utf8").trim().split("\n");
    expect(file).toHaveLength(4);
    // diagnose is a read: not logged.
    await post("diagnose", { doorId: "room-101" });
    expect(readFileSync(join(h.config.dataDir, "installer-actions.jsonl"), "utf8").trim().split("\n")).toHaveLength(4);
  });

  it("answers the newest N events that match, and the hub's alerts alone", async () => {
    for (let i = 0; i < 30; i++) h.hub.cloud.events.emit({ type: "door.opened", doorId: i % 2 === 0 ? "room-101" : "room-102", lockId: "4c4200000000a101" });
    h.hub.cloud.events.emit({ type: "lock.tamper", doorId: "room-102", lockId: "4c4200000000a102" });
    await new Promise((r) => setTimeout(r, 50));
    const get = async (q: string) => ((await (await fetch(`${h.url}/api/events?${q}`, { headers: auth() })).json()) as { events: { seq: number; type: string; doorId?: string }[] }).events;
    const last = await get("last=5&doorId=room-101");
    expect(last).toHaveLength(5);
    expect(last.every((e) => e.doorId === "room-101")).toBe(true);
    expect(last.map((e) => e.seq)).toEqual([...last.map((e) => e.seq)].sort((a, b) => a - b));
    const newest = await get("last=1");
    expect(newest[0]!.type).toBe("lock.tamper");
    expect(last.at(-1)!.seq).toBeLessThan(newest[0]!.seq);
    const alerts = await get("last=50&alerts=1");
    expect(alerts.map((e) => e.type)).toContain("lock.tamper");
    expect(alerts.some((e) => e.type === "door.opened")).toBe(false);
    expect((await fetch(`${h.url}/api/events?last=0`, { headers: auth() })).status).toBe(400);
  });

  it("serves a backup only with the token and only from the backups folder", async () => {
    const backup = await post("backup", {});
    expect(backup.ok).toBe(true);
    const download = String((backup as unknown as { result: { download: string } }).result.download);
    expect(download).toMatch(/^\/api\/backups\/store-[0-9TZ-]+\.db$/);
    expect((await fetch(`${h.url}${download}`)).status).toBe(401);
    const res = await fetch(`${h.url}${download}`, { headers: auth() });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-disposition")).toMatch(/^attachment; filename="lockbridge-store-/);
    expect(Buffer.from(await res.arrayBuffer()).subarray(0, 15).toString("latin1")).toBe("SQLite format 3");
    for (const bad of ["..%2Fstore.db", "..%2F..%2Finstaller-token", "store.db", "%2Fetc%2Fpasswd"]) {
      expect((await fetch(`${h.url}/api/backups/${bad}`, { headers: auth() })).status, bad).toBe(404);
    }
  });

  it("keeps codes out of the read models; reveal-code gives one, refuses what has none", async () => {
    const key = await h.hub.cloud.runLocal({
      id: "k-c", ts: new Date().toISOString(), cmd: "key.upsert", keyId: "k-code", version: 1, source: "manual",
      doors: [{ doorId: "room-101", accessPeriod: { from: "2020-01-01", to: "2099-01-01" }, arrivalTime: "00:00", departureTime: "23:59", allowProvisioning: true, allowLinkedDoorsAccess: true }],
      doorCode: { enabled: true, assignment: "strict", code: "604182" }, keycard: { enabled: false }, smartKey: { enabled: false },
    });
    expect(key.ok).toBe(true);
    for (const path of ["/api/keys", "/api/keys/k-code", "/api/status", "/api/progress", "/api/locks", "/api/events?last=100"]) {
      expect(await (await fetch(`${h.url}${path}`, { headers: auth() })).text(), path).not.toContain("604182");
    }
    const revealed = await post("reveal-code", { keyId: "k-code" });
    expect(revealed).toMatchObject({ ok: true, result: { keyId: "k-code", code: "604182" } });
    expect(await post("reveal-code", { keyId: "k-none" })).toMatchObject({ ok: false, error: { code: "unknown_key" } });
    expect(readFileSync(join(h.config.dataDir, "installer-actions.jsonl"), "utf8")).not.toContain("604182");
  });

  it("checks a scan's input before opening anything", async () => {
    const badRange = await post("scan", { link: { type: "tcp", host: "127.0.0.1", port: link(1).port }, addresses: "300-400" });
    expect(badRange).toMatchObject({ ok: false, error: { code: "invalid_payload" } });
    const serialWithoutProfile = await post("scan", { link: { type: "serial", path: "/dev/ttyUSB9" } });
    expect(serialWithoutProfile).toMatchObject({ ok: false, error: { code: "invalid_payload", message: expect.stringContaining("profile") } });
    const scanned = await post("scan", { link: { type: "tcp", host: "127.0.0.1", port: link(1).port }, addresses: "1-3", timeoutMs: 100 });
    // The hub's lock at address 1 is skipped; room 102's lock (address 2) answers.
    expect(scanned).toMatchObject({ ok: true, result: { skipped: [1], probed: 2, found: [{ address: 2, lockId: "4c4200000000a102" }] } });
    // A BLE scan: 1..30 s; on a hub without BLE, refused in words (the browser test scans through the demo's BLE proxy).
    const tooLong = await h.post("/api/actions/scan-ble", { seconds: 99 });
    expect(tooLong.status).toBe(400);
    expect(await tooLong.json()).toMatchObject({ error: { code: "invalid_payload", message: expect.stringContaining("seconds") } });
    expect(await post("scan-ble", { seconds: 1 })).toMatchObject({ ok: false, error: { code: "ble_unavailable", message: expect.stringContaining("BLE is not configured") } });
  });

  it("rotates the token: the old one is refused at once and its event streams end", async () => {
    const stream = await fetch(`${h.url}/api/events`, { headers: { ...auth(), accept: "text/event-stream" } });
    const reader = stream.body!.getReader();
    await reader.read(); // the stream's opening comment
    const rotated = await post("rotate-token", {});
    expect(rotated.ok).toBe(true);
    const fresh = String((rotated as unknown as { result: { token: string } }).result.token);
    expect(readFileSync(join(h.config.dataDir, "installer-token"), "utf8").trim()).toBe(fresh);
    const old = token;
    // The stream opened with the old token ends.
    for (;;) if ((await reader.read()).done) break;
    expect((await fetch(`${h.url}/api/progress`, { headers: { authorization: `Bearer ${old}` } })).status).toBe(401);
    token = fresh;
    expect((await fetch(`${h.url}/api/progress`, { headers: auth() })).status).toBe(200);
    expect((await post("diagnose", { doorId: "room-101" })).ok).toBe(true);
  });

  it("lockbridge api token: prints it (or the console's address), rotates it through the running hub", async () => {
    const env = { env: { LOCKBRIDGE_DATA_DIR: h.config.dataDir } };
    const url = await runLockbridge(["api", "token", "--url"], env);
    expect(url.code, url.stderr).toBe(0);
    expect(url.stdout.trim()).toBe(`${h.url}/console#token=${token}`);
    const rotated = await runLockbridge(["api", "token", "--rotate"], env);
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(rotated.stderr).toContain("the old one no longer works");
    const fresh = rotated.stdout.trim();
    expect(fresh).not.toBe(token);
    expect((await fetch(`${h.url}/api/progress`, { headers: auth() })).status).toBe(401);
    token = fresh;
    expect((await fetch(`${h.url}/api/progress`, { headers: auth() })).status).toBe(200);
  });

  it("progress: a firmware job with each lock's step from the store, a snapshot's pages as they arrive, then applied", async () => {
    const image = randomBytes(2048);
    const server = createServer((_q, r) => r.end(image)).listen(0, "127.0.0.1");
    await new Promise((r) => server.once("listening", r));
    try {
      const run = (cmd: Record<string, unknown>) => h.hub.cloud.runLocal({ id: `p-${Math.random()}`, ts: new Date().toISOString(), ...cmd });
      const fw = await run({ cmd: "firmware.update", jobId: "fw-9", lockIds: ["4c4200000000a101"], version: "1.4.0", url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/fw.bin`, sha256: createHash("sha256").update(image).digest("hex"), size: image.length });
      expect(fw.ok, JSON.stringify(fw)).toBe(true);
      type P = { firmware: { jobId: string; version: string; endedAt: string | null; locks: { lockId: string; state: string; percent: number }[] }[]; snapshot: { receiving: { received: number; pages: number } | null; lastApplied: { ok: boolean } | null } };
      const progress = async () => (await (await fetch(`${h.url}/api/progress`, { headers: auth() })).json()) as P;
      await expect.poll(async () => (await progress()).firmware.find((j) => j.jobId === "fw-9")?.locks, { timeout: 30_000 }).toEqual([expect.objectContaining({ lockId: "4c4200000000a101", state: "applied", percent: 100 })]);
      expect((await progress()).firmware[0]).toMatchObject({ jobId: "fw-9", version: "1.4.0", endedAt: expect.any(String) });

      const site = { siteId: "api-inn", timezone: "Europe/Prague", credentialTypes: { doorCode: true, keycard: true, smartKey: true } };
      const doors = h.fleet.ready(null).doors.map((d) => ({ doorId: d.doorId, name: d.name, lockId: d.lockId, kind: d.kind, linkedDoorIds: d.linkedDoorIds, protectConfiguration: false }));
      expect((await run({ cmd: "sync.snapshot", snapshotId: "s-1", page: 1, pages: 2, site, doors, keys: [], keycards: [] })).ok).toBe(true);
      expect((await progress()).snapshot).toEqual({ receiving: expect.objectContaining({ snapshotId: "s-1", received: 1, pages: 2 }), lastApplied: null });
      expect((await run({ cmd: "sync.snapshot", snapshotId: "s-1", page: 2, pages: 2, doors: [], keys: [], keycards: [] })).ok).toBe(true);
      expect((await progress()).snapshot).toEqual({ receiving: null, lastApplied: expect.objectContaining({ ok: true }) });
    } finally {
      server.close();
    }
  }, 60_000);
});
