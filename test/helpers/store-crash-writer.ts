/**
 * Child process for the crash test: takes the data dir argv[2], opens its store and commits
 * writes as fast as it can, forever: each transaction appends an outbox event and upserts a
 * key with 2 doors and 3 credentials (sometimes 20 keys in one transaction, as a snapshot
 * would). Only AFTER a commit returns does it print "committed <keyId> <seq>" per key, with a
 * synchronous write, so whatever the parent read was durable before the parent saw it.
 * Run tag argv[3] keeps key ids of different runs apart.
 */
import fs from "node:fs";
import { acquireDataDir, openStore } from "../../src/store/index.js";
import { sampleKey } from "./store.js";

const [dir, tag] = process.argv.slice(2);
if (!dir || !tag) throw new Error("usage: store-crash-writer.ts DIR TAG");
const lease = acquireDataDir(dir);
const store = openStore(lease.storePath);
fs.writeSync(1, `ready ${store.outbox.lastSeq()}\n`);

let n = 0;
for (;;) {
  const batch = n % 7 === 6 ? 20 : 1;
  const committed = store.transaction(() => {
    const out: string[] = [];
    for (let i = 0; i < batch; i++, n++) {
      const keyId = `${tag}-${n}`;
      const seq = store.outbox.append({ type: "credential.provisioned", keyId });
      store.keys.upsert(sampleKey(keyId, { holder: { name: `guest ${n}` } }));
      store.credentials.assign({ keyId, kind: "doorCode", value: String(100000 + (n % 900000)), assignment: "random" });
      store.credentials.assign({ keyId, kind: "keycard", value: `card-${keyId}` });
      store.credentials.assign({ keyId, kind: "smartKey", value: Buffer.alloc(32, n % 256).toString("base64") });
      out.push(`committed ${keyId} ${seq}\n`);
    }
    return out;
  });
  fs.writeSync(1, committed.join(""));
}
