export * from "./constants.js";
export * from "./crc.js";
export * from "./frame.js";
export * from "./decoder.js";
export * from "./commands.js";
export * from "./seal.js";
export * from "./digest.js";
export * from "./message.js";
