export * from "./types.js";
export { TcpTransport, type TcpTransportOptions } from "./tcp.js";
export { SerialTransport, type SerialTransportOptions, type SerialSettings } from "./serial.js";
export * from "./ble/index.js";
