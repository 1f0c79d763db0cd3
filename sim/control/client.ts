import { LockBridgeError } from "../../src/shared/errors.js";

/** Talks to a running fleet's control endpoint (the `lockbridge sim <action>` sub-commands). */
export class ControlClient {
  constructor(
    readonly port: number,
    readonly host = "127.0.0.1",
  ) {}

  private async call(method: "GET" | "POST", path: string, body?: unknown): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(`http://${this.host}:${this.port}${path}`, {
        method,
        headers: { "content-type": "application/json" },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch (e) {
      throw new LockBridgeError(
        "transport_unavailable",
        `no simulator control endpoint on ${this.host}:${this.port} (is \`lockbridge sim run\` running? --control PORT): ${e instanceof Error ? e.message : String(e)}`,
      );
    }
    const json = (await res.json()) as { ok: boolean; result?: unknown; error?: { code: string; message: string } };
    if (!json.ok) {
      const code = json.error?.code === "unknown_lock" ? "unknown_lock" : "cli_usage";
      throw new LockBridgeError(code, json.error?.message ?? `HTTP ${res.status}`);
    }
    return json.result;
  }

  ready(): Promise<unknown> {
    return this.call("GET", "/ready");
  }
  list(): Promise<unknown> {
    return this.call("GET", "/locks");
  }
  show(ref: string): Promise<unknown> {
    return this.call("GET", `/locks/${encodeURIComponent(ref)}`);
  }
  act(ref: string, action: string, body: Record<string, unknown> = {}): Promise<unknown> {
    return this.call("POST", `/locks/${encodeURIComponent(ref)}/${encodeURIComponent(action)}`, body);
  }
  save(): Promise<unknown> {
    return this.call("POST", "/save");
  }
}
