"""`slimlang lsp`: a language server on stdio, built on pygls.

- diagnostics: the checker's errors (syntax, names, defaults, static shapes)
  published on open and on every change;
- hover: on a layer statement, each layer it builds with its output shape,
  parameter count and the arguments it inherits from `defaults` (for every
  model with a declared input shape); on a block, model or defaults name,
  its signature;
- completion: layer kinds, blocks and keywords at the start of a statement,
  argument names after a layer kind (or in a defaults rule), values after
  `activation=`, `padding=`, ...;
- go to definition: of blocks, models, named defaults and top-level `let`s.

`Document` holds the editor-independent logic (and is what the unit tests
use); `main()` wires it to pygls.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

from .. import ast
from ..diagnostics import Diagnostic, SlimError
from ..layers import LAYERS

KEYWORDS = ("model", "block", "inline", "defaults", "uses", "until", "use", "scope", "as", "from", "endpoint",
            "collect", "if", "else", "for", "in", "let", "return", "fail", "train", "and", "or", "not",
            "true", "false", "none")
STATEMENT_KEYWORDS = ("scope", "defaults", "collect", "if", "for", "let", "endpoint", "return", "fail")
TOP_KEYWORDS = ("model", "block", "inline block", "defaults", "train", "let")


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
class Document:
    uri: str
    text: str = ""
    diagnostics: list = field(default_factory=list)  # of Diagnostic
    module: ast.Module | None = None  # last text that parsed
    analyses: list = field(default_factory=list)  # of tools.analysis.Analysis, last text that checked

    @property
    def filename(self) -> str:
        return uri_to_path(self.uri)

    def update(self, text: str):
        """Re-parse and re-check; keeps the last good AST and shapes for hover and definitions."""
        from ..checker import check_module
        from ..parser import parse
        from .analysis import analyze

        self.text = text
        self.diagnostics = []
        try:
            module = parse(text, self.filename)
        except SlimError as e:
            self.diagnostics = list(e.diagnostics)
            return
        self.module = module
        try:
            program = check_module(module, self.filename)
        except SlimError as e:
            self.diagnostics = list(e.diagnostics)
            return
        except Exception as e:  # noqa: BLE001 - a checker bug must not kill the server
            self.diagnostics = [Diagnostic("E999", f"internal error while checking: {e!r}")]
            return
        analyses = []
        for name in program.models:
            shape = program.input_shape(name)
            if shape is None:
                continue
            try:
                analyses.append(analyze(program, name, (1,) + tuple(shape), span=program.models[name].name_span))
            except SlimError:
                pass
        self.analyses = analyses

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
        for item in self.module.items:
            if isinstance(item, (ast.Model, ast.DefaultsDef)):
                out[item.name] = (item, item.name_span)
            elif isinstance(item, ast.Let):
                out[item.name] = (item, item.span)
        return out

    def definition(self, line0: int, char: int):
        """The span of the definition of the name under the cursor, or None."""
        word = self.word_at(line0, char)
        found = self.definitions().get(word)
        return found[1] if found else None

    def hover(self, line0: int, char: int) -> str | None:
        from .analysis import contains as _contains
        from .analysis import fmt_shape
        from .explain import explain_row
        from .fmt import param

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
                else:
                    sig = f"let {node.name}"
                return f"```slim\n{sig}\n```\ndefined at line {span.line}"
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


# ---------------------------------------------------------------- pygls ---


def _range(types, span, text: str):
    if span is None or span.source is None:
        return types.Range(types.Position(0, 0), types.Position(0, 1))
    return types.Range(types.Position(max(span.line - 1, 0), max(span.col - 1, 0)),
                       types.Position(max(span.end_line - 1, 0), max(span.end_col - 1, 0)))


def create_server():
    from lsprotocol import types
    from pygls.lsp.server import LanguageServer

    from .. import __version__

    server = LanguageServer("slimlang", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Full)
    docs: dict[str, Document] = {}

    def publish(ls, doc: Document, version=None):
        diags = []
        for d in doc.diagnostics:
            if d.span is not None and d.span.source is not None and d.span.source.name != doc.filename:
                continue
            message = d.message + "".join(f"\n{n}" for n in d.notes)
            diags.append(types.Diagnostic(range=_range(types, d.span, doc.text), message=message,
                                          severity=types.DiagnosticSeverity.Error, code=d.code, source="slimlang"))
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=doc.uri, diagnostics=diags,
                                                                            version=version))

    def refresh(ls, uri, version=None):
        text = ls.workspace.get_text_document(uri).source
        doc = docs.setdefault(uri, Document(uri))
        doc.update(text)
        publish(ls, doc, version)

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls, params: types.DidOpenTextDocumentParams):
        refresh(ls, params.text_document.uri, params.text_document.version)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls, params: types.DidChangeTextDocumentParams):
        refresh(ls, params.text_document.uri, params.text_document.version)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls, params: types.DidSaveTextDocumentParams):
        refresh(ls, params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls, params: types.DidCloseTextDocumentParams):
        docs.pop(params.text_document.uri, None)
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=params.text_document.uri,
                                                                            diagnostics=[]))

    def doc_for(ls, uri) -> Document:
        doc = docs.get(uri)
        if doc is None:
            doc = docs[uri] = Document(uri)
            doc.update(ls.workspace.get_text_document(uri).source)
        return doc

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def hover(ls, params: types.HoverParams):
        doc = doc_for(ls, params.text_document.uri)
        text = doc.hover(params.position.line, params.position.character)
        if text is None:
            return None
        return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=text))

    kinds = {"keyword": types.CompletionItemKind.Keyword, "layer": types.CompletionItemKind.Function,
             "block": types.CompletionItemKind.Module, "argument": types.CompletionItemKind.Property,
             "value": types.CompletionItemKind.Value}

    @server.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(trigger_characters=[" ", "="]))
    def completion(ls, params: types.CompletionParams):
        doc = doc_for(ls, params.text_document.uri)
        items = [types.CompletionItem(label=c.label, kind=kinds.get(c.kind), detail=c.detail or None,
                                      insert_text=c.insert)
                 for c in doc.completions(params.position.line, params.position.character)]
        return types.CompletionList(is_incomplete=False, items=items)

    @server.feature(types.TEXT_DOCUMENT_DEFINITION)
    def definition(ls, params: types.DefinitionParams):
        doc = doc_for(ls, params.text_document.uri)
        span = doc.definition(params.position.line, params.position.character)
        if span is None:
            return None
        return types.Location(uri=doc.uri, range=_range(types, span, doc.text))

    return server


def main():
    try:
        server = create_server()
    except ModuleNotFoundError as e:
        raise SlimError.single("E940", f"`slimlang lsp` needs the `{e.name}` package",
                               None, ["help: pip install pygls"]) from None
    server.start_io()


if __name__ == "__main__":
    main()
