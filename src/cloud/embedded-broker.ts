/**
 * The in-process MQTT broker (aedes) the hub runs when no broker URL is configured, so that
 * `npm start` works on a bare checkout. Loopback only: it has no authentication.
 * Lives in src/cloud/ because cloud/ is the only importer of mqtt/aedes.
 */
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { LockBridgeError } from "../shared/errors.js";
import type { Logger } from "../shared/logger.js";

export const EMBEDDED_BROKER_HOST = "127.0.0.1";

export interface EmbeddedBroker {
  /** The port actually bound (differs from the requested one when that was 0). */
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

export async function startEmbeddedBroker(port: number, log: Logger): Promise<EmbeddedBroker> {
  const { Aedes } = await import("aedes");
  const broker = await Aedes.createBroker();
  broker.on("clientError", (client, err) => {
    // A client that goes away without DISCONNECT (killed, unplugged) is ordinary for a broker.
    const gone = ["ECONNRESET", "EPIPE"].includes((err as NodeJS.ErrnoException).code ?? "") || /closed|reset/i.test(err.message);
    if (gone) log.debug({ clientId: client.id, err: err.message }, "mqtt client went away");
    else log.warn({ clientId: client.id, err }, "mqtt client error");
  });
  broker.on("connectionError", (_client, err) => log.debug({ err }, "mqtt connection error"));

  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    broker.handle(socket);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, EMBEDDED_BROKER_HOST, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (e) {
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE") {
      throw new LockBridgeError(
        "transport_unavailable",
        `embedded MQTT broker: ${EMBEDDED_BROKER_HOST}:${port} is in use (EADDRINUSE; another broker?). ` +
          "Set mqtt.embedded.port (LOCKBRIDGE_MQTT_EMBEDDED_PORT, 0 = any free port) or point mqtt.url at that broker.",
      );
    }
    throw e;
  }
  const bound = (server.address() as AddressInfo).port;

  return {
    port: bound,
    url: `mqtt://${EMBEDDED_BROKER_HOST}:${bound}`,
    async close() {
      // Clients keep sockets open; end them so server.close() can complete.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    },
  };
}
