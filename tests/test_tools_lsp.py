"""The language server, driven over stdio with real LSP messages."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
from pathlib import Path

import pytest

pytest.importorskip("pygls")

TIMEOUT = 30

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


class Client:
    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, "-m", "slimlang.cli", "lsp"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.messages: queue.Queue = queue.Queue()
        self.next_id = 0
        threading.Thread(target=self._read, daemon=True).start()

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

    def send(self, msg: dict):
        data = json.dumps({"jsonrpc": "2.0", **msg}).encode("utf-8")
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(data) + data)
        self.proc.stdin.flush()

    def request(self, method, params):
        self.next_id += 1
        rid = self.next_id
        self.send({"id": rid, "method": method, "params": params})
        return self.wait(lambda m: m.get("id") == rid and "method" not in m)

    def notify(self, method, params):
        self.send({"method": method, "params": params})

    def wait(self, pred):
        while True:
            try:
                m = self.messages.get(timeout=TIMEOUT)
            except queue.Empty:
                raise AssertionError("the language server did not answer in time: "
                                     + self.proc.stderr.read1(4000).decode("utf-8", "replace") if self.proc.poll()
                                     is not None else "the language server did not answer in time") from None
            if pred(m):
                return m

    def close(self):
        try:
            self.request("shutdown", None)
            self.notify("exit", None)
            self.proc.wait(timeout=10)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(timeout=10)


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
