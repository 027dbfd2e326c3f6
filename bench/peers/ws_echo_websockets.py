# WebSocket echo server on python3-websockets (Python peer), no
# compression. Run with /usr/bin/python3 (Debian's package).
#
#   /usr/bin/python3 ws_echo_websockets.py PORT
import asyncio
import sys

import websockets


async def echo(ws, path=None):
    try:
        async for message in ws:
            await ws.send(message)
    except websockets.ConnectionClosed:
        pass


async def main():
    async with websockets.serve(echo, "127.0.0.1", int(sys.argv[1]), compression=None, max_size=None,
                                ping_interval=None):
        await asyncio.Future()


asyncio.run(main())
