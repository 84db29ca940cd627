-- Forgets a deleted poll's results for good: replaces its hash with a
-- tombstone (field `deleted`) that put_results.lua refuses to overwrite, so
-- a write racing the delete cannot bring the poll back. Atomic inside Redis.
--
-- KEYS[1]  the poll's results hash
-- ARGV[1]  how long the tombstone lives, in milliseconds (an entry's time to
--          live: longer than any write that started before the delete)

local key = KEYS[1]
redis.call('DEL', key)
redis.call('HSET', key, 'deleted', '1')
redis.call('PEXPIRE', key, ARGV[1])
return 1
