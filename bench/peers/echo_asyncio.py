#!/usr/bin/python3
"""Python TCP echo server for the echo benchmark.

    echo_asyncio.py PORT [--loop asyncio|uvloop]

Uses asyncio *streams* (asyncio.start_server, reader.read / writer.write /
await writer.drain()), the same shape as corio's start_server handler, on the
standard event loop or on uvloop. (A Protocol-based server would be faster in
Python; streams are what the corio program is compared with.)
"""

import argparse
import asyncio


async def echo(reader, writer):
    try:
        while True:
            data = await reader.read(16 * 1024)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def main(port):
    server = await asyncio.start_server(echo, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    args = ap.parse_args()
    if args.loop == "uvloop":
        import uvloop

        uvloop.install()
    asyncio.run(main(args.port))
