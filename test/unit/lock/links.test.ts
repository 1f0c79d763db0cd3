import { afterEach, describe, expect, it } from "vitest";
import { MemoryLinkStateStore } from "../../../src/lock/link-state.js";
import { LockLinks, pollDelayMs } from "../../../src/lock/links.js";
import { ManualClock } from "../../../src/shared/clock.js";
import { SimLock } from "../../../sim/index.js";
import { drive, hubRig, InProcessLink, outcome, quietLogger, testProfiles } from "../../helpers/lock-link.js";

let links: LockLinks | undefined;
afterEach(async () => {
  await links?.close();
  links = undefined;
});

const make = (profiles = testProfiles()) => (links = new LockLinks({ profiles, linkState: new MemoryLinkStateStore(), logger: quietLogger }));
// Port 9 on loopback: nothing listens; the transports just keep retrying until closed.
const tcp = (address: number) => ({ type: "tcp" as const, host: "127.0.0.1", port: 9, address });

describe("LockLinks: from a store record to a client", () => {
  it("shares one transport per link and returns the same client for the same lock", () => {
    const l = make();
    const a = l.client({ lockId: "4c42000000000001", profileId: "sim-tcp", link: tcp(1) });
    const b = l.client({ lockId: "4c42000000000002", profileId: "sim-tcp", link: tcp(2) });
    expect(l.client({ lockId: "4C42000000000001", profileId: "sim-tcp", link: tcp(1) })).toBe(a);
    expect(a).not.toBe(b);
    expect(l.transports()).toHaveLength(1);
    expect(a.profile.id).toBe("sim-tcp");
  });

  it("refuses an unknown profile, a link the profile cannot use, two locks on one ADDR, mixed serial settings", () => {
    const l = make();
    expect(() => l.client({ lockId: "4c42000000000001", profileId: "nope", link: tcp(1) })).toThrow(expect.objectContaining({ code: "unknown_profile" }));
    expect(() => l.client({ lockId: "4c42000000000001", profileId: "sim-ble", link: tcp(1) })).toThrow(expect.objectContaining({ code: "invalid_payload" }));
    l.client({ lockId: "4c42000000000001", profileId: "sim-tcp", link: tcp(1) });
    expect(() => l.client({ lockId: "4c42000000000002", profileId: "sim-tcp", link: tcp(1) })).toThrow(/two locks at ADDR 1/);
    l.client({ lockId: "4c42000000000003", profileId: "sim-rs485", link: { type: "serial", path: "/nonexistent/tty", address: 1 } });
    expect(() => l.client({ lockId: "4c42000000000004", profileId: "sim-uart", link: { type: "serial", path: "/nonexistent/tty", address: 2 } })).toThrow(
      /already runs at 19200 8N1; profile sim-uart wants 115200 8N1/,
    );
  });

  it("closes a transport with its last lock", async () => {
    const l = make();
    l.client({ lockId: "4c42000000000001", profileId: "sim-tcp", link: tcp(1) });
    l.client({ lockId: "4c42000000000002", profileId: "sim-tcp", link: tcp(2) });
    await l.remove("4c42000000000001");
    expect(l.transports()).toHaveLength(1);
    await l.remove("4c42000000000002");
    expect(l.transports()).toHaveLength(0);
  });

  it("polls an offline lock less often", async () => {
    const clock = new ManualClock();
    const lock = new SimLock({ clock, lockId: "4c42000000000001" });
    const rig = hubRig(new InProcessLink([lock], clock), clock, [lock]);
    const c = rig.clients[0]!;
    await drive(clock, c.status());
    expect(pollDelayMs(c)).toBe(1000);
    lock.setOffline(true);
    await outcome(clock, c.status());
    expect(c.online).toBe(false);
    expect(pollDelayMs(c)).toBe(10_000);
  });
});
