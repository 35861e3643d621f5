#!/usr/bin/env python3
"""Slow and unfinished clients against a running Liza (bench/edges.sh starts it).

slow:   N connections send half a request line and nothing more; then signed webhooks, each on a
        connection of its own, are timed (Twilio gives up after 15 s).
slowbody: the same, but each of the N sends a whole head (with an X-Twilio-Signature header) and
        10 bytes of a 1,000-byte body: requests that reached the application and wait for a body.
bodies: N unsigned webhooks announce 250 kB bodies and send 240 kB of them, never the rest; the
        server's resident memory is read before, while they are held, and after they are closed.

Only loopback addresses; every loop is bounded in count and time.
"""

import argparse
import asyncio
import base64
import hashlib
import hmac
import statistics
import time
import urllib.parse

PUBLIC_URL = "https://liza.example.com"


def signature(token, url, params):
    data = url + "".join(name + value for name, value in sorted(params))
    digest = hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


async def signed_webhook(port, token, sid, timeout):
    params = [
        ("AccountSid", "AC00000000000000000000000000000000"),
        ("ApiVersion", "2010-04-01"),
        ("CallSid", sid),
        ("CallStatus", "ringing"),
        ("Direction", "inbound"),
        ("From", "+4915112345678"),
        ("To", "+4930123456"),
    ]
    body = urllib.parse.urlencode(params)
    sig = signature(token, PUBLIC_URL + "/webhook/voice", params)
    request = (
        "POST /webhook/voice HTTP/1.1\r\nHost: liza.example.com\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"X-Twilio-Signature: {sig}\r\nContent-Length: {len(body)}\r\n"
        f"Connection: close\r\n\r\n{body}"
    ).encode()
    started = time.monotonic()
    status = None
    writer = None
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(request)
            await writer.drain()
            line = await reader.readline()
            status = int(line.split()[1]) if line else None
    except (OSError, asyncio.TimeoutError, ValueError, IndexError):
        pass
    finally:
        if writer is not None:
            writer.close()
    return status, time.monotonic() - started


async def open_many(port, count, first_bytes):
    """Opens `count` connections, 100 at a time; a full accept queue refuses the rest."""

    async def one():
        try:
            async with asyncio.timeout(3):
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(first_bytes)
            return reader, writer
        except (OSError, asyncio.TimeoutError):
            return None

    held = []
    for start in range(0, count, 100):
        batch = await asyncio.gather(*(one() for _ in range(min(100, count - start))))
        held.extend(c for c in batch if c is not None)
    return held, count - len(held)


async def closed_by_server(held):
    """How many of `held` the server closed (an answer it sent first does not matter)."""
    closed = 0
    for reader, _ in held:
        try:
            async with asyncio.timeout(0.01):
                while await reader.read(65536):
                    pass
            closed += 1
        except asyncio.TimeoutError:
            pass
        except OSError:
            closed += 1
    return closed


async def slow(args):
    if args.scenario == "slowbody":
        first = (
            "POST /webhook/voice HTTP/1.1\r\nHost: liza.example.com\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            "X-Twilio-Signature: c2lnbmF0dXJl\r\nContent-Length: 1000\r\n\r\nCallSid=CA"
        ).encode()
        what = "sent a signed-looking head and 10 of 1,000 body bytes"
    else:
        first = b"POST /webhook/voice HT"
        what = "sent half a request line"
    held, refused = await open_many(args.port, args.connections, first)
    print(f"slow clients: {len(held)} connected and {what} ({refused} could not connect)")
    await asyncio.sleep(1)
    waits, failed = [], 0
    for i in range(args.webhooks):
        status, waited = await signed_webhook(args.port, args.token, f"CAbench{i:06d}", args.timeout)
        waits.append(waited)
        if status != 200:
            failed += 1
    waits.sort()
    print(
        f"signed webhooks meanwhile: {args.webhooks - failed} of {args.webhooks} answered 200; "
        f"waited p50 {statistics.median(waits) * 1000:.0f} ms, max {waits[-1] * 1000:.0f} ms "
        f"(no answer counted as the {args.timeout:.0f} s timeout)"
    )
    checked = time.monotonic()
    closed = await closed_by_server(held)
    print(
        f"slow clients closed by the server: {closed} of {len(held)} "
        f"(checked in {time.monotonic() - checked:.1f} s)"
    )
    if args.pid:
        print(f"server resident memory: {rss_mb(args.pid):.0f} MB")
    for _, writer in held:
        writer.close()


async def bodies(args):
    before = rss_mb(args.pid)
    head = (
        "POST /webhook/voice HTTP/1.1\r\nHost: liza.example.com\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {250 * 1024}\r\n\r\n"
    ).encode()
    held, refused = await open_many(args.port, args.connections, head)
    chunk = b"a" * (240 * 1024)
    sent_whole = 0
    for _, writer in held:
        try:
            writer.write(chunk)
            async with asyncio.timeout(0.2):
                await writer.drain()
            sent_whole += 1
        except (OSError, asyncio.TimeoutError):
            pass
    await asyncio.sleep(2)
    holding = rss_mb(args.pid)
    answered = 0
    for reader, _ in held:
        try:
            async with asyncio.timeout(0.01):
                line = await reader.readline()
            if line.startswith(b"HTTP/1.1 4"):
                answered += 1
        except (asyncio.TimeoutError, OSError):
            pass
    for _, writer in held:
        writer.close()
        if writer.transport is not None:
            writer.transport.abort()
    await asyncio.sleep(3)
    after = rss_mb(args.pid)
    print(
        f"unsigned 250 kB bodies, 240 kB sent: {len(held)} connections ({refused} could not connect), "
        f"{sent_whole} took all 240 kB without waiting, {answered} already answered 4xx"
    )
    print(
        f"server resident memory: {before:.0f} MB before, {holding:.0f} MB while held "
        f"(+{holding - before:.0f} MB), {after:.0f} MB after they closed (+{after - before:.0f} MB)"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("scenario", choices=["slow", "slowbody", "bodies"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pid", type=int, default=0)
    parser.add_argument("--token", default="bench-token")
    parser.add_argument("--connections", type=int, default=1500)
    parser.add_argument("--webhooks", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args()
    asyncio.run(bodies(args) if args.scenario == "bodies" else slow(args))


if __name__ == "__main__":
    main()
