-- post.lua - wrk script for tests/bench/run.sh: POSTs one SOAP request over
-- and over and checks every answer.
--
-- Environment:
--   BENCH_BODY    file holding the SOAP envelope to POST (required)
--   BENCH_EXPECT  text every 2xx answer must contain (default: none)
--   BENCH_EXPECT_COUNT  ... at least this many times (default 1)
--   BENCH_ROTATE  N > 0: every "@ROT@" in the body becomes 0 .. N-1 in
--                 turn, one value per request (the second thread starts
--                 half the range further), so that requests name distinct
--                 presentities
-- wrk -s post.lua ... http://127.0.0.1:PORT/TerminalStatus
--
-- done() prints one line for run.sh to parse:
--   WRK_RESULT requests=N duration_us=N rps=F p50_us=N p90_us=N p99_us=N
--     max_us=N mean_us=F non2xx=N unexpected=N connect=N read=N write=N
--     timeout=N first_bad=<status>
-- non2xx counts answers whose status is not 2xx (wrk itself only counts
-- statuses > 399); unexpected counts 2xx answers without BENCH_EXPECT
-- (BENCH_EXPECT_COUNT times).

local function slurp(path)
  local f = assert(io.open(path, "rb"), "cannot open " .. tostring(path))
  local s = f:read("*a")
  f:close()
  return s
end

local body_file = os.getenv("BENCH_BODY")
assert(body_file and body_file ~= "", "BENCH_BODY is not set")
local expect = os.getenv("BENCH_EXPECT") or ""
local expect_count = tonumber(os.getenv("BENCH_EXPECT_COUNT") or "1") or 1

wrk.method = "POST"
wrk.body = slurp(body_file)
wrk.headers["Content-Type"] = "text/xml; charset=utf-8"
wrk.headers["SOAPAction"] = '""'

local rotate = tonumber(os.getenv("BENCH_ROTATE") or "0") or 0

local threads = {}

function setup(thread)
  thread:set("thread_no", #threads)
  table.insert(threads, thread)
end

function init(args)
  non2xx = 0
  unexpected = 0
  first_bad = ""
  -- two threads start half the range apart
  rot_next = (thread_no or 0) * math.floor(rotate / 2)
end

if rotate > 0 then
  function request()
    local v = tostring(rot_next % rotate)
    rot_next = rot_next + 1
    return wrk.format(nil, nil, nil, (string.gsub(wrk.body, "@ROT@", v)))
  end
end

local function count(s, needle, want)
  local n, pos = 0, 1
  while n < want do
    local i = string.find(s, needle, pos, true)
    if not i then break end
    n = n + 1
    pos = i + #needle
  end
  return n
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if first_bad == "" then first_bad = tostring(status) end
  elseif expect ~= "" and count(body, expect, expect_count) < expect_count then
    unexpected = unexpected + 1
    if first_bad == "" then first_bad = "body" end
  end
end

function done(summary, latency, requests)
  local n2, un, fb = 0, 0, ""
  for _, t in ipairs(threads) do
    n2 = n2 + (t:get("non2xx") or 0)
    un = un + (t:get("unexpected") or 0)
    local b = t:get("first_bad") or ""
    if fb == "" then fb = b end
  end
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    "WRK_RESULT requests=%d duration_us=%d rps=%.1f p50_us=%d p90_us=%d p99_us=%d " ..
    "max_us=%d mean_us=%.1f non2xx=%d unexpected=%d connect=%d read=%d write=%d " ..
    "timeout=%d first_bad=%s\n",
    summary.requests, summary.duration, summary.requests / secs,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean, n2, un, e.connect, e.read, e.write, e.timeout,
    fb == "" and "-" or fb))
end
