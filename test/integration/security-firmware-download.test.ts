/**
 * Issue 9, "the firmware download reads the whole body before checking its size": against a
 * real HTTP server on loopback that lies about the size, the hub's fetcher refuses a
 * Content-Length over the announced size unread, and aborts a body that runs past it (a
 * server sending without end stops being read right there); an honest image still arrives.
 */
import { createHash } from "node:crypto";
import { createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { COMMAND_SCHEMAS, MAX_FIRMWARE_BYTES } from "../../src/cloud/schemas.js";
import { httpImageFetcher } from "../../src/provisioning/reconcile/firmware.js";
import { isLockBridgeError } from "../../src/shared/errors.js";

interface LyingServer {
  url: string;
  /** Bytes of body the server managed to write per connection. */
  written: number[];
  close(): Promise<void>;
}

/** Raw HTTP on a socket: `mode` decides how it lies. */
async function lyingServer(mode: "endless" | "big-length" | "honest", image: Buffer): Promise<LyingServer> {
  const written: number[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    const index = written.push(0) - 1;
    socket.on("error", () => undefined);
    socket.once("data", () => {
      const headers = (length: number | null) =>
        `HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\n${length === null ? "transfer-encoding: chunked" : `content-length: ${length}`}\r\nconnection: close\r\n\r\n`;
      if (mode === "honest") {
        socket.end(Buffer.concat([Buffer.from(headers(image.length)), image]));
        written[index] = image.length;
        return;
      }
      if (mode === "big-length") {
        // Says 1 GiB, then trickles: must be refused from the header alone.
        socket.write(headers(1024 * 1024 * 1024));
        socket.write(image);
        written[index] = image.length;
        return;
      }
      // "endless": chunked, without end.
      socket.write(headers(null));
      const block = Buffer.alloc(64 * 1024, 0x5a);
      const chunk = Buffer.concat([Buffer.from(`${block.length.toString(16)}\r\n`), block, Buffer.from("\r\n")]);
      const pump = () => {
        while (!socket.destroyed && written[index]! < 512 * 1024 * 1024) {
          written[index]! += block.length;
          if (!socket.write(chunk)) return void socket.once("drain", pump);
        }
      };
      pump();
    });
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/fw.bin`,
    written,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

const servers: LyingServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function refusal(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error("expected the download to be refused");
}

describe("firmware download: streamed, capped at the announced size", () => {
  const image = Buffer.alloc(200 * 1024, 0xa5);

  it("aborts a body that runs past the announced size, without reading the rest", async () => {
    const server = await lyingServer("endless", image);
    servers.push(server);
    const e = await refusal(httpImageFetcher(server.url, image.length));
    expect(isLockBridgeError(e, "invalid_payload")).toBe(true);
    expect((e as Error).message).toContain("download aborted");
    // The server stops being read: it wrote at most the cap plus what socket buffers hold, not 512 MiB.
    await new Promise((r) => setTimeout(r, 300));
    expect(server.written[0]!).toBeLessThan(image.length + 16 * 1024 * 1024);
  });

  it("refuses a Content-Length over the announced size before reading the body", async () => {
    const server = await lyingServer("big-length", image);
    servers.push(server);
    const e = await refusal(httpImageFetcher(server.url, image.length));
    expect((e as Error).message).toContain("server says 1073741824 bytes");
  });

  it("still fetches an honest image, byte for byte", async () => {
    const server = await lyingServer("honest", image);
    servers.push(server);
    const got = await httpImageFetcher(server.url, image.length);
    expect(createHash("sha256").update(got).digest("hex")).toBe(createHash("sha256").update(image).digest("hex"));
  });

  it("firmware.update cannot announce more than the hub-wide cap", () => {
    const base = { id: "c1", cmd: "firmware.update", ts: "2026-12-01T14:00:00Z", jobId: "j1", lockIds: ["4c42000000000001"], version: "2.0.0", url: "http://127.0.0.1/fw.bin", sha256: "a".repeat(64) };
    expect(COMMAND_SCHEMAS["firmware.update"].safeParse({ ...base, size: MAX_FIRMWARE_BYTES }).success).toBe(true);
    expect(COMMAND_SCHEMAS["firmware.update"].safeParse({ ...base, size: MAX_FIRMWARE_BYTES + 1 }).success).toBe(false);
  });
});
