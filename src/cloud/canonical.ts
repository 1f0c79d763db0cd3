/**
 * Canonical JSON for signed commands (docs/mqtt-api.md, "Signed commands"): object keys
 * sorted recursively by UTF-16 code units (JavaScript's default sort), no whitespace,
 * strings escaped and numbers written as JSON.stringify does, encoded as UTF-8. For the
 * values JSON can carry this is RFC 8785 (JCS), so cloud teams can use a JCS library.
 */
import { createPublicKey, verify, type KeyObject } from "node:crypto";

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") {
    const text = JSON.stringify(value);
    // undefined, functions, symbols: not JSON; a command parsed from JSON never has them.
    if (text === undefined) throw new TypeError("canonical JSON: value is not JSON");
    return text;
  }
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(",")}]`;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record)
    .filter((k) => record[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k])}`).join(",")}}`;
}

/** The bytes a signature covers: the canonical JSON of the command without `sig`. */
export function signedBytes(command: Readonly<Record<string, unknown>>): Buffer {
  const { sig: _sig, ...rest } = command;
  return Buffer.from(canonicalJson(rest), "utf8");
}

export function loadCommandKey(pem: string): KeyObject {
  return createPublicKey(pem);
}

/** Whether `sig` (base64) is a valid Ed25519 signature of the command by `key`. */
export function verifyCommandSignature(command: Readonly<Record<string, unknown>>, sig: string, key: KeyObject): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(sig)) return false;
  const signature = Buffer.from(sig, "base64");
  if (signature.length !== 64) return false;
  try {
    return verify(null, signedBytes(command), key, signature);
  } catch {
    // A malformed signature is simply not a valid one.
    return false;
  }
}
