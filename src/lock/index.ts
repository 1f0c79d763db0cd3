export * from "./errors.js";
export * from "./link-state.js";
export * from "./bus.js";
export * from "./session.js";
export * from "./client.js";
export * from "./links.js";
export { HubCounter } from "./hub-counter.js";
