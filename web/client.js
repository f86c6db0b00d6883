// A dependency-free client for greet.v1.GreetService, over three protocols:
//
//   greetRest(baseUrl, {name, lang})     POST /greet with JSON (the google.api.http mapping)
//   greetGrpcWeb(baseUrl, {name, lang})  gRPC-Web, binary framing, by hand
//   greetConnect(baseUrl, {name, lang})  Connect unary: JSON POST to /greet.v1.GreetService/Greet
//
// All resolve to {greeting, timestamp} (timestamp as RFC 3339 text, as the REST
// API sends it) and reject with a typed error carrying what the server said:
// HttpError (REST), GrpcWebError (gRPC-Web) or ConnectError (Connect). When
// the browser itself refuses
// the call (CORS, network down), they reject with a BlockedError whose message
// says what to check, with this page's origin filled in, instead of fetch's
// bare "Failed to fetch":
//
//   the browser refused the response: is this page's origin (http://localhost:8000) in the gateway's --allow-origin?
//
// The result and every one of these errors carry `call`, what the browser saw
// of the exchange: {protocol, url, status, grpcStatus, requestId, latencyMs}.
// Types, for TypeScript users and `tsc --checkJs`: client.d.ts, beside this file.
//
// Wire formats:
//   gRPC-Web  https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-WEB.md
//   Connect   https://connectrpc.com/docs/protocol
//   protobuf  https://protobuf.dev/programming-guides/encoding/

/** A non-2xx REST answer: `status` is the HTTP status, `message` the body's `error`. */
export class HttpError extends Error {
  constructor(status, message, call = null) {
    super(message);
    this.name = "HttpError";
    this.status = status;
    this.call = call;
  }
}

/** A gRPC status other than OK: `code` (number), `codeName` and `message` (grpc-message, decoded). */
export class GrpcWebError extends Error {
  constructor(code, message, call = null) {
    super(message);
    this.name = "GrpcWebError";
    this.code = code;
    this.codeName = CODE_NAMES[code] ?? `CODE_${code}`;
    this.call = call;
  }
}

/**
 * The browser handed the page no response: fetch rejected (CORS refused the
 * preflight or the answer, or nothing listens at the URL; the page cannot
 * tell which). `message` says what a developer should check first, `origin`
 * is this page's origin, `cause` fetch's own error.
 */
export class BlockedError extends Error {
  constructor(call, cause) {
    const origin = globalThis.location?.origin ?? "unknown";
    super(
      `the browser refused the response: is this page's origin (${origin}) in the gateway's --allow-origin?`,
      { cause },
    );
    this.name = "BlockedError";
    this.origin = origin;
    this.call = call;
  }
}

/**
 * A Connect error: `code` is Connect's name for it ("invalid_argument", ...),
 * `message` the server's message, `status` the HTTP status it came with.
 */
export class ConnectError extends Error {
  constructor(code, message, status, call = null) {
    super(message);
    this.name = "ConnectError";
    this.code = code;
    this.status = status;
    this.call = call;
  }
}

/** gRPC status codes by number (https://grpc.github.io/grpc/core/md_doc_statuscodes.html). */
export const CODE_NAMES = [
  "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
  "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
  "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
  "UNAUTHENTICATED",
];

// ---------------------------------------------------------------------------
// REST

export async function greetRest(baseUrl, { name, lang } = {}) {
  // A JSON content type makes this a "non-simple" request: the browser sends a
  // CORS preflight (OPTIONS) first, and the gateway must allow the page's origin.
  const init = {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ name, lang }), // undefined fields are left out
  };
  return exchange("rest", `${baseUrl}/greet`, init, async (response) => {
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      throw new HttpError(response.status, body.error || `Server error: ${response.status}`);
    }
    return response.json();
  });
}

// ---------------------------------------------------------------------------
// What every call shares: timing, the response's status and request id, and
// turning fetch's bare TypeError into a BlockedError that says what to check.

/**
 * Fetches `url` and hands the response to `read`, which returns
 * {greeting, timestamp} or throws a typed error (it may set call.grpcStatus).
 * Resolves to {greeting, timestamp, call}; a typed error leaves with `call` set.
 */
async function exchange(protocol, url, init, read) {
  const started = performance.now();
  const call = { protocol, url, status: null, grpcStatus: null, requestId: null, latencyMs: 0 };
  const done = () => {
    call.latencyMs = Math.round((performance.now() - started) * 10) / 10;
    return Object.freeze(call);
  };
  let response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    // fetch rejects with a TypeError when no response may reach the page;
    // anything else (an AbortError) is the caller's own doing.
    if (error instanceof TypeError) throw new BlockedError(done(), error);
    throw error;
  }
  call.status = response.status;
  // Readable cross-origin because the gateway lists it in Access-Control-Expose-Headers.
  call.requestId = response.headers.get("x-request-id");
  try {
    const greeting = await read(response, call);
    return { ...greeting, call: done() };
  } catch (error) {
    if (error instanceof HttpError || error instanceof GrpcWebError || error instanceof ConnectError) {
      error.call = done();
    }
    throw error;
  }
}

// ---------------------------------------------------------------------------
// gRPC-Web

export async function greetGrpcWeb(baseUrl, { name, lang } = {}) {
  const init = {
    method: "POST",
    headers: { "Content-Type": "application/grpc-web+proto", "X-Grpc-Web": "1" },
    body: frame(0x00, encodeGreetRequest({ name, lang })),
  };
  return exchange("grpc-web", `${baseUrl}/greet.v1.GreetService/Greet`, init, async (response, call) => {
    // Trailers-only answer (an error before any message): the status is in the
    // response headers, readable cross-origin only because the gateway lists
    // grpc-status and grpc-message in Access-Control-Expose-Headers.
    if (response.headers.has("grpc-status")) {
      call.grpcStatus = Number(response.headers.get("grpc-status"));
      throwIfNotOk(call.grpcStatus, response.headers.get("grpc-message"));
    }
    if (!response.ok) {
      throw new GrpcWebError(codeFromHttpStatus(response.status), `HTTP ${response.status}`);
    }

    let message = null;
    let trailers = null;
    for (const { flag, payload } of frames(new Uint8Array(await response.arrayBuffer()))) {
      if (flag & 0x80) trailers = parseTrailers(payload);
      else if (flag & 0x01) throw new GrpcWebError(13, "compressed messages are not supported");
      else message = payload;
    }
    const status = trailers?.get("grpc-status") ?? response.headers.get("grpc-status");
    if (status === null || status === undefined) {
      throw new GrpcWebError(2, "response has no grpc-status");
    }
    call.grpcStatus = Number(status);
    throwIfNotOk(call.grpcStatus, trailers?.get("grpc-message") ?? response.headers.get("grpc-message"));
    if (message === null) throw new GrpcWebError(13, "response has no message");
    return decodeGreetResponse(message);
  });
}

function throwIfNotOk(code, encodedMessage) {
  if (code !== 0) throw new GrpcWebError(code, percentDecode(encodedMessage ?? ""));
}

/** grpc-message is percent-encoded UTF-8 (gRPC over HTTP/2, "Responses"). */
function percentDecode(text) {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** What a gRPC client reports when the HTTP layer failed (gRPC's http-grpc-status-mapping.md). */
function codeFromHttpStatus(status) {
  switch (status) {
    case 400: return 13; // INTERNAL
    case 401: return 16; // UNAUTHENTICATED
    case 403: return 7; // PERMISSION_DENIED
    case 404: return 12; // UNIMPLEMENTED
    case 429: case 502: case 503: case 504: return 14; // UNAVAILABLE
    default: return 2; // UNKNOWN
  }
}

/** One gRPC-Web frame: flag byte, 4-byte big-endian length, payload. */
function frame(flag, payload) {
  const out = new Uint8Array(5 + payload.length);
  out[0] = flag;
  new DataView(out.buffer).setUint32(1, payload.length);
  out.set(payload, 5);
  return out;
}

function* frames(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 0; at < bytes.length; ) {
    if (at + 5 > bytes.length) throw new GrpcWebError(13, "truncated frame header");
    const length = view.getUint32(at + 1);
    if (at + 5 + length > bytes.length) throw new GrpcWebError(13, "truncated frame");
    yield { flag: bytes[at], payload: bytes.subarray(at + 5, at + 5 + length) };
    at += 5 + length;
  }
}

/** The trailer frame is an HTTP/1 header block: "grpc-status: 0\r\ngrpc-message: ...\r\n". */
function parseTrailers(payload) {
  const trailers = new Map();
  for (const line of new TextDecoder().decode(payload).split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) trailers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return trailers;
}

// ---------------------------------------------------------------------------
// Connect (unary, JSON)

export async function greetConnect(baseUrl, { name, lang } = {}) {
  // Like REST, a JSON POST: the browser sends a preflight for the content type
  // and Connect-Protocol-Version, which the gateway allows.
  const init = {
    method: "POST",
    headers: { "Content-Type": "application/json", "Connect-Protocol-Version": "1" },
    body: JSON.stringify({ name, lang }), // undefined fields are left out
  };
  return exchange("connect", `${baseUrl}/greet.v1.GreetService/Greet`, init, async (response) => {
    if (response.ok) return response.json();
    // An error is JSON {code, message}; without one, the code follows from the
    // HTTP status (the Connect spec's table, gRPC's own).
    const body = await response.json().catch(() => null);
    const code = typeof body?.code === "string"
      ? body.code
      : CODE_NAMES[codeFromHttpStatus(response.status)].toLowerCase();
    throw new ConnectError(code, body?.message ?? "", response.status);
  });
}

// ---------------------------------------------------------------------------
// Protobuf, just enough for greet.v1:
//   GreetRequest  { optional string name = 1; optional string lang = 2; }
//   GreetResponse { string greeting = 1; google.protobuf.Timestamp timestamp = 2; }
//   Timestamp     { int64 seconds = 1; int32 nanos = 2; }

function encodeGreetRequest({ name, lang }) {
  const bytes = [];
  // proto3 `optional`: a field is sent whenever it is set, even when empty, so
  // the server can tell "no name" from "empty name".
  if (name !== undefined && name !== null) writeString(bytes, 1, name);
  if (lang !== undefined && lang !== null) writeString(bytes, 2, lang);
  return Uint8Array.from(bytes);
}

function writeString(bytes, field, text) {
  const utf8 = new TextEncoder().encode(text);
  writeVarint(bytes, (field << 3) | 2); // wire type 2: length-delimited
  writeVarint(bytes, utf8.length);
  bytes.push(...utf8);
}

function writeVarint(bytes, n) {
  while (n > 0x7f) {
    bytes.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  bytes.push(n);
}

function decodeGreetResponse(bytes) {
  let greeting = "";
  let seconds = 0;
  let nanos = 0;
  for (const [field, value] of fields(bytes)) {
    if (field === 1) greeting = new TextDecoder().decode(value);
    if (field === 2) {
      for (const [f, v] of fields(value)) {
        if (f === 1) seconds = Number(BigInt.asIntN(64, v));
        if (f === 2) nanos = Number(BigInt.asIntN(32, v));
      }
    }
  }
  return { greeting, timestamp: rfc3339(seconds, nanos) };
}

/** Yields [fieldNumber, value]: a BigInt for varints, bytes for length-delimited fields. */
function* fields(bytes) {
  const reader = { bytes, at: 0 };
  while (reader.at < bytes.length) {
    const key = Number(readVarint(reader));
    const field = key >>> 3;
    switch (key & 7) {
      case 0:
        yield [field, readVarint(reader)];
        break;
      case 2: {
        const length = Number(readVarint(reader));
        if (reader.at + length > bytes.length) throw new GrpcWebError(13, "truncated message");
        yield [field, bytes.subarray(reader.at, reader.at + length)];
        reader.at += length;
        break;
      }
      case 1: reader.at += 8; break; // fixed64, unknown here: skip
      case 5: reader.at += 4; break; // fixed32, unknown here: skip
      default: throw new GrpcWebError(13, `unsupported wire type ${key & 7}`);
    }
  }
}

function readVarint(reader) {
  let value = 0n;
  for (let shift = 0n; shift < 70n; shift += 7n) {
    if (reader.at >= reader.bytes.length) throw new GrpcWebError(13, "truncated varint");
    const byte = reader.bytes[reader.at++];
    value |= BigInt(byte & 0x7f) << shift;
    if (byte < 0x80) return value;
  }
  throw new GrpcWebError(13, "varint too long");
}

/** The proto3 JSON form of a Timestamp: RFC 3339, UTC, 0/3/6/9 fractional digits. */
function rfc3339(seconds, nanos) {
  const base = new Date(seconds * 1000).toISOString().slice(0, 19);
  if (nanos === 0) return `${base}Z`;
  let fraction = String(nanos).padStart(9, "0");
  while (fraction.endsWith("000")) fraction = fraction.slice(0, -3);
  return `${base}.${fraction}Z`;
}
