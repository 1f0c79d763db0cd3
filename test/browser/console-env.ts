/**
 * The environment of the console's browser tests: the simulated demo property (`lockbridge sim
 * demo`), a real hub (`lockbridge run`, embedded broker, BLE through the simulator's proxy)
 * commissioned with `lockbridge sim commission`, a cloud client on the hub's broker (to send
 * keys as the cloud does), and Debian's chromium driven by playwright-core.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { expect } from "vitest";
import { CloudClient } from "../../src/cloud/ctl-client.js";
import { freePort, parseJson, REPO_ROOT, runLockbridge, spawnLockbridge, type RunningProcess } from "../helpers/process.js";

export interface ConsoleEnv {
  tmp: string;
  apiUrl: string;
  dataDir: string;
  mqttUrl: string;
  control: number;
  browser: Browser;
  /** The installer token now (the file: a test may rotate it). */
  token(): string;
  /** `lockbridge sim ...` against the running property. */
  sim(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }>;
  /** A page on the console, signed in with the token, with its errors collected. */
  open(hash: string, viewport?: { width: number; height: number }): Promise<{ page: Page; errors: string[] }>;
  cloud(): Promise<CloudClient>;
  /** Saves a screenshot in the run's directory and in docs/console/. */
  shot(page: Page, name: string, fullPage?: boolean): Promise<void>;
  close(): Promise<void>;
}

export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1440, height: 900 };

export async function startConsoleEnv(name: string): Promise<ConsoleEnv> {
  const tmp = mkdtempSync(join(tmpdir(), `lb-${name}-`));
  const procs: RunningProcess[] = [];
  const sim = spawnLockbridge(["sim", "demo", "--ephemeral", "--state", join(tmp, "sim-state.json")], { cwd: tmp });
  procs.push(sim);
  const ready = parseJson(await sim.waitForLine((l) => l.startsWith("{\"ready\""), 30_000)) as { controlPort: number; bleProxyPort: number };
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
      LOCKBRIDGE_FIRMWARE_ALLOW_HTTP: "true", // the firmware test serves its image over http on loopback
    },
  });
  procs.push(hub);
  const started = await hub.waitForLog("hub started", 30_000);
  const mqttUrl = String(started.mqttUrl);
  const control = ready.controlPort;
  const commissioned = await runLockbridge(["sim", "commission", "--control", String(control), "--mqtt", mqttUrl, "--hub-id", "console-hub"], { cwd: tmp });
  expect(commissioned.code, commissioned.stderr).toBe(0);
  const apiUrl = (JSON.parse(readFileSync(join(dataDir, "api.json"), "utf8")) as { url: string }).url;
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
  const clients: CloudClient[] = [];
  const shots = join(tmp, "screenshots");
  mkdirSync(shots, { recursive: true });
  const token = () => readFileSync(join(dataDir, "installer-token"), "utf8").trim();
  return {
    tmp,
    apiUrl,
    dataDir,
    mqttUrl,
    control,
    browser,
    token,
    sim: (args) => runLockbridge(["sim", ...args, "--control", String(control)], { cwd: tmp }),
    async open(hash, viewport = DESKTOP) {
      const page = await browser.newPage({ viewport });
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      page.on("console", (m) => {
        if (m.type() === "error") errors.push(m.text());
      });
      await page.goto(`${apiUrl}/console#token=${token()}`);
      await page.locator("nav a").first().waitFor();
      await page.goto(`${apiUrl}/console#${hash}`);
      await page.locator(`#${hash}`).waitFor();
      await expect.poll(() => page.locator("#live").textContent(), { timeout: 20_000 }).toBe("live");
      return { page, errors };
    },
    async cloud() {
      const c = await CloudClient.connect({ url: mqttUrl, hubId: "console-hub" });
      clients.push(c);
      return c;
    },
    async shot(page, file, fullPage = false) {
      await page.screenshot({ path: join(shots, `${file}.png`), fullPage });
      const docs = join(REPO_ROOT, "docs", "console");
      mkdirSync(docs, { recursive: true });
      copyFileSync(join(shots, `${file}.png`), join(docs, `${file}.png`));
    },
    async close() {
      for (const c of clients.splice(0)) await c.close().catch(() => undefined);
      await browser.close().catch(() => undefined);
      for (const p of procs.splice(0).reverse()) {
        if (p.child.exitCode === null && p.child.signalCode === null) {
          p.kill("SIGKILL");
          await p.waitForExit();
        }
      }
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}

/** A manual key on `doorIds` valid from today for three days (the site's dates). */
export function manualKey(keyId: string, doorIds: string[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
  return {
    cmd: "key.upsert",
    keyId,
    version: 1,
    source: "manual",
    doors: doorIds.map((doorId) => ({ doorId, accessPeriod: { from: day(-1), to: day(3) }, arrivalTime: "00:00", departureTime: "23:59", allowProvisioning: true, allowLinkedDoorsAccess: true })),
    doorCode: { enabled: true, assignment: "random" },
    keycard: { enabled: false },
    smartKey: { enabled: false },
    ...extra,
  };
}
