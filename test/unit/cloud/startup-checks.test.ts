import { describe, expect, it } from "vitest";
import { checkCloudSecurity, isLoopbackHost, type SecurityFacts } from "../../../src/cloud/startup-checks.js";

const facts = (over: Partial<SecurityFacts> = {}): SecurityFacts => ({
  url: "mqtts://broker.example:8883",
  embeddedBroker: false,
  hasCommandKey: true,
  allowUnsignedCommands: false,
  ...over,
});

describe("cloud security checks at start", () => {
  it("refuses a real broker without a command key, naming the setting and the way out", () => {
    expect(() => checkCloudSecurity(facts({ hasCommandKey: false }))).toThrow(expect.objectContaining({ code: "config_invalid", path: "cloud.commandPublicKey", message: expect.stringContaining("allowUnsignedCommands") }));
    expect(checkCloudSecurity(facts({ hasCommandKey: false, allowUnsignedCommands: true })).map((w) => w.reason)).toEqual(["unsigned_commands_allowed"]);
    // The embedded demo broker (loopback only) needs no key and warns nothing.
    expect(checkCloudSecurity(facts({ hasCommandKey: false, embeddedBroker: true, url: "mqtt://127.0.0.1:1883" }))).toEqual([]);
    expect(checkCloudSecurity(facts())).toEqual([]);
  });

  it("warns when the broker's certificate is not checked", () => {
    expect(checkCloudSecurity(facts({ rejectUnauthorized: false })).map((w) => w.reason)).toEqual(["tls_not_verified"]);
    expect(checkCloudSecurity(facts({ rejectUnauthorized: true }))).toEqual([]);
  });

  it("warns when a password goes in clear to another machine, not over TLS or to loopback", () => {
    const clear = checkCloudSecurity(facts({ url: "mqtt://broker.example:1883", password: "s3cret" }));
    expect(clear.map((w) => w.reason)).toEqual(["password_in_clear"]);
    expect(clear[0]!.message).not.toContain("s3cret");
    expect(checkCloudSecurity(facts({ url: "ws://10.0.0.5/mqtt", password: "p" })).map((w) => w.reason)).toEqual(["password_in_clear"]);
    expect(checkCloudSecurity(facts({ url: "mqtts://broker.example:8883", password: "p" }))).toEqual([]);
    expect(checkCloudSecurity(facts({ url: "mqtt://127.0.0.1:1883", password: "p" }))).toEqual([]);
    expect(checkCloudSecurity(facts({ url: "mqtt://localhost:1883", password: "p" }))).toEqual([]);
    expect(checkCloudSecurity(facts({ url: "mqtt://broker.example:1883" }))).toEqual([]);
  });

  it("knows loopback names", () => {
    for (const h of ["localhost", "127.0.0.1", "127.1.2.3", "[::1]", "::1"]) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ["10.0.0.1", "broker.example", "localhost.evil.example", "128.0.0.1"]) expect(isLoopbackHost(h), h).toBe(false);
  });
});
