/**
 * Endpoint URL safety (SSRF protection), checked when an endpoint is registered and again at delivery time.
 *
 * Registration-time checks can be bypassed by DNS that changes after the check (rebinding), so the
 * decisive check is `connectionRefusalReason`, run on the address the delivery client actually connects to.
 * The URL and host checks exist to give API users a clear error early.
 */

import ipaddr from "ipaddr.js";
import { UnsafeUrlError } from "./errors.ts";

export interface EndpointPolicy {
  /** allow http:// (otherwise https only) */
  readonly allowInsecureHttp: boolean;
  /** allow loopback/private/etc. targets (local development only) */
  readonly allowPrivateTargets: boolean;
  /** ports a URL may use; "any" lifts the restriction. Ports 80 and 8080 are only usable when allowInsecureHttp. */
  readonly allowedPorts: readonly number[] | "any";
  /** optional regular expression (source string) the whole URL must match */
  readonly allowlistPattern?: string;
}

export const STRICT_ENDPOINT_POLICY: EndpointPolicy = Object.freeze({
  allowInsecureHttp: false,
  allowPrivateTargets: false,
  // 80 and 8080 are listed so that turning on allowInsecureHttp is the only switch needed for plain http.
  allowedPorts: Object.freeze([443, 8443, 80, 8080]),
});

/** Ports conventionally serving plain http: usable only when the policy allows http at all. */
const INSECURE_PORTS: ReadonlySet<number> = new Set([80, 8080]);

/** Names that resolve to this machine on any sane resolver; `*.localhost` per RFC 6761. */
const LOCAL_ONLY_HOSTNAMES: ReadonlySet<string> = new Set([
  "localhost",
  "localhost.localdomain",
  "ip6-localhost",
  "ip6-loopback",
]);

// ipaddr.js calls both of these "unicast", but neither is a reachable public address: `::a.b.c.d`
// (IPv4-compatible, deprecated) may be routed to the embedded IPv4 address by some stacks, and IANA has
// allocated only 2000::/3 for global unicast.
const IPV4_COMPATIBLE = ipaddr.IPv6.parseCIDR("::/96");
const GLOBAL_UNICAST = ipaddr.IPv6.parseCIDR("2000::/3");

/** IPv6 ranges whose last 32 bits are an IPv4 address; naming it tells the user what they really targeted. */
const EMBEDS_IPV4: ReadonlySet<string> = new Set(["ipv4Mapped", "ipv4Compatible", "rfc6145"]);
const NAT64_WELL_KNOWN = ipaddr.IPv6.parseCIDR("64:ff9b::/96");

const RANGE_DESCRIPTIONS: Readonly<Record<string, string>> = {
  invalid: "not a valid IP address",
  unspecified: "an unspecified address",
  broadcast: "a broadcast address",
  multicast: "a multicast address",
  linkLocal: "a link-local address",
  loopback: "a loopback address",
  carrierGradeNat: "a carrier-grade NAT address",
  private: "a private address",
  reserved: "a reserved address",
  benchmarking: "a benchmarking address",
  as112: "an AS112 DNS sink address",
  as112v6: "an AS112 DNS sink address",
  amt: "a multicast tunnelling (AMT) address",
  uniqueLocal: "a unique local address",
  ipv4Mapped: "an IPv4-mapped IPv6 address",
  ipv4Compatible: "an IPv4-compatible IPv6 address",
  rfc6145: "an IPv4-translated IPv6 address",
  rfc6052: "a NAT64 address",
  "6to4": "a 6to4 address",
  teredo: "a Teredo address",
  deprecatedSiteLocal: "a site-local address",
  discard: "a discard-only address",
  deprecatedOrchid: "an ORCHID address",
  orchid2: "an ORCHID address",
  droneRemoteIdProtocolEntityTags: "a drone remote ID address",
  segmentRouting: "a segment routing address",
};

/**
 * Throws UnsafeUrlError; returns the normalised URL. Checks syntax, scheme (http/https only), credentials in
 * the URL, the effective port, the allowlist, literal IP hosts in every spelling the WHATWG parser accepts,
 * and hostnames that are obviously local (`localhost`, `*.localhost`).
 */
export function checkEndpointUrl(raw: string, policy: EndpointPolicy): URL {
  const url = URL.parse(raw);
  if (url === null) {
    throw new UnsafeUrlError("not a valid absolute URL");
  }
  checkScheme(url, policy);
  if (url.username !== "" || url.password !== "") {
    throw new UnsafeUrlError("credentials in the URL are not allowed");
  }
  checkPort(url, policy);
  if (policy.allowlistPattern !== undefined && !matchesWhole(policy.allowlistPattern, url.href)) {
    throw new UnsafeUrlError("url does not match the allowed pattern");
  }
  if (!policy.allowPrivateTargets) {
    const target = hostTarget(url);
    const reason =
      target.kind === "ip" ? literalRefusal(url.hostname, target.address) : nameRefusal(target.name);
    if (reason !== undefined) {
      throw new UnsafeUrlError(reason);
    }
  }
  return url;
}

/**
 * Classifies one IP address string (v4 or v6, as from DNS or a literal; brackets and zone ids tolerated).
 * Returns a short range name when the address must not be a webhook target, or undefined when it is public.
 * Anything that does not parse is "invalid": a classifier that guards outbound connections fails closed.
 */
export function forbiddenAddressRange(address: string): string | undefined {
  const parsed = parseAddress(address);
  if (parsed === undefined) {
    return "invalid";
  }
  const range = parsed.range();
  if (range !== "unicast") {
    return range;
  }
  if (parsed instanceof ipaddr.IPv6) {
    if (parsed.match(IPV4_COMPATIBLE)) {
      return "ipv4Compatible";
    }
    if (!parsed.match(GLOBAL_UNICAST)) {
      return "reserved";
    }
  }
  return undefined;
}

/**
 * For a hostname that is not an IP literal: resolves it with `resolve` (all addresses) and rejects the URL if
 * any address is forbidden, unless the policy allows private targets. One bad address is enough because the
 * delivery client may pick any of them. IP-literal hosts are checked without resolving.
 */
export async function checkEndpointHost(
  url: URL,
  policy: EndpointPolicy,
  resolve: (hostname: string) => Promise<readonly string[]>,
): Promise<void> {
  const target = hostTarget(url);
  if (target.kind === "ip") {
    const reason = policy.allowPrivateTargets ? undefined : literalRefusal(url.hostname, target.address);
    if (reason !== undefined) {
      throw new UnsafeUrlError(reason);
    }
    return;
  }
  const nameReason = policy.allowPrivateTargets ? undefined : nameRefusal(target.name);
  if (nameReason !== undefined) {
    throw new UnsafeUrlError(nameReason);
  }

  let addresses: readonly string[];
  try {
    addresses = await resolve(target.name);
  } catch (error) {
    // Other resolver failures (timeouts, SERVFAIL) are transient and not the user's fault: let them surface.
    if (isNameNotFound(error)) {
      throw new UnsafeUrlError(`host ${target.name} does not resolve`);
    }
    throw error;
  }
  if (addresses.length === 0) {
    throw new UnsafeUrlError(`host ${target.name} does not resolve`);
  }
  if (policy.allowPrivateTargets) {
    return;
  }
  for (const address of addresses) {
    const range = forbiddenAddressRange(address);
    if (range !== undefined) {
      throw new UnsafeUrlError(
        `host ${target.name} resolves to ${address}, ${describeRange(range, address)}`,
      );
    }
  }
}

/** For the delivery-time DNS lookup hook: why connecting to `address` is refused under `policy`, if it is. */
export function connectionRefusalReason(address: string, policy: EndpointPolicy): string | undefined {
  if (policy.allowPrivateTargets) {
    return undefined;
  }
  const range = forbiddenAddressRange(address);
  return range === undefined ? undefined : `address ${address} is ${describeRange(range, address)}`;
}

function checkScheme(url: URL, policy: EndpointPolicy): void {
  if (url.protocol === "https:") {
    return;
  }
  if (url.protocol === "http:") {
    if (policy.allowInsecureHttp) {
      return;
    }
    throw new UnsafeUrlError("https is required");
  }
  const scheme = url.protocol.slice(0, -1);
  const expected = policy.allowInsecureHttp ? "use http or https" : "https is required";
  throw new UnsafeUrlError(`scheme ${scheme} is not supported (${expected})`);
}

function checkPort(url: URL, policy: EndpointPolicy): void {
  // The parser drops a port equal to the scheme default, so an empty port means 443 or 80.
  const port = url.port === "" ? (url.protocol === "https:" ? 443 : 80) : Number(url.port);
  if (port === 0) {
    throw new UnsafeUrlError("port 0 is not allowed");
  }
  if (policy.allowedPorts === "any") {
    if (!policy.allowInsecureHttp && INSECURE_PORTS.has(port)) {
      throw new UnsafeUrlError(`port ${port} is not allowed (it is reserved for plain http)`);
    }
    return;
  }
  const usable = policy.allowedPorts.filter((p) => policy.allowInsecureHttp || !INSECURE_PORTS.has(p));
  if (!usable.includes(port)) {
    throw new UnsafeUrlError(`port ${port} is not allowed (allowed: ${usable.join(", ")})`);
  }
}

function matchesWhole(pattern: string, href: string): boolean {
  // Anchored so that a pattern for one host cannot be satisfied by a URL that merely mentions it.
  // An invalid pattern throws SyntaxError: that is an operator misconfiguration, not the user's error.
  return new RegExp(`^(?:${pattern})$`).test(href);
}

type HostTarget =
  | { readonly kind: "ip"; readonly address: string }
  | { readonly kind: "name"; readonly name: string };

function hostTarget(url: URL): HostTarget {
  const host = url.hostname;
  if (host.startsWith("[") && host.endsWith("]")) {
    return { kind: "ip", address: host.slice(1, -1) };
  }
  // The WHATWG parser rewrites every numeric IPv4 spelling (decimal, octal, hex, short, trailing dot) to
  // canonical dotted decimal and rejects other hosts that end in a number, so this strict test is enough.
  if (ipaddr.IPv4.isValidFourPartDecimal(host)) {
    return { kind: "ip", address: host };
  }
  return { kind: "name", name: host };
}

function literalRefusal(host: string, address: string): string | undefined {
  const range = forbiddenAddressRange(address);
  return range === undefined ? undefined : `host ${host} is ${describeRange(range, address)}`;
}

function nameRefusal(name: string): string | undefined {
  // The parser keeps trailing dots (`localhost.`, `localhost..`), which resolvers ignore.
  const bare = name.replace(/\.+$/, "");
  if (LOCAL_ONLY_HOSTNAMES.has(bare) || bare.endsWith(".localhost")) {
    return `host ${name} is a local-only hostname`;
  }
  return undefined;
}

function parseAddress(address: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  const bare = address.startsWith("[") && address.endsWith("]") ? address.slice(1, -1) : address;
  return ipaddr.isValid(bare) ? ipaddr.parse(bare) : undefined;
}

function describeRange(range: string, address: string): string {
  const description = RANGE_DESCRIPTIONS[range] ?? `a ${range} address`;
  const embedded = embeddedIPv4(range, address);
  if (embedded === undefined) {
    return description;
  }
  const embeddedRange = forbiddenAddressRange(embedded);
  const detail =
    embeddedRange === undefined ? embedded : `${embedded}, ${describeRange(embeddedRange, embedded)}`;
  return `${description} (embedding ${detail})`;
}

function embeddedIPv4(range: string, address: string): string | undefined {
  const parsed = parseAddress(address);
  if (!(parsed instanceof ipaddr.IPv6)) {
    return undefined;
  }
  if (!EMBEDS_IPV4.has(range) && !(range === "rfc6052" && parsed.match(NAT64_WELL_KNOWN))) {
    return undefined;
  }
  return ipaddr.fromByteArray(parsed.toByteArray().slice(12)).toString();
}

function isNameNotFound(error: unknown): boolean {
  if (typeof error !== "object" || error === null || !("code" in error)) {
    return false;
  }
  return error.code === "ENOTFOUND" || error.code === "ENODATA";
}
