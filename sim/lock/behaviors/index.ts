import type { Behavior } from "../context.js";
import { credentialsBehavior } from "./credentials.js";
import { eventsBehavior } from "./events.js";
import { firmwareBehavior } from "./firmware.js";
import { identityBehavior } from "./identity.js";
import { pairingBehavior } from "./pairing.js";
import { unlockBehavior } from "./unlock.js";

/** The whole of LLP v1 on the lock side, one module per command group. */
export const DEFAULT_BEHAVIORS: readonly Behavior[] = [
  identityBehavior,
  credentialsBehavior,
  unlockBehavior,
  eventsBehavior,
  firmwareBehavior,
  pairingBehavior,
];

export { credentialsBehavior, eventsBehavior, firmwareBehavior, identityBehavior, pairingBehavior, unlockBehavior };
export { statusFlags } from "./identity.js";
