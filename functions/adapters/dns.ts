import { lookup } from "node:dns/promises";

/** Every address a host name resolves to, as the delivery's own connections would see them. */
export async function resolveHost(hostname: string): Promise<readonly string[]> {
  const addresses = await lookup(hostname, { all: true, verbatim: true });
  return addresses.map((entry) => entry.address);
}
