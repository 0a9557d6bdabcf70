"""`python -m bench.connections_receiver`: an `@connections` endpoint in its own process that
keeps what each connection was sent, so the fan-out bench can check every connection got every
change once and in order without the receiving side sharing the poster's CPU or GIL.

Prints `PORT=<n>` when listening. `POST /<stage>/@connections/<id>` accepts a change message;
`GET /_received` answers `{connection id: [cursor, ...]}` in arrival order; `DELETE /_received`
forgets everything.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict

from aiohttp import web

received: defaultdict[str, list[int]] = defaultdict(list)


async def post(request: web.Request) -> web.Response:
    message = json.loads(await request.read())
    received[request.match_info["connection_id"]].append(int(message["cursor"]))
    return web.Response(status=200)


async def listing(request: web.Request) -> web.Response:
    return web.json_response(received)


async def forget(request: web.Request) -> web.Response:
    received.clear()
    return web.Response(status=204)


def main() -> None:
    app = web.Application()
    app.router.add_post("/{stage}/@connections/{connection_id}", post)
    app.router.add_get("/_received", listing)
    app.router.add_delete("/_received", forget)
    runner = web.AppRunner(app, access_log=None)

    async def serve() -> None:
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        print(f"PORT={port}", flush=True)
        await asyncio.Event().wait()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
