/**
 * Installer actions from the console in a real headless chromium against a real hub and the
 * simulated demo property: a lock decommissioned, found again by a bus scan and commissioned end
 * to end (each step confirmed, logged, the row back online without a reload); a BLE lock found
 * by a BLE scan (with its signal and IDENT) and commissioned with its setup key; doctor; a store
 * backup downloaded; requests without the token, from another site or another host name refused;
 * the token rotated from the page so the old one stops working.
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { manualKey, PHONE, startConsoleEnv, type ConsoleEnv } from "./console-env.js";

let env: ConsoleEnv;
const LOCK = "4c42000000000112";

beforeAll(async () => {
  env = await startConsoleEnv("console-actions");
}, 150_000);

afterAll(async () => {
  await env?.close();
});

interface LogEntry { action: string; target?: string; outcome: string }
function installerLog(): LogEntry[] {
  return readFileSync(`${env.dataDir}/installer-actions.jsonl`, "utf8").trim().split("\n").map((l) => JSON.parse(l) as LogEntry);
}

describe("installer actions in the console", () => {
  it("refuses requests without the token, from another site, and for a host name it does not know", async () => {
    const post = (headers: Record<string, string>) => fetch(`${env.apiUrl}/api/actions/doctor`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: "{}" });
    expect((await post({})).status).toBe(401);
    expect((await post({ authorization: `Bearer ${"x".repeat(43)}` })).status).toBe(401);
    const auth = { authorization: `Bearer ${env.token()}` };
    // CSRF: a page of another site (Origin, or fetch metadata) is refused even with the token.
    expect((await post({ ...auth, origin: "http://evil.example" })).status).toBe(403);
    expect((await post({ ...auth, "sec-fetch-site": "cross-site" })).status).toBe(403);
    // A form post cannot send JSON: text/plain is refused.
    const form = await fetch(`${env.apiUrl}/api/actions/doctor`, { method: "POST", headers: { ...auth, "content-type": "text/plain" }, body: "{}" });
    expect(form.status).toBe(403);
    // DNS rebinding: the attacker's name in Host.
    const http = await import("node:http");
    const status = await new Promise<number>((resolve, reject) => {
      const u = new URL(env.apiUrl);
      http.get({ host: u.hostname, port: u.port, path: "/api/locks", headers: { host: `rebind.example:${u.port}` } }, (res) => { res.resume(); resolve(res.statusCode ?? 0); }).on("error", reject);
    });
    expect(status).toBe(421);
    // A backup holds every secret: even from this machine, only with the token.
    expect((await fetch(`${env.apiUrl}/api/backups/store-2026-01-01T00-00-00-000Z.db`)).status).toBe(401);
    // The console page itself asks for the token when it has none.
    const page = await env.browser.newPage();
    await page.goto(`${env.apiUrl}/console`);
    await page.locator("#login").waitFor();
    await page.getByRole("textbox", { name: "Installer token" }).fill("not-the-token-not-the-token-not-the-token!!");
    await page.getByRole("button", { name: "Open" }).click();
    await expect.poll(() => page.locator("#login-error").textContent(), { timeout: 15_000 }).toContain("refused");
    expect(await page.locator("tr[data-lock-id]").count()).toBe(0);
    await page.close();
  });

  it("decommissions a lock, finds it with a bus scan and commissions it end to end, each step confirmed and logged", async () => {
    const { page, errors } = await env.open("property");
    const row = page.locator(`tr[data-lock-id="${LOCK}"]`);
    await expect.poll(() => row.locator("td.state").textContent(), { timeout: 30_000 }).toBe("online");
    await page.evaluate(() => { (globalThis as unknown as { marker: number }).marker = 7; });

    // Decommission from the lock's row: menu, then a confirmation naming the lock.
    await row.getByRole("button", { name: /Actions for Room 112/ }).click();
    await page.getByRole("button", { name: "Decommission…" }).click();
    await expect.poll(() => page.locator("#dlg-title").textContent(), { timeout: 15_000 }).toBe("Decommission Room 112");
    await page.getByRole("button", { name: "Cancel" }).click(); // cancelled: nothing happens
    expect(await row.count()).toBe(1);
    await row.getByRole("button", { name: /Actions for Room 112/ }).click();
    await page.getByRole("button", { name: "Decommission…" }).click();
    await page.locator("#dlg-ok").click();
    await expect.poll(() => page.locator("#dlg-steps").textContent(), { timeout: 30_000 }).toContain("Done.");
    await page.getByRole("button", { name: "Close" }).click();
    await expect.poll(() => row.count(), { timeout: 30_000 }).toBe(0);

    // Scan the rooms' bus: the lock answers at address 12 (the hub's other locks are skipped).
    await page.locator("nav").getByRole("link", { name: "Actions" }).click();
    const { buses } = (await (await fetch(`${env.apiUrl}/api/locks`)).json()) as { buses: { bus: string; locks: { lockId: string }[] }[] };
    const bus = buses.find((b) => b.locks.some((l) => l.lockId === "4c42000000000101"))!.bus;
    expect(bus).toMatch(/^tcp 127\.0\.0\.1:\d+$/);
    expect(await page.locator("#scan-bus").inputValue()).toBe(bus); // the busiest bus is offered first
    await page.getByLabel("Addresses").fill("1-16");
    await page.getByRole("button", { name: "Scan…" }).click();
    await page.locator("#dlg-ok").click();
    await expect.poll(() => page.locator("#dlg-steps").textContent(), { timeout: 30_000 }).toContain("1 lock(s) answered.");
    expect(await page.locator("#dlg-steps").textContent()).toContain("skipping addresses 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11");
    await page.getByRole("button", { name: "Close" }).click();
    const found = page.locator(`#scan-result li[data-lock-id="${LOCK}"]`);
    expect(await found.textContent()).toContain("Address 12");

    // The installer presses the lock's pairing button (it still holds the old key), types the
    // setup key from its label (rs485-mortise pairs with PAIR_KX), then commissions it.
    const button = await env.sim(["pair-button", "room-112"]);
    expect(button.code, button.stderr).toBe(0);
    const shown = await env.sim(["show", "room-112"]);
    const label = (JSON.parse(shown.stdout) as { label: { setupKey: string } }).label.setupKey;
    await found.getByRole("button", { name: "Commission…" }).click();
    await expect.poll(() => page.getByLabel("Device profile").inputValue(), { timeout: 15_000 }).toBe("rs485-mortise");
    await page.getByLabel("Setup key (32 hex digits, from the lock's label)").fill(label);
    await env.shot(page, "actions-commission-desktop");
    await page.locator("#dlg-ok").click();
    await expect.poll(() => page.locator("#dlg-steps").textContent(), { timeout: 60_000 }).toContain(`Lock ${LOCK} is in service`);
    expect(await page.locator("#dlg-steps").textContent()).toContain("IDENT, pairing, clock");
    await page.getByRole("button", { name: "Close" }).click();

    // Back on its door, online, in the same document.
    await page.locator("nav").getByRole("link", { name: "Property" }).click();
    await expect.poll(() => page.locator(`tr[data-lock-id="${LOCK}"] td.state`).textContent(), { timeout: 60_000 }).toBe("online");
    expect(await page.locator(`tr[data-lock-id="${LOCK}"] td`).first().textContent()).toBe("Room 112");
    expect(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker)).toBe(7);
    const api = (await (await fetch(`${env.apiUrl}/api/locks/${LOCK}`)).json()) as { state: string; online: boolean };
    expect(api).toMatchObject({ state: "commissioned", online: true });

    // Logged: on the hub, in the page's log and on the Events page.
    const log = installerLog().map((e) => `${e.action} ${e.target ?? ""} ${e.outcome}`.replace(/\s+/g, " "));
    expect(log).toEqual(expect.arrayContaining([`decommission ${LOCK} started`, `decommission ${LOCK} ok`, `scan ${bus} ok`, `commission ${LOCK} ok`]));
    await page.locator("nav").getByRole("link", { name: "Events" }).click();
    await page.getByLabel("Type").selectOption("installer");
    await expect.poll(() => page.locator("#feed li[data-type='installer.action']", { hasText: `commission ${LOCK}: ok` }).count(), { timeout: 15_000 }).toBeGreaterThan(0);
    expect(errors).toEqual([]);
    await page.close();
  }, 180_000);

  it("scans for BLE locks through the hub's radio: a decommissioned suite heard with its signal, IDENTed, and commissioned with its setup key", async () => {
    const SUITE = "4c42000000000202";
    const { page, errors } = await env.open("property");
    const row = page.locator(`tr[data-lock-id="${SUITE}"]`);
    await expect.poll(() => row.locator("td.state").textContent(), { timeout: 30_000 }).toBe("online");
    await row.getByRole("button", { name: /Actions for Garden Suite 202/ }).click();
    await page.getByRole("button", { name: "Decommission…" }).click();
    await page.locator("#dlg-ok").click();
    await expect.poll(() => page.locator("#dlg-steps").textContent(), { timeout: 30_000 }).toContain("Done.");
    await page.getByRole("button", { name: "Close" }).click();
    await expect.poll(() => row.count(), { timeout: 30_000 }).toBe(0);

    // Suite 201 (the hub's) is heard weaker now (a door shut): the scan's advertisements update it.
    expect((await env.sim(["fault", "suite-201", "rssi", "-79"])).code).toBe(0);
    await page.locator("nav").getByRole("link", { name: "Actions" }).click();
    await page.getByLabel("Listen for (seconds)").fill("2");
    await page.getByRole("button", { name: "Scan for BLE locks…" }).click();
    await expect.poll(() => page.locator("#dlg-text").textContent(), { timeout: 15_000 }).toContain("listens for LockBridge locks advertising for 2 s");
    await page.locator("#dlg-ok").click();
    await expect.poll(() => page.locator("#dlg-steps").textContent(), { timeout: 60_000 }).toContain("1 new BLE lock(s) heard.");
    const steps = await page.locator("#dlg-steps").textContent();
    expect(steps).toContain("2 BLE locks heard, 1 of them this hub's"); // suite 201 is the hub's: never asked
    expect(steps).toContain(`asking ${SUITE} who it is (IDENT over BLE)`);
    await page.getByRole("button", { name: "Close" }).click();
    const found = page.locator(`#ble-result li[data-lock-id="${SUITE}"]`);
    expect(await found.locator(".signal").textContent()).toBe("\u221284 dBm, weak");
    expect(await found.textContent()).toContain("BG-D200");
    expect(await found.textContent()).toContain("pairing with the setup key");
    expect(await page.locator("#ble-result p").textContent()).toContain("4c42000000000201 at \u221279 dBm");
    await env.shot(page, "actions-ble-desktop");

    // Pairing button, setup key from the label, commission: back online on its door with its signal.
    const button = await env.sim(["pair-button", "suite-202"]);
    expect(button.code, button.stderr).toBe(0);
    const label = (JSON.parse((await env.sim(["show", "suite-202"])).stdout) as { label: { setupKey: string } }).label.setupKey;
    await found.getByRole("button", { name: "Commission…" }).click();
    await expect.poll(() => page.getByLabel("Device profile").inputValue(), { timeout: 15_000 }).toBe("ble-deadbolt"); // the BLE group's profile
    await expect.poll(() => page.locator("#dlg-text").textContent(), { timeout: 15_000 }).toContain("over BLE");
    await page.getByLabel("Setup key (32 hex digits, from the lock's label)").fill(label);
    await page.locator("#dlg-ok").click();
    await expect.poll(() => page.locator("#dlg-steps").textContent(), { timeout: 60_000 }).toContain(`Lock ${SUITE} is in service`);
    await page.getByRole("button", { name: "Close" }).click();
    expect(await found.count()).toBe(0);
    await page.locator("nav").getByRole("link", { name: "Property" }).click();
    await expect.poll(() => page.locator(`tr[data-lock-id="${SUITE}"] td.state`).textContent(), { timeout: 60_000 }).toBe("online");
    expect(await page.locator(`tr[data-lock-id="${SUITE}"] td`).first().textContent()).toBe("Garden Suite 202");
    expect(await page.locator(`tr[data-lock-id="${SUITE}"] td.signal`).textContent()).toBe("\u221284 dBm, weak");
    // The other suite's row took the signal the scan heard, in the same document.
    expect(await page.locator(`tr[data-lock-id="4c42000000000201"] td.signal`).textContent()).toBe("\u221279 dBm, fair");
    const log = installerLog().map((e) => `${e.action} ${e.target ?? ""} ${e.outcome}`);
    expect(log).toEqual(expect.arrayContaining(["scan-ble ble started", "scan-ble ble ok", `commission ${SUITE} ok`]));
    expect(errors).toEqual([]);
    await page.close();
  }, 180_000);

  it("re-commissions a lock after a factory reset, and replaces a lock swapped for a new one, from the lock's row", async () => {
    const RESET = "4c42000000000110", OLD = "4c42000000000109", NEW = "4c4200000000b109";
    const { page, errors } = await env.open("property");
    const row = (id: string) => page.locator(`tr[data-lock-id="${id}"]`);
    const labelOf = async (door: string) => (JSON.parse((await env.sim(["show", door])).stdout) as { label: { setupKey: string } }).label.setupKey;
    await expect.poll(() => row(RESET).locator("td.state").textContent(), { timeout: 30_000 }).toBe("online");
    await expect.poll(() => row(OLD).locator("td.state").textContent(), { timeout: 30_000 }).toBe("online");

    // Factory reset: the lock forgets its link key and every slot. The installer re-commissions it.
    expect((await env.sim(["fault", "room-110", "factory-reset"])).code).toBe(0);
    const paired = async (door: string) => (await env.sim(["show", door])).stdout.includes('"paired": true');
    await row(RESET).getByRole("button", { name: /Actions for Room 110/ }).click();
    await page.getByRole("button", { name: "Re-commission…" }).click();
    await expect.poll(() => page.locator("#dlg-title").textContent(), { timeout: 15_000 }).toBe("Re-commission Room 110");
    await page.getByLabel("Setup key (PAIR_KX locks only, from the label)").fill(await labelOf("room-110"));
    await page.locator("#dlg-ok").click();
    await expect.poll(() => page.locator("#dlg-steps").textContent(), { timeout: 60_000 }).toContain("Done.");
    expect(await page.locator("#dlg-steps").textContent()).toContain(`commissioning ${RESET} again on`);
    await page.getByRole("button", { name: "Close" }).click();
    expect(await paired("room-110")).toBe(true);
    await expect.poll(() => row(RESET).locator("td.state").textContent(), { timeout: 60_000 }).toBe("online");

    // A new lock body at Room 109's address: the hub sees another lockId there ("replaced", naming it).
    expect((await env.sim(["fault", "room-109", "replaced", NEW])).code).toBe(0);
    await expect.poll(() => row(OLD).locator("td.state").textContent(), { timeout: 60_000 }).toBe("replaced");
    expect(await row(OLD).locator("td.alert").last().textContent()).toContain(`replaced: lock ${NEW} answers at its link`);
    await row(OLD).getByRole("button", { name: /Actions for Room 109/ }).click();
    await page.getByRole("button", { name: "Replace…" }).click();
    await expect.poll(() => page.getByLabel(/New lock's id/).inputValue(), { timeout: 15_000 }).toBe(NEW); // offered from what the hub saw
    await page.getByLabel("Setup key (PAIR_KX locks only)").fill(await labelOf("room-109"));
    await page.locator("#dlg-ok").click();
    await expect.poll(() => page.locator("#dlg-steps").textContent(), { timeout: 60_000 }).toContain("Done.");
    const steps = await page.locator("#dlg-steps").textContent();
    expect(steps).toContain(`1/3 commissioning ${NEW}`);
    expect(steps).toContain(`2/3 door room-109 (Room 109) now on ${NEW}`);
    expect(steps).toContain(`3/3 forgetting ${OLD}`);
    await page.getByRole("button", { name: "Close" }).click();
    await expect.poll(() => row(OLD).count(), { timeout: 30_000 }).toBe(0);
    await expect.poll(() => row(NEW).locator("td.state").textContent(), { timeout: 60_000 }).toBe("online");
    expect(await row(NEW).locator("td").first().textContent()).toBe("Room 109");
    const log = installerLog().map((e) => `${e.action} ${e.target ?? ""} ${e.outcome}`);
    expect(log).toEqual(expect.arrayContaining([`recommission ${RESET} ok`, `replace ${OLD} -> ${NEW} ok`]));
    expect(errors).toEqual([]);
    await page.close();
  }, 240_000);

  it("runs doctor, takes a store backup and downloads it", async () => {
    const { page, errors } = await env.open("actions", PHONE);
    await page.getByRole("button", { name: "Run doctor…" }).click();
    await page.locator("#dlg-ok").click();
    await expect.poll(() => page.locator("#dlg-steps").textContent(), { timeout: 60_000 }).toContain("Done.");
    await page.getByRole("button", { name: "Close" }).click();
    expect(await page.locator("#doctor-result li").count()).toBeGreaterThan(5);
    expect(await page.locator("#doctor-result").textContent()).toMatch(/\d+ passed, \d+ warnings, 0 failed/);
    await page.getByText(/checks passed$/).click();
    await page.getByText(/^PASS hub: running/).waitFor();
    await page.getByRole("button", { name: "Take a backup…" }).click();
    await page.locator("#dlg-ok").click();
    await expect.poll(() => page.locator("#dlg-steps").textContent(), { timeout: 30_000 }).toContain("Done.");
    await page.getByRole("button", { name: "Close" }).click();
    const download = page.waitForEvent("download");
    await page.locator("#backup-download").click();
    const file = await (await download).path();
    expect(readFileSync(file).subarray(0, 16).toString("latin1")).toBe("SQLite format 3\0");
    await env.shot(page, "actions-phone", true);
    expect(await page.evaluate<number>("document.documentElement.scrollWidth")).toBeLessThanOrEqual(PHONE.width); // nothing wider than a phone
    expect(installerLog().some((e) => e.action === "backup-download" && e.outcome === "ok")).toBe(true);
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);

  it("reveals one door code only when asked, confirmed and logged (without the code)", async () => {
    const code = "735108";
    const cloud = await env.cloud();
    const key = await cloud.send(manualKey("k-reveal", ["room-105"], { holder: { name: "Grace Hopper" }, doorCode: { enabled: true, assignment: "strict", code } }));
    expect(key?.ok, JSON.stringify(key)).toBe(true);
    const { page, errors } = await env.open("keys");
    await page.getByLabel("Guest, room or key id").fill("grace");
    await page.getByRole("button", { name: "Search" }).click();
    await page.locator("button[data-key-id='k-reveal']").click();
    await page.locator("#findings .finding, #findings p").first().waitFor({ timeout: 20_000 });
    expect(await page.locator("main").textContent()).not.toContain(code);
    await page.getByRole("button", { name: "Reveal the door code…" }).click();
    await page.locator("#dlg-ok").click();
    await expect.poll(() => page.locator("#dlg-steps").textContent(), { timeout: 20_000 }).toContain(`Door code: ${code}`);
    await page.getByRole("button", { name: "Close" }).click();
    expect(await page.locator("body").textContent()).not.toContain(code); // gone once the dialog closed
    const entries = readFileSync(`${env.dataDir}/installer-actions.jsonl`, "utf8");
    expect(entries).not.toContain(code);
    expect(installerLog().filter((e) => e.action === "reveal-code" && e.target === "k-reveal").map((e) => e.outcome)).toEqual(["started", "ok"]);
    expect(errors).toEqual([]);
    await page.close();
  }, 90_000);

  it("rotates the installer token from the page: the old one stops working, the page keeps working", async () => {
    const old = env.token();
    const { page, errors } = await env.open("actions");
    await page.getByRole("button", { name: "Rotate the token…" }).click();
    await page.locator("#dlg-ok").click();
    await expect.poll(() => page.locator("#dlg-steps").textContent(), { timeout: 30_000 }).toContain("New token in use");
    await page.getByRole("button", { name: "Close" }).click();
    const fresh = env.token();
    expect(fresh).not.toBe(old);
    const read = (t: string) => fetch(`${env.apiUrl}/api/progress`, { headers: { authorization: `Bearer ${t}` } });
    expect((await read(old)).status).toBe(401);
    expect((await read(fresh)).status).toBe(200);
    // The page goes on with the new token: its live feed reconnects and an action works.
    await expect.poll(() => page.locator("#live").textContent(), { timeout: 20_000 }).toBe("live");
    await page.getByRole("button", { name: "Run doctor…" }).click();
    await page.locator("#dlg-ok").click();
    await expect.poll(() => page.locator("#dlg-steps").textContent(), { timeout: 60_000 }).toContain("Done.");
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);
});
