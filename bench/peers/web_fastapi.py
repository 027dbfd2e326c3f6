"""FastAPI on uvicorn, the Python peer of the TechEmpower-style rows of
bench/web_techempower_corio.cpp (driven by bench/web_run.py):

    GET  /plaintext   "Hello, World!" as text/plain
    GET  /json        {"message": "Hello, World!"}, a dict FastAPI serializes
    POST /typed       an order {id:int, customer:str, amount:float} parsed and
                      validated by pydantic, sent back serialized

    MALLOC_MMAP_THRESHOLD_=1048576 /usr/bin/python3 bench/peers/web_fastapi.py PORT

One uvicorn worker on 127.0.0.1, no access log (no server of the benchmark
logs per request), on uvloop and httptools when they are installed (Debian
python3-uvloop, python3-httptools: uvicorn's fastest setup), else on asyncio
and h11; the choice is written to stderr at start.
"""

import importlib.util
import sys

import uvicorn
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel


class Order(BaseModel):
    id: int
    customer: str
    amount: float


app = FastAPI()


@app.get("/plaintext", response_class=PlainTextResponse)
async def plaintext():
    return "Hello, World!"


@app.get("/json")
async def json_message():
    return {"message": "Hello, World!"}


@app.post("/typed", response_model=Order)
async def typed(order: Order):
    return order


def main():
    if len(sys.argv) != 2:
        print("usage: web_fastapi.py PORT", file=sys.stderr)
        return 2
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    print(f"web_fastapi: uvicorn {uvicorn.__version__} (loop {loop}, http {http})", file=sys.stderr, flush=True)
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), workers=1, loop=loop, http=http,
                log_level="warning", access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
