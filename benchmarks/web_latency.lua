-- wrk script for benchmarks/web_latency.py: one request per call, the paths (and their auth
-- header, and "gzip" to send Accept-Encoding: gzip) taken round-robin from a file of
-- "path<TAB>header<TAB>encoding" lines, so the load is spread over
-- the reps; optional think time (paced load); prints machine-readable figures in done().
-- Usage: wrk -c 50 -t 1 -d 30s -s web_latency.lua http://127.0.0.1:PORT -- FILE THINK_MS

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

local requests = {}
local next_index = 1
local think_ms = 0
local bad = 0

function init(args)
  local file = assert(io.open(args[1], "r"))
  for line in file:lines() do
    local path, header, value, encoding = line:match("^([^\t]+)\t([^:]+): ([^\t]*)\t?(.*)$")
    if path then
      local headers = {}
      headers[header] = value
      headers["Accept"] = "text/html,application/json"
      if encoding ~= "" then
        headers["Accept-Encoding"] = encoding
      end
      table.insert(requests, wrk.format("GET", path, headers))
    end
  end
  file:close()
  think_ms = tonumber(args[2] or "0") or 0
  -- different threads start at different reps
  next_index = (id or 0) % #requests + 1
  math.randomseed(os.time() + (id or 0))
end

function request()
  local r = requests[next_index]
  next_index = next_index % #requests + 1
  return r
end

function delay()
  if think_ms > 0 then
    return math.floor(think_ms * (0.5 + math.random()))
  end
  return 0
end

function response(status, headers, body)
  if status ~= 200 then
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local not_ok = 0
  for _, thread in ipairs(threads) do
    not_ok = not_ok + (thread:get("bad") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d bytes=%d p50_us=%d p95_us=%d p99_us=%d mean_us=%.1f "
      .. "max_us=%d connect=%d read=%d write=%d timeout=%d status=%d not_200=%d\n",
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.mean,
    latency.max, e.connect, e.read, e.write, e.timeout, e.status, not_ok))
end
