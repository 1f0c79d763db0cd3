/**
 * The control endpoint acts on locks (opens doors, presents cards, pairs): only local tools
 * may call it. It listens on loopback, but a web page the developer visits can still reach
 * loopback through the browser: cross-site (a fetch from another origin) or by DNS
 * rebinding (a hostile name that resolves to 127.0.0.1, so the browser sends Host: evil.example).
 * Requests whose Host is not a loopback name, or whose Origin is not a loopback origin, are
 * refused. Our own client (ControlClient, curl) sends Host 127.0.0.1:port and no Origin.
 */
import type { IncomingHttpHeaders } from "node:http";

const LOOPBACK_HOST = /^(localhost|127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\])(:\d{1,5})?$/i;
const LOOPBACK_ORIGIN = /^https?:\/\/(localhost|127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\])(:\d{1,5})?$/i;

/** Why the request is refused, or undefined when it comes from this machine's own tools. */
export function refuseNonLocal(headers: IncomingHttpHeaders): string | undefined {
  const host = headers.host;
  if (host === undefined || !LOOPBACK_HOST.test(host)) return `Host ${quote(host)} is not a loopback address`;
  const origin = headers.origin;
  if (origin !== undefined && !LOOPBACK_ORIGIN.test(origin)) return `Origin ${quote(origin)} is not this machine`;
  if (headers["sec-fetch-site"] === "cross-site") return "cross-site request";
  return undefined;
}

const quote = (v: string | undefined) => (v === undefined ? "(none)" : JSON.stringify(v.slice(0, 64)));
