/**
 * The compiled hub serves the console: `npm run build` (tsc, then the console's plain files
 * copied into dist/src/api/console, where the compiled route looks for them), then the hub run as
 * the systemd unit runs it (LOCKBRIDGE_RUNTIME=dist) answers /console and its modules with the
 * checkout's bytes under the console's CSP.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { freePort, REPO_ROOT, spawnLockbridge, type RunningProcess } from "../helpers/process.js";

const SRC = join(REPO_ROOT, "src", "api", "console");
const DIST = join(REPO_ROOT, "dist", "src", "api", "console");
const tmp = mkdtempSync(join(tmpdir(), "lb-build-console-"));
let hub: RunningProcess | undefined;

afterAll(async () => {
  if (hub && hub.child.exitCode === null && hub.child.signalCode === null) {
    hub.kill("SIGTERM");
    await hub.waitForExit();
  }
  rmSync(tmp, { recursive: true, force: true });
});

describe("npm run build and the console", () => {
  it("copies every console file into dist/src/api/console, and the compiled hub serves them", async () => {
    await promisify(execFile)("npm", ["run", "build"], { cwd: REPO_ROOT, timeout: 280_000, maxBuffer: 16 * 1024 * 1024 });
    const files = readdirSync(SRC).sort();
    expect(files).toContain("index.html");
    expect(readdirSync(DIST).sort()).toEqual(files);
    for (const f of files) expect(readFileSync(join(DIST, f)).equals(readFileSync(join(SRC, f))), f).toBe(true);

    hub = spawnLockbridge(["run"], {
      cwd: tmp,
      env: {
        LOCKBRIDGE_RUNTIME: "dist",
        LOCKBRIDGE_DATA_DIR: join(tmp, "data"),
        LOCKBRIDGE_HUB_ID: "build-hub",
        LOCKBRIDGE_MQTT_EMBEDDED_PORT: String(await freePort()),
        LOCKBRIDGE_API_PORT: String(await freePort()),
        LOCKBRIDGE_BLE_ENABLED: "false",
      },
    });
    await hub.waitForLog("hub started", 30_000);
    const url = (JSON.parse(readFileSync(join(tmp, "data", "api.json"), "utf8")) as { url: string }).url;
    const page = await fetch(`${url}/console`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(await page.text()).toBe(readFileSync(join(SRC, "index.html"), "utf8"));
    for (const f of files.filter((x) => x !== "index.html")) {
      const res = await fetch(`${url}/console/${f}`);
      expect(res.status, f).toBe(200);
      expect(await res.text(), f).toBe(readFileSync(join(SRC, f), "utf8"));
    }
  }, 300_000);
});
