/**
 * A serial port that stays missing is retried with backoff and logged once, not on every
 * attempt; a new cause is logged again (the installer sees each change, not a flood).
 */
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../../src/shared/logger.js";
import { SerialTransport } from "../../../src/transport/serial.js";

describe("transport retry logging", () => {
  it("logs a missing serial port once over many retries, and its state says why", async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger({ level: "debug", destination: new Writable({ write: (c: Buffer, _e, done) => (lines.push(JSON.parse(c.toString()) as Record<string, unknown>), done()) }) });
    const transport = new SerialTransport({ path: "/dev/ttyLB-missing", serial: { baudRate: 19200, parity: "none", dataBits: 8, stopBits: 1 }, logger, backoff: { firstMs: 5, maxMs: 20, jitter: "none" } });
    const attempts = () => lines.filter((l) => String(l.msg).startsWith("open failed")).length;
    await transport.open();
    for (let i = 0; i < 500 && attempts() < 6; i++) await new Promise((r) => setTimeout(r, 10));
    expect(attempts()).toBeGreaterThanOrEqual(6);
    await transport.close();
    const warnings = lines.filter((l) => l.level === "warn");
    expect(warnings).toHaveLength(1);
    expect(String(warnings[0]!.err)).toContain("/dev/ttyLB-missing");
    expect(transport.status().lastError).toContain("/dev/ttyLB-missing");
  });
});
