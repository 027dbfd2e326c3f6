-- wrk script of the pipelined HTTP row (bench/net_run.py, "http-pipelined"):
-- each write carries DEPTH keep-alive GET requests for the path given on the
-- wrk command line, and wrk counts every response. With one request per write
-- wrk on its one core tops out near the servers' own rate; pipelining takes the
-- load generator out of the way, so the row measures what a server does per
-- request once its reads and writes carry many.
--
--   wrk -t1 -c100 -d5s -s bench/load/pipeline.lua http://127.0.0.1:PORT/ -- 16
init = function(args)
    local depth = tonumber(args[1]) or 16
    local one = wrk.format(nil, nil)
    local all = {}
    for i = 1, depth do
        all[i] = one
    end
    batch = table.concat(all)
end

request = function()
    return batch
end
