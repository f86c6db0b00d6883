// The demo page: a form that greets over REST, gRPC-Web or Connect, the seed's
// error display, and what the browser saw of each call. The page is served
// from its own origin (:1234), the API from another (:5000), so every call is
// a cross-origin one, guarded by CORS.
//
// Test hooks: every control has a stable id; #greeting carries
// data-state="loading" | "done" | "error" for the last call; the error's
// <pre id="error"> carries data-code; #call-protocol, #call-url,
// #call-status, #call-grpc-status, #call-request-id and #call-latency show the
// last call ("—" where the browser saw nothing of the kind).

import * as client from "./client.js";

const DEFAULT_API = "http://localhost:5000";
const NOTHING = "—";

/** The form's protocol choices: the name shown, and the client function. */
const protocols = {
  rest: { label: "REST", greet: client.greetRest },
  "grpc-web": { label: "gRPC-Web", greet: client.greetGrpcWeb },
  connect: { label: "Connect", greet: client.greetConnect },
};

const form = /** @type {HTMLFormElement} */ (document.getElementById("greet-form"));
const apiInput = /** @type {HTMLInputElement} */ (document.getElementById("api"));
const nameInput = /** @type {HTMLInputElement} */ (document.getElementById("name"));
const langSelect = /** @type {HTMLSelectElement} */ (document.getElementById("lang"));
const greetingEl = /** @type {HTMLElement} */ (document.getElementById("greeting"));
const callEl = /** @type {HTMLElement} */ (document.getElementById("call"));

// ?api=http://127.0.0.1:5000 points the page at another API origin.
apiInput.value = new URLSearchParams(location.search).get("api") || DEFAULT_API;

form.addEventListener("submit", (event) => {
  event.preventDefault();
  greet();
});

async function greet() {
  const baseUrl = apiInput.value.trim().replace(/\/+$/, "");
  const request = { name: nameInput.value, lang: langSelect.value };
  const protocol = protocols[selectedProtocol()];

  document.getElementById("error")?.remove();
  callEl.hidden = true;
  greetingEl.textContent = "Loading...";
  greetingEl.dataset.state = "loading";
  try {
    const { greeting, call } = await protocol.greet(baseUrl, request);
    showCall(protocol.label, call);
    greetingEl.textContent = greeting;
    greetingEl.dataset.state = "done";
  } catch (error) {
    // The seed's behaviour: a fixed line, then the reason in a red <pre>. When
    // the browser blocked the call, the reason is BlockedError's hint (is this
    // page's origin allowed?) rather than fetch's bare "Failed to fetch".
    showCall(protocol.label, callOf(error));
    greetingEl.textContent = "Error: failed to fetch greeting";
    const errorEl = document.createElement("pre");
    errorEl.id = "error";
    errorEl.textContent = error instanceof Error ? error.message : String(error);
    errorEl.style.color = "red";
    errorEl.style.whiteSpace = "pre-wrap";
    errorEl.dataset.code = codeOf(error);
    greetingEl.insertAdjacentElement("afterend", errorEl);
    greetingEl.dataset.state = "error";
    console.error(error);
  }
}

/** @returns {keyof typeof protocols} */
function selectedProtocol() {
  const checked = form.querySelector('input[name="protocol"]:checked');
  const value = checked instanceof HTMLInputElement ? checked.value : "rest";
  return value in protocols ? /** @type {keyof typeof protocols} */ (value) : "rest";
}

/**
 * What each protocol calls the failure: the HTTP status (REST), the gRPC code
 * name (gRPC-Web), the Connect code; none when the browser blocked the call.
 * @param {any} error
 * @returns {string}
 */
function codeOf(error) {
  switch (error?.name) {
    case "HttpError":
      return String(error.status);
    case "GrpcWebError":
      return error.codeName;
    case "ConnectError":
      return error.code;
    default:
      return "";
  }
}

/**
 * What the browser saw of a failed call: client.js's errors carry it.
 * @param {any} error
 * @returns {import("./client.js").CallInfo | undefined}
 */
function callOf(error) {
  return error?.call ?? undefined;
}

/**
 * Fills the "last call" panel.
 * @param {string} label the protocol's name
 * @param {import("./client.js").CallInfo | undefined} call what the client saw, if it got as far as a call
 */
function showCall(label, call) {
  const shown = (/** @type {unknown} */ value) =>
    value === null || value === undefined ? NOTHING : String(value);
  const fields = {
    "call-protocol": label,
    "call-url": shown(call?.url),
    "call-status": shown(call?.status),
    "call-grpc-status": shown(call?.grpcStatus),
    "call-request-id": shown(call?.requestId),
    "call-latency": call ? `${call.latencyMs.toFixed(1)} ms` : NOTHING,
  };
  for (const [id, text] of Object.entries(fields)) {
    /** @type {HTMLElement} */ (document.getElementById(id)).textContent = text;
  }
  callEl.hidden = false;
}

// Greet once on load, as the seed's page does.
greet();
