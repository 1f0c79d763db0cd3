/**
 * The cloud's side of signed commands (mqtt-api.md §3 "Signed commands"): tools that act as
 * the cloud (`lockbridge ctl`, `lockbridge sim commission`, the demo's commissioning) sign
 * every state-changing command with an Ed25519 private key, from a file or the environment.
 * The demo makes its own key pair, owner-only, in its data dir.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { LockBridgeError, errorMessage } from "../shared/errors.js";
import { signedBytes } from "./canonical.js";

/** Environment variable naming the cloud's private signing key (a PEM file path, or the PEM itself). */
export const SIGNING_KEY_ENV = "LOCKBRIDGE_CLOUD_SIGNING_KEY";

/** The Ed25519 private key in `source`: inline PKCS#8 PEM, or the path of a PEM file. */
export function loadSigningKey(source: string): KeyObject {
  const text = source.trim();
  let pem = text;
  if (!text.includes("-----BEGIN")) {
    try {
      pem = fs.readFileSync(text, "utf8");
    } catch (e) {
      throw new LockBridgeError("config_invalid", `cannot read the signing key file ${text}: ${errorMessage(e)}`, text);
    }
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw new LockBridgeError("config_invalid", "the signing key is not a PEM private key (expected an Ed25519 PKCS#8 PEM)");
  }
  if (key.asymmetricKeyType !== "ed25519") throw new LockBridgeError("config_invalid", `the signing key must be Ed25519, got ${key.asymmetricKeyType ?? "unknown"}`);
  return key;
}

/** The signing key named by an explicit option, else by LOCKBRIDGE_CLOUD_SIGNING_KEY; undefined when neither. */
export function signingKeyFrom(option: string | undefined, env: Readonly<Record<string, string | undefined>>): KeyObject | undefined {
  const source = option ?? (env[SIGNING_KEY_ENV]?.trim() ? env[SIGNING_KEY_ENV] : undefined);
  return source === undefined ? undefined : loadSigningKey(source);
}

/** The command with `sig` (base64 Ed25519 over its canonical JSON without `sig`). */
export function signCommand<T extends Record<string, unknown>>(command: T, key: KeyObject): Omit<T, "sig"> & { sig: string } {
  const { sig: _old, ...unsigned } = command;
  return { ...unsigned, sig: sign(null, signedBytes(unsigned), key).toString("base64") };
}

export interface DemoKeyPair {
  /** The private key's file (0600), for the demo's cloud tools. */
  privateKeyFile: string;
  /** The public key as SPKI PEM, for the hub's cloud.commandPublicKey. */
  publicKeyPem: string;
}

/**
 * The demo's own command key pair in `dir` (created on first use, kept after): the demo hub
 * runs with signatures checked like a real one, and its simulated cloud signs.
 */
export function ensureDemoKeyPair(dir: string): DemoKeyPair {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const privateKeyFile = path.join(dir, "demo-cloud-signing-key.pem");
  let key: KeyObject;
  if (fs.existsSync(privateKeyFile)) {
    fs.chmodSync(privateKeyFile, 0o600);
    key = loadSigningKey(privateKeyFile);
  } else {
    key = generateKeyPairSync("ed25519").privateKey;
    const tmp = `${privateKeyFile}.${process.pid}.tmp`;
    // Created 0600 whatever the umask: the mode is set on the open file before any byte is written.
    const fd = fs.openSync(tmp, "w", 0o600);
    try {
      fs.fchmodSync(fd, 0o600);
      fs.writeSync(fd, key.export({ format: "pem", type: "pkcs8" }).toString());
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, privateKeyFile);
  }
  const publicKeyPem = createPublicKeyPem(key);
  return { privateKeyFile, publicKeyPem };
}

function createPublicKeyPem(privateKey: KeyObject): string {
  return createPublicKey(privateKey).export({ format: "pem", type: "spki" }).toString();
}
