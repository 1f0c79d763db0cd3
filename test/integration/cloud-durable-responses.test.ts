/**
 * Durable responses (mqtt-api.md v1.1 §3): a response is kept by the hub until the broker
 * acknowledges it and is sent again after a reconnect or a restart. Proven where the command
 * itself is NOT delivered again (the broker came back without the hub's session), so only the
 * hub's own record can bring the answer: a broker that goes away right after the command is
 * committed, and a hub SIGKILLed after the commit, before its response's PUBACK.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { CloudClient, ReceivedMessage } from "../../src/cloud/ctl-client.js";
import type { CommandHandler, HandlerFor } from "../../src/cloud/registry.js";
import { openStore } from "../../src/store/index.js";
import { connectCloud, eventually, site, startHubCloud } from "../helpers/cloud.js";
import { startMosquitto, type Mosquitto } from "../helpers/mosquitto.js";
import { REPO_ROOT } from "../helpers/store.js";
import { startTcpProxy } from "../helpers/tcp-proxy.js";

const resources: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const close of resources.splice(0).reverse()) await Promise.resolve(close()).catch(() => undefined);
});

/** The broker restarts without its persistence: sessions and queued messages are gone. */
async function brokerComesBackEmpty(broker: Mosquitto): Promise<void> {
  await broker.stop();
  fs.rmSync(path.join(broker.dir, "mosquitto.db"), { force: true });
  await broker.start();
}

/** The cloud, subscribed again to {base}/res once the broker is back. */
async function resubscribed(cloud: CloudClient): Promise<void> {
  await eventually(() => cloud.client.connected, 15_000, "cloud reconnected");
  await cloud.client.subscribeAsync(cloud.topics.res, { qos: 1 });
}

function responsesFor(cloud: CloudClient, id: string): ReceivedMessage[] {
  const got: ReceivedMessage[] = [];
  cloud.onMessage((m) => {
    if (m.topic === cloud.topics.res && (m.payload as { id?: unknown }).id === id) got.push(m);
  });
  return got;
}

describe("durable command responses", () => {
  it("a broker that goes away right after the commit: the response is sent once the hub is back", async () => {
    const broker = await startMosquitto();
    resources.push(() => broker.close());
    const proxy = await startTcpProxy(broker.port);
    resources.push(() => proxy.close());
    const hub = await startHubCloud({ url: proxy.url });
    resources.push(() => hub.stop());
    // The link dies the instant the command's effect and response are committed.
    const inner = hub.cloud.registry.get("site.configure") as CommandHandler;
    hub.cloud.registry.register("site.configure", {
      ...inner,
      handle: (cmd, ctx) => inner.handle(cmd, { ...ctx, commit: (fn) => { const out = ctx.commit(fn); proxy.cut(); return out; } }),
    } as HandlerFor<"site.configure">);
    await eventually(() => hub.cloud.connected, 10_000, "hub online");

    const cloud = await connectCloud({ url: broker.url, hubId: "hub-1", protocolVersion: 5, persistent: true, clientId: "cloud-durable-1" });
    resources.push(() => cloud.close());
    const id = "durable-broker-1";
    const got = responsesFor(cloud, id);
    await cloud.send({ ...site(), id }, { wait: false });
    await eventually(() => hub.store.site.get()?.siteId === "site-1", 10_000, "committed");
    expect(hub.store.inbox.unsent(10).map((e) => e.commandId)).toEqual([id]);

    await brokerComesBackEmpty(broker);
    await resubscribed(cloud);
    expect(got).toEqual([]);
    proxy.restore();
    await eventually(() => got.length > 0, 15_000, "the kept response");
    expect(got[0]!.payload).toMatchObject({ id, cmd: "site.configure", ok: true });
    await eventually(() => hub.store.inbox.unsent(10).length === 0, 5000, "marked sent after the PUBACK");
  });

  it("a hub SIGKILLed after the commit, before its response's PUBACK: the restarted hub sends it", async () => {
    const broker = await startMosquitto();
    resources.push(() => broker.close());
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lockbridge-durable-"));
    resources.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, "hub.db");
    const child = (extra: Record<string, string>) => {
      const proc = spawn(process.execPath, ["--import", "tsx", path.join(REPO_ROOT, "test/helpers/cloud-hub-child.ts")], {
        cwd: REPO_ROOT,
        env: { ...process.env, HUB_URL: broker.url, HUB_STORE: file, HUB_PROTOCOL: "5", ...extra },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      proc.stdout.on("data", (d: Buffer) => (out += d.toString()));
      resources.push(() => void proc.kill("SIGKILL"));
      return { proc, out: () => out, exited: new Promise<NodeJS.Signals | null>((r) => proc.once("exit", (_c, sig) => r(sig))) };
    };

    const first = child({ HUB_KILL_AFTER_COMMIT: "site.configure" });
    await eventually(() => first.out().includes('"online":true'), 20_000, "hub online");
    const cloud = await connectCloud({ url: broker.url, hubId: "hub-crash", protocolVersion: 5, persistent: true, clientId: "cloud-durable-2" });
    resources.push(() => cloud.close());
    const id = "durable-kill-1";
    const got = responsesFor(cloud, id);
    await cloud.send({ ...site(), id }, { wait: false });
    expect(await first.exited).toBe("SIGKILL");
    expect(first.out()).toContain(`"committed":"${id}"`);
    const store = openStore(file);
    expect(store.site.get()?.siteId).toBe("site-1");
    expect(store.inbox.unsent(10).map((e) => e.commandId)).toEqual([id]);
    store.close();

    await brokerComesBackEmpty(broker);
    await resubscribed(cloud);
    const second = child({});
    await eventually(() => got.length > 0, 20_000, "the response after the restart");
    expect(got[0]!.payload).toMatchObject({ id, cmd: "site.configure", ok: true });
    expect(second.proc.exitCode).toBeNull();
  });
});
