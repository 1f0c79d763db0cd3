export * from "./findings.js";
export * from "./snapshot.js";
export { diagnoseKey, CLOCK_DRIFT_WARN_S } from "./diagnose-key.js";
export { diagnoseDoor, MEMORY_LOW_SHARE } from "./diagnose-door.js";
