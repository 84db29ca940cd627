-- Caches a poll's results unless the cache holds a version at least as high.
-- Runs atomically inside Redis, so racing writers (threads or replicas) can
-- never replace a newer version with an older one.
--
-- KEYS[1]  the poll's results hash: field `v` (the version, in decimal) and
--          field `json` (the results as JSON)
-- ARGV[1]  the version to write, in decimal without leading zeros
-- ARGV[2]  the results as JSON
-- ARGV[3]  the time to live of the entry, in milliseconds
--
-- Returns 1 when the entry was written (and its time to live reset), 0 when
-- the cached version is at least as high or the poll was deleted (the entry
-- is left alone).

local key = KEYS[1]
local version = ARGV[1]

-- A deleted poll's tombstone (forget_results.lua) is never overwritten.
if redis.call('HEXISTS', key, 'deleted') == 1 then
  return 0
end

local current = redis.call('HGET', key, 'v')
if current then
  -- Versions are u64: compare the decimal strings, by length and then by
  -- text, which is exact where Lua numbers (doubles) are not above 2^53.
  if #current > #version or (#current == #version and current >= version) then
    return 0
  end
end

redis.call('HSET', key, 'v', version, 'json', ARGV[2])
redis.call('PEXPIRE', key, ARGV[3])
return 1
