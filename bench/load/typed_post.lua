-- wrk script of the TechEmpower-style typed-body row (bench/web_run.py):
-- every request POSTs the same JSON order to /typed, which the server parses,
-- validates against its model {id:int, customer:str, amount:float} and sends
-- back serialized.
--
--   wrk -t1 -c100 -d5s -s bench/load/typed_post.lua http://127.0.0.1:PORT/typed
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"id":42,"customer":"Ada Lovelace","amount":12.5}'
