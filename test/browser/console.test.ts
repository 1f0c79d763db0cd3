/**
 * The installer console in a real headless chromium (Debian's, driven by playwright-core) against a
 * real hub (`lockbridge run`) and the simulated demo property (`lockbridge sim demo`), commissioned
 * with `lockbridge sim commission`: every lock listed with its state, a lock put offline in the
 * simulator turns offline on the page without a reload, a request without the token is refused,
 * and screenshots at phone and desktop sizes.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, parseJson, REPO_ROOT, runLockbridge, spawnLockbridge, type RunningProcess } from "../helpers/process.js";

const tmp = mkdtempSync(join(tmpdir(), "lb-console-"));
const shots = join(tmp, "screenshots");
const procs: RunningProcess[] = [];
let browser: Browser;
let apiUrl = "";
let token = "";
let control = 0;

beforeAll(async () => {
  mkdirSync(shots, { recursive: true });
  const sim = spawnLockbridge(["sim", "demo", "--ephemeral", "--state", join(tmp, "sim-state.json")], { cwd: tmp });
  procs.push(sim);
  const ready = parseJson(await sim.waitForLine((l) => l.startsWith("{\"ready\""), 30_000)) as { ready: unknown; controlPort: number; bleProxyPort: number };
  control = ready.controlPort;
  const dataDir = join(tmp, "hub");
  const hub = spawnLockbridge(["run"], {
    cwd: tmp,
    env: {
      LOCKBRIDGE_DATA_DIR: dataDir,
      LOCKBRIDGE_HUB_ID: "console-hub",
      LOCKBRIDGE_MQTT_EMBEDDED_PORT: String(await freePort()),
      LOCKBRIDGE_API_PORT: String(await freePort()),
      LOCKBRIDGE_BLE_PROXY: `127.0.0.1:${ready.bleProxyPort}`,
      LOCKBRIDGE_LOG_LEVEL: "info",
    },
  });
  procs.push(hub);
  const started = await hub.waitForLog("hub started", 30_000);
  const commissioned = await runLockbridge(["sim", "commission", "--control", String(control), "--mqtt", String(started.mqttUrl), "--hub-id", "console-hub"], { cwd: tmp });
  expect(commissioned.code, commissioned.stderr).toBe(0);
  apiUrl = (JSON.parse(readFileSync(join(dataDir, "api.json"), "utf8")) as { url: string }).url;
  token = readFileSync(join(dataDir, "installer-token"), "utf8").trim();
  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  for (const p of procs.splice(0).reverse()) {
    if (p.child.exitCode === null && p.child.signalCode === null) {
      p.kill("SIGKILL");
      await p.waitForExit();
    }
  }
  rmSync(tmp, { recursive: true, force: true });
});

describe("installer console", () => {
  it("serves the page with a strict Content-Security-Policy", async () => {
    const res = await fetch(`${apiUrl}/console`);
    expect(res.status).toBe(200);
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain("unsafe");
  });

  it("refuses an action without the token and a read with a wrong one", async () => {
    const noToken = await fetch(`${apiUrl}/api/actions/diagnose`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(noToken.status).toBe(401);
    const wrong = await fetch(`${apiUrl}/api/locks`, { headers: { authorization: `Bearer ${"x".repeat(43)}` } });
    expect(wrong.status).toBe(401);
  });

  it("lists every demo lock grouped by link, and a lock put offline turns offline without a reload", async () => {
    const api = (await (await fetch(`${apiUrl}/api/locks`, { headers: { authorization: `Bearer ${token}` } })).json()) as { buses: { bus: string; locks: { lockId: string; online: boolean }[] }[] };
    const lockIds = api.buses.flatMap((b) => b.locks.map((l) => l.lockId));
    expect(lockIds.length).toBe(16);

    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
    await page.goto(`${apiUrl}/console#token=${token}`);
    await page.locator("tr[data-lock-id]").first().waitFor();
    expect(await page.locator("tr[data-lock-id]").count()).toBe(16);
    expect(await page.locator("section.bus").count()).toBe(api.buses.length);
    for (const id of lockIds) expect(await page.locator(`tr[data-lock-id="${id}"] td.state`).textContent()).toMatch(/online|offline/);
    // The BLE suites' group says its links are open (one link per lock), not "not open".
    await expect.poll(async () => page.locator("section.bus h2, section.bus h3", { hasText: /^ble/ }).first().textContent(), { timeout: 30_000 }).toMatch(/^ble — link open/);
    // The token left the address bar once read.
    expect(page.url()).not.toContain(token);
    await page.screenshot({ path: join(shots, "property-desktop.png"), fullPage: true });

    const room = page.locator("tr[data-lock-id]", { hasText: "Room 101" }).first();
    await expect.poll(async () => room.locator("td.state").textContent(), { timeout: 30_000 }).toBe("online");
    await page.evaluate(() => { (globalThis as unknown as { marker: number }).marker = 42; });
    const fault = await runLockbridge(["sim", "fault", "room-101", "offline", "--control", String(control)], { cwd: tmp });
    expect(fault.code, fault.stderr).toBe(0);
    await expect.poll(async () => room.locator("td.state").textContent(), { timeout: 60_000, interval: 500 }).toMatch(/^offline/);
    // Same document: no reload happened.
    expect(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker)).toBe(42);
    await page.screenshot({ path: join(shots, "property-offline-desktop.png"), fullPage: true });

    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: join(shots, "property-phone.png") });
    expect(errors).toEqual([]);
    const docs = join(REPO_ROOT, "docs", "console");
    mkdirSync(docs, { recursive: true });
    for (const f of ["property-desktop.png", "property-phone.png"]) copyFileSync(join(shots, f), join(docs, f));
    await page.close();
  }, 120_000);
});
