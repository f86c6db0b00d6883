-- wrk: POST /greet with a JSON body, as a browser page calls the REST face
-- (with an allowed Origin, so CORS is exercised). HTTP errors (>= 400) are
-- counted by wrk itself; done() prints one machine-readable line.
wrk.method = "POST"
wrk.body = '{"name":"Bench"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Origin"] = "http://localhost:1234"

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"errors_connect":%d,"errors_read":%d,'
      .. '"errors_write":%d,"errors_status":%d,"errors_timeout":%d,"bad_responses":0,'
      .. '"p50_us":%d,"p99_us":%d,"mean_us":%.1f,"max_us":%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean, latency.max))
end
