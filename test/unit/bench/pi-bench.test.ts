/**
 * The Pi benchmark's own parts that could lie quietly: its options, the snapshot it sends
 * (every key once, pages under the contract's 128 KiB, the site on page 1), the property it
 * generates (a valid simulator property), and the /proc and socket-counter readers.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import { createConnection, createServer, type AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseArgs } from "../../../bench/run.js";
import { readProc, socketBytesByPort } from "../../../bench/support/pi-proc.js";
import { piProperty, snapshotPages, type SnapshotDoor } from "../../../bench/support/pi-property.js";
import { parseProperty, propertyDoors } from "../../../sim/fleet/property.js";

describe("bench options", () => {
  it("separates file filters, --json, valued options and bare flags", () => {
    expect(parseArgs(["pi", "--locks", "20", "--quick", "--json", "out.json", "store", "--credentials", "300"])).toEqual({
      filters: ["pi", "store"],
      json: "out.json",
      options: { locks: "20", quick: "true", credentials: "300" },
    });
    expect(parseArgs(["--quick"]).options).toEqual({ quick: "true" });
  });
});

describe("Pi bench property and snapshot", () => {
  it("generates a simulator property: rooms on 19,200-baud buses, two common doors at 115,200 linked to every room", () => {
    const { property, baudByBus } = piProperty(50);
    const p = parseProperty(property);
    const doors = propertyDoors(p);
    expect(doors).toHaveLength(50);
    expect(p.commonDoors.map((d) => d.doorId)).toEqual(["lobby", "gym"]);
    expect(doors.filter((d) => d.kind === "room").every((d) => d.linkedDoorIds.includes("lobby") && d.linkedDoorIds.includes("gym"))).toBe(true);
    expect(p.buses.filter((b) => b.wireBaud === 19_200)).toHaveLength(3);
    expect(baudByBus.get("lobby")).toBe(115_200);
  });

  it("pages a snapshot of every door and key once, each page under 128 KiB, site on page 1", () => {
    const doors: SnapshotDoor[] = [
      ...Array.from({ length: 498 }, (_, i) => ({ doorId: `room-${i}`, name: `Room ${i}`, kind: "room" as const, linkedDoorIds: ["lobby", "gym"], lockId: i.toString(16).padStart(16, "0") })),
      { doorId: "lobby", name: "lobby", kind: "common", linkedDoorIds: [], lockId: "ffffffffffffff01" },
      { doorId: "gym", name: "gym", kind: "common", linkedDoorIds: [], lockId: "ffffffffffffff02" },
    ];
    const pages = snapshotPages("s1", "pi-bench-hotel", doors, 3334);
    expect(pages.length).toBeGreaterThan(1);
    for (const [i, p] of pages.entries()) {
      expect(Buffer.byteLength(JSON.stringify(p))).toBeLessThan(128 * 1024);
      expect(p).toMatchObject({ cmd: "sync.snapshot", snapshotId: "s1", page: i + 1, pages: pages.length });
      expect("site" in p).toBe(i === 0);
    }
    const keyIds = pages.flatMap((p) => (p.keys as { keyId: string }[]).map((k) => k.keyId));
    expect(new Set(keyIds).size).toBe(3334);
    expect(pages.flatMap((p) => p.doors as object[])).toHaveLength(500);
  });
});

describe("readers from outside a process", () => {
  it("reads this process's CPU, RSS and bytes written from /proc, and sees a file write reach write_bytes", () => {
    const before = readProc(process.pid);
    expect(before.rssMb).toBeGreaterThan(10);
    expect(before.hwmMb).toBeGreaterThanOrEqual(before.rssMb);
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "lb-proc-")), "f");
    const fd = fs.openSync(file, "w");
    fs.writeSync(fd, Buffer.alloc(1 << 20, 1));
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    const after = readProc(process.pid);
    fs.rmSync(path.dirname(file), { recursive: true });
    // A tmpfs /tmp never reaches a block device; only a real disk shows the megabyte.
    const onTmpfs = execFileSync("stat", ["-f", "-c", "%T", os.tmpdir()]).toString().trim() === "tmpfs";
    if (!onTmpfs) expect(after.writeBytes - before.writeBytes).toBeGreaterThanOrEqual(1 << 20);
    expect(after.cpuMs).toBeGreaterThanOrEqual(before.cpuMs);
  });

  it("counts the bytes both ways on the connections to a listening port", async () => {
    const server = createServer((s) => s.on("data", (d) => s.write(Buffer.concat([d, d]))));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const port = (server.address() as AddressInfo).port;
    const client = createConnection({ port, host: "127.0.0.1" });
    await new Promise<void>((r) => client.once("connect", () => r()));
    let got = 0;
    const echoed = new Promise<void>((r) => client.on("data", (d: Buffer) => (got += d.length) >= 2000 && r()));
    client.write(Buffer.alloc(1000, 7));
    await echoed;
    // The server's side: 1,000 received + 2,000 sent.
    expect(socketBytesByPort([port]).get(port)).toBe(3000);
    client.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });
});
