/**
 * The simulated property of the provisioning benchmark, in its own process so that the
 * hub's CPU and memory figures are the hub's alone. Reads the fleet description (JSON) from
 * argv[2], starts the locks on TCP buses that honour wire time, prints the buses' ports as
 * one JSON line, and runs until stdin closes.
 */
import { SimLock, startTcpBus, type LockProfile, type TcpBus } from "../../sim/index.js";

export interface FleetSpec {
  buses: { baud: number; locks: { lockId: string; address: number; linkKey: string; profile: LockProfile }[] }[];
}

const spec = JSON.parse(process.argv[2] ?? "{}") as FleetSpec;
const buses: TcpBus[] = [];
const locks: SimLock[] = [];
for (const b of spec.buses) {
  const group = b.locks.map((l) => new SimLock({ lockId: l.lockId, address: l.address, linkKey: l.linkKey, profile: l.profile }));
  locks.push(...group);
  buses.push(await startTcpBus(group, { wireBaud: b.baud, eventNotify: false }));
}
process.stdout.write(`${JSON.stringify({ ports: buses.map((b) => b.port) })}\n`);
process.stdin.resume();
process.stdin.on("end", () => {
  void Promise.all(buses.map((b) => b.close())).then(() => {
    for (const l of locks) l.dispose();
    process.exit(0);
  });
});
