"""The crawl's end of a helper's pipe (pipelines/channel.py): whatever the socket takes at a
time, every message arrives whole, once, in order, and nothing is read before it is whole."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import pickle
import random
import threading

import pytest

from nianbao.pipelines.channel import PIPE_BUFFER, Channel, pipe


def test_big_messages_to_a_slow_reader_arrive_whole_and_in_order() -> None:
    ours, theirs = multiprocessing.Pipe(duplex=True)
    rng = random.Random(7)
    # each bigger than the socket's buffer, so most writes are partial and some wait
    messages = [(i, os.urandom(rng.randrange(100_000, 400_000))) for i in range(40)]
    got: list = []

    def reader() -> None:
        for _ in messages:
            got.append(pickle.loads(theirs.recv_bytes()))
            if len(got) % 7 == 0:
                threading.Event().wait(0.01)  # a helper busy with other work
        theirs.send_bytes(pickle.dumps("done"))

    thread = threading.Thread(target=reader)
    thread.start()
    loop = asyncio.new_event_loop()
    channel = Channel(ours)
    done = loop.create_future()
    channel.attach(loop, done.set_result, lambda: None)
    failures: list = []
    for message in messages:
        channel.send(message, failures.append)
    assert loop.run_until_complete(asyncio.wait_for(done, 30)) == "done"
    thread.join()
    channel.close()
    loop.close()
    theirs.close()
    assert not failures and got == messages


def test_what_is_received_in_pieces_is_read_whole() -> None:
    ours, theirs = multiprocessing.Pipe(duplex=True)
    channel = Channel(ours)
    messages = [{"n": i, "text": "政府信息公开" * (i * 5000)} for i in range(4)]
    framed = b""
    for message in messages:
        body = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
        framed += len(body).to_bytes(4, "big") + body
    rng = random.Random(3)
    out, at = [], 0
    while at < len(framed):  # pieces that split lengths and bodies anywhere
        size = rng.choice([1, 3, 4, 5, 100, 70_000])
        out.extend(channel.received(framed[at : at + size]))
        at += size
    assert out == messages and not channel.inbuf
    channel.close()
    theirs.close()


def test_a_message_sent_within_a_time_waits_for_the_ones_after_it() -> None:
    ours, theirs = multiprocessing.Pipe(duplex=True)
    loop = asyncio.new_event_loop()
    channel = Channel(ours)
    channel.attach(loop, lambda message: None, lambda: None)
    channel.send("first", print, within=0.05)
    channel.send("second", print, within=0.05)
    assert not theirs.poll(0.02)  # nothing written yet: the loop has not run the timer
    loop.run_until_complete(asyncio.sleep(0.1))
    assert theirs.poll(1) and theirs.recv() == "first" and theirs.recv() == "second"
    channel.send("third", print)  # no ``within``: written at once
    assert theirs.poll(1) and theirs.recv() == "third"
    channel.close()
    loop.close()
    theirs.close()


def test_a_helpers_pipe_holds_a_megabyte_of_unread_answers_where_the_kernel_allows() -> None:
    """A cleaning worker's answers wait in its socket until the crawl's loop comes round
    to read them; Linux's default buffer (≈ 208 KB) held about five cleaned pages, and on
    a crawl of 300 sources the workers then sat idle with their work done. ``pipe`` asks
    for PIPE_BUFFER each way: a megabyte goes in with nobody reading, on a machine whose
    ``net.core.wmem_max`` allows it (the kernel caps what a program may ask)."""

    try:
        with open("/proc/sys/net/core/wmem_max") as f:
            allowed = int(f.read())
    except OSError:
        pytest.skip("no /proc/sys/net/core/wmem_max: not Linux")
    if min(allowed, PIPE_BUFFER) < 1 << 20:
        pytest.skip(f"net.core.wmem_max is {allowed}: the kernel gives less than a megabyte")
    ours, theirs = pipe(multiprocessing.get_context("fork"))
    os.set_blocking(theirs.fileno(), False)
    written = 0
    chunk = bytes(64 * 1024)
    try:
        while written < 1 << 20:
            written += os.write(theirs.fileno(), chunk)
    except BlockingIOError:
        pass
    assert written >= 1 << 20
    received = 0
    while received < written:
        received += len(os.read(ours.fileno(), 1 << 20))
    assert received == written
    ours.close()
    theirs.close()
