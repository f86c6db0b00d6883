// Types of client.js, the dependency-free greet.v1.GreetService client, for
// TypeScript users and for `tsc --checkJs` over code that imports it (the demo
// page's app.js is checked against this file). tests/types.rs compiles a
// strict consumer (tests/types/consumer.ts) and compares these exports with
// the module's own.

/** A GreetRequest: proto3 `optional` fields, left out when undefined or null. */
export interface GreetRequest {
  name?: string | null;
  lang?: string | null;
}

/** A GreetResponse, as the REST API writes it (proto3 JSON). */
export interface Greeting {
  greeting: string;
  /** RFC 3339, UTC, ending in `Z`: `2025-10-22T13:05:27.121465Z`. */
  timestamp: string;
}

/** The protocols client.js speaks: `greetRest`, `greetGrpcWeb`, `greetConnect`. */
export type Protocol = "rest" | "grpc-web" | "connect";

/**
 * What the browser saw of one call, on the result and on every error the
 * greet functions reject with. A field is `null` where the browser gave the
 * page nothing of the kind.
 */
export interface CallInfo {
  readonly protocol: Protocol;
  /** The URL called. */
  readonly url: string;
  /** The HTTP status; `null` when the browser handed the page no response (`BlockedError`). */
  readonly status: number | null;
  /**
   * The gRPC status code read by `greetGrpcWeb`: from the exposed `grpc-status`
   * header of a trailers-only answer, else from the trailer frame. `null` for
   * REST and Connect, and when no status was read.
   */
  readonly grpcStatus: number | null;
  /** The `x-request-id` response header (exposed by the gateway's CORS policy), if present. */
  readonly requestId: string | null;
  /** Milliseconds from the call's start to the end of its response body (or its failure), to 0.1 ms. */
  readonly latencyMs: number;
}

/** What a greet function resolves to: the greeting and what the browser saw of the call. */
export interface GreetResult extends Greeting {
  readonly call: CallInfo;
}

/** A non-2xx REST answer: `status` is the HTTP status, `message` the body's `error`. */
export class HttpError extends Error {
  constructor(status: number, message: string, call?: CallInfo | null);
  readonly name: "HttpError";
  status: number;
  /** Set on every error `greetRest` rejects with; `null` on one made by hand. */
  call: CallInfo | null;
}

/** A gRPC status other than OK, over gRPC-Web: `message` is grpc-message, decoded. */
export class GrpcWebError extends Error {
  constructor(code: number, message: string, call?: CallInfo | null);
  readonly name: "GrpcWebError";
  /** The gRPC status code (3 is INVALID_ARGUMENT). */
  code: number;
  /** `CODE_NAMES[code]`, or `CODE_<n>` for a code beyond the table. */
  codeName: GrpcCodeName | `CODE_${number}`;
  /** Set on every error `greetGrpcWeb` rejects with; `null` on one made by hand. */
  call: CallInfo | null;
}

/**
 * The browser handed the page no response: CORS refused the preflight or the
 * answer, or nothing listens at the URL (the page cannot tell which). The
 * message, exactly:
 *
 *     the browser refused the response: is this page's origin (<origin>) in the gateway's --allow-origin?
 *
 * with `<origin>` this page's `location.origin` (`unknown` outside a page).
 */
export class BlockedError extends Error {
  constructor(call: CallInfo, cause?: unknown);
  readonly name: "BlockedError";
  /** The origin named in the message. */
  origin: string;
  /** No response was readable: `status`, `grpcStatus` and `requestId` are `null`. */
  call: CallInfo & { readonly status: null; readonly grpcStatus: null; readonly requestId: null };
  /** fetch's own error (Chromium: `TypeError: Failed to fetch`). */
  cause?: unknown;
}

/** The Connect protocol's error codes (https://connectrpc.com/docs/protocol/#error-codes). */
export type ConnectCode =
  | "canceled"
  | "unknown"
  | "invalid_argument"
  | "deadline_exceeded"
  | "not_found"
  | "already_exists"
  | "permission_denied"
  | "resource_exhausted"
  | "failed_precondition"
  | "aborted"
  | "out_of_range"
  | "unimplemented"
  | "internal"
  | "unavailable"
  | "data_loss"
  | "unauthenticated";

/** A Connect error answer: `code` from its JSON body, `status` the HTTP status. */
export class ConnectError extends Error {
  constructor(code: ConnectCode, message: string, status: number, call?: CallInfo | null);
  readonly name: "ConnectError";
  code: ConnectCode;
  /** The HTTP status (400 for invalid_argument). */
  status: number;
  /** Set on every error `greetConnect` rejects with. */
  call: CallInfo | null;
}

/** The gRPC status code names, indexed by code. */
export const CODE_NAMES: readonly GrpcCodeName[];

/** The names of the gRPC status codes 0 to 16. */
export type GrpcCodeName =
  | "OK"
  | "CANCELLED"
  | "UNKNOWN"
  | "INVALID_ARGUMENT"
  | "DEADLINE_EXCEEDED"
  | "NOT_FOUND"
  | "ALREADY_EXISTS"
  | "PERMISSION_DENIED"
  | "RESOURCE_EXHAUSTED"
  | "FAILED_PRECONDITION"
  | "ABORTED"
  | "OUT_OF_RANGE"
  | "UNIMPLEMENTED"
  | "INTERNAL"
  | "UNAVAILABLE"
  | "DATA_LOSS"
  | "UNAUTHENTICATED";

/**
 * `POST {baseUrl}/greet` with JSON. Rejects with `HttpError` (a non-2xx answer)
 * or `BlockedError`.
 */
export function greetRest(baseUrl: string, request?: GreetRequest): Promise<GreetResult>;

/**
 * gRPC-Web (binary) to `{baseUrl}/greet.v1.GreetService/Greet`. Rejects with
 * `GrpcWebError` (a gRPC status other than OK) or `BlockedError`.
 */
export function greetGrpcWeb(baseUrl: string, request?: GreetRequest): Promise<GreetResult>;

/**
 * The Connect protocol (unary) to `{baseUrl}/greet.v1.GreetService/Greet`.
 * Rejects with `ConnectError` (an error answer) or `BlockedError`.
 */
export function greetConnect(baseUrl: string, request?: GreetRequest): Promise<GreetResult>;
