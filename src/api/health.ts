/**
 * `/health`: ready = the store is open and every service started. Degraded states are
 * named ("broker unreachable", "store gone") so a person or a monitor knows what to fix.
 * The store is "gone" when its file vanished or stopped answering a read: the hub then
 * writes into a deleted file or nowhere, and must say so.
 */
import { statSync } from "node:fs";
import { errorMessage } from "../shared/errors.js";
import type { HubView } from "./hub-view.js";
import type { Health } from "./schemas.js";

export function checkStore(hub: HubView): { ok: boolean; detail: string } {
  const store = hub.store();
  if (!store) return { ok: false, detail: "store not open" };
  try {
    if (!statSync(store.path).isFile()) return { ok: false, detail: `store gone: ${store.path} is not a file` };
    store.meta.get("schema.probe");
    return { ok: true, detail: "open" };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { ok: false, detail: code === "ENOENT" ? `store gone: ${store.path} was deleted` : `store gone: ${errorMessage(e)}` };
  }
}

export function health(hub: HubView): Health {
  const problems: string[] = [];
  const store = checkStore(hub);
  if (!store.ok) problems.push(store.detail);
  const cloud = hub.cloud();
  const broker = cloud === undefined ? "not started" : cloud.connected ? "connected" : "unreachable";
  if (broker === "unreachable") problems.push("broker unreachable");
  const ready = hub.ready();
  const services = hub.stopping() ? "stopping" : ready ? "started" : "starting";
  let status: Health["status"];
  if (hub.stopping()) status = "stopping";
  else if (!store.ok) status = "unavailable";
  else if (!ready) status = "starting";
  else status = problems.length > 0 ? "degraded" : "ready";
  return {
    status,
    ready: ready && store.ok && !hub.stopping(),
    hubId: hub.config.hubId,
    version: hub.version,
    problems,
    checks: { store: store.detail, broker, services },
  };
}
