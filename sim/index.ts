/**
 * The LockBridge lock simulator: LLP v1 locks in software (sim/lock), the links that
 * carry them (TCP bus, pty bus, BLE proxy), fleets from a property file, and a CLI.
 * The hub never imports this; tests, benches and `lockbridge sim` do.
 */
export { SimLock, type SimLockOptions, type LinkReply, type LinkFaults } from "./lock/sim-lock.js";
export { BUILTIN_PROFILES, resolveProfile, type LockProfile, type BuiltinProfileName } from "./lock/profile.js";
export { simLockStateSchema, lockProfileSchema, type SimLockState } from "./lock/state.js";
export type { AccessResult, PhonePrivateKey } from "./lock/door.js";
export { signChallenge, ed25519RawPublicKey } from "./lock/door.js";
export type { Behavior, LockContext, Outcome } from "./lock/context.js";
export { DEFAULT_BEHAVIORS } from "./lock/behaviors/index.js";
export { HubPeer, type PeerReply } from "./peer/hub-peer.js";
export { StreamPeer } from "./peer/stream-peer.js";
export { LockBus, type BusOptions, type BusPort } from "./links/bus.js";
export { startTcpBus, type TcpBus, type TcpBusOptions } from "./links/tcp-bus.js";
export { startPtyBus, type PtyBus, type PtyBusOptions } from "./links/pty-bus.js";
export { startBleProxy, type BleProxy, type BleProxyOptions } from "./ble/proxy-server.js";
export { StandInCentral, type StandInCentralOptions } from "./ble/stand-in-central.js";
export { advertisementOf, peripheralIdOf, GattLink, LLP_SERVICE_UUID, LLP_RX_UUID, LLP_TX_UUID } from "./ble/gatt.js";
export { Fleet, derivedLockId, type FleetOptions, type FleetDoor, type ReadyInfo, type ContractLink } from "./fleet/fleet.js";
export { loadProperty, parseProperty, propertySchema, type Property, type PropertyInput } from "./fleet/property.js";
export { loadLockProfile, lockProfileFromDevice } from "./fleet/profiles.js";
export { commissionIntoHub, type CommissionOptions, type CommissionReport } from "./fleet/commission.js";
export { startControlServer, type ControlServer } from "./control/server.js";
export { ControlClient } from "./control/client.js";
