// The demo page: a form that greets over REST or gRPC-Web, and the seed's
// error display. The page is served from its own origin (:1234), the API from
// another (:5000), so every call is a cross-origin one, guarded by CORS.
//
// Test hooks: every control has a stable id, and #greeting carries
// data-state="loading" | "done" | "error" for the last call.

import { greetGrpcWeb, greetRest } from "./client.js";

const DEFAULT_API = "http://localhost:5000";
const clients = { rest: greetRest, "grpc-web": greetGrpcWeb };

const form = document.getElementById("greet-form");
const apiInput = document.getElementById("api");
const greetingEl = document.getElementById("greeting");

// ?api=http://127.0.0.1:5000 points the page at another API origin.
apiInput.value = new URLSearchParams(location.search).get("api") || DEFAULT_API;

form.addEventListener("submit", (event) => {
  event.preventDefault();
  greet();
});

async function greet() {
  const baseUrl = apiInput.value.trim().replace(/\/+$/, "");
  const name = document.getElementById("name").value;
  const lang = document.getElementById("lang").value;
  const protocol = form.elements.protocol.value;

  document.getElementById("error")?.remove();
  greetingEl.textContent = "Loading...";
  greetingEl.dataset.state = "loading";
  try {
    const { greeting } = await clients[protocol](baseUrl, { name, lang });
    greetingEl.textContent = greeting;
    greetingEl.dataset.state = "done";
  } catch (error) {
    // The seed's behaviour: a fixed line, then the reason in a red <pre>.
    greetingEl.textContent = "Error: failed to fetch greeting";
    greetingEl.dataset.state = "error";
    const errorEl = document.createElement("pre");
    errorEl.id = "error";
    errorEl.textContent = error.message;
    errorEl.style.color = "red";
    errorEl.style.whiteSpace = "pre-wrap";
    // HTTP status (REST) or gRPC code name (gRPC-Web); absent when the browser blocked the call.
    errorEl.dataset.code = error.codeName ?? error.status ?? "";
    greetingEl.insertAdjacentElement("afterend", errorEl);
    console.error(error);
  }
}

// Greet once on load, as the seed's page does.
greet();
