-- wrk script: every thread (one connection each) owns its share of the agents and walks
-- them round by round, alternating activate and complete, so every event is allowed.
local agents = tonumber(os.getenv("BENCH_AGENTS"))
local threads = tonumber(os.getenv("BENCH_THREADS"))
local key = os.getenv("BENCH_KEY")
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end

function init(args)
  owned = math.floor(agents / threads)
  sent = 0
  headers = { ["Content-Type"] = "application/json", ["X-API-Key"] = key }
end

function request()
  local index = sent % owned
  local round = math.floor(sent / owned)
  sent = sent + 1
  local agent = tid + index * threads
  local event = (round % 2 == 0) and "activate" or "complete"
  local body = '{"event":"' .. event .. '","data":{}}'
  return wrk.format("POST", "/v1/agents/a" .. agent .. "/events", headers, body)
end
