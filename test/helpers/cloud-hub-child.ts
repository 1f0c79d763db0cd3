/**
 * The hub's cloud part as a real child process, for crash tests (SIGKILL at any moment).
 * Environment:
 *   HUB_URL, HUB_STORE (SQLite file), HUB_PROTOCOL (4|5)
 *   HUB_HOLD_CMD      a command name: its handler prints {"holding": id} and never commits
 *   HUB_EVENT_EVERY_MS  emit an access event this often (a lock streaming events)
 *   HUB_MARK_APPLIED  "1": key.upsert also emits, inside its own commit, a marker event
 *                     carrying the command id, so the cloud can count applications per command
 *   HUB_KILL_AFTER_COMMIT  a command name: right after its commit (effect and response stored)
 *                     the process SIGKILLs itself, before the response is published
 * Prints JSON lines: {"online": true} once connected, {"holding": id}.
 */
import { pino } from "pino";
import { CloudSync } from "../../src/cloud/cloud-sync.js";
import type { CommandHandler, HandlerFor } from "../../src/cloud/registry.js";
import { createLogger } from "../../src/shared/logger.js";
import { openStore } from "../../src/store/index.js";
import { TEST_CLOUD_KEY } from "./cloud.js";
import { storeOnlyKeyCommands, storeStatusSource } from "./store-only-core.js";
import { systemClock } from "../../src/shared/clock.js";

const env = (name: string): string => {
  const v = process.env[name];
  if (v === undefined) throw new Error(`${name} is required`);
  return v;
};

const store = openStore(env("HUB_STORE"));
const keys = storeOnlyKeyCommands(store, systemClock);
const cloud = new CloudSync({
  hubId: "hub-crash",
  keys,
  statusSource: storeStatusSource(store, keys),
  url: env("HUB_URL"),
  topicPrefix: "lockbridge",
  protocolVersion: process.env.HUB_PROTOCOL === "4" ? 4 : 5,
  maxEvents: 1_000_000,
  version: "0.0.0-test",
  store,
  // The tests' cloud key (helpers/cloud.ts TEST_CLOUD_KEY), unless the test says otherwise.
  commandPublicKey: process.env.HUB_COMMAND_PUBLIC_KEY ?? TEST_CLOUD_KEY.publicPem,
  log: createLogger({
    level: (process.env.HUB_LOG_LEVEL as "info" | undefined) ?? "silent",
    destination: process.env.HUB_LOG_FILE ? pino.destination({ dest: process.env.HUB_LOG_FILE, append: true, sync: true }) : undefined,
  }),
  connection: { backoff: { firstMs: 50, maxMs: 300, jitter: "full" }, publishTimeoutMs: 5000 },
});

const print = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);

const hold = process.env.HUB_HOLD_CMD;
if (hold) {
  const inner = cloud.registry.get(hold as "site.configure") as CommandHandler;
  cloud.registry.register(hold as "site.configure", {
    ...inner,
    timeoutMs: 3_600_000,
    handle: async (_cmd, ctx) => {
      print({ holding: ctx.meta.id });
      return new Promise(() => undefined); // never commits: the hub is killed here
    },
  } as HandlerFor<"site.configure">);
}

if (process.env.HUB_MARK_APPLIED === "1") {
  const inner = cloud.registry.get("key.upsert") as unknown as HandlerFor<"key.upsert">;
  cloud.registry.register("key.upsert", {
    ...inner,
    handle: (cmd, ctx) =>
      inner.handle(cmd, {
        ...ctx,
        commit: (fn) =>
          ctx.commit(() => {
            const outcome = fn();
            ctx.emit({ type: "credential.provisioned", keyId: cmd.keyId, credential: "doorCode", commandId: ctx.meta.id });
            return outcome;
          }),
      }),
  });
}

const killAfter = process.env.HUB_KILL_AFTER_COMMIT;
if (killAfter) {
  const inner = cloud.registry.get(killAfter as "site.configure") as CommandHandler;
  cloud.registry.register(killAfter as "site.configure", {
    ...inner,
    handle: (cmd, ctx) =>
      inner.handle(cmd, {
        ...ctx,
        commit: (fn) => {
          const outcome = ctx.commit(fn);
          print({ committed: ctx.meta.id });
          process.kill(process.pid, "SIGKILL");
          return outcome;
        },
      }),
  } as HandlerFor<"site.configure">);
}

await cloud.start();
const everyMs = Number(process.env.HUB_EVENT_EVERY_MS ?? 0);
if (everyMs > 0) {
  let n = 0;
  setInterval(() => cloud.events.emit({ type: "access.granted", doorId: "room-101", keyId: "k-stream", credential: "keycard", pid: process.pid, n: n++ }), everyMs);
}
const ready = setInterval(() => {
  if (cloud.connected) {
    clearInterval(ready);
    print({ online: true, pid: process.pid });
  }
}, 10);

process.on("SIGTERM", () => {
  void cloud.stop().then(() => {
    store.close();
    process.exit(0);
  });
});
