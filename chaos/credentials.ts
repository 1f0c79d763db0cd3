/**
 * What a guest holds (a door code, a card's UID, a phone's key pair) and how the simulator is
 * asked to try it at a door: its control endpoint names the action after the credential's kind.
 */
import type { ControlClient } from "../sim/control/client.js";

export type GuestCredential = { code: string } | { uid: string } | { privateKey: string };
export type CredentialKind = "code" | "card" | "phone";

export function credentialKind(c: GuestCredential): CredentialKind {
  return "code" in c ? "code" : "uid" in c ? "card" : "phone";
}

/** The lock's verdict on the credential presented at the door (`sim` code / card / phone). */
export async function tryAtDoor(control: Pick<ControlClient, "act">, doorId: string, c: GuestCredential): Promise<{ granted: boolean; reason?: number }> {
  return (await control.act(doorId, credentialKind(c), c)) as { granted: boolean; reason?: number };
}
