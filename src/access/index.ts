/**
 * The pure access rules, in one import for the engine, the store and the cloud handlers.
 * Each module has one job; see docs/access-rules.md for the choices behind them.
 */
export * from "./model.js";
export * from "./result.js";
export * from "./timezone.js";
export * from "./windows.js";
export * from "./key-activation.js";
export * from "./linked-doors.js";
export * from "./protect-config.js";
export * from "./codes.js";
export * from "./keycards.js";
export * from "./plan.js";
export * from "./desired.js";
export * from "./status.js";
export * from "./at-risk.js";
