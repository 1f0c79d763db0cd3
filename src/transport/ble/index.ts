export * from "./central.js";
export * from "./radio.js";
export * from "./transport.js";
export { createNobleCentral, type NobleCentralOptions } from "./noble-central.js";
export { ProxyCentral, type ProxyCentralOptions } from "./proxy-central.js";
export { DeferredCentral } from "./deferred-central.js";
