/**
 * `/metrics` in the Prometheus text format (prom-client). Gauges are read from the store and
 * the lock links when scraped (nothing to keep in sync); the command latency histogram and
 * the event counters are fed as commands are answered and events appended.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { AnsweredCommand } from "../cloud/index.js";
import type { HubView } from "./hub-view.js";

export interface HubMetrics {
  readonly registry: Registry;
  commandAnswered(answer: AnsweredCommand): void;
  eventAppended(event: { type: string }): void;
}

export function createMetrics(hub: HubView): HubMetrics {
  const registry = new Registry();
  const store = () => hub.store();

  new Gauge({
    name: "lockbridge_locks",
    help: "Commissioned locks by link type and online state",
    labelNames: ["link", "online"],
    registers: [registry],
    collect() {
      this.reset();
      const s = store();
      if (!s) return;
      const statuses = hub.statuses();
      for (const lock of s.locks.list()) {
        if (lock.state !== "commissioned") continue;
        const online = statuses?.lockStatus(lock.lockId)?.online ?? lock.online;
        this.inc({ link: lock.link.type, online: String(online) });
      }
    },
  });
  new Gauge({
    name: "lockbridge_locks_not_in_service",
    help: "Locks being commissioned, replaced or otherwise out of service, by state",
    labelNames: ["state"],
    registers: [registry],
    collect() {
      this.reset();
      for (const lock of store()?.locks.list() ?? []) if (lock.state !== "commissioned") this.inc({ state: lock.state });
    },
  });
  new Gauge({
    name: "lockbridge_credentials",
    help: "Credentials (key x door) by state: active, pending, inactive, failed, revoking",
    labelNames: ["state"],
    registers: [registry],
    collect() {
      this.reset();
      const s = store();
      const statuses = hub.statuses();
      if (!s || !statuses) return;
      for (const keyId of s.keys.ids({ includeRemoved: true })) {
        for (const d of statuses.keyStatus(keyId)?.doors ?? []) this.inc({ state: d.state });
      }
    },
  });
  new Gauge({
    name: "lockbridge_outbox_events",
    help: "Events in the local outbox not yet acknowledged by the broker",
    registers: [registry],
    collect() {
      const s = store();
      if (s) this.set(s.outbox.depth().pending);
    },
  });
  new Gauge({
    name: "lockbridge_outbox_oldest_age_seconds",
    help: "Age of the oldest event the broker has not acknowledged (0 when none)",
    registers: [registry],
    collect() {
      this.set(oldestPendingAgeS(hub) ?? 0);
    },
  });
  const commandSeconds = new Histogram({
    name: "lockbridge_command_duration_seconds",
    help: "Time from taking a command to its committed answer",
    labelNames: ["cmd", "ok"],
    buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  // One series per bus, not per lock: the label set stays small on a 500-lock property.
  const linkLabels = ["bus"] as const;
  const linkGauge = (name: string, help: string, pick: (l: ReturnType<HubView["linkStats"]>[number]) => number) =>
    new Gauge({
      name,
      help,
      labelNames: linkLabels,
      registers: [registry],
      collect() {
        this.reset();
        for (const l of hub.linkStats()) this.set({ bus: l.bus }, pick(l));
      },
    });
  linkGauge("lockbridge_link_timeouts_total", "Lock requests that got no answer in time, per bus, since start", (l) => l.timeouts);
  linkGauge("lockbridge_link_crc_errors_total", "Frames dropped for a bad CRC, per bus, since start", (l) => l.crcErrors);
  linkGauge("lockbridge_link_retries_total", "Lock requests sent again, per bus, since start", (l) => l.retries);
  linkGauge("lockbridge_link_up", "1 when the bus's transport is open", (l) => (l.transport.state === "open" ? 1 : 0));
  // A BLE lock is its own bus ("ble:<lockId>"): one series per BLE lock the radio has heard.
  new Gauge({
    name: "lockbridge_ble_rssi_dbm",
    help: "Signal strength of a BLE lock as the hub's radio or BLE proxy last heard it (advertisement or connection)",
    labelNames: linkLabels,
    registers: [registry],
    collect() {
      this.reset();
      for (const l of hub.linkStats()) if (l.transport.rssi !== undefined) this.set({ bus: l.bus }, l.transport.rssi);
    },
  });
  const events = new Counter({ name: "lockbridge_events_total", help: "Hub events appended to the outbox since start, by type", labelNames: ["type"], registers: [registry] });
  const firmware = new Counter({ name: "lockbridge_firmware_jobs_total", help: "Firmware outcomes per lock since start: applied or failed", labelNames: ["outcome"], registers: [registry] });
  const security = new Counter({ name: "lockbridge_security_alerts_total", help: "lock.security_alert events since start", registers: [registry] });
  new Gauge({
    name: "lockbridge_up",
    help: "1 when the hub is ready (store open, services started)",
    registers: [registry],
    collect() {
      this.set(hub.ready() && store() !== undefined ? 1 : 0);
    },
  });
  new Gauge({
    name: "lockbridge_broker_connected",
    help: "1 while the hub is connected to its MQTT broker",
    registers: [registry],
    collect() {
      this.set(hub.cloud()?.connected === true ? 1 : 0);
    },
  });

  return {
    registry,
    commandAnswered(answer) {
      commandSeconds.observe({ cmd: answer.cmd, ok: String(answer.ok) }, answer.ms / 1000);
    },
    eventAppended(event) {
      events.inc({ type: event.type });
      if (event.type === "firmware.applied") firmware.inc({ outcome: "applied" });
      if (event.type === "firmware.failed") firmware.inc({ outcome: "failed" });
      if (event.type === "lock.security_alert") security.inc();
    },
  };
}

export function oldestPendingAgeS(hub: HubView): number | null {
  const s = hub.store();
  if (!s) return null;
  const [oldest] = s.outbox.pending(1);
  if (!oldest) return null;
  return Math.max(0, Math.round((Date.now() - oldest.createdAt) / 1000));
}
