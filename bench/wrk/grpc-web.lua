-- wrk: a unary gRPC-Web call (binary), as a browser's grpc-web client sends
-- it, with an allowed Origin. Every response is checked: HTTP 200 and
-- grpc-status 0, either in the headers (trailers-only) or in the trailer
-- frame of the body; anything else counts as a bad response.
wrk.method = "POST"
-- One length-prefixed GreetRequest{name: "Bench"}: flags 0, length 7, message.
wrk.body = "\0\0\0\0\7\10\5Bench"
wrk.headers["Content-Type"] = "application/grpc-web+proto"
wrk.headers["X-Grpc-Web"] = "1"
wrk.headers["Origin"] = "http://localhost:1234"

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  bad = 0
end

function response(status, headers, body)
  local header_status = headers["grpc-status"] or headers["Grpc-Status"]
  if status ~= 200 or not (header_status == "0"
      or (body and string.find(body, "grpc-status:0", 1, true))) then
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local bad_total = 0
  for _, thread in ipairs(threads) do
    bad_total = bad_total + thread:get("bad")
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"errors_connect":%d,"errors_read":%d,'
      .. '"errors_write":%d,"errors_status":%d,"errors_timeout":%d,"bad_responses":%d,'
      .. '"p50_us":%d,"p99_us":%d,"mean_us":%.1f,"max_us":%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    bad_total, latency:percentile(50), latency:percentile(99), latency.mean, latency.max))
end
