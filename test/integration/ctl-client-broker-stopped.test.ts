/**
 * The cloud client against a broker that stops answering (real Mosquitto under SIGSTOP): the
 * answer's timeout fires while the publish still waits for its PUBACK. Found by the chaos run
 * ("broker unreachable" fault): the timeout was an unhandled rejection and killed the process.
 * Now the caller gets it when it awaits, and nothing goes unhandled meanwhile.
 */
import { afterEach, describe, expect, it } from "vitest";
import { CloudClient } from "../../src/cloud/ctl-client.js";
import { startMosquitto, type Mosquitto } from "../helpers/mosquitto.js";

let broker: Mosquitto | undefined;
let client: CloudClient | undefined;
const unhandled: unknown[] = [];
const onUnhandled = (e: unknown) => unhandled.push(e);

afterEach(async () => {
  process.off("unhandledRejection", onUnhandled);
  broker?.signal("SIGCONT");
  await client?.close().catch(() => undefined);
  await broker?.close();
});

describe("cloud client, broker stopped (SIGSTOP)", () => {
  it("an answer that times out while the publish waits for its PUBACK is no unhandled rejection; the caller gets it", async () => {
    broker = await startMosquitto();
    client = await CloudClient.connect({ url: broker.url, hubId: "hub-stopped", persistent: true, clientId: "cloud-stopped" });
    process.on("unhandledRejection", onUnhandled);
    broker.signal("SIGSTOP");
    const sent = client.sendRaw(JSON.stringify({ id: "c-1", cmd: "status.get" }), "c-1", { timeoutMs: 200 });
    const outcome = sent.then(
      () => "answered",
      (e: unknown) => String(e),
    );
    await new Promise((r) => setTimeout(r, 1_000)); // the timeout fired; the PUBACK has not come
    expect(unhandled).toEqual([]);
    broker.signal("SIGCONT");
    expect(await outcome).toContain("no response to c-1 within 200 ms");
    expect(unhandled).toEqual([]);
  }, 30_000);
});
