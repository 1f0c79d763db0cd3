/**
 * A lock link as a byte stream. Framing, addressing and retries live above it
 * (src/lock/); a transport only moves bytes and keeps its link up: serial and TCP reopen
 * with backoff on their own, BLE connects on demand and drops the link when idle.
 */
import type { EventEmitter } from "node:events";
import type { LockBridgeError } from "../shared/errors.js";

export type TransportKind = "serial" | "tcp" | "ble";

/**
 * - idle: started, no link held, the next write opens one (BLE between requests)
 * - opening: first attempt in progress
 * - open: bytes can be written
 * - reconnecting: the link was lost or failed; a retry is scheduled with backoff
 * - unavailable: cannot work at all here (no Bluetooth adapter); writes fail
 * - closed: not started, or closed by its owner
 */
export type TransportState = "idle" | "opening" | "open" | "reconnecting" | "unavailable" | "closed";

export interface TransportStatus {
  kind: TransportKind;
  /** Where the link goes: a serial path, host:port, or a BLE lockId. */
  target: string;
  state: TransportState;
  /** When the state last changed (ms since epoch). */
  since: number;
  /** Successful (re)opens after the first. */
  reconnects: number;
  /** The last failure, for operators; never contains secrets. */
  lastError?: string | undefined;
  bytesIn: number;
  bytesOut: number;
  /**
   * BLE only: the lock's signal strength (dBm) as the radio last saw it (an advertisement, or
   * read at connection), and when (ms since epoch). Absent until the lock was seen.
   */
  rssi?: number | undefined;
  rssiAt?: number | undefined;
}

export interface TransportEvents {
  data: [chunk: Buffer];
  state: [status: TransportStatus];
  /** Non-fatal trouble worth logging; the transport keeps trying. Emitted only when someone listens. */
  error: [err: LockBridgeError];
  /** The link went down (lost, or closed by its owner). */
  close: [];
}

export interface Transport extends Pick<EventEmitter<TransportEvents>, "on" | "off" | "once" | "emit"> {
  readonly kind: TransportKind;
  readonly target: string;
  /**
   * Start keeping the link up. Resolves after the first attempt whatever its outcome
   * (status() tells); failures are retried in the background with backoff.
   */
  open(): Promise<void>;
  /** Stop for good: drop the link, cancel retries. */
  close(): Promise<void>;
  /** Queue bytes on the link. Rejects with `transport_closed` / `transport_unavailable` / `ble_unavailable` when it cannot. */
  write(data: Uint8Array): Promise<void>;
  status(): TransportStatus;
}
