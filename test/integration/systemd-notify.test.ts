/**
 * Type=notify against a real notify socket: socat receives the hub's datagrams on a unix
 * socket the test creates, as systemd's would. READY=1 after start, WATCHDOG=1 pings at
 * half WATCHDOG_USEC from the event loop, STOPPING=1 on SIGTERM.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { spawnLockbridge } from "../helpers/process.js";

const cleanup: (() => void)[] = [];
afterEach(() => {
  while (cleanup.length) cleanup.pop()!();
});

async function notifySocket(dir: string): Promise<{ path: string; received: () => string }> {
  const path = join(dir, "notify");
  // One datagram per read; each ends with a newline on our side so the messages stay apart.
  const socat = spawn("socat", ["-u", `UNIX-RECV:${path}`, "SYSTEM:'cat; echo'"], { stdio: ["ignore", "pipe", "pipe"] });
  let text = "";
  socat.stdout.on("data", (d: Buffer) => (text += d.toString()));
  cleanup.push(() => socat.kill("SIGKILL"));
  const deadline = Date.now() + 5000;
  const { existsSync } = await import("node:fs");
  while (!existsSync(path)) {
    if (Date.now() > deadline) throw new Error("socat did not create the notify socket");
    await new Promise((r) => setTimeout(r, 20));
  }
  return { path, received: () => text };
}

async function until(test: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe("systemd notify", () => {
  it("sends READY=1 once started, watchdog pings from the event loop, STOPPING=1 on SIGTERM", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lb-notify-"));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const socket = await notifySocket(dir);
    const hub = spawnLockbridge(["run"], {
      env: { LOCKBRIDGE_DATA_DIR: join(dir, "data"), LOCKBRIDGE_MQTT_EMBEDDED_PORT: "0", LOCKBRIDGE_BLE_ENABLED: "false", NOTIFY_SOCKET: socket.path, WATCHDOG_USEC: "200000" },
    });
    cleanup.push(() => hub.kill("SIGKILL"));
    await until(() => socket.received().includes("READY=1"), "READY=1");
    expect(socket.received()).toMatch(/READY=1\nSTATUS=hub [^\n]+ started\nMAINPID=\d+/);
    // Readiness means the services are up: the hub logs "hub started" (asynchronously, through
    // pino's buffered stream, so the line may reach us just after the datagram).
    await until(() => hub.stdout.some((l) => l.includes('"hub started"')), '"hub started" logged', 5000);
    await until(() => (socket.received().match(/WATCHDOG=1/g) ?? []).length >= 3, "three watchdog pings");
    hub.kill("SIGTERM");
    await until(() => socket.received().includes("STOPPING=1"), "STOPPING=1");
    expect((await hub.waitForExit()).code).toBe(0);
  }, 40_000);

  it("sends nothing and runs as before without NOTIFY_SOCKET", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lb-notify-"));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const socket = await notifySocket(dir);
    const hub = spawnLockbridge(["run"], { env: { LOCKBRIDGE_DATA_DIR: join(dir, "data"), LOCKBRIDGE_MQTT_EMBEDDED_PORT: "0", LOCKBRIDGE_BLE_ENABLED: "false" } });
    cleanup.push(() => hub.kill("SIGKILL"));
    await hub.waitForLog("hub started");
    hub.kill("SIGTERM");
    expect((await hub.waitForExit()).code).toBe(0);
    expect(socket.received()).toBe("");
  }, 40_000);
});
