/** Structured mutations of parsed JSON/YAML documents: delete a field or set it to a hostile value. */
import fc from "fast-check";

export const jsonValue = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 20 }),
  fc.constant("x".repeat(300)),
  fc.constant(-1),
  fc.constant(1e300),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 }),
);

export type Mutation = { op: "delete" | "set"; path: number[]; value: unknown };
export const mutationArb: fc.Arbitrary<Mutation> = fc.record({
  op: fc.constantFrom("delete" as const, "set" as const),
  path: fc.array(fc.nat(), { minLength: 1, maxLength: 3 }),
  value: jsonValue,
});

/** Applies a mutation at a path of (child index mod count) steps into the command. */
export function mutate(cmd: unknown, m: Mutation): void {
  let node: unknown = cmd;
  for (let depth = 0; depth < m.path.length; depth++) {
    if (node === null || typeof node !== "object") return;
    const obj = node as Record<string, unknown>;
    const keys = Object.keys(obj);
    if (keys.length === 0) return;
    const k = keys[m.path[depth]! % keys.length]!;
    if (depth === m.path.length - 1 || obj[k] === null || typeof obj[k] !== "object") {
      if (m.op === "delete") delete obj[k];
      else obj[k] = m.value;
      return;
    }
    node = obj[k];
  }
}

