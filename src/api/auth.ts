/**
 * Who may use the local API. Loopback callers may read; everything else, and every action
 * from anywhere, needs the installer token (`Authorization: Bearer <token>`), compared in
 * constant time. Against a web page in the installer's browser:
 *  - DNS rebinding: the Host header must be an IP literal, localhost, or a configured name
 *    (a rebinding attack arrives with the attacker's domain in Host);
 *  - CSRF: an action needs the token in a header and a JSON body; a foreign Origin, or fetch
 *    metadata saying another site made the request (Sec-Fetch-Site), is refused (a form or a
 *    cross-site fetch can set neither header nor body type without a CORS preflight we never grant).
 * The token can be rotated (rotateToken; the API's rotate-token action, `lockbridge api token --rotate`).
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { chmodSync, closeSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeSync } from "node:fs";
import type { IncomingMessage } from "node:http";
import { isIP } from "node:net";
import { dirname } from "node:path";
import { LockBridgeError } from "../shared/errors.js";
import { echo } from "../cloud/schemas.js";

export const TOKEN_FILE = "installer-token";
const MIN_TOKEN_CHARS = 32;

/**
 * Reads the installer token, creating it (0600, 256 random bits) when the file is missing.
 * A file others can read is tightened to 0600: the token opens every installer action.
 */
export function loadOrCreateToken(file: string): { token: string; created: boolean; tightened: boolean } {
  let created = false;
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const fd = openSync(file, "wx", 0o600);
    try {
      writeSync(fd, `${randomBytes(32).toString("base64url")}\n`);
    } finally {
      closeSync(fd);
    }
    created = true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw new LockBridgeError("internal", `cannot create the installer token file ${file}: ${(e as Error).message}`);
  }
  let tightened = false;
  if ((statSync(file).mode & 0o077) !== 0) {
    chmodSync(file, 0o600);
    tightened = true;
  }
  const token = readFileSync(file, "utf8").trim();
  if (token.length < MIN_TOKEN_CHARS) throw new LockBridgeError("internal", `the installer token in ${file} is shorter than ${MIN_TOKEN_CHARS} characters: delete the file and restart the hub to get a new one`);
  return { token, created, tightened };
}

/**
 * Replaces the token in `file` with a new one (0600, written beside it and renamed over it, so
 * a reader sees the old or the new token, never half of one). The running hub switches to the
 * new token when it is the one rotating (the API's rotate-token action); the old one stops working.
 */
export function rotateToken(file: string): string {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const token = randomBytes(32).toString("base64url");
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = openSync(tmp, "w", 0o600);
  try {
    writeSync(fd, `${token}\n`);
  } finally {
    closeSync(fd);
  }
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
  return token;
}

/** Constant time whatever the lengths: both sides are hashed to 32 bytes first. */
export function tokenMatches(given: string, expected: string): boolean {
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  return address === "::1" || address.startsWith("127.") || address.startsWith("::ffff:127.");
}

/** The host part of a Host header or an Origin's authority ("[::1]:8620" -> "::1"). */
export function hostOf(authority: string): string {
  const m = /^\[([^\]]+)\](?::\d+)?$/.exec(authority);
  if (m) return m[1]!.toLowerCase();
  return authority.replace(/:\d+$/, "").toLowerCase();
}

export interface GuardPolicy {
  token: string;
  /** Extra host names (config api.allowedHosts). */
  allowedHosts: readonly string[];
}

export type GuardVerdict = { ok: true; authenticated: boolean } | { ok: false; status: 401 | 403 | 421; code: string; message: string };

/** Decides one request; `action` = it changes something (POST). */
export function guard(req: IncomingMessage, policy: GuardPolicy, action: boolean): GuardVerdict {
  const host = req.headers.host;
  if (host === undefined || host === "") return { ok: false, status: 421, code: "bad_host", message: "a Host header is required" };
  const hostname = hostOf(host);
  const allowed = isIP(hostname) !== 0 || hostname === "localhost" || policy.allowedHosts.some((h) => h.toLowerCase() === hostname);
  if (!allowed) return { ok: false, status: 421, code: "bad_host", message: `the hub does not answer to the host name "${echo(hostname)}" (add it to api.allowedHosts)` };

  const origin = req.headers.origin;
  if (origin !== undefined) {
    let originHost: string | undefined;
    try {
      originHost = new URL(origin).host;
    } catch {
      originHost = undefined;
    }
    if (originHost === undefined || originHost.toLowerCase() !== host.toLowerCase()) {
      return { ok: false, status: 403, code: "foreign_origin", message: "requests from another web site are refused" };
    }
  }

  // Fetch metadata (every current browser sends it): a request another site's page made is refused
  // even before its Origin is looked at, except a plain navigation to the console (a bookmark, a link).
  const site = req.headers["sec-fetch-site"];
  if ((site === "cross-site" || site === "same-site") && !(req.method === "GET" && req.headers["sec-fetch-mode"] === "navigate" && !action)) {
    return { ok: false, status: 403, code: "foreign_origin", message: "requests from another web site are refused" };
  }

  const auth = req.headers.authorization;
  const given = auth?.startsWith("Bearer ") ? auth.slice(7).trim() : undefined;
  const authenticated = given !== undefined && tokenMatches(given, policy.token);
  if (given !== undefined && !authenticated) return { ok: false, status: 401, code: "bad_token", message: "the installer token does not match" };
  if (action && !authenticated) return { ok: false, status: 401, code: "token_required", message: "installer actions need the installer token (Authorization: Bearer <token>)" };
  if (!authenticated && !isLoopback(req.socket.remoteAddress)) {
    return { ok: false, status: 401, code: "token_required", message: "requests from the network need the installer token (Authorization: Bearer <token>)" };
  }
  if (action && !/^application\/json\b/i.test(req.headers["content-type"] ?? "")) {
    return { ok: false, status: 403, code: "json_required", message: "installer actions take a JSON body (Content-Type: application/json)" };
  }
  return { ok: true, authenticated };
}
