import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { LockBridgeError } from "../../../src/shared/errors.js";
import { createLogger, REDACT_DEPTH, type LogLevel } from "../../../src/shared/logger.js";

function capture(level: LogLevel = "trace") {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
      done();
    },
  });
  return { log: createLogger({ level, destination }), lines, parsed: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

/** Wraps `leaf` in `depth` levels of objects: {l1: {l2: ... leaf}}. */
function nest(depth: number, leaf: Record<string, unknown>): Record<string, unknown> {
  let node = leaf;
  for (let d = depth; d >= 1; d--) node = { [`l${d}`]: node };
  return node;
}

// Each secret is unique so a leak of any one is visible in the serialized line.
const secrets = {
  code: "918273",
  doorCode: "564738",
  pin: "1029",
  uid: "04A1B2C3D4E5F6",
  linkKey: "00112233445566778899aabbccddeeff",
  sessionKey: "ffeeddccbbaa99887766554433221100",
  privateKey: "-----BEGIN PRIVATE KEY-----MC4CAQ",
  password: "hunter2-broker",
  passphrase: "tls-passphrase-x",
  secret: "client-secret-y",
  token: "bearer-token-z",
  authorization: "Basic dXNlcjpwYXNz",
};
const secretValues = Object.values(secrets);

describe("logger redaction", () => {
  it.each(Array.from({ length: REDACT_DEPTH + 1 }, (_, depth) => depth))("hides every secret field at depth %i", (depth) => {
    const { log, lines } = capture();
    log.info(nest(depth, { ...secrets, roomName: "room-101" }), "secrets");
    expect(lines).toHaveLength(1);
    for (const value of secretValues) expect(lines[0]).not.toContain(value);
    expect(lines[0]).toContain("room-101");
    expect(lines[0]).toContain("[redacted]");
  });

  it("hides door codes inside domain objects and arrays but keeps their shape", () => {
    const { log, lines, parsed } = capture();
    const key = { keyId: "k-1", doorCode: { enabled: true, assignment: "strict", code: "482916" }, keycard: { enabled: true, cardId: "c-9" } };
    log.info({ key, keys: [key, key], status: { doorCode: { state: "assigned", code: "482916" } } }, "key upsert");
    log.info({ cards: [{ cardId: "c-9", uid: "04AABBCCDD" }] }, "keycards");
    expect(lines.join("\n")).not.toMatch(/482916|04AABBCCDD/);
    const first = parsed()[0] as { key: { doorCode: { assignment: string; code: string }; keycard: { cardId: string } } };
    expect(first.key.doorCode).toEqual({ enabled: true, assignment: "strict", code: "[redacted]" });
    expect(first.key.keycard.cardId).toBe("c-9");
  });

  it("hides secrets in child logger bindings", () => {
    const { log, lines } = capture();
    log.child({ module: "lock", lock: { lockId: "L1", linkKey: secrets.linkKey } }).warn({ password: secrets.password }, "paired");
    expect(lines[0]).not.toContain(secrets.linkKey);
    expect(lines[0]).not.toContain(secrets.password);
    expect(lines[0]).toContain('"lockId":"L1"');
  });

  it("keeps error codes readable while hiding any other `code`", () => {
    const { log, parsed } = capture();
    log.error({ err: new LockBridgeError("lock_timeout", "no answer") }, "lock failed");
    log.error({ err: Object.assign(new Error("refused"), { code: "ECONNREFUSED" }) }, "broker");
    log.info({ response: { ok: false, error: { code: "code_unavailable", message: "taken" } } }, "response");
    log.info({ error: { code: "1234" }, other: { code: "not_a_known_code" } }, "unknown");
    const [lockFailed, broker, response, unknown] = parsed() as [
      { err: { code: string; message: string } },
      { err: { code: string } },
      { response: { error: { code: string } } },
      { error: { code: string }; other: { code: string } },
    ];
    expect(lockFailed.err).toMatchObject({ code: "lock_timeout", message: "no answer" });
    expect(broker.err.code).toBe("ECONNREFUSED");
    expect(response.response.error.code).toBe("code_unavailable");
    expect(unknown.error.code).toBe("[redacted]");
    expect(unknown.other.code).toBe("[redacted]");
  });

  it("does not modify the caller's objects", () => {
    const { log } = capture();
    const key = { doorCode: { code: "111222" } };
    log.info({ key }, "x");
    expect(key.doorCode.code).toBe("111222");
  });

  it("writes structured JSON at the configured level only", () => {
    const { log, parsed } = capture("warn");
    log.info("hidden");
    log.warn({ lockId: "L1" }, "shown");
    expect(parsed()).toEqual([expect.objectContaining({ level: "warn", msg: "shown", lockId: "L1", time: expect.any(String) })]);
  });
});
