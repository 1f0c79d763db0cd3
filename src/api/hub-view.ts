/**
 * What the local API reads from the running hub. The hub (src/hub.ts) builds one; tests can
 * build one over a real store without the rest. Each getter answers undefined while its part
 * is not running, so the API keeps answering (health names what is missing).
 */
import type { Config } from "../config/index.js";
import type { CloudSync } from "../cloud/index.js";
import type { LinkStats } from "../lock/index.js";
import type { StatusReader } from "../provisioning/status/status-model.js";
import type { BackupResult, Store } from "../store/index.js";
import type { BleRadio } from "../transport/ble/radio.js";

export interface HubView {
  readonly config: Config;
  readonly version: string;
  /** Every service started and none stopping. */
  ready(): boolean;
  stopping(): boolean;
  /** The open store; undefined while it is not open. */
  store(): Store | undefined;
  cloud(): CloudSync | undefined;
  /** Key and lock statuses; undefined while provisioning is not running. */
  statuses(): StatusReader | undefined;
  linkStats(): LinkStats[];
  /** The radio (or BLE proxy) the hub's BLE locks share, for a BLE scan; absent: no BLE scan. */
  bleRadio?(): BleRadio | undefined;
  /** A consistent online backup of the store to `file`. */
  backup(file: string): Promise<BackupResult>;
}
