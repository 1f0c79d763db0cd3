/**
 * The installer console's pages in a real headless chromium (Debian's, driven by playwright-core)
 * against a real hub and the simulated demo property (console-env.ts): every lock listed with its
 * state, a lock put offline in the simulator turns offline without a reload, a key's failure
 * reason and fix in the support article's words, a live event on the Events page, progress, no
 * secret in anything the console reads; screenshots at phone and desktop sizes (docs/console/).
 */
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DESKTOP, manualKey, PHONE, startConsoleEnv, type ConsoleEnv } from "./console-env.js";

let env: ConsoleEnv;
const CODE = "482916";
const CARD_UID = "04A1B2C3D4E5F6";
/** Every body the console read (JSON and NDJSON), to look for secrets in. */
const bodies: string[] = [];

function collect(page: Page): void {
  page.on("response", (res) => {
    const type = res.headers()["content-type"] ?? "";
    if (!res.url().includes("/api/") || type.includes("event-stream") || type.includes("sqlite")) return;
    void res.text().then((t) => bodies.push(t), () => undefined);
  });
}

beforeAll(async () => {
  env = await startConsoleEnv("console");
  const cloud = await env.cloud();
  const cards = await cloud.send({ cmd: "keycards.upsert", cards: [{ cardId: "card-7", uid: CARD_UID, label: "Card 7" }] });
  expect(cards?.ok).toBe(true);
  // A guest whose room's lock is unplugged (pending: lock offline), and one not checked in yet.
  const off = await env.sim(["fault", "room-104", "offline"]);
  expect(off.code, off.stderr).toBe(0);
  const k1 = await cloud.send(manualKey("k-104", ["room-104"], { holder: { name: "Ada Lovelace" }, doorCode: { enabled: true, assignment: "strict", code: CODE }, keycard: { enabled: true, cardId: "card-7" } }));
  expect(k1?.ok, JSON.stringify(k1)).toBe(true);
  // The hub holds the code (the cloud's own answer carries it): the console must never show it.
  expect(JSON.stringify(k1)).toContain(CODE);
  const k2 = await cloud.send(manualKey("k-106", ["room-106"], { source: "pms", pms: { provider: "mews", reservationId: "R-106" }, checkedIn: false, holder: { name: "Oskar Berg" } }));
  expect(k2?.ok, JSON.stringify(k2)).toBe(true);
}, 150_000);

afterAll(async () => {
  await env?.close();
});

describe("installer console", () => {
  it("serves the page with a strict Content-Security-Policy", async () => {
    const res = await fetch(`${env.apiUrl}/console`);
    expect(res.status).toBe(200);
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain("unsafe");
    const js = await fetch(`${env.apiUrl}/console/keys.js`);
    expect(js.headers.get("content-type")).toContain("javascript");
    expect((await fetch(`${env.apiUrl}/console/../server.ts`)).status).not.toBe(200);
  });

  it("lists every demo lock grouped by link, and a lock put offline turns offline without a reload", async () => {
    const api = (await (await fetch(`${env.apiUrl}/api/locks`, { headers: { authorization: `Bearer ${env.token()}` } })).json()) as { buses: { bus: string; locks: { lockId: string }[] }[] };
    const lockIds = api.buses.flatMap((b) => b.locks.map((l) => l.lockId));
    expect(lockIds.length).toBe(16);
    const { page, errors } = await env.open("property");
    collect(page);
    await page.locator("tr[data-lock-id]").first().waitFor();
    expect(await page.locator("tr[data-lock-id]").count()).toBe(16);
    expect(await page.locator("section.bus").count()).toBe(api.buses.length);
    for (const id of lockIds) expect(await page.locator(`tr[data-lock-id="${id}"] td.state`).textContent()).toMatch(/online|offline/);
    await expect.poll(async () => page.locator("section.bus h3", { hasText: /^ble/ }).first().textContent(), { timeout: 30_000 }).toMatch(/^ble — link open/);
    expect(page.url()).not.toContain(env.token());
    const room = page.locator("tr[data-lock-id]", { hasText: "Room 101" }).first();
    await expect.poll(async () => room.locator("td.state").textContent(), { timeout: 30_000 }).toBe("online");
    await env.shot(page, "property-desktop", true);
    await page.evaluate(() => { (globalThis as unknown as { marker: number }).marker = 42; });
    const fault = await env.sim(["fault", "room-101", "offline"]);
    expect(fault.code, fault.stderr).toBe(0);
    await expect.poll(async () => room.locator("td.state").textContent(), { timeout: 60_000, interval: 500 }).toMatch(/^offline/);
    expect(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker)).toBe(42);
    // The "Offline" filter leaves the offline locks only.
    await page.getByLabel("Offline", { exact: true }).check();
    await expect.poll(async () => page.locator("tr[data-lock-id]:visible").count(), { timeout: 15_000 }).toBeLessThan(16);
    for (const state of await page.locator("tr[data-lock-id]:visible td.state").allTextContents()) expect(state).toMatch(/^offline/);
    // Room 104's lock is unplugged with a key waiting for it: not converged, its slots still to write.
    await page.getByLabel("Not converged", { exact: true }).check();
    const room104 = page.locator("tr[data-lock-id]", { hasText: "Room 104" }).first();
    expect(await room104.isVisible()).toBe(true);
    expect(await room104.locator("td[data-label='Slots']").textContent()).toMatch(/· \d+ to write$/);
    expect(await page.locator("tr[data-lock-id]", { hasText: "Room 110" }).first().isVisible()).toBe(false);
    await page.getByLabel("All", { exact: true }).check();
    await page.setViewportSize(PHONE);
    await env.shot(page, "property-phone");
    expect(await page.evaluate<number>("document.documentElement.scrollWidth")).toBeLessThanOrEqual(PHONE.width);
    expect(errors).toEqual([]);
    await page.close();
    await env.sim(["fault", "room-101", "online"]);
  }, 120_000);

  it("lists the BLE locks with the signal strength the hub's radio heard (the simulator's proxy reports -67 and -84 dBm)", async () => {
    const { page, errors } = await env.open("property");
    collect(page);
    const ble = page.locator("section.bus", { has: page.locator("h3", { hasText: /^ble/ }) });
    await ble.waitFor();
    expect(await ble.locator("th").nth(1).textContent()).toBe("Signal"); // in place of the bus address
    const signal = (door: string) => ble.locator("tr[data-lock-id]", { hasText: door }).locator("td.signal");
    await expect.poll(() => signal("Garden Suite 201").textContent(), { timeout: 30_000 }).toBe("\u221267 dBm, good");
    expect(await signal("Garden Suite 202").textContent()).toBe("\u221284 dBm, weak");
    expect(await signal("Garden Suite 202").getAttribute("class")).toContain("alert");
    expect(await signal("Garden Suite 201").getAttribute("title")).toMatch(/^heard /);
    expect(await ble.locator("tr[data-lock-id]", { hasText: "Garden Suite 202" }).locator("td.alert").last().textContent()).toContain("weak BLE signal (-84 dBm)");
    // Wired locks have their bus address in that column, and no signal.
    const rooms = page.locator("section.bus", { has: page.locator("h3", { hasText: /^tcp/ }) }).first();
    expect(await rooms.locator("th").nth(1).textContent()).toBe("Address");
    const api = async (id: string) => (await (await fetch(`${env.apiUrl}/api/locks/${id}`, { headers: { authorization: `Bearer ${env.token()}` } })).json()) as { signal: unknown };
    expect((await api("4c42000000000201")).signal).toMatchObject({ rssi: -67, quality: "good" });
    expect((await api("4c42000000000101")).signal).toBeNull();
    const metrics = await (await fetch(`${env.apiUrl}/metrics`, { headers: { authorization: `Bearer ${env.token()}` } })).text();
    expect(metrics).toContain('lockbridge_ble_rssi_dbm{bus="ble:4c42000000000202"} -84');
    // The "Failing" filter shows the weak suite.
    await page.getByLabel("Failing", { exact: true }).check();
    expect(await ble.locator("tr[data-lock-id]", { hasText: "Garden Suite 202" }).isVisible()).toBe(true);
    await page.getByLabel("All", { exact: true }).check();
    await page.setViewportSize(PHONE);
    await ble.scrollIntoViewIfNeeded();
    await env.shot(page, "property-ble-phone");
    expect(await page.evaluate<number>("document.documentElement.scrollWidth")).toBeLessThanOrEqual(PHONE.width);
    expect(errors).toEqual([]);
    await page.close();
  }, 90_000);

  it("keys page: a key's reason and fix in the support article's words, found by guest name and by room", async () => {
    const { page, errors } = await env.open("keys");
    collect(page);
    await page.getByLabel("Guest, room or key id").fill("ada");
    await page.getByRole("button", { name: "Search" }).click();
    await page.locator("button[data-key-id='k-104']").click();
    const door = page.locator("#key-detail tr[data-door-id='room-104'] .door-words");
    await expect.poll(() => door.textContent(), { timeout: 30_000 }).toBe("Pending: lock offline");
    expect(await page.locator("#key-detail [data-credential='Door Code']").textContent()).toContain("Door Code");
    const finding = page.locator("#findings .finding[data-code='lock_offline']");
    await finding.waitFor({ timeout: 20_000 });
    expect(await finding.locator(".msg").textContent()).toContain("room-104 is offline");
    // The article's fix for a door pending provisioning: "Confirm lock is installed and online".
    expect(await finding.locator(".fix").textContent()).toMatch(/^Fix: Confirm the lock is installed, powered and reachable/);
    await env.shot(page, "keys-desktop", true);

    // A room search finds the PMS key that waits for check-in.
    await page.getByLabel("Guest, room or key id").fill("Room 106");
    await page.getByRole("button", { name: "Search" }).click();
    await page.locator("button[data-key-id='k-106']").click();
    await expect.poll(() => page.locator("#key-detail tr[data-door-id='room-106'] .door-words").textContent(), { timeout: 20_000 }).toBe("Inactive: not checked in");
    const notIn = page.locator("#findings .finding[data-code='not_checked_in']");
    await notIn.waitFor({ timeout: 20_000 });
    expect(await notIn.locator(".fix").textContent()).toContain("Confirm check-in");

    // Live: the lock back online turns the door active without a reload.
    await page.getByLabel("Guest, room or key id").fill("k-104");
    await page.getByRole("button", { name: "Search" }).click();
    await page.locator("button[data-key-id='k-104']").click();
    await env.sim(["fault", "room-104", "online"]);
    await expect.poll(() => page.locator("#key-detail tr[data-door-id='room-104'] .door-words").textContent(), { timeout: 60_000, interval: 500 }).toBe("Active");
    await expect.poll(() => page.locator("#key-list button[data-key-id='k-104'] .st").textContent(), { timeout: 10_000 }).toBe("Active");
    await page.setViewportSize(PHONE);
    await env.shot(page, "keys-phone");
    expect(await page.evaluate<number>("document.documentElement.scrollWidth")).toBeLessThanOrEqual(PHONE.width);
    expect(errors).toEqual([]);
    await page.close();
  }, 150_000);

  it("events page: a live event arrives without a reload, filters by door, the hub's alerts listed apart", async () => {
    const { page, errors } = await env.open("events");
    collect(page);
    await page.getByLabel("Door", { exact: true }).selectOption("room-102");
    await page.locator("#feed-count").waitFor();
    const denied = await env.sim(["code", "room-102", "000000"]);
    expect(denied.stdout).toContain("DENIED");
    const row = page.locator("#feed li[data-type='access.denied']").first();
    await row.waitFor({ timeout: 30_000 });
    expect(await row.textContent()).toContain("Room 102");
    // Only room-102's events under the door filter.
    for (const text of await page.locator("#feed li").allTextContents()) expect(text).toContain("Room 102");
    await env.sim(["fault", "room-103", "battery", "9"]);
    const alert = page.locator("#alerts li[data-type='lock.battery_low']", { hasText: "Room 103" }).first();
    await alert.waitFor({ timeout: 30_000 });
    await page.getByLabel("Door", { exact: true }).selectOption("");
    await env.shot(page, "events-desktop");
    await page.setViewportSize(PHONE);
    await env.shot(page, "events-phone");
    expect(await page.evaluate<number>("document.documentElement.scrollWidth")).toBeLessThanOrEqual(PHONE.width);
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);

  it("progress page: provisioning in the status line's words, live", async () => {
    const { page, errors } = await env.open("progress", PHONE);
    collect(page);
    const summary = page.locator("#prov-summary");
    await expect.poll(() => summary.textContent(), { timeout: 20_000 }).toMatch(/^\d[\d,]* of \d[\d,]* credentials on their locks; \d+ locks? offline/);
    const before = await summary.textContent();
    const cloud = await env.cloud();
    expect((await cloud.send(manualKey("k-108", ["room-108"])))?.ok).toBe(true);
    await expect.poll(() => summary.textContent(), { timeout: 30_000 }).not.toBe(before);
    await env.shot(page, "progress-phone");
    expect(await page.evaluate<number>("document.documentElement.scrollWidth")).toBeLessThanOrEqual(PHONE.width);
    await page.setViewportSize(DESKTOP);
    await env.shot(page, "progress-desktop");
    expect(errors).toEqual([]);
    await page.close();
  }, 90_000);

  it("works with the keyboard alone, and its state colours are readable in sunlight (contrast ≥ 7:1)", async () => {
    const { page, errors } = await env.open("property");
    // A fresh load (signed in already): the skip link first, then the page bar; Tab to "Keys", Enter.
    await page.goto(`${env.apiUrl}/console`);
    await page.locator("tr[data-lock-id]").first().waitFor();
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => (globalThis as unknown as { document: { activeElement: { textContent: string } } }).document.activeElement.textContent)).toBe("Skip to content");
    for (let i = 0; i < 8; i++) {
      await page.keyboard.press("Tab");
      if ((await page.evaluate(() => (globalThis as unknown as { document: { activeElement: { textContent: string } } }).document.activeElement.textContent)) === "Keys") break;
    }
    await page.keyboard.press("Enter");
    await page.locator("#keys").waitFor();
    await page.getByLabel("Guest, room or key id").focus();
    await page.keyboard.type("k-106");
    await page.keyboard.press("Enter");
    await page.locator("button[data-key-id='k-106']").focus();
    await page.keyboard.press("Enter");
    // The key's title takes the focus, for a screen reader and the next Tab.
    await expect.poll(() => page.evaluate(() => (globalThis as unknown as { document: { activeElement: { id: string } } }).document.activeElement.id), { timeout: 15_000 }).toBe("key-title");
    // A live event about the key's door redraws the detail: the focus stays on the (new) title.
    await page.evaluate(() => { (globalThis as unknown as { document: { activeElement: { dataset: Record<string, string> } } }).document.activeElement.dataset.drawn = "before"; });
    const cloud = await env.cloud();
    expect((await cloud.send({ cmd: "door.unlock", doorId: "room-106", seconds: 1 }))?.ok).toBe(true);
    await page.locator("#key-title:not([data-drawn])").waitFor({ timeout: 15_000 });
    expect(await page.evaluate(() => (globalThis as unknown as { document: { activeElement: { id: string } } }).document.activeElement.id)).toBe("key-title");
    // A lock's actions from the keyboard; Escape closes the dialog and gives the focus back.
    await page.locator("nav").getByRole("link", { name: "Property" }).focus();
    await page.keyboard.press("Enter");
    const act = page.locator("tr[data-lock-id] button[data-act]").first();
    await act.focus();
    await page.keyboard.press("Enter");
    await page.locator("#lock-menu[open]").waitFor();
    await page.keyboard.press("Escape");
    await expect.poll(() => page.locator("#lock-menu[open]").count(), { timeout: 15_000 }).toBe(0);
    // Contrast of text against its background, as WCAG computes it.
    const ratios = await page.evaluate(() => {
      type El = { className: string; textContent: string };
      const g = globalThis as unknown as { document: { createElement(t: string): El; querySelector(s: string): { append(e: El): void; removeChild(e: El): void } }; getComputedStyle(e: unknown): { color: string } };
      const lum = (rgb: string) => {
        const [r, gr, b] = rgb.match(/\d+/g)!.slice(0, 3).map((v) => {
          const c = Number(v) / 255;
          return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
        }) as [number, number, number];
        return 0.2126 * r + 0.7152 * gr + 0.0722 * b;
      };
      const out: Record<string, number> = {};
      for (const cls of ["online", "offline", "st st-pending", "st st-failed", "st st-inactive", "muted", "alert", "err"]) {
        const probe = g.document.createElement("span");
        probe.className = cls;
        probe.textContent = "x";
        g.document.querySelector("main")!.append(probe);
        const fg = lum(g.getComputedStyle(probe).color);
        g.document.querySelector("main")!.removeChild(probe);
        out[cls] = (Math.max(fg, 1) + 0.05) / (Math.min(fg, 1) + 0.05); // on the white page
      }
      return out;
    });
    for (const [cls, ratio] of Object.entries(ratios)) expect(ratio, cls).toBeGreaterThanOrEqual(7);
    expect(errors).toEqual([]);
    await page.close();
  }, 90_000);

  it("progress page: a firmware job shows each lock's step live, until the lock is updated", async () => {
    const image = randomBytes(4096);
    const server = createServer((_q, r) => r.end(image)).listen(0, "127.0.0.1");
    await once(server, "listening");
    try {
      const { page, errors } = await env.open("progress");
      collect(page);
      // A room lock on a wired link that is online now (the first test put one offline).
      const api = (await (await fetch(`${env.apiUrl}/api/locks`, { headers: { authorization: `Bearer ${env.token()}` } })).json()) as { buses: { bus: string; locks: { lockId: string; online: boolean }[] }[] };
      const lockId = api.buses.filter((b) => !b.bus.startsWith("ble")).flatMap((b) => b.locks).find((l) => l.online)!.lockId;
      const cloud = await env.cloud();
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fw.bin`;
      const sent = await cloud.send({ cmd: "firmware.update", jobId: "fw-console", lockIds: [lockId], version: "9.9.0", url, sha256: createHash("sha256").update(image).digest("hex"), size: image.length });
      expect(sent?.ok, JSON.stringify(sent)).toBe(true);
      const job = page.locator("#fw section[data-job-id='fw-console']");
      await job.locator(`li[data-lock-id='${lockId}'][data-state='applied']`).waitFor({ timeout: 60_000 });
      expect(await job.locator(".fw-counts").textContent()).toBe("1 of 1 locks updated, 0 in progress, 0 failed");
      expect(await job.locator("li").textContent()).toBe(`${lockId}: updated`);
      expect(await job.locator("h4").textContent()).toMatch(/^Job fw-console → firmware 9\.9\.0 \(ended /);
      await env.shot(page, "progress-firmware");
      expect(errors).toEqual([]);
      await page.close();
    } finally {
      server.close();
    }
  }, 90_000);

  it("no door code or card UID in anything the console read", () => {
    expect(bodies.length).toBeGreaterThan(10);
    const all = bodies.join("\n");
    expect(all).toContain("k-104"); // the key was read...
    expect(all).not.toContain(CODE); // ...never its code
    expect(all.toUpperCase()).not.toContain(CARD_UID);
  });
});
