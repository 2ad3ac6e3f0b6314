"""A TCP byte forwarder for tests: listens on ADDR (IPv4 or IPv6) on a free
port, prints the port on the first line of stdout, and copies bytes both
ways between each client and TARGET (host:port). Usage:
forward.py ADDR TARGET"""
import asyncio
import sys


async def pipe(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def main():
    addr, target = sys.argv[1], sys.argv[2]
    thost, tport = target.rsplit(":", 1)

    async def client(reader, writer):
        try:
            treader, twriter = await asyncio.open_connection(thost, int(tport))
        except OSError:
            writer.close()
            return
        await asyncio.gather(pipe(reader, twriter), pipe(treader, writer))

    server = await asyncio.start_server(client, addr, 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
