/**
 * A real Mosquitto for integration tests: /usr/sbin/mosquitto with its own temp config on
 * free loopback ports. Deliberate settings:
 * - max_queued_messages raised (default 1000): Mosquitto silently drops QoS 1 messages
 *   beyond it for a slow or offline persistent subscriber, which would look like loss.
 * - persistence with autosave_interval 1, so a stop/start keeps sessions, queued messages
 *   and retained messages (what a production broker does).
 * - optional TLS listener with a CA, a server certificate and client certificates made
 *   with the openssl CLI, require_certificate true (mutual TLS).
 * - optional password file (mosquitto_passwd).
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import { createConnection, createServer, type AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";

export const MOSQUITTO_BIN = "/usr/sbin/mosquitto";

export interface TlsMaterial {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A client certificate signed by another CA (must be refused). */
  strangerCert: string;
  strangerKey: string;
  /** The other CA (a hub pinning it must refuse our broker). */
  strangerCa: string;
}

export interface MosquittoOptions {
  tls?: boolean;
  /** user -> password; anonymous access is then refused on every listener. */
  users?: Record<string, string>;
  maxQueuedMessages?: number;
  /** Outgoing QoS 1 messages in flight per client (Mosquitto's default is 20). */
  maxInflightMessages?: number;
}

export interface Mosquitto {
  readonly port: number;
  readonly url: string;
  readonly tlsPort: number | undefined;
  readonly tlsUrl: string | undefined;
  readonly tls: TlsMaterial | undefined;
  readonly dir: string;
  /** Everything Mosquitto logged so far. */
  log(): string;
  /** SIGTERM (saves persistence) and wait for the exit. */
  stop(): Promise<void>;
  /** Sends a signal to the running broker (SIGSTOP/SIGCONT: unreachable without a restart). @returns false when not running. */
  signal(sig: NodeJS.Signals): boolean;
  /** Starts it again on the same ports with the same persistence file. */
  start(): Promise<void>;
  /** stop() and remove the temp dir. */
  close(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export async function startMosquitto(options: MosquittoOptions = {}): Promise<Mosquitto> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lockbridge-mosquitto-"));
  const port = await freePort();
  const tlsPort = options.tls ? await freePort() : undefined;
  const tls = options.tls ? makeTlsMaterial(path.join(dir, "tls")) : undefined;
  const lines = [
    // Started as root, Mosquitto would drop to the "mosquitto" user and fail to read our temp files.
    `user ${os.userInfo().username}`,
    "per_listener_settings false",
    `persistence true`,
    `persistence_location ${dir}/`,
    "autosave_interval 1",
    `max_queued_messages ${options.maxQueuedMessages ?? 1_000_000}`,
    "max_queued_bytes 0",
    `max_inflight_messages ${options.maxInflightMessages ?? 20}`,
    "log_dest stderr",
    "log_type error",
    "log_type warning",
    "log_type notice",
    "log_type information",
    "connection_messages true",
    "set_tcp_nodelay true",
  ];
  if (options.users) {
    const pwfile = path.join(dir, "passwd");
    fs.writeFileSync(pwfile, "");
    for (const [user, password] of Object.entries(options.users)) execFileSync("mosquitto_passwd", ["-b", pwfile, user, password]);
    fs.chmodSync(pwfile, 0o600);
    lines.push("allow_anonymous false", `password_file ${pwfile}`);
  } else {
    lines.push("allow_anonymous true");
  }
  lines.push(`listener ${port} 127.0.0.1`);
  if (tls && tlsPort !== undefined) {
    lines.push(
      `listener ${tlsPort} 127.0.0.1`,
      `cafile ${tls.ca}`,
      `certfile ${tls.serverCert}`,
      `keyfile ${tls.serverKey}`,
      "require_certificate true",
      "tls_version tlsv1.2",
    );
  }
  const conf = path.join(dir, "mosquitto.conf");
  fs.writeFileSync(conf, lines.join("\n") + "\n");

  let child: ChildProcess | undefined;
  let output = "";
  const start = async (): Promise<void> => {
    if (child) return;
    const proc = spawn(MOSQUITTO_BIN, ["-c", conf], { stdio: ["ignore", "pipe", "pipe"] });
    child = proc;
    proc.stdout?.on("data", (d: Buffer) => (output += d.toString()));
    proc.stderr?.on("data", (d: Buffer) => (output += d.toString()));
    proc.on("exit", () => {
      if (child === proc) child = undefined;
    });
    await waitForPort(port, 10_000, () => child === proc);
    if (tlsPort !== undefined) await waitForPort(tlsPort, 10_000, () => child === proc);
  };
  const stop = async (): Promise<void> => {
    const proc = child;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
    proc.kill("SIGTERM");
    const timer = setTimeout(() => proc.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
    child = undefined;
  };
  await start().catch(async (e: unknown) => {
    await stop();
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`mosquitto did not start: ${String(e)}\n${output}`);
  });
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    tlsPort,
    tlsUrl: tlsPort === undefined ? undefined : `mqtts://127.0.0.1:${tlsPort}`,
    tls,
    dir,
    log: () => output,
    signal: (sig) => child !== undefined && child.exitCode === null && child.kill(sig),
    stop,
    start,
    async close() {
      await stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitForPort(port: number, timeoutMs: number, alive: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!alive()) throw new Error("mosquitto exited");
    const ok = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ port, host: "127.0.0.1" });
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`port ${port} not listening after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A CA, a server certificate for 127.0.0.1/localhost, client certificates, via the openssl CLI. */
export function makeTlsMaterial(dir: string): TlsMaterial {
  fs.mkdirSync(dir, { recursive: true });
  const f = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  const ca = (name: string) => openssl("req", "-x509", ...ec, "-keyout", f(`${name}.key`), "-out", f(`${name}.crt`), "-subj", `/CN=${name}`, "-days", "2");
  const leaf = (name: string, cn: string, caName: string, ext: string) => {
    openssl("req", ...ec, "-keyout", f(`${name}.key`), "-out", f(`${name}.csr`), "-subj", `/CN=${cn}`);
    fs.writeFileSync(f(`${name}.ext`), ext);
    openssl("x509", "-req", "-in", f(`${name}.csr`), "-CA", f(`${caName}.crt`), "-CAkey", f(`${caName}.key`), "-CAcreateserial", "-out", f(`${name}.crt`), "-days", "2", "-extfile", f(`${name}.ext`));
  };
  ca("test-ca");
  ca("stranger-ca");
  leaf("server", "localhost", "test-ca", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
  leaf("client", "hub-client", "test-ca", "extendedKeyUsage=clientAuth\n");
  leaf("stranger", "stranger", "stranger-ca", "extendedKeyUsage=clientAuth\n");
  return {
    dir,
    ca: f("test-ca.crt"),
    serverCert: f("server.crt"),
    serverKey: f("server.key"),
    clientCert: f("client.crt"),
    clientKey: f("client.key"),
    strangerCert: f("stranger.crt"),
    strangerKey: f("stranger.key"),
    strangerCa: f("stranger-ca.crt"),
  };
}
