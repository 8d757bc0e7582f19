"""The quick loop stays quick: tests are marked ``slow``/``realtime`` from the fixtures they use,
and a quick test that opens a socket, a pseudo-terminal or a process fails (tests/wall_clock.py)."""

from __future__ import annotations

import pytest

# pytest-benchmark asks git for the project name when its options are added, before the
# inner session is set apart from the test running it
ARGS = ("-p", "wall_clock", "-p", "no:randomly", "-p", "no:cacheprovider", "-p", "no:benchmark")


def test_an_unmarked_test_that_opens_a_tcp_socket_fails_naming_it(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import socket
        import pytest

        def test_opens_a_socket():
            with socket.create_connection(("127.0.0.1", 9), timeout=0.1):
                pass

        @pytest.mark.slow
        def test_marked_may():
            socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()
        """
    )
    result = pytester.runpytest(*ARGS)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*test_opens_a_socket: a quick test opened a TCP socket (AF_INET)*"])


def test_a_pty_a_subprocess_a_process_and_a_udp_socket_fail_a_quick_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import multiprocessing
        import os
        import socket
        import subprocess
        import sys

        def test_pty():
            os.openpty()

        def test_subprocess():
            subprocess.run([sys.executable, "-c", "pass"], check=True)

        def test_process():
            multiprocessing.get_context("spawn").Process(target=print).start()

        def test_udp():
            socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        """
    )
    result = pytester.runpytest(*ARGS)
    result.assert_outcomes(failed=4)
    result.stdout.fnmatch_lines_random([
        "*test_pty: a quick test opened a pseudo-terminal (os.openpty)*",
        "*test_subprocess: a quick test started a subprocess (*python*-c pass)*",
        "*test_process: a quick test started a process (*",
        "*test_udp: a quick test opened a UDP socket (AF_INET6)*",
    ])


def test_local_plumbing_is_allowed_and_a_thread_of_the_test_is_watched(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import asyncio
        import os
        import socket
        import threading

        def test_asyncio_socketpair_and_pipes():
            asyncio.run(asyncio.sleep(0))
            a, b = socket.socketpair()
            a.close(); b.close()
            r, w = os.pipe()
            os.close(r); os.close(w)

        def test_a_thread_of_the_test_opens_a_socket():
            t = threading.Thread(target=lambda: socket.socket().close())
            t.start()
            t.join()
        """
    )
    result = pytester.runpytest(*ARGS)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*test_a_thread_of_the_test_opens_a_socket: a quick test opened a TCP socket*"])


def test_tests_using_wall_clock_fixtures_are_marked_through_other_fixtures_and_params(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        import socket
        import pytest
        from wall_clock import wall_clock_fixture

        @wall_clock_fixture(scope="module")
        def server():
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            yield s
            s.close()

        @pytest.fixture
        def client(server):
            return server.getsockname()

        @wall_clock_fixture(realtime=True)
        def firmware():
            return "elf"

        @pytest.fixture(params=["memory", pytest.param("wire", marks=pytest.mark.slow)])
        def where(request):
            return request.param

        def test_quick():
            pass

        def test_through_a_fixture(client):
            assert client[0] == "127.0.0.1"

        def test_realtime(firmware):
            pass

        def test_param(where):
            pass
        """
    )
    quick = pytester.runpytest(*ARGS, "-m", "not slow", "-v")
    quick.assert_outcomes(passed=2, deselected=3)
    quick.stdout.fnmatch_lines_random(["*::test_quick PASSED*", "*::test_param?memory? PASSED*"])
    realtime = pytester.runpytest(*ARGS, "-m", "realtime and slow", "-v")
    realtime.assert_outcomes(passed=1, deselected=4)
    realtime.stdout.fnmatch_lines(["*::test_realtime PASSED*"])
    everything = pytester.runpytest(*ARGS)
    everything.assert_outcomes(passed=5)
