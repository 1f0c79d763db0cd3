/**
 * `lockbridge ctl ...`: the operator's client for a running hub over MQTT.
 * Placeholder until the cloud module provides it; it says so and exits with EXIT.notImplemented.
 */
import { EXIT } from "./exit-codes.js";

export async function runCtl(argv: string[]): Promise<number> {
  process.stderr.write(`lockbridge ctl${argv.length > 0 ? ` ${argv[0]}` : ""}: not implemented yet\n`);
  return EXIT.notImplemented;
}
