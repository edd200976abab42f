"""`slimlang lsp`: a language server on stdio, built on pygls.

- diagnostics: the checker's errors (syntax, names, defaults, static shapes)
  published on open and after each pause in editing (`Scheduler`: checks are
  debounced, run in a worker thread under a deadline, and a result for an old
  version is dropped, so no document can freeze the server);
- hover: on a layer statement, each layer it builds with its output shape,
  parameter count and the arguments it inherits from `defaults` (for every
  model with a declared input shape); on a block, model or defaults name,
  its signature;
- completion: layer kinds, blocks and keywords at the start of a statement,
  argument names after a layer kind (or in a defaults rule), values after
  `activation=`, `padding=`, ...;
- go to definition: of blocks, models, named defaults and top-level `let`s, also those an
  import brings in (in the file that defines them).

`Document` holds the editor-independent logic (and is what the unit tests
use); `main()` wires it to pygls, with a protocol that answers every request,
even one whose params pygls cannot read.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

from .. import ast
from ..diagnostics import Diagnostic, SlimError
from ..layers import LAYERS

KEYWORDS = ("model", "block", "inline", "defaults", "uses", "until", "use", "scope", "as", "from", "import", "endpoint",
            "collect", "if", "else", "for", "in", "let", "return", "fail", "train", "and", "or", "not",
            "true", "false", "none")
STATEMENT_KEYWORDS = ("scope", "defaults", "collect", "if", "for", "let", "endpoint", "return", "fail")
TOP_KEYWORDS = ("model", "block", "inline block", "defaults", "train", "let", "import", "from")


def uri_to_path(uri: str) -> str:
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return unquote(parsed.path)
    return uri


@dataclass
class Completion:
    label: str
    kind: str  # keyword | layer | block | argument | value
    detail: str = ""
    insert: str | None = None


@dataclass
class CheckResult:
    """What one check of a text found; a None field keeps the document's previous value."""

    diagnostics: list  # of Diagnostic
    module: ast.Module | None = None  # None: the text did not parse
    analyses: list | None = None  # None: the text did not check
    imported: tuple | None = None  # the definitions its imports bring in; None: the text did not check


def check_document(text: str, filename: str, seconds: float | None = None, checked=None) -> CheckResult:
    """Parse, check and analyze `text` for the editor; never raises.

    `seconds` limits each elaboration (the check, then the analyses for hover): the evaluator
    stops itself with a located error at the deadline, since a thread cannot be killed.
    `checked(result)`, if given, hears the diagnostics of a text that checks before the analyses
    start, so an editor shows them without waiting for hover's shapes."""
    try:
        return _check_document(text, filename, seconds, checked)
    except Exception as e:  # noqa: BLE001 - a checker bug must not kill the server
        return CheckResult([Diagnostic("E999", f"internal error while checking: {e!r}")])


def _deadline(seconds: float | None) -> float | None:
    return None if seconds is None else time.monotonic() + seconds


def _check_document(text: str, filename: str, seconds: float | None, checked=None) -> CheckResult:
    from ..checker import check_module
    from ..parser import parse

    try:
        module = parse(text, filename)
    except SlimError as e:
        return CheckResult(list(e.diagnostics))
    try:
        program = check_module(module, filename, deadline=_deadline(seconds))
    except SlimError as e:
        return CheckResult(list(e.diagnostics), module)
    # The analyses elaborate every model again: give them a time limit of their own, or a check
    # that used most of its time would leave hover without shapes.
    program.deadline = _deadline(seconds)
    if checked is not None:
        checked(CheckResult([], module))
    return CheckResult([], module, _analyses(program), program.imported)


def _analyses(program) -> list:
    from .analysis import analyze

    out = []
    for name, model in program.models.items():
        shape = program.input_shape(name)
        if shape is None or model.span.source is not None and model.span.source.name != program.source_name:
            continue  # (hover shows this file's layers: an imported model's are in another file)
        try:
            out.append(analyze(program, name, (1,) + tuple(shape), span=program.models[name].name_span))
        except SlimError:  # the checker passed it; an analysis that runs out of time only loses hover
            pass
    return out


@dataclass
class Document:
    uri: str
    text: str = ""
    diagnostics: list = field(default_factory=list)  # of Diagnostic
    module: ast.Module | None = None  # last text that parsed
    analyses: list = field(default_factory=list)  # of tools.analysis.Analysis, last text that checked
    imported: tuple = ()  # definitions the imports of the last text that checked bring in
    version: int | None = None  # the editor's version of `text`
    revision: int = 0  # counts every new text (and save): a check of an older revision is stale
    # Set when the check of the current revision has finished, analyses included: hover waits on it.
    settled: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def filename(self) -> str:
        return uri_to_path(self.uri)

    def update(self, text: str, seconds: float | None = None):
        """Re-parse and re-check now (the unit tests; the server checks in a thread, see Scheduler)."""
        self.text = text
        self.apply(check_document(text, self.filename, seconds))

    def apply(self, result: CheckResult):
        """Take a check's findings; keeps the last good AST and shapes for hover and definitions."""
        self.diagnostics = result.diagnostics
        if result.module is not None:
            self.module = result.module
        if result.analyses is not None:
            self.analyses = result.analyses
        if result.imported is not None:
            self.imported = result.imported

    # ------------------------------------------------------------ queries --
    def line_text(self, line0: int) -> str:
        lines = self.text.splitlines()
        return lines[line0] if 0 <= line0 < len(lines) else ""

    def word_at(self, line0: int, char: int) -> str:
        text = self.line_text(line0)
        for m in re.finditer(r"[A-Za-z_][A-Za-z0-9_]*", text):
            if m.start() <= char <= m.end():
                return m.group(0)
        return ""

    def rows_at(self, line0: int):
        """(analysis, row index) of every layer built by the statement on this line."""
        line = line0 + 1
        out = []
        for a in self.analyses:
            for i, row in enumerate(a.rows):
                span = row.call.span
                if span.source is not None and span.source.name == self.filename and span.line <= line <= span.end_line:
                    out.append((a, i))
        return out

    def definitions(self) -> dict:
        out = {}
        if self.module is None:
            return out
        for item in (*self.imported, *self.module.items):
            if isinstance(item, (ast.Model, ast.DefaultsDef, ast.Partial)):
                out[item.name] = (item, item.name_span)
            elif isinstance(item, ast.Let):
                out[item.name] = (item, item.span)
        return out

    def import_of(self, filename: str):
        """The span of the import statement that brings in file `filename` (or, through other files,
        the first import), for an error inside an imported file; None without imports."""
        import os

        imports = [i for i in (self.module.items if self.module is not None else ()) if isinstance(i, ast.Import)]
        for i in imports:
            if os.path.normpath(os.path.join(os.path.dirname(self.filename), i.path)) == filename:
                return i.span
        return imports[0].span if imports else None

    def definition(self, line0: int, char: int):
        """The span of the definition of the name under the cursor, or None."""
        word = self.word_at(line0, char)
        found = self.definitions().get(word)
        return found[1] if found else None

    def hover(self, line0: int, char: int) -> str | None:
        from .analysis import contains as _contains
        from .analysis import fmt_shape
        from .explain import explain_row
        from .fmt import call_ref, param

        word = self.word_at(line0, char)
        found = self.definitions().get(word)
        rows = self.rows_at(line0)
        # a name of a block/defaults used on this line: its signature
        if found is not None and not (rows and LAYERS.get(word)):
            node, span = found
            if span.line - 1 != line0 or not rows:
                if isinstance(node, ast.Model):
                    what = ("inline block" if node.inline else "block") if node.is_block else "model"
                    sig = f"{what} {node.name}({', '.join(param(p) for p in node.params)})"
                elif isinstance(node, ast.DefaultsDef):
                    sig = f"defaults {node.name}({', '.join(param(p) for p in node.params)})"
                elif isinstance(node, ast.Partial):
                    sig = f"{'block' if node.is_block else 'model'} {node.name} = {call_ref(node.target)}"
                else:
                    sig = f"let {node.name}"
                where = (f"line {span.line}" if span.source is None or span.source.name == self.filename else
                         f"{Path(span.source.name).name}:{span.line}")
                return f"```slim\n{sig}\n```\ndefined at {where}"
        if rows:
            exact = [(a, i) for a, i in rows if _contains(a.rows[i].call.span, line0 + 1, char + 1)]
            rows = exact or rows
            by_statement = {}
            for a, i in rows:
                by_statement.setdefault((a.summary.model, id(a.rows[i].call.span)), []).append((a, i))
            parts = []
            for group in list(by_statement.values())[:3]:
                a, i = group[0]
                text = explain_row(a, i).markdown()
                if len(group) > 1:
                    text += "\n\nalso built by this statement:\n" + "\n".join(
                        f"- **{a.rows[j].name}** → {fmt_shape(a.rows[j].shape)}, params {a.rows[j].params:,}"
                        for a, j in group[1:8])
                parts.append(text)
            if len(by_statement) > 3:
                parts.append(f"... and the same statement in {len(by_statement) - 3} more models")
            return "\n\n---\n\n".join(parts).replace(self.filename, Path(self.filename).name)
        kind = LAYERS.get(word)
        if kind is not None:
            return f"**{kind.name}** ({kind.fn}): {kind.doc}\n\narguments: " + ", ".join(p.name for p in kind.params)
        return None

    def completions(self, line0: int, char: int) -> list[Completion]:
        from ..values import BUILTINS
        from .fmt import code_and_comment

        prefix = self.line_text(line0)[:char]
        code, comment = code_and_comment(prefix)
        if comment is not None:
            return []
        segment = code.split(";")[-1]
        blocks = {}
        if self.module is not None:
            blocks = {i.name: i for i in self.module.items if isinstance(i, ast.Model) and i.is_block}
        m = re.search(r"([A-Za-z_]\w*)=\w*$", segment)
        if m:  # a value for `name=`
            return self._value_completions(m.group(1), segment, BUILTINS)
        rule = re.match(r"\s*([A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*)\s*:", segment)
        if rule and not segment.lstrip().startswith(("model", "block", "let", "for", "if")):
            kinds = [k.strip() for k in rule.group(1).split(",")]
            return self._arg_completions(kinds, blocks)
        stmt = re.sub(r"^\s*[A-Za-z_]\w*\s*=\s*", "", segment) if re.match(r"^\s*[A-Za-z_]\w*\s*=\s*\w", segment) \
            else segment.lstrip()
        words = stmt.split()
        at_start = not words or (len(words) == 1 and not stmt.endswith(" "))
        if at_start:
            indent = len(segment) - len(segment.lstrip())
            top = indent == 0 and segment == prefix
            out = [Completion(k.name, "layer", f"{k.fn}: {k.doc}") for k in LAYERS.values()]
            out += [Completion(name, "block", f"block {name}") for name in blocks]
            out += [Completion(k, "keyword") for k in (TOP_KEYWORDS if top else STATEMENT_KEYWORDS)]
            return out
        kind = words[0]
        out = self._arg_completions([kind], blocks)
        out += [Completion(k, "keyword") for k in ("as", "from", "endpoint")]
        return out

    def _arg_completions(self, kinds, blocks) -> list[Completion]:
        out, seen = [], set()
        for k in kinds:
            kind = LAYERS.get(k)
            if kind is not None:
                params = [(p.name, f"{p.type}: {p.doc}") for p in kind.params]
            elif k in blocks:
                params = [(p.name, f"parameter of block {k}") for p in blocks[k].params]
            else:
                continue
            for name, detail in params:
                if name not in seen:
                    seen.add(name)
                    out.append(Completion(name, "argument", detail, insert=f"{name}="))
        return out

    def _value_completions(self, arg: str, segment: str, builtins) -> list[Completion]:
        types = set()
        words = segment.replace(":", " ").replace(",", " ").split()
        for w in words:
            kind = LAYERS.get(w)
            if kind is not None and kind.param(arg) is not None:
                types.add(kind.param(arg).type)
        if not types:
            types = {p.type for k in LAYERS.values() for p in k.params if p.name == arg or p.py_name == arg}
        out = []
        for t in types:
            if t in ("activation", "normalizer", "initializer", "regularizer"):
                out += [Completion(b.name, "value", f"{b.kind}: {b.doc}", insert=b.name + ("()" if b.callable else ""))
                        for b in builtins.values() if b.kind == t]
                out.append(Completion("none", "value"))
            elif t == "padding":
                out += [Completion("SAME", "value"), Completion("VALID", "value")]
            elif t == "bool":
                out += [Completion("true", "value"), Completion("false", "value")]
        return out


# ------------------------------------------------------------ scheduling ---

# Seconds after the last edit before checking: typing a word must not start a check per key.
DEBOUNCE_SECONDS = 0.1
# Seconds each elaboration of a check may take; the evaluator stops at the deadline (E945).
CHECK_SECONDS = 2.0
# How long hover and go-to-definition wait for a running check of the current text.
SETTLE_SECONDS = 3.0
# Seconds after which the server stops waiting for a check thread that has not stopped by itself
# (a bug, or parsing a file near the size limit) and publishes E945 instead; the thread runs on.
ABANDON_SECONDS = 20.0
# Check threads alive at once, abandoned ones included, so that runaways cannot pile up.
MAX_CHECK_THREADS = 4


class Scheduler:
    """Checks open documents off the event loop, so that requests are answered while a check runs.

    Edits are debounced; a document has one check at a time; a result for a text that has
    changed since is dropped, never published over a newer version. All methods run on the
    event loop (the worker threads only compute a CheckResult), so documents need no lock."""

    def __init__(self, publish):
        self.docs: dict[str, Document] = {}
        self._publish = publish  # (Document) -> None
        self._locks: dict[str, asyncio.Lock] = {}
        self._threads = asyncio.Semaphore(MAX_CHECK_THREADS)
        self._tasks: set = set()  # the event loop keeps only weak references to tasks

    def opened(self, uri: str, text: str, version: int | None):
        self.docs[uri] = Document(uri)
        self._edited(self.docs[uri], text, version, delay=0)

    def changed(self, uri: str, text: str, version: int | None):
        doc = self.docs.setdefault(uri, Document(uri))
        self._edited(doc, text, version, delay=DEBOUNCE_SECONDS)

    def saved(self, uri: str):
        doc = self.docs.get(uri)
        if doc is not None:
            self._edited(doc, doc.text, doc.version, delay=0)

    def closed(self, uri: str):
        self.docs.pop(uri, None)  # a check still running for it finds it gone and drops its result

    def _edited(self, doc: Document, text: str, version: int | None, delay: float):
        doc.text, doc.version = text, version
        doc.revision += 1
        doc.settled.clear()
        task = asyncio.ensure_future(self._check_later(doc, doc.revision, delay))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _current(self, doc: Document, revision: int) -> bool:
        return self.docs.get(doc.uri) is doc and doc.revision == revision

    async def _check_later(self, doc: Document, revision: int, delay: float):
        await asyncio.sleep(delay)
        if not self._current(doc, revision):
            return  # debounced: a later edit has a task of its own
        async with self._locks.setdefault(doc.uri, asyncio.Lock()):
            if not self._current(doc, revision):
                return
            published = []

            def checked(early: CheckResult):  # on the loop: diagnostics before hover's analyses
                if self._current(doc, revision):
                    doc.apply(early)
                    self._publish(doc)
                    published.append(revision)

            result = await self._check_in_thread(doc.text, doc.filename, checked)
            if self._current(doc, revision):
                doc.apply(result)  # the analyses; the diagnostics are those already published, if any
                if not published:
                    self._publish(doc)
                doc.settled.set()

    async def settled(self, uri: str, seconds: float = SETTLE_SECONDS) -> "Document | None":
        """The document once the check of its current text has finished, or after `seconds` as it is.

        The diagnostics are published before the analyses are made, so a hover right after them
        would otherwise describe the previous text (or nothing). The wait is asynchronous: other
        requests are answered meanwhile."""
        doc = self.docs.get(uri)
        if doc is not None and not doc.settled.is_set():
            try:
                await asyncio.wait_for(doc.settled.wait(), seconds)
            except asyncio.TimeoutError:
                pass
        return self.docs.get(uri)

    async def _check_in_thread(self, text: str, filename: str, checked=None) -> CheckResult:
        loop = asyncio.get_running_loop()
        await self._threads.acquire()
        done = loop.create_future()

        def finished(result):  # on the loop: the thread has ended, abandoned or not
            self._threads.release()
            if not done.done():
                done.set_result(result)

        def work():
            try:
                early = None if checked is None else (lambda r: loop.call_soon_threadsafe(checked, r))
                result = check_document(text, filename, CHECK_SECONDS, early)
            except BaseException as e:  # noqa: BLE001 - the awaiting task must always hear back
                result = CheckResult([Diagnostic("E999", f"internal error while checking: {e!r}")])
            try:
                loop.call_soon_threadsafe(finished, result)
            except RuntimeError:  # the loop has closed: the server is exiting
                pass

        # A daemon thread: one that never ends must not keep the process alive after `exit`.
        threading.Thread(target=work, name=f"slimlang-check {filename}", daemon=True).start()
        try:
            return await asyncio.wait_for(asyncio.shield(done), ABANDON_SECONDS)
        except asyncio.TimeoutError:
            note = "note: the language server gave up on it; it checks the next edit as usual"
            return CheckResult([Diagnostic("E945", f"checking this file did not finish within {ABANDON_SECONDS:g} s",
                                           notes=(note,))])


# ---------------------------------------------------------------- pygls ---


def _range(types, span, text: str):
    if span is None or span.source is None:
        return types.Range(types.Position(0, 0), types.Position(0, 1))
    return types.Range(types.Position(max(span.line - 1, 0), max(span.col - 1, 0)),
                       types.Position(max(span.end_line - 1, 0), max(span.end_col - 1, 0)))


@dataclass
class _Unanswerable:
    """A request whose params do not fit the LSP types: what to answer it with."""

    id: int | str | None
    error: object  # a pygls JsonRpcException
    jsonrpc: str = "2.0"


def _invalid_params_reason(error: Exception) -> str:
    import cattrs

    cause = error.__cause__
    if isinstance(cause, cattrs.ClassValidationError):
        reasons = cattrs.transform_error(cause)
        return "; ".join(reasons[:5]) + (f" (and {len(reasons) - 5} more)" if len(reasons) > 5 else "")
    return str(cause or error)[:500]


def _protocol_class():
    """pygls' protocol, changed to answer every request.

    pygls drops a request whose params do not fit the LSP types (it fails while reading the
    message, before there is a request to answer), so the editor waits forever; and it ignores
    requests after `shutdown`. Both get a JSON-RPC error here."""
    from lsprotocol import types
    from pygls import exceptions as rpc
    from pygls.protocol import LanguageServerProtocol

    class Protocol(LanguageServerProtocol):
        def structure_message(self, data):
            try:
                return super().structure_message(data)
            except rpc.JsonRpcException as e:
                if not (isinstance(data, dict) and "id" in data and "method" in data):
                    raise  # a notification or a response: nobody waits for an answer
                msg_id = data["id"] if isinstance(data["id"], (int, str)) else None
                method = data["method"] if isinstance(data["method"], str) else "?"
                reason = _invalid_params_reason(e)
                return _Unanswerable(msg_id, rpc.JsonRpcInvalidParams(f"invalid params for {method}: {reason}"))

        def handle_message(self, message):
            if isinstance(message, _Unanswerable):
                self._send_response(message.id, error=message.error.to_response_error())
                return
            method = getattr(message, "method", None)
            if self._shutdown and method not in (None, types.EXIT) and getattr(message, "id", None) is not None:
                error = rpc.JsonRpcInvalidRequest(f"{method}: the server is shutting down")
                self._send_response(message.id, error=error.to_response_error())
                return
            super().handle_message(message)

    return Protocol


def create_server():
    from lsprotocol import types
    from pygls.lsp.server import LanguageServer

    from .. import __version__

    server = LanguageServer("slimlang", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Full,
                            protocol_cls=_protocol_class())

    def publish(doc: Document):
        diags = []
        for d in doc.diagnostics:
            span = d.span
            message = d.message + "".join(f"\n{n}" for n in d.notes)
            if span is not None and span.source is not None and span.source.name != doc.filename:
                span = doc.import_of(span.source.name)  # an error in an imported file: shown at its import
                if span is None:
                    continue
                message = f"{d.span.location()}: {message}"
            diags.append(types.Diagnostic(range=_range(types, span, doc.text), message=message,
                                          severity=types.DiagnosticSeverity.Error, code=d.code, source="slimlang"))
        server.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=doc.uri, diagnostics=diags,
                                                                                version=doc.version))

    checks = Scheduler(publish)

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls, params: types.DidOpenTextDocumentParams):
        checks.opened(params.text_document.uri, params.text_document.text, params.text_document.version)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls, params: types.DidChangeTextDocumentParams):
        uri = params.text_document.uri
        checks.changed(uri, ls.workspace.get_text_document(uri).source, params.text_document.version)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls, params: types.DidSaveTextDocumentParams):
        checks.saved(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls, params: types.DidCloseTextDocumentParams):
        checks.closed(params.text_document.uri)
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=params.text_document.uri,
                                                                            diagnostics=[]))

    # Requests answer from what the last finished check left (an unknown document: null). They
    # never check themselves: that would block every other request behind a slow check. Hover and
    # definition first wait, asynchronously and briefly, for a check of the current text to end.

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    async def hover(ls, params: types.HoverParams):
        doc = await checks.settled(params.text_document.uri)
        text = doc and doc.hover(params.position.line, params.position.character)
        if not text:
            return None
        return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=text))

    kinds = {"keyword": types.CompletionItemKind.Keyword, "layer": types.CompletionItemKind.Function,
             "block": types.CompletionItemKind.Module, "argument": types.CompletionItemKind.Property,
             "value": types.CompletionItemKind.Value}

    @server.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(trigger_characters=[" ", "="]))
    def completion(ls, params: types.CompletionParams):
        doc = checks.docs.get(params.text_document.uri)
        if doc is None:
            return None
        items = [types.CompletionItem(label=c.label, kind=kinds.get(c.kind), detail=c.detail or None,
                                      insert_text=c.insert)
                 for c in doc.completions(params.position.line, params.position.character)]
        return types.CompletionList(is_incomplete=False, items=items)

    @server.feature(types.TEXT_DOCUMENT_DEFINITION)
    async def definition(ls, params: types.DefinitionParams):
        doc = await checks.settled(params.text_document.uri)
        span = doc and doc.definition(params.position.line, params.position.character)
        if span is None:
            return None
        if span.source is not None and span.source.name != doc.filename:  # imported: in its own file
            return types.Location(uri=Path(span.source.name).resolve().as_uri(), range=_range(types, span, ""))
        return types.Location(uri=doc.uri, range=_range(types, span, doc.text))

    return server


def main():
    try:
        server = create_server()
    except ModuleNotFoundError as e:
        raise SlimError.single("E903", f"`slimlang lsp` needs the `{e.name}` package",
                               None, ["help: pip install pygls"]) from None
    server.start_io()


if __name__ == "__main__":
    main()
