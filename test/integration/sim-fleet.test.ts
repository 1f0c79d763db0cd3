// A fleet from a property: control endpoint, state file across restarts, and the CLI as a
// real child process (ready line, sub-commands, SIGTERM saves state).
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { Fleet, type ReadyInfo } from "../../sim/fleet/fleet.js";
import { parseProperty } from "../../sim/fleet/property.js";
import { ControlClient } from "../../sim/control/client.js";
import { startControlServer } from "../../sim/control/server.js";
import { HubPeer } from "../../sim/index.js";
import { derivePairKx, freshKxKeyPair } from "../../src/protocol/llp/index.js";
import { serialClient, tcpClient } from "../helpers/sim-wire.js";

const repo = fileURLToPath(new URL("../../", import.meta.url));
const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

const property = parseProperty({
  name: "Small Hotel",
  buses: [{ id: "floor1" }],
  ble: {},
  rooms: [
    { doorId: "r1", name: "Room 1", link: { bus: "floor1", address: 1 }, profile: "rs485-mortise" },
    { doorId: "r2", name: "Room 2", link: { bus: "floor1", address: 2 } },
    { doorId: "s1", name: "Suite", link: { ble: true }, profile: "ble-deadbolt" },
  ],
  commonDoors: [{ doorId: "lobby", name: "Lobby", link: { bus: "floor1", address: 9 }, profile: "sim-common", linkedToAllRooms: true }],
});

describe("fleet", () => {
  it("runs the property's locks on their links and keeps state across a restart", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sim-fleet-"));
    const stateFile = join(dir, "state.json");
    const fleet = await Fleet.start(property, { stateFile, saveDelayMs: 10 });
    const ready = fleet.ready(null);
    expect(ready.doors.find((d) => d.doorId === "r1")).toMatchObject({ kind: "room", linkedDoorIds: ["lobby"], link: { type: "tcp", address: 1 } });
    expect(ready.doors.find((d) => d.doorId === "s1")?.link).toEqual({ type: "ble", lockId: fleet.find("s1").lock.lockId });
    const c = await tcpClient(ready.tcpBuses[0]!.port);
    const r1 = fleet.find("r1").lock;
    // rs485-mortise pairs with PAIR_KX (the setup key on its label); the legacy PAIR is refused.
    const setupKey = Buffer.from(r1.setupKey!, "hex");
    expect(ready.doors.find((d) => d.doorId === "r1")?.setupKey).toBe(r1.setupKey);
    const peer = new HubPeer(1, { lockId: r1.lockId });
    expect((await c.peer.request(peer, { cmd: "PAIR", linkKey: Buffer.alloc(16, 5) }))?.ok).toBe(false);
    const hub = freshKxKeyPair();
    const kx = await c.peer.request(peer, { cmd: "PAIR_KX", hubPub: hub.publicKey });
    if (!kx?.ok) throw new Error("PAIR_KX refused");
    const derived = derivePairKx(hub.privateKey, { lockId: Buffer.from(r1.lockId, "hex"), setupKey, hubPub: hub.publicKey, lockPub: kx.body.lockPub });
    expect(derived.confirm.equals(kx.body.confirm)).toBe(true);
    const key = derived.linkKey;
    peer.linkKey = key;
    const put = await c.peer.request(peer, { cmd: "PUT_CREDENTIAL", kind: 1, slot: 3, validFrom: 0, validUntil: 0, flags: 0, secret: Buffer.from("4711") });
    expect(put?.ok).toBe(true);
    r1.openDoor();
    await c.close();
    await fleet.close();

    const again = await Fleet.start(property, { stateFile });
    cleanup.push(() => again.close());
    const lock = again.find(r1.lockId).lock;
    expect(lock.linkKey?.equals(key)).toBe(true);
    expect(lock.setupKey).toBe(setupKey.toString("hex")); // the label does not change across a restart
    expect(lock.state.hubCounter).toBe(peer.counter);
    expect(lock.events.head).toBe(1);
    expect(lock.enterCode("4711")).toMatchObject({ granted: true, slot: 3 });
    // The hub continues with its counter over the restarted bus; a replayed counter is refused.
    const c2 = await tcpClient(again.ready(null).tcpBuses[0]!.port);
    cleanup.push(() => c2.close());
    expect((await c2.peer.request(peer, { cmd: "STATUS" }))?.ok).toBe(true);
    peer.counter = 1;
    const replay = await c2.peer.request(peer, { cmd: "STATUS" });
    expect(replay?.ok ? "ACK" : replay?.nak.name).toBe("NOT_AUTHENTICATED");
  });

  it("control endpoint: guest actions and faults by doorId or lockId, errors for unknown locks", async () => {
    const fleet = await Fleet.start(property);
    const control = await startControlServer(fleet);
    cleanup.push(() => fleet.close(), () => control.close());
    const client = new ControlClient(control.port);
    expect(await client.act("r2", "code", { code: "0000" })).toMatchObject({ granted: false, reason: 1 });
    await client.act("lobby", "open");
    expect(fleet.find("lobby").lock.state.doorOpen).toBe(true);
    await client.act(fleet.find("r2").lock.lockId.toUpperCase(), "fault", { fault: "offline" });
    expect(fleet.find("r2").lock.faults.offline).toBe(true);
    await client.act("r2", "fault", { fault: "flaky", args: ["0.5", "0", "7"] });
    expect(fleet.find("r2").lock.faults.drop).toBe(0.5);
    await client.act("r2", "fault", { fault: "online" });
    expect(fleet.find("r2").lock.faults).toMatchObject({ offline: false, drop: 0 });
    const listed = (await client.list()) as { locks: { doorId: string }[] };
    expect(listed.locks.map((l) => l.doorId)).toEqual(["r1", "r2", "s1", "lobby"]);
    await expect(client.act("nope", "open")).rejects.toMatchObject({ code: "unknown_lock" });
    await expect(client.act("r2", "fault", { fault: "gremlins" })).rejects.toThrow(/unknown fault/);
  });

  it("a pty bus unplugged (the serial device vanishes) and replugged on the same path: the locks answer again (chaos: serial device gone)", async () => {
    const fleet = await Fleet.start(parseProperty({ name: "Serial Hotel", buses: [{ id: "s0", type: "pty" }], rooms: [{ doorId: "r1", name: "Room 1", link: { bus: "s0", address: 1 } }] }));
    const control = await startControlServer(fleet);
    cleanup.push(() => fleet.close(), () => control.close());
    const path = fleet.ready(null).ptyBuses[0]!.hubPath;
    const peer = new HubPeer(1, { lockId: fleet.find("r1").lock.lockId });
    const before = await serialClient(path);
    expect((await before.peer.request(peer, { cmd: "IDENT" }))?.ok).toBe(true);
    await before.close();
    const client = new ControlClient(control.port);
    await client.act("r1", "fault", { fault: "unplug" });
    expect(existsSync(path)).toBe(false);
    await client.act("r1", "fault", { fault: "replug" });
    expect(existsSync(path)).toBe(true);
    const after = await serialClient(path);
    cleanup.push(() => after.close());
    expect((await after.peer.request(peer, { cmd: "IDENT" }))?.ok).toBe(true);
    await expect(client.act("r1", "fault", { fault: "replug" })).resolves.toBeDefined(); // plugged: nothing to do
  });
});

function startCli(args: string[]): { proc: ChildProcess; ready: Promise<ReadyInfo> } {
  const proc = spawn(process.execPath, [join(repo, "bin/lockbridge.js"), "sim", ...args], { cwd: repo, stdio: ["ignore", "pipe", "pipe"] });
  const ready = new Promise<ReadyInfo>((resolve, reject) => {
    const rl = createInterface({ input: proc.stdout! });
    rl.once("line", (l) => resolve(JSON.parse(l) as ReadyInfo));
    let err = "";
    proc.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    proc.once("exit", (code) => reject(new Error(`sim exited ${code}: ${err}`)));
  });
  return { proc, ready };
}

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [join(repo, "bin/lockbridge.js"), "sim", ...args], { cwd: repo });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    p.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    p.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("lockbridge sim CLI", () => {
  it("sim demo prints the ready line; sub-commands act on it; SIGTERM saves the state file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sim-cli-"));
    const state = join(dir, "state.json");
    const { proc, ready } = startCli(["demo", "--ephemeral", "--state", state]);
    cleanup.push(() => void proc.kill("SIGKILL"));
    const info = await ready;
    expect(info.ready).toBe(true);
    expect(info.tcpBuses.map((b) => b.id)).toEqual(["rooms", "lobby", "gym"]);
    expect(info.tcpBuses[0]!.locks).toHaveLength(12);
    expect(info.bleLocks).toHaveLength(2);
    expect(info.bleProxyPort).toBeGreaterThan(0);
    const ctl = ["--control", String(info.controlPort)];
    // Provision a code over the bus like the hub would, then type it at the door.
    const c = await tcpClient(info.tcpBuses[0]!.port);
    const peer = new HubPeer(3);
    expect((await c.peer.request(peer, { cmd: "PUT_CREDENTIAL", kind: 1, slot: 0, validFrom: 0, validUntil: 0, flags: 0, secret: Buffer.from("202612") }))?.ok).toBe(true);
    await c.close();
    const granted = await cli(["code", "room-103", "202612", ...ctl]);
    expect(granted).toMatchObject({ code: 0, stdout: "ACCESS GRANTED (slot 0)\n" });
    expect((await cli(["code", "room-104", "202612", ...ctl])).stdout).toBe("ACCESS DENIED: unknown credential\n");
    expect((await cli(["fault", "room-104", "gremlins", ...ctl])).code).toBe(64);
    // A negative number is the fault's value, not an option.
    expect(await cli(["fault", "room-104", "clock-jump", "-30", ...ctl])).toMatchObject({ code: 0, stdout: "room-104: clock-jump -30 applied\n" });
    expect(await cli(["fault", "suite-202", "rssi", "-85", ...ctl])).toMatchObject({ code: 0, stdout: "suite-202: rssi -85 applied\n" });
    expect((await cli(["fault", "room-104", "rssi", "-85", ...ctl])).stderr).toContain("room-104 is not a BLE lock");
    const list = await cli(["list", "--json", ...ctl]);
    expect((JSON.parse(list.stdout) as { locks: unknown[] }).locks).toHaveLength(16);
    // `sim show` prints the label as an installer reads it: the setup key in groups of 4 hex digits.
    const shown = JSON.parse((await cli(["show", "room-103", ...ctl])).stdout) as { label: { lockId: string; pairing: string; setupKey: string } };
    const fromReady = info.doors.find((d) => d.doorId === "room-103")!;
    expect(shown.label).toEqual({ lockId: fromReady.lockId, pairing: "kx", setupKey: fromReady.setupKey!.match(/.{4}/g)!.join(" ") });
    proc.kill("SIGTERM");
    await new Promise((r) => proc.once("exit", r));
    const saved = JSON.parse(await readFile(state, "utf8")) as { locks: Record<string, { setupKey?: string; credentials: { codes: unknown[] }; events: { nextSeq: number } }> };
    expect(saved.locks["room-103"]!.setupKey).toBe(fromReady.setupKey);
    expect(saved.locks["room-103"]!.credentials.codes).toHaveLength(1);
    expect(saved.locks["room-103"]!.events.nextSeq).toBe(2);
  });

  it("sim run refuses an invalid property with exit 2 and the field named", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sim-cli-"));
    const file = join(dir, "bad.json");
    const { writeFile } = await import("node:fs/promises");
    await writeFile(file, JSON.stringify({ name: "x", rooms: [{ doorId: "a", name: "A", link: { bus: "b", address: 1 } }] }));
    const r = await cli(["run", file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('rooms[0].link.bus: no bus "b" in buses');
  });
});
