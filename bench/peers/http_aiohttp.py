#!/usr/bin/python3
"""aiohttp hello-world web server for the HTTP server benchmark.

    http_aiohttp.py PORT [--loop asyncio|uvloop]

aiohttp.web with one GET route returning web.Response(text="Hello, World!")
(Content-Type text/plain; charset=utf-8, as every server of the benchmark;
aiohttp adds its own Date and Server headers), access log off, on the
standard asyncio loop unless --loop uvloop.
"""

import argparse
import asyncio

from aiohttp import web


async def hello(_request):
    return web.Response(text="Hello, World!")


async def main(port):
    app = web.Application()
    app.router.add_get("/", hello)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, backlog=1024)
    await site.start()
    await asyncio.Event().wait()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    args = ap.parse_args()
    if args.loop == "uvloop":
        import uvloop

        uvloop.install()
    asyncio.run(main(args.port))
