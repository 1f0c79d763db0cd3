/** The per-lock reconciliation loop (loop.ts) and what the engine hands it. */
export { LockWorker } from "./loop.js";
export type { SlotOp } from "./context.js";
export type { LockHealthFacts, LockWorkerHooks, LockWorkerOptions } from "./options.js";
