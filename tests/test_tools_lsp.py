"""The language server: driven over stdio with real LSP messages, and its scheduler in-process."""

from __future__ import annotations

import asyncio
import json
import queue
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

pytest.importorskip("pygls")

TIMEOUT = 15  # seconds any one answer may take; no wait in these tests is unbounded

GOOD = """defaults d {
  conv: padding=VALID
}

block unit(depth) {
  conv depth 3x3
}

model net(inputs: [32, 32, 3]) uses d {
  conv 16 3x3 as c1
  unit 8 as u
}
"""
BAD = GOOD.replace("conv 16 3x3 as c1", "conv 16 3x3 paddng=SAME as c1")
# The program of issue 13 that froze the server: ten million loop turns in one didChange.
HEAVY = "model m(inputs: [8, 8, 1]) {\n  for i in range(10000000) { conv 4 3x3 }\n}\n"
# Within every budget but slow (about 30 s unlimited): a check that runs until its deadline.
SLOW = "model m(inputs: [8, 8, 1]) {\n  for i in range(100000) { let n = len(range(20000)) }\n  conv 4 3x3\n}\n"
# How a budget or the deadline stops a check: too many steps, too large, too slow, too many layers.
BUDGET_CODES = {"E942", "E944", "E945", "E946"}


class Client:
    """A `slimlang lsp` subprocess and the messages it sends, read by a thread into a queue.

    `overrides` sets module constants of slimlang.tools.lsp before the server starts (shorter
    time limits for the tests)."""

    def __init__(self, overrides: dict | None = None):
        if overrides:
            code = ("import slimlang.tools.lsp as m\n"
                    + "".join(f"m.{k} = {v!r}\n" for k, v in overrides.items()) + "m.main()\n")
            argv = [sys.executable, "-c", code]
        else:
            argv = [sys.executable, "-m", "slimlang.cli", "lsp"]
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.messages: queue.Queue = queue.Queue()
        self.backlog: list = []  # messages read but not yet waited for
        self.stderr = b""
        self.next_id = 0
        threading.Thread(target=self._read, daemon=True).start()
        # pygls logs to stderr (a traceback per malformed request): an undrained pipe would block it
        threading.Thread(target=self._drain_stderr, daemon=True).start()

    def _read(self):
        out = self.proc.stdout
        while True:
            headers = {}
            while True:
                line = out.readline()
                if not line:
                    return
                line = line.decode("ascii").strip()
                if not line:
                    break
                k, v = line.split(":", 1)
                headers[k.lower()] = v.strip()
            body = out.read(int(headers["content-length"]))
            self.messages.put(json.loads(body))

    def _drain_stderr(self):
        for line in self.proc.stderr:
            self.stderr = (self.stderr + line)[-4000:]

    def send(self, *msgs: dict):
        """Write messages in one go (the server reads them back to back)."""
        data = b""
        for msg in msgs:
            body = json.dumps({"jsonrpc": "2.0", **msg}).encode("utf-8")
            data += b"Content-Length: %d\r\n\r\n" % len(body) + body
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def start_request(self, method, params) -> int:
        self.next_id += 1
        self.send({"id": self.next_id, "method": method, "params": params})
        return self.next_id

    def request(self, method, params, timeout=TIMEOUT):
        rid = self.start_request(method, params)
        return self.wait(lambda m: m.get("id") == rid and "method" not in m, timeout)

    def notify(self, method, params):
        self.send({"method": method, "params": params})

    def _next(self, timeout: float):
        """The next message, or None after `timeout` seconds."""
        try:
            return self.messages.get(timeout=max(timeout, 0))
        except queue.Empty:
            return None

    def wait(self, pred, timeout=TIMEOUT):
        """The first message matching `pred`; the others stay for later waits (a notification
        may arrive while a test waits for an answer)."""
        for i, m in enumerate(self.backlog):
            if pred(m):
                return self.backlog.pop(i)
        end = time.monotonic() + timeout
        while (m := self._next(end - time.monotonic())) is not None:
            if pred(m):
                return m
            self.backlog.append(m)
        raise AssertionError(f"the language server did not answer within {timeout} s; its stderr ends: "
                             + self.stderr.decode("utf-8", "replace")[-1000:])

    def collect(self, pred, seconds) -> list:
        """Every message matching `pred` that has arrived or arrives within `seconds`."""
        out = [m for m in self.backlog if pred(m)]
        self.backlog = [m for m in self.backlog if not pred(m)]
        end = time.monotonic() + seconds
        while (m := self._next(end - time.monotonic())) is not None:
            (out if pred(m) else self.backlog).append(m)
        return out

    def diagnostics(self, uri, timeout=TIMEOUT) -> dict:
        return self.wait(lambda m: m.get("method") == "textDocument/publishDiagnostics"
                         and m["params"]["uri"] == uri, timeout)["params"]

    def initialize(self):
        init = self.request("initialize", {"processId": None, "rootUri": None, "capabilities": {}})
        self.notify("initialized", {})
        return init

    def open(self, uri, text, version=1):
        self.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "slim", "version": version,
                                                              "text": text}})

    def change_message(self, uri, text, version) -> dict:
        return {"method": "textDocument/didChange",
                "params": {"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": text}]}}

    def close(self):
        """Shut down politely; whatever happens, the process is killed by its pid."""
        try:
            if self.proc.poll() is None:
                self.request("shutdown", None)
                self.notify("exit", None)
                self.proc.stdin.close()
                self.proc.wait(timeout=10)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(timeout=10)


@contextmanager
def server(overrides: dict | None = None):
    c = Client(overrides)
    try:
        c.initialize()
        yield c
    finally:
        c.close()


def _uri(tmp_path, name="net.slim") -> str:
    return Path(tmp_path / name).as_uri()


@pytest.fixture(scope="module")
def client():
    c = Client()
    yield c
    c.close()


def test_language_server_session(client, tmp_path_factory):
    uri = Path(tmp_path_factory.mktemp("lsp") / "net.slim").as_uri()
    init = client.request("initialize", {"processId": None, "rootUri": None, "capabilities": {}})
    caps = init["result"]["capabilities"]
    assert caps["hoverProvider"] and caps["definitionProvider"] and "completionProvider" in caps
    client.notify("initialized", {})

    # didOpen with an error -> publishDiagnostics with the checker's message and a precise range
    client.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "slim", "version": 1,
                                                            "text": BAD}})
    diag = client.wait(lambda m: m.get("method") == "textDocument/publishDiagnostics")["params"]
    assert diag["uri"] == uri and len(diag["diagnostics"]) == 1
    d = diag["diagnostics"][0]
    assert "paddng" in d["message"] and "did you mean `padding`" in d["message"] and d["code"] == "E202"
    assert d["range"]["start"] == {"line": 9, "character": 14}

    # fix it -> diagnostics cleared
    client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 2},
                                             "contentChanges": [{"text": GOOD}]})
    diag = client.wait(lambda m: m.get("method") == "textDocument/publishDiagnostics")["params"]
    assert diag["diagnostics"] == []

    # hover on `conv 16 3x3 as c1`: scope, shape, params, the inherited padding
    hover = client.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": 9, "character": 3}})
    text = hover["result"]["contents"]["value"]
    assert "net/c1" in text and "(1, 30, 30, 16)" in text and "448" in text and "padding=VALID" in text

    # completion: layer kinds at the start of a statement, argument names after a kind
    comp = client.request("textDocument/completion", {"textDocument": {"uri": uri},
                                                      "position": {"line": 10, "character": 2}})
    labels = {i["label"] for i in comp["result"]["items"]}
    assert {"conv", "fc", "pool", "unit", "scope"} <= labels
    comp = client.request("textDocument/completion", {"textDocument": {"uri": uri},
                                                      "position": {"line": 9, "character": 14}})
    labels = {i["label"] for i in comp["result"]["items"]}
    assert {"stride", "padding", "activation", "as"} <= labels

    # go to definition of the block and of the defaults
    loc = client.request("textDocument/definition", {"textDocument": {"uri": uri},
                                                     "position": {"line": 10, "character": 3}})["result"]
    assert loc["uri"] == uri and loc["range"]["start"] == {"line": 4, "character": 6}
    loc = client.request("textDocument/definition", {"textDocument": {"uri": uri},
                                                     "position": {"line": 8, "character": 37}})["result"]
    assert loc["range"]["start"] == {"line": 0, "character": 9}


def test_document_completions_offline():
    from slimlang.tools.lsp import Document

    doc = Document("file:///tmp/x.slim")
    doc.update(GOOD)
    values = {c.label for c in doc.completions(9, 0) if c.kind == "layer"}
    assert "conv" in values
    doc.text = GOOD.replace("conv: padding=VALID", "conv: activation=")
    labels = {c.label for c in doc.completions(1, len("  conv: activation="))}
    assert {"relu", "tanh", "none"} <= labels
    labels = {c.label for c in doc.completions(1, len("  conv: "))}
    assert "weights_initializer" in labels


# ------------------------------------------------- every request is answered --


def test_requests_with_bad_params_are_answered(tmp_path):
    """A request pygls cannot read, or about a place that does not exist, still gets an answer."""
    uri = _uri(tmp_path)
    with server() as c:
        c.open(uri, GOOD)
        assert c.diagnostics(uri)["diagnostics"] == []
        doc = {"uri": uri}
        invalid = [
            ("textDocument/hover", {"textDocument": doc}),  # no position
            ("textDocument/hover", {"textDocument": doc, "position": {"line": -1, "character": 0}}),
            ("textDocument/completion", {"textDocument": doc, "position": {"line": 0, "character": -5}}),
            ("textDocument/definition", {"position": {"line": 0, "character": 0}}),  # no document
            ("textDocument/hover", "nonsense"),
            ("textDocument/hover", None),
            ("textDocument/hover", {"textDocument": doc, "position": {"line": 2 ** 40, "character": 0}}),
        ]
        for method, params in invalid:
            answer = c.request(method, params)
            assert answer["error"]["code"] == -32602, (method, params, answer)
            assert method in answer["error"]["message"]
        missing = c.request("textDocument/hover", {"textDocument": doc})["error"]["message"]
        assert "position" in missing

        # well-formed, but about nothing: null (or no items), not an error
        unknown = {"uri": _uri(tmp_path, "never-opened.slim")}
        for method in ("textDocument/hover", "textDocument/completion", "textDocument/definition"):
            answer = c.request(method, {"textDocument": unknown, "position": {"line": 0, "character": 0}})
            assert answer["result"] is None, answer
        for line, char in ((1000, 0), (0, 100000), (12, 10 ** 6)):
            where = {"textDocument": doc, "position": {"line": line, "character": char}}
            assert c.request("textDocument/hover", where)["result"] is None
            assert c.request("textDocument/definition", where)["result"] is None
            assert "error" not in c.request("textDocument/completion", where)
        assert c.request("slimlang/noSuchMethod", {})["error"]["code"] == -32601

        # the server survived all that
        hover = c.request("textDocument/hover", {"textDocument": doc, "position": {"line": 9, "character": 3}})
        assert "net/c1" in hover["result"]["contents"]["value"]
        # after `shutdown`, requests are refused, not ignored
        assert c.request("shutdown", None)["result"] is None
        answer = c.request("textDocument/hover", {"textDocument": doc, "position": {"line": 9, "character": 3}})
        assert answer["error"]["code"] == -32600
        c.notify("exit", None)
        assert c.proc.wait(timeout=10) == 0


# ------------------------------------------------------- checks off the loop --


def test_rapid_edits_publish_only_the_latest_version(tmp_path):
    uri = _uri(tmp_path)
    with server() as c:
        c.open(uri, GOOD)
        assert c.diagnostics(uri)["version"] == 1
        # 30 edits faster than the debounce: one check, of the last one
        c.send(*(c.change_message(uri, BAD if v % 2 else GOOD, v) for v in range(2, 32)))
        first = c.diagnostics(uri)
        assert first["version"] == 31 and [d["code"] for d in first["diagnostics"]] == ["E202"]
        later = c.collect(lambda m: m.get("method") == "textDocument/publishDiagnostics", seconds=1.0)
        assert later == []


@pytest.mark.slow
def test_heavy_document_does_not_block_requests(tmp_path):
    """Issue 13: one didChange with a ten-million-turn loop froze the server forever.

    Checks run in a thread under a deadline: requests are answered while one runs, each check
    ends in a located budget error (or, should the evaluator not stop, the server gives up on
    it), and the next edit is checked as usual."""
    uri = _uri(tmp_path)
    with server({"CHECK_SECONDS": 1.5, "ABANDON_SECONDS": 5.0}) as c:
        c.open(uri, GOOD)
        assert c.diagnostics(uri)["diagnostics"] == []
        for version, text in ((2, HEAVY), (3, SLOW)):
            c.send(c.change_message(uri, text, version))
            time.sleep(0.4)  # past the debounce: the check is running (SLOW's for its whole 1.5 s)
            where = {"textDocument": {"uri": uri}, "position": {"line": 1, "character": 30}}
            for method in ("textDocument/hover", "textDocument/completion", "textDocument/definition"):
                start = time.monotonic()
                answer = c.request(method, where, timeout=3)
                assert "error" not in answer and time.monotonic() - start < 2, (method, answer)
            stopped = c.diagnostics(uri, timeout=30)
            assert stopped["version"] == version and stopped["diagnostics"], stopped
            assert {d["code"] for d in stopped["diagnostics"]} <= BUDGET_CODES, stopped
            assert stopped["diagnostics"][0]["range"]["start"]["line"] == 1, "located in the loop"
        c.send(c.change_message(uri, GOOD, 4))
        fixed = c.diagnostics(uri, timeout=30)
        assert fixed["version"] == 4 and fixed["diagnostics"] == []


def test_language_server_does_not_import_tensorflow():
    code = ("import sys\n"
            "from slimlang.tools import lsp\n"
            "lsp.create_server()\n"
            f"doc = lsp.Document('file:///tmp/net.slim')\n"
            f"doc.update({GOOD!r}, seconds=5)\n"
            "assert doc.hover(9, 3) and doc.completions(10, 2) and doc.definition(10, 3)\n"
            "print([m for m in ('tensorflow', 'tf_slim') if m in sys.modules])\n")
    r = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60)
    assert r.stdout.strip() == "[]", r.stdout + r.stderr


# ------------------------------------------------ the scheduler, in-process --


class FakeChecks:
    """Stands in for lsp.check_document: records each check; a text in `hold` blocks its thread
    until released (as a slow check would)."""

    def __init__(self, hold=()):
        self.texts: list = []
        self.running = self.most_running = 0
        self.hold = set(hold)
        self.started = threading.Event()
        self.release = threading.Event()
        self._lock = threading.Lock()

    def __call__(self, text, filename, seconds=None, checked=None):
        from slimlang.diagnostics import Diagnostic
        from slimlang.tools.lsp import CheckResult

        with self._lock:
            self.texts.append(text)
            self.running += 1
            self.most_running = max(self.most_running, self.running)
        self.started.set()
        if text in self.hold:
            self.release.wait(timeout=TIMEOUT)
        with self._lock:
            self.running -= 1
        return CheckResult([Diagnostic("E000", f"checked {text}")])


@pytest.fixture
def fake_checks(monkeypatch):
    from slimlang.tools import lsp

    monkeypatch.setattr(lsp, "DEBOUNCE_SECONDS", 0.05)
    fake = FakeChecks(hold={"slow", "never"})
    monkeypatch.setattr(lsp, "check_document", fake)
    yield fake
    fake.release.set()  # no thread outlives the test


def run_scheduler(scenario):
    """Run `scenario(scheduler, published)` on an event loop; published: (version, message) pairs."""
    from slimlang.tools.lsp import Scheduler

    published = []

    async def main():
        s = Scheduler(lambda doc: published.append((doc.version, doc.diagnostics[0].message)))
        await asyncio.wait_for(scenario(s, published), TIMEOUT)

    asyncio.run(main())
    return published


async def until(condition, seconds=TIMEOUT):
    end = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < end, "timed out"
        await asyncio.sleep(0.01)


def test_scheduler_debounces_edits(fake_checks):
    async def scenario(s, published):
        s.opened("file:///a.slim", "v1", 1)
        for v in range(2, 21):
            s.changed("file:///a.slim", f"v{v}", v)
        await until(lambda: published)
        await asyncio.sleep(0.2)

    assert run_scheduler(scenario) == [(20, "checked v20")]
    assert fake_checks.texts == ["v20"]


def test_scheduler_drops_stale_results(fake_checks):
    async def scenario(s, published):
        s.opened("file:///a.slim", "slow", 1)
        await until(fake_checks.started.is_set)
        s.changed("file:///a.slim", "fast", 2)  # while "slow" is being checked
        await asyncio.sleep(0.2)  # past the debounce: "fast" waits, one check per document at a time
        assert fake_checks.texts == ["slow"]
        fake_checks.release.set()
        await until(lambda: published)
        await asyncio.sleep(0.1)

    assert run_scheduler(scenario) == [(2, "checked fast")]
    assert fake_checks.most_running == 1


def test_scheduler_drops_results_of_closed_documents(fake_checks):
    async def scenario(s, published):
        s.opened("file:///a.slim", "slow", 1)
        await until(fake_checks.started.is_set)
        s.closed("file:///a.slim")
        fake_checks.release.set()
        await until(lambda: fake_checks.running == 0)
        await asyncio.sleep(0.05)

    assert run_scheduler(scenario) == []


def test_scheduler_gives_up_on_a_check_that_does_not_stop(fake_checks, monkeypatch):
    from slimlang.tools import lsp

    monkeypatch.setattr(lsp, "ABANDON_SECONDS", 0.3)

    async def scenario(s, published):
        s.opened("file:///a.slim", "never", 1)
        await until(lambda: published)
        s.changed("file:///a.slim", "next", 2)  # checked although the runaway thread still runs
        await until(lambda: len(published) == 2)

    published = run_scheduler(scenario)
    assert published[0][0] == 1 and "did not finish" in published[0][1]
    assert published[1] == (2, "checked next")


def test_check_document_passes_a_deadline(monkeypatch):
    """The checker gets a time.monotonic() deadline, and its SlimError becomes diagnostics."""
    from slimlang import checker
    from slimlang.diagnostics import SlimError
    from slimlang.tools.lsp import check_document

    seen = {}

    def check_module(module, filename, *, elaborate=True, deadline=None):
        seen["deadline"] = deadline
        raise SlimError.single("E945", "checking took longer than its time limit; stopped here")

    monkeypatch.setattr(checker, "check_module", check_module)
    start = time.monotonic()
    result = check_document(GOOD, "/tmp/net.slim", seconds=2.0)
    assert start + 2.0 <= seen["deadline"] <= time.monotonic() + 2.0
    assert [d.code for d in result.diagnostics] == ["E945"] and result.module is not None

    def crash(*args, **kwargs):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(checker, "check_module", crash)
    assert [d.code for d in check_document(GOOD, "/tmp/net.slim").diagnostics] == ["E999"]


def test_diagnostics_are_published_before_the_analyses_for_hover(monkeypatch):
    """A text that checks is reported as soon as the check ends; hover's analyses come after."""
    from slimlang.tools import lsp

    release = threading.Event()
    analysed = []

    def check(text, filename, seconds=None, checked=None):
        checked(lsp.CheckResult([], None))
        release.wait(timeout=TIMEOUT)  # the analyses, still running
        analysed.append(text)
        return lsp.CheckResult([], None, ["analysis"])

    monkeypatch.setattr(lsp, "check_document", check)
    published = []

    async def main():
        s = lsp.Scheduler(lambda doc: published.append((doc.version, list(doc.analyses))))
        s.opened("file:///a.slim", "v1", 1)
        await until(lambda: published)
        assert published == [(1, [])] and not analysed  # published while the analyses run
        release.set()
        await until(lambda: s.docs["file:///a.slim"].analyses == ["analysis"])
        await asyncio.sleep(0.05)

    asyncio.run(asyncio.wait_for(main(), TIMEOUT))
    assert published == [(1, [])]  # once: the analyses change nothing the editor was sent


def test_hover_waits_for_the_analyses_of_the_current_text(monkeypatch):
    """A hover sent right after the diagnostics (which come before the analyses) must describe the
    current text, not the previous one: it waits for the running check, without blocking the loop."""
    from slimlang.tools import lsp

    def check(text, filename, seconds=None, checked=None):
        checked(lsp.CheckResult([], None))
        time.sleep(0.3)  # the analyses, still running
        return lsp.CheckResult([], None, [f"analysis of {text}"])

    monkeypatch.setattr(lsp, "check_document", check)

    async def main():
        published = []
        s = lsp.Scheduler(lambda doc: published.append(doc.version))
        s.opened("file:///a.slim", "v1", 1)
        await until(lambda: published)
        ticks = []

        async def other_requests():
            while len(ticks) < 5:
                ticks.append(time.monotonic())
                await asyncio.sleep(0.02)

        ticker = asyncio.ensure_future(other_requests())
        doc = await s.settled("file:///a.slim")
        assert doc.analyses == ["analysis of v1"]
        await ticker
        assert len(ticks) == 5  # the loop kept answering while hover waited
        s.changed("file:///a.slim", "v2", 2)
        doc = await s.settled("file:///a.slim")
        assert doc.analyses == ["analysis of v2"]
        s.closed("file:///a.slim")
        assert await s.settled("file:///a.slim", seconds=0.05) is None

    asyncio.run(asyncio.wait_for(main(), TIMEOUT))
