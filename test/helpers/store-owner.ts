/**
 * Child process for the data-dir ownership test: takes the data dir given as argv[2] and
 * holds it until killed or until stdin closes. Prints "owned <pid>" or "locked <message>".
 */
import fs from "node:fs";
import { isLockBridgeError } from "../../src/shared/errors.js";
import { acquireDataDir } from "../../src/store/index.js";

const dir = process.argv[2];
if (!dir) throw new Error("usage: store-owner.ts DIR");
try {
  const lease = acquireDataDir(dir);
  fs.writeSync(1, `owned ${process.pid}\n`);
  process.stdin.resume();
  process.stdin.on("end", () => {
    lease.release();
    fs.writeSync(1, "released\n");
    process.exit(0);
  });
} catch (e) {
  if (!isLockBridgeError(e, "store_locked")) throw e;
  fs.writeSync(1, `locked ${e.message}\n`);
  process.exit(3);
}
