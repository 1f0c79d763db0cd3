/**
 * systemd's notify protocol (sd_notify(3)): one datagram per message to the unix socket
 * named by NOTIFY_SOCKET. Node has no unix datagram sockets, so this uses the `unix-dgram`
 * addon; spawning `systemd-notify` instead would need NotifyAccess=all in the sandboxed unit
 * (any process of the unit could then claim readiness), and its pings would come from a
 * child that is alive while the hub's own event loop hangs.
 *
 * The watchdog ping runs on the hub's event loop (a timer at half WatchdogSec): a blocked
 * loop stops pinging and systemd restarts the hub.
 */
import { createRequire } from "node:module";
import { errorMessage } from "../shared/errors.js";
import type { Logger } from "../shared/logger.js";

interface DgramSocket {
  send(buf: Buffer, offset: number, length: number, path: string, callback: (err?: Error) => void): void;
  on(event: "error", listener: (err: Error) => void): void;
  close(): void;
}
interface UnixDgram {
  createSocket(type: "unix_dgram"): DgramSocket;
}

export interface SystemdNotifier {
  /** True when NOTIFY_SOCKET is set (running under systemd with Type=notify). */
  readonly enabled: boolean;
  /** The watchdog ping period (half of WATCHDOG_USEC), when systemd asked for pings. */
  readonly watchdogIntervalMs: number | undefined;
  ready(status: string): void;
  stopping(status: string): void;
  /** Starts the watchdog pings (no-op without WATCHDOG_USEC). */
  startWatchdog(): void;
  close(): void;
}

const NOOP: SystemdNotifier = {
  enabled: false,
  watchdogIntervalMs: undefined,
  ready: () => undefined,
  stopping: () => undefined,
  startWatchdog: () => undefined,
  close: () => undefined,
};

export function systemdNotifier(env: Readonly<Record<string, string | undefined>>, log: Logger, pid = process.pid): SystemdNotifier {
  const path = env.NOTIFY_SOCKET;
  if (path === undefined || path === "") return NOOP;
  if (path.startsWith("@")) {
    log.warn({ notifySocket: path }, "NOTIFY_SOCKET is an abstract socket, which this hub cannot reach: no readiness or watchdog notifications");
    return NOOP;
  }
  let socket: DgramSocket;
  try {
    const unix = createRequire(import.meta.url)("unix-dgram") as UnixDgram;
    socket = unix.createSocket("unix_dgram");
  } catch (e) {
    log.error({ err: errorMessage(e) }, "systemd notifications unavailable (unix-dgram not loadable)");
    return NOOP;
  }
  socket.on("error", (e) => log.warn({ err: errorMessage(e) }, "systemd notification failed"));
  const usec = Number(env.WATCHDOG_USEC);
  const watchdogPid = env.WATCHDOG_PID === undefined || env.WATCHDOG_PID === "" ? pid : Number(env.WATCHDOG_PID);
  const watchdogIntervalMs = Number.isFinite(usec) && usec > 0 && watchdogPid === pid ? Math.max(1, Math.floor(usec / 2000)) : undefined;
  let timer: NodeJS.Timeout | undefined;
  let lastError = "";
  const send = (message: string) => {
    const buf = Buffer.from(message);
    socket.send(buf, 0, buf.length, path, (err) => {
      // Logged once per kind of failure, not on every ping.
      const text = err ? errorMessage(err) : "";
      if (text !== lastError && text !== "") log.warn({ err: text, notifySocket: path }, "systemd notification not delivered");
      lastError = text;
    });
  };
  return {
    enabled: true,
    watchdogIntervalMs,
    ready: (status) => send(`READY=1\nSTATUS=${oneLine(status)}\nMAINPID=${pid}`),
    stopping: (status) => send(`STOPPING=1\nSTATUS=${oneLine(status)}`),
    startWatchdog() {
      if (watchdogIntervalMs === undefined || timer) return;
      timer = setInterval(() => send("WATCHDOG=1"), watchdogIntervalMs);
      timer.unref();
    },
    close() {
      if (timer) clearInterval(timer);
      timer = undefined;
      try {
        socket.close();
      } catch {
        // already closed
      }
    },
  };
}

function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, " ").slice(0, 200);
}
