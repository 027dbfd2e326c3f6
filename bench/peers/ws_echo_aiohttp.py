# WebSocket echo server on aiohttp (Python peer), no compression. Run with
# /usr/bin/python3 (Debian's python3-aiohttp) and MALLOC_MMAP_THRESHOLD_=1048576.
#
#   /usr/bin/python3 ws_echo_aiohttp.py PORT
import sys

from aiohttp import WSMsgType, web


async def echo(request):
    ws = web.WebSocketResponse(compress=False, max_msg_size=0)
    await ws.prepare(request)
    async for message in ws:
        if message.type == WSMsgType.TEXT:
            await ws.send_str(message.data)
        elif message.type == WSMsgType.BINARY:
            await ws.send_bytes(message.data)
    return ws


app = web.Application()
app.router.add_get("/", echo)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
