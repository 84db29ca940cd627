-- Takes one request from every bucket named in KEYS, or from none: a token
-- bucket per key, kept as GCRA does (one number per key, the "theoretical
-- arrival time" of its next request). Runs atomically inside Redis, on
-- Redis' own clock, so replicas sharing the buckets need neither a lock nor
-- agreeing clocks.
--
-- KEYS[i]      bucket i: its theoretical arrival time, in microseconds since
--              the epoch (absent: the bucket is full)
-- ARGV[2i-1]   bucket i's interval: the microseconds one request costs
-- ARGV[2i]     bucket i's tolerance: how far ahead of now its arrival time
--              may run, in microseconds ((burst - 1) * interval)
--
-- Returns {1, 0} when every bucket had a request left (each is charged one,
-- and expires once it is full again), else {0, wait}: the microseconds until
-- every bucket has one, and no bucket is charged.

if redis.replicate_commands then
  -- Redis before 5 replicates scripts verbatim, which TIME forbids.
  redis.replicate_commands()
end

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])

local wait = 0
local arrivals = {}
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[2 * i - 1])
  local tolerance = tonumber(ARGV[2 * i])
  local arrival = tonumber(redis.call('GET', key) or '0') or 0
  if arrival < now then
    arrival = now
  end
  local allowed_from = arrival - tolerance
  if now < allowed_from and allowed_from - now > wait then
    wait = allowed_from - now
  end
  arrivals[i] = arrival + interval
end

if wait > 0 then
  return {0, wait}
end

for i, key in ipairs(KEYS) do
  local ttl = math.ceil((arrivals[i] - now) / 1000) + 1
  redis.call('SET', key, string.format('%.0f', arrivals[i]), 'PX', ttl)
end
return {1, 0}
