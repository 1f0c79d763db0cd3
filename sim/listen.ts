import type { Server } from "node:net";

/** Listens on `host` (default loopback) and `port` (0 or absent: a free one); rejects if the port cannot be bound. */
export async function listenOn(server: Server, opts: { host?: string; port?: number }, what: string): Promise<{ host: string; port: number }> {
  const host = opts.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const addr = server.address();
  if (!addr || typeof addr === "string") throw new Error(`${what} has no port`);
  return { host, port: addr.port };
}
