/**
 * Which keys and locks changed, told after the change is stored: the desired-state and
 * provisioning side writes, and whoever shows statuses (the cloud's retained publisher, the
 * local API) listens. Neither knows the other: data flows one way through the bus.
 */
export interface StatusSink {
  keyChanged(keyId: string): void;
  lockChanged(lockId: string): void;
}

type Listener = (id: string) => void;

export class ChangeBus implements StatusSink {
  private readonly keyListeners = new Set<Listener>();
  private readonly lockListeners = new Set<Listener>();

  keyChanged(keyId: string): void {
    for (const l of this.keyListeners) l(keyId);
  }

  lockChanged(lockId: string): void {
    for (const l of this.lockListeners) l(lockId);
  }

  /** Every change goes to `sink` until the returned function is called. */
  subscribe(sink: StatusSink): () => void {
    const key: Listener = (id) => sink.keyChanged(id);
    const lock: Listener = (id) => sink.lockChanged(id);
    this.keyListeners.add(key);
    this.lockListeners.add(lock);
    return () => {
      this.keyListeners.delete(key);
      this.lockListeners.delete(lock);
    };
  }
}
