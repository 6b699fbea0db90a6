import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  checkEndpointHost,
  checkEndpointUrl,
  connectionRefusalReason,
  type EndpointPolicy,
  forbiddenAddressRange,
  STRICT_ENDPOINT_POLICY,
} from "../../functions/domain/endpoint-url.ts";
import { UnsafeUrlError } from "../../functions/domain/errors.ts";

const LOCAL_POLICY: EndpointPolicy = {
  allowInsecureHttp: true,
  allowPrivateTargets: true,
  allowedPorts: "any",
};

/** The reason an UnsafeUrlError gives; any other outcome fails the test. */
function refusal(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof UnsafeUrlError) {
      return error.details[0]?.message ?? error.message;
    }
    throw error;
  }
  throw new Error("expected an UnsafeUrlError, but nothing was thrown");
}

async function asyncRefusal(run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
  } catch (error) {
    if (error instanceof UnsafeUrlError) {
      return error.details[0]?.message ?? error.message;
    }
    throw error;
  }
  throw new Error("expected an UnsafeUrlError, but nothing was thrown");
}

const LOOPBACK_127 = "host 127.0.0.1 is a loopback address";
const METADATA = "host 169.254.169.254 is a link-local address";
const ZERO = "host 0.0.0.0 is an unspecified address";
const INVALID = "not a valid absolute URL";

// Each spelling is paired with the exact reason, which also shows what the WHATWG parser normalised it to.
const REJECTED_UNDER_STRICT: [string, string][] = [
  // IPv4 loopback in every numeric spelling the URL parser accepts
  ["https://127.0.0.1/", LOOPBACK_127],
  ["https://2130706433/", LOOPBACK_127],
  ["https://0x7f000001/", LOOPBACK_127],
  ["https://0X7F000001/", LOOPBACK_127],
  ["https://017700000001/", LOOPBACK_127],
  ["https://0x7f.1/", LOOPBACK_127],
  ["https://0x7F.0.0.1/", LOOPBACK_127],
  ["https://0x7f.0x0.0x0.0x1/", LOOPBACK_127],
  ["https://0177.0.0.1/", LOOPBACK_127],
  ["https://00000177.0.0.1/", LOOPBACK_127],
  ["https://0177.0.0.0x1/", LOOPBACK_127],
  ["https://127.0.0.0x1/", LOOPBACK_127],
  ["https://127.1/", LOOPBACK_127],
  ["https://127.0.1/", LOOPBACK_127],
  ["https://127.0.0.1./", LOOPBACK_127],
  ["https://127.1./", LOOPBACK_127],
  ["https://127.0.0.1%2e/", LOOPBACK_127],
  ["https://127%2e0%2e0%2e1/", LOOPBACK_127],
  ["https://１２７.０.０.１/", LOOPBACK_127],
  ["https://127。0。0。1/", LOOPBACK_127],
  ["https://①②⑦.0.0.1/", LOOPBACK_127],
  ["https://127.0.0.1:8443/", LOOPBACK_127],
  ["https://127.0.0.1\\@example.com/", LOOPBACK_127],
  ["https://127.255.255.254/", "host 127.255.255.254 is a loopback address"],
  // the unspecified address, which Linux treats as "this host"
  ["https://0/", ZERO],
  ["https://0x/", ZERO],
  ["https://0.0.0.0/", ZERO],
  ["https://0.0.0.0./", ZERO],
  ["https://0.1.2.3/", "host 0.1.2.3 is an unspecified address"],
  // cloud metadata and the other IPv4 ranges
  ["https://169.254.169.254/", METADATA],
  ["https://2852039166/", METADATA],
  ["https://0xa9fea9fe/", METADATA],
  ["https://0251.0376.0251.0376/", METADATA],
  ["https://169.254.43518/", METADATA],
  ["https://100.64.0.1/", "host 100.64.0.1 is a carrier-grade NAT address"],
  ["https://100.127.255.254/", "host 100.127.255.254 is a carrier-grade NAT address"],
  ["https://192.168.1.1/", "host 192.168.1.1 is a private address"],
  ["https://0300.0250.1.1/", "host 192.168.1.1 is a private address"],
  ["https://10.0.0.1/", "host 10.0.0.1 is a private address"],
  ["https://10.1/", "host 10.0.0.1 is a private address"],
  ["https://167772161/", "host 10.0.0.1 is a private address"],
  ["https://172.16.0.1/", "host 172.16.0.1 is a private address"],
  ["https://172.31.255.255/", "host 172.31.255.255 is a private address"],
  ["https://224.0.0.1/", "host 224.0.0.1 is a multicast address"],
  ["https://239.255.255.250/", "host 239.255.255.250 is a multicast address"],
  ["https://255.255.255.255/", "host 255.255.255.255 is a broadcast address"],
  ["https://4294967295/", "host 255.255.255.255 is a broadcast address"],
  ["https://240.0.0.1/", "host 240.0.0.1 is a reserved address"],
  ["https://198.18.0.1/", "host 198.18.0.1 is a reserved address"],
  ["https://198.19.255.1/", "host 198.19.255.1 is a reserved address"],
  ["https://192.0.0.1/", "host 192.0.0.1 is a reserved address"],
  ["https://192.0.2.1/", "host 192.0.2.1 is a reserved address"],
  ["https://203.0.113.5/", "host 203.0.113.5 is a reserved address"],
  // IPv6 literals, including the ones that smuggle an IPv4 address
  ["https://[::]/", "host [::] is an unspecified address"],
  ["https://[::1]/", "host [::1] is a loopback address"],
  ["https://[0:0:0:0:0:0:0:1]/", "host [::1] is a loopback address"],
  ["https://[::1]:8443/", "host [::1] is a loopback address"],
  [
    "https://[::ffff:127.0.0.1]/",
    "host [::ffff:7f00:1] is an IPv4-mapped IPv6 address (embedding 127.0.0.1, a loopback address)",
  ],
  [
    "https://[::ffff:7f00:1]/",
    "host [::ffff:7f00:1] is an IPv4-mapped IPv6 address (embedding 127.0.0.1, a loopback address)",
  ],
  [
    "https://[0:0:0:0:0:ffff:169.254.169.254]/",
    "host [::ffff:a9fe:a9fe] is an IPv4-mapped IPv6 address (embedding 169.254.169.254, a link-local address)",
  ],
  [
    "https://[::ffff:93.184.216.34]/",
    "host [::ffff:5db8:d822] is an IPv4-mapped IPv6 address (embedding 93.184.216.34)",
  ],
  [
    "https://[::127.0.0.1]/",
    "host [::7f00:1] is an IPv4-compatible IPv6 address (embedding 127.0.0.1, a loopback address)",
  ],
  [
    "https://[::ffff:0:7f00:1]/",
    "host [::ffff:0:7f00:1] is an IPv4-translated IPv6 address (embedding 127.0.0.1, a loopback address)",
  ],
  ["https://[fe80::1]/", "host [fe80::1] is a link-local address"],
  ["https://[febf::1]/", "host [febf::1] is a link-local address"],
  ["https://[fd00::1]/", "host [fd00::1] is a unique local address"],
  ["https://[fc00::]/", "host [fc00::] is a unique local address"],
  ["https://[ff02::1]/", "host [ff02::1] is a multicast address"],
  [
    "https://[64:ff9b::a9fe:a9fe]/",
    "host [64:ff9b::a9fe:a9fe] is a NAT64 address (embedding 169.254.169.254, a link-local address)",
  ],
  [
    "https://[64:ff9b::169.254.169.254]/",
    "host [64:ff9b::a9fe:a9fe] is a NAT64 address (embedding 169.254.169.254, a link-local address)",
  ],
  ["https://[64:ff9b:1::1]/", "host [64:ff9b:1::1] is a NAT64 address"],
  ["https://[2002:7f00:1::]/", "host [2002:7f00:1::] is a 6to4 address"],
  ["https://[2001::1]/", "host [2001::1] is a Teredo address"],
  ["https://[2001:db8::1]/", "host [2001:db8::1] is a reserved address"],
  ["https://[fec0::1]/", "host [fec0::1] is a site-local address"],
  ["https://[100::1]/", "host [100::1] is a discard-only address"],
  ["https://[4000::1]/", "host [4000::1] is a reserved address"],
  // names that can only mean this machine
  ["https://localhost/", "host localhost is a local-only hostname"],
  ["https://LOCALHOST./", "host localhost. is a local-only hostname"],
  ["https://localhost../", "host localhost.. is a local-only hostname"],
  ["https://localhost%2e/", "host localhost. is a local-only hostname"],
  ["https://%6c%6fcalhost/", "host localhost is a local-only hostname"],
  ["https://ｌｏｃａｌｈｏｓｔ/", "host localhost is a local-only hostname"],
  ["https://ⓛⓞⓒⓐⓛⓗⓞⓢⓣ/", "host localhost is a local-only hostname"],
  ["https://localhost:8443/", "host localhost is a local-only hostname"],
  ["https://foo.localhost/", "host foo.localhost is a local-only hostname"],
  ["https://foo.localhost./", "host foo.localhost. is a local-only hostname"],
  ["https://a.b.LocalHost/", "host a.b.localhost is a local-only hostname"],
  ["https://localhost.localdomain/", "host localhost.localdomain is a local-only hostname"],
  // schemes
  ["http://example.com/", "https is required"],
  ["http://example.com:80/", "https is required"],
  ["http://example.com:8080/", "https is required"],
  ["ftp://example.com/", "scheme ftp is not supported (https is required)"],
  ["javascript:alert(1)", "scheme javascript is not supported (https is required)"],
  ["file:///etc/passwd", "scheme file is not supported (https is required)"],
  ["data:text/plain,hello", "scheme data is not supported (https is required)"],
  ["gopher://example.com/", "scheme gopher is not supported (https is required)"],
  ["wss://example.com/", "scheme wss is not supported (https is required)"],
  // credentials
  ["https://user:pass@example.com/", "credentials in the URL are not allowed"],
  ["https://user@example.com/", "credentials in the URL are not allowed"],
  ["https://:pass@example.com/", "credentials in the URL are not allowed"],
  ["https://127.0.0.1:443@example.com/", "credentials in the URL are not allowed"],
  // ports
  ["https://example.com:22/", "port 22 is not allowed (allowed: 443, 8443)"],
  ["https://example.com:80/", "port 80 is not allowed (allowed: 443, 8443)"],
  ["https://example.com:8080/", "port 8080 is not allowed (allowed: 443, 8443)"],
  ["https://example.com:6379/", "port 6379 is not allowed (allowed: 443, 8443)"],
  ["https://example.com:0/", "port 0 is not allowed"],
  // not URLs at all, or hosts the parser refuses
  ["not a url", INVALID],
  ["", INVALID],
  ["/relative/hook", INVALID],
  ["https://", INVALID],
  ["https://256.0.0.1/", INVALID],
  ["https://1.2.3.4.5/", INVALID],
  ["https://08.0.0.1/", INVALID],
  ["https://4294967296/", INVALID],
  ["https://[fe80::1%25eth0]/", INVALID],
  ["https://example.com:65536/", INVALID],
];

// [input, normalised href]
const ACCEPTED_UNDER_STRICT: [string, string][] = [
  ["https://example.com/hook", "https://example.com/hook"],
  ["https://93.184.216.34/", "https://93.184.216.34/"],
  ["https://[2606:2800:220:1:248:1893:25c8:1946]/", "https://[2606:2800:220:1:248:1893:25c8:1946]/"],
  ["https://[2001:4860:4860::8888]/", "https://[2001:4860:4860::8888]/"],
  ["https://example.com:8443/", "https://example.com:8443/"],
  ["https://8.8.8.8:8443/hook", "https://8.8.8.8:8443/hook"],
  ["https://example.com:443/hook", "https://example.com/hook"],
  ["HTTPS://Example.COM/Hook?x=1", "https://example.com/Hook?x=1"],
  ["  https://example.com/hook\n", "https://example.com/hook"],
  ["https://example.com", "https://example.com/"],
  // just outside the forbidden ranges
  ["https://172.32.0.1/", "https://172.32.0.1/"],
  ["https://100.128.0.1/", "https://100.128.0.1/"],
  ["https://198.20.0.1/", "https://198.20.0.1/"],
  ["https://1572395042/", "https://93.184.216.34/"],
  // numeric-looking labels that are not IPv4 stay names, and names are checked by resolving them
  ["https://1e2/", "https://1e2/"],
  ["https://169.254.169.254.nip.io/", "https://169.254.169.254.nip.io/"],
  ["https://localhost.example.com/", "https://localhost.example.com/"],
];

describe("checkEndpointUrl under STRICT_ENDPOINT_POLICY", () => {
  it("has at least fifty rejection cases", () => {
    expect(REJECTED_UNDER_STRICT.length).toBeGreaterThanOrEqual(50);
  });

  it.each(REJECTED_UNDER_STRICT)("rejects %s", (raw, reason) => {
    expect(refusal(() => checkEndpointUrl(raw, STRICT_ENDPOINT_POLICY))).toBe(reason);
  });

  it.each(ACCEPTED_UNDER_STRICT)("accepts %j", (raw, href) => {
    expect(checkEndpointUrl(raw, STRICT_ENDPOINT_POLICY).href).toBe(href);
  });

  it("reports the reason as a validation error on the url field", () => {
    // Act
    let caught: unknown;
    try {
      checkEndpointUrl("https://169.254.169.254/latest/meta-data/", STRICT_ENDPOINT_POLICY);
    } catch (error) {
      caught = error;
    }

    // Assess
    expect(caught).toBeInstanceOf(UnsafeUrlError);
    expect(caught).toMatchObject({
      code: "validation_error",
      message: `url is not allowed: ${METADATA}`,
      details: [{ path: "url", message: METADATA }],
    });
  });

  it("is frozen so no caller can loosen the shared strict policy", () => {
    expect(Object.isFrozen(STRICT_ENDPOINT_POLICY)).toBe(true);
    expect(Object.isFrozen(STRICT_ENDPOINT_POLICY.allowedPorts)).toBe(true);
  });
});

describe("checkEndpointUrl under other policies", () => {
  it.each([
    ["http://127.0.0.1:54321/hook"],
    ["http://localhost:3000/"],
    ["http://[::1]:8080/"],
    ["https://10.0.0.1:9999/"],
    ["http://host.docker.internal/"],
  ])("the local policy accepts %s", (raw) => {
    expect(checkEndpointUrl(raw, LOCAL_POLICY).href).toBe(raw);
  });

  it.each([
    ["ftp://127.0.0.1/", "scheme ftp is not supported (use http or https)"],
    ["http://user:pass@127.0.0.1/", "credentials in the URL are not allowed"],
    ["http://127.0.0.1:0/", "port 0 is not allowed"],
    ["http//127.0.0.1/", INVALID],
  ])("the local policy still rejects %s", (raw, reason) => {
    expect(refusal(() => checkEndpointUrl(raw, LOCAL_POLICY))).toBe(reason);
  });

  it("allowing http makes ports 80 and 8080 usable, and lists them when refusing", () => {
    // Prepare
    const policy: EndpointPolicy = { ...STRICT_ENDPOINT_POLICY, allowInsecureHttp: true };

    // Act & Assess
    expect(checkEndpointUrl("http://example.com/", policy).href).toBe("http://example.com/");
    expect(checkEndpointUrl("http://example.com:8080/", policy).port).toBe("8080");
    expect(checkEndpointUrl("https://example.com:80/", policy).port).toBe("80");
    expect(refusal(() => checkEndpointUrl("http://example.com:22/", policy))).toBe(
      "port 22 is not allowed (allowed: 443, 8443, 80, 8080)",
    );
    expect(refusal(() => checkEndpointUrl("http://127.0.0.1/", policy))).toBe(LOOPBACK_127);
  });

  it("uses the scheme's default port when the URL has none", () => {
    const policy: EndpointPolicy = { ...STRICT_ENDPOINT_POLICY, allowedPorts: [8443] };

    expect(refusal(() => checkEndpointUrl("https://example.com/", policy))).toBe(
      "port 443 is not allowed (allowed: 8443)",
    );
    expect(checkEndpointUrl("https://example.com:8443/", policy).port).toBe("8443");
  });

  it('"any" port lifts the list, but not the http-only ports while http is off', () => {
    const policy: EndpointPolicy = { ...STRICT_ENDPOINT_POLICY, allowedPorts: "any" };

    expect(checkEndpointUrl("https://example.com:9000/", policy).port).toBe("9000");
    expect(refusal(() => checkEndpointUrl("https://example.com:8080/", policy))).toBe(
      "port 8080 is not allowed (it is reserved for plain http)",
    );
  });
});

describe("allowlist pattern", () => {
  const policy: EndpointPolicy = {
    ...STRICT_ENDPOINT_POLICY,
    allowlistPattern: String.raw`https://hooks\.example\.com/.*`,
  };
  const NO_MATCH = "url does not match the allowed pattern";

  it("accepts a URL that matches", () => {
    expect(checkEndpointUrl("https://hooks.example.com/a/b?c=d", policy).href).toBe(
      "https://hooks.example.com/a/b?c=d",
    );
  });

  it("matches the normalised URL, so case and default port do not matter", () => {
    expect(checkEndpointUrl("HTTPS://HOOKS.example.com:443/x", policy).href).toBe(
      "https://hooks.example.com/x",
    );
  });

  it.each([
    ["https://hooks.example.com.evil.com/"],
    ["https://evil.com/?next=https://hooks.example.com/"],
    ["https://evil.com/https://hooks.example.com/"],
    ["https://hooks.example.com:8443/"],
  ])("rejects %s because the pattern must match the whole URL", (raw) => {
    expect(refusal(() => checkEndpointUrl(raw, policy))).toBe(NO_MATCH);
  });

  it("anchors every alternative, not just the first and last", () => {
    const alternatives: EndpointPolicy = {
      ...STRICT_ENDPOINT_POLICY,
      allowlistPattern: String.raw`https://a\.example/|https://b\.example/`,
    };

    expect(checkEndpointUrl("https://b.example/", alternatives).href).toBe("https://b.example/");
    expect(refusal(() => checkEndpointUrl("https://a.example/extra", alternatives))).toBe(NO_MATCH);
  });

  it("is matched against the href, which always has a path", () => {
    const withoutSlash: EndpointPolicy = {
      ...STRICT_ENDPOINT_POLICY,
      allowlistPattern: String.raw`https://hooks\.example\.com`,
    };

    expect(refusal(() => checkEndpointUrl("https://hooks.example.com", withoutSlash))).toBe(NO_MATCH);
  });

  it("does not let a matching URL through the address checks", () => {
    const anything: EndpointPolicy = { ...STRICT_ENDPOINT_POLICY, allowlistPattern: ".*" };

    expect(refusal(() => checkEndpointUrl("https://127.0.0.1/", anything))).toBe(LOOPBACK_127);
  });

  it("fails loudly on an invalid pattern, which is an operator error rather than the user's", () => {
    const broken: EndpointPolicy = { ...STRICT_ENDPOINT_POLICY, allowlistPattern: "(" };

    expect(() => checkEndpointUrl("https://example.com/", broken)).toThrow(SyntaxError);
  });
});

describe("forbiddenAddressRange", () => {
  it.each([
    ["127.0.0.1", "loopback"],
    ["10.0.0.1", "private"],
    ["172.16.0.1", "private"],
    ["192.168.0.1", "private"],
    ["169.254.169.254", "linkLocal"],
    ["100.64.0.1", "carrierGradeNat"],
    ["224.0.0.1", "multicast"],
    ["255.255.255.255", "broadcast"],
    ["0.0.0.0", "unspecified"],
    ["0.1.2.3", "unspecified"],
    ["240.0.0.1", "reserved"],
    ["192.0.0.8", "reserved"],
    ["198.18.0.1", "reserved"],
    ["192.0.2.1", "reserved"],
    ["198.51.100.1", "reserved"],
    ["192.31.196.1", "as112"],
    ["192.52.193.1", "amt"],
    ["::1", "loopback"],
    ["[::1]", "loopback"],
    ["::", "unspecified"],
    ["fe80::1", "linkLocal"],
    ["fe80::1%eth0", "linkLocal"],
    ["fd12:3456::1", "uniqueLocal"],
    ["ff02::1", "multicast"],
    ["::ffff:8.8.8.8", "ipv4Mapped"],
    ["::ffff:0:808:808", "rfc6145"],
    ["::808:808", "ipv4Compatible"],
    // ipaddr.js reads the deprecated `::a.b.c.d` text form as IPv4-mapped (inet_pton and the URL parser
    // read it as IPv4-compatible); denied either way.
    ["::8.8.8.8", "ipv4Mapped"],
    ["1::8.8.8.8", "reserved"],
    ["64:ff9b::808:808", "rfc6052"],
    ["64:ff9b:1::1", "rfc6052"],
    ["2002:808:808::1", "6to4"],
    ["2001:0:4136:e378::1", "teredo"],
    ["2001:2::1", "benchmarking"],
    ["2001:db8::1", "reserved"],
    ["3fff::1", "reserved"],
    ["4000::1", "reserved"],
    ["100::1", "discard"],
    ["fec0::1", "deprecatedSiteLocal"],
    ["garbage", "invalid"],
    ["", "invalid"],
    ["example.com", "invalid"],
  ])("classifies %s as %s", (address, range) => {
    expect(forbiddenAddressRange(address)).toBe(range);
  });

  it.each([
    ["8.8.8.8"],
    ["1.1.1.1"],
    ["93.184.216.34"],
    ["11.0.0.1"],
    ["172.32.0.1"],
    ["100.128.0.1"],
    ["169.255.0.1"],
    ["198.20.0.1"],
    ["223.255.255.255"],
    ["2606:2800:220:1:248:1893:25c8:1946"],
    ["2001:4860:4860::8888"],
  ])("treats %s as public", (address) => {
    expect(forbiddenAddressRange(address)).toBeUndefined();
  });

  it("denies every IPv4-mapped address, public or not", () => {
    fc.assert(
      fc.property(fc.ipV4(), (ip) => {
        expect(forbiddenAddressRange(`::ffff:${ip}`)).toBe("ipv4Mapped");
      }),
    );
  });
});

describe("connectionRefusalReason", () => {
  it("names the address and its range under the strict policy", () => {
    expect(connectionRefusalReason("10.0.0.5", STRICT_ENDPOINT_POLICY)).toBe(
      "address 10.0.0.5 is a private address",
    );
    expect(connectionRefusalReason("::ffff:169.254.169.254", STRICT_ENDPOINT_POLICY)).toBe(
      "address ::ffff:169.254.169.254 is an IPv4-mapped IPv6 address (embedding 169.254.169.254, a link-local address)",
    );
  });

  it("allows public addresses", () => {
    expect(connectionRefusalReason("93.184.216.34", STRICT_ENDPOINT_POLICY)).toBeUndefined();
    expect(
      connectionRefusalReason("2606:2800:220:1:248:1893:25c8:1946", STRICT_ENDPOINT_POLICY),
    ).toBeUndefined();
  });

  it("allows everything when private targets are allowed", () => {
    expect(connectionRefusalReason("127.0.0.1", LOCAL_POLICY)).toBeUndefined();
    expect(connectionRefusalReason("169.254.169.254", LOCAL_POLICY)).toBeUndefined();
  });
});

type FakeAnswer = readonly string[] | Error;

/** A resolver backed by a table, recording the names it was asked for. */
function fakeResolver(answers: Readonly<Record<string, FakeAnswer>>) {
  const asked: string[] = [];
  const resolve = async (hostname: string): Promise<readonly string[]> => {
    asked.push(hostname);
    const answer = answers[hostname] ?? dnsError("ENOTFOUND", hostname);
    if (answer instanceof Error) {
      throw answer;
    }
    return answer;
  };
  return { resolve, asked };
}

function dnsError(code: string, hostname: string): Error {
  return Object.assign(new Error(`getaddrinfo ${code} ${hostname}`), { code });
}

describe("checkEndpointHost", () => {
  const { resolve, asked } = fakeResolver({
    "public.example.com": ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"],
    "mixed.example.com": ["93.184.216.34", "10.0.0.5"],
    "mapped.example.com": ["::ffff:10.0.0.5"],
    "169.254.169.254.nip.io": ["169.254.169.254"],
    "loopback.example.com": ["127.0.0.1"],
    "nodata.example.com": dnsError("ENODATA", "nodata.example.com"),
    "timeout.example.com": dnsError("ETIMEOUT", "timeout.example.com"),
    "empty.example.com": [],
  });

  it("accepts a host whose addresses are all public", async () => {
    await expect(
      checkEndpointHost(new URL("https://public.example.com/hook"), STRICT_ENDPOINT_POLICY, resolve),
    ).resolves.toBeUndefined();
    expect(asked).toContain("public.example.com");
  });

  it.each([
    ["https://mixed.example.com/", "host mixed.example.com resolves to 10.0.0.5, a private address"],
    [
      "https://mapped.example.com/",
      "host mapped.example.com resolves to ::ffff:10.0.0.5, an IPv4-mapped IPv6 address (embedding 10.0.0.5, a private address)",
    ],
    [
      "https://169.254.169.254.nip.io/",
      "host 169.254.169.254.nip.io resolves to 169.254.169.254, a link-local address",
    ],
    ["https://loopback.example.com/", "host loopback.example.com resolves to 127.0.0.1, a loopback address"],
    ["https://unknown.example.com/", "host unknown.example.com does not resolve"],
    ["https://nodata.example.com/", "host nodata.example.com does not resolve"],
    ["https://empty.example.com/", "host empty.example.com does not resolve"],
  ])("rejects %s", async (raw, reason) => {
    expect(await asyncRefusal(() => checkEndpointHost(new URL(raw), STRICT_ENDPOINT_POLICY, resolve))).toBe(
      reason,
    );
  });

  it("lets other resolver failures through, since they are not the user's fault", async () => {
    await expect(
      checkEndpointHost(new URL("https://timeout.example.com/"), STRICT_ENDPOINT_POLICY, resolve),
    ).rejects.toThrow("getaddrinfo ETIMEOUT timeout.example.com");
  });

  it("checks IP literals without resolving them", async () => {
    // Prepare
    const literal = fakeResolver({});

    // Act & Assess
    await expect(
      checkEndpointHost(new URL("https://93.184.216.34/"), STRICT_ENDPOINT_POLICY, literal.resolve),
    ).resolves.toBeUndefined();
    await expect(
      checkEndpointHost(
        new URL("https://[2606:2800:220:1:248:1893:25c8:1946]/"),
        STRICT_ENDPOINT_POLICY,
        literal.resolve,
      ),
    ).resolves.toBeUndefined();
    expect(
      await asyncRefusal(() =>
        checkEndpointHost(new URL("https://[::ffff:a9fe:a9fe]/"), STRICT_ENDPOINT_POLICY, literal.resolve),
      ),
    ).toBe(
      "host [::ffff:a9fe:a9fe] is an IPv4-mapped IPv6 address (embedding 169.254.169.254, a link-local address)",
    );
    expect(
      await asyncRefusal(() =>
        checkEndpointHost(new URL("https://10.0.0.1/"), STRICT_ENDPOINT_POLICY, literal.resolve),
      ),
    ).toBe("host 10.0.0.1 is a private address");
    expect(literal.asked).toEqual([]);
  });

  it("refuses local-only names without asking DNS", async () => {
    const local = fakeResolver({ localhost: ["93.184.216.34"] });

    expect(
      await asyncRefusal(() =>
        checkEndpointHost(new URL("https://localhost./"), STRICT_ENDPOINT_POLICY, local.resolve),
      ),
    ).toBe("host localhost. is a local-only hostname");
    expect(local.asked).toEqual([]);
  });

  it("allows private and loopback targets when the policy does", async () => {
    await expect(
      checkEndpointHost(new URL("http://loopback.example.com:54321/"), LOCAL_POLICY, resolve),
    ).resolves.toBeUndefined();
    await expect(
      checkEndpointHost(new URL("http://127.0.0.1:54321/"), LOCAL_POLICY, resolve),
    ).resolves.toBeUndefined();
    await expect(
      checkEndpointHost(new URL("http://localhost:54321/"), LOCAL_POLICY, async () => ["127.0.0.1"]),
    ).resolves.toBeUndefined();
  });

  it("still requires the name to resolve when private targets are allowed", async () => {
    expect(
      await asyncRefusal(() =>
        checkEndpointHost(new URL("http://unknown.example.com/"), LOCAL_POLICY, resolve),
      ),
    ).toBe("host unknown.example.com does not resolve");
  });
});

describe("property: every spelling of an address in a forbidden IPv4 range is rejected", () => {
  const FORBIDDEN_CIDRS: [string, string][] = [
    ["10.0.0.0/8", "a private address"],
    ["127.0.0.0/8", "a loopback address"],
    ["169.254.0.0/16", "a link-local address"],
    ["100.64.0.0/10", "a carrier-grade NAT address"],
    ["192.168.0.0/16", "a private address"],
    ["172.16.0.0/12", "a private address"],
  ];

  function parseCidr(cidr: string): { base: number; size: number } {
    const [address = "", prefix = ""] = cidr.split("/");
    const base = address.split(".").reduce((value, octet) => value * 256 + Number(octet), 0);
    return { base, size: 2 ** (32 - Number(prefix)) };
  }

  function octets(value: number): number[] {
    return [value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff];
  }

  it.each(FORBIDDEN_CIDRS)("%s", (cidr, description) => {
    const { base, size } = parseCidr(cidr);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: size - 1 }), (offset) => {
        const value = base + offset;
        const dotted = octets(value).join(".");
        const spellings = [
          dotted,
          String(value),
          `0x${value.toString(16)}`,
          `0X${value.toString(16).toUpperCase()}`,
          octets(value)
            .map((octet) => `0${octet.toString(8)}`)
            .join("."),
          `${dotted}.`,
        ];
        for (const host of spellings) {
          expect(refusal(() => checkEndpointUrl(`https://${host}/hook`, STRICT_ENDPOINT_POLICY))).toBe(
            `host ${dotted} is ${description}`,
          );
          // The same spelling is accepted locally, normalised to the dotted form the delivery client will use.
          expect(checkEndpointUrl(`http://${host}/hook`, LOCAL_POLICY).hostname).toBe(dotted);
        }
      }),
      { numRuns: 200 },
    );
  });
});
