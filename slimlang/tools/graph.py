"""`slimlang graph`: the network as a Graphviz picture.

One node per layer (scope name, kind, kernel/stride, output shape), edges
from each layer's input rows, so branches, concat and residual adds appear
as the DAG they are.  Variable scopes (`scope`, blocks, slim.repeat and
slim.stack) become clusters; with `--depth N` the scopes deeper than N are
collapsed into one node each.  The DOT text is built with the `graphviz`
package; rendering svg/png needs the system `dot` program.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass

from ..diagnostics import SlimError
from .analysis import Analysis, fmt_shape

FORMATS = ("svg", "png", "dot", "pdf")

_COLORS = {
    "conv": "#dbeafe", "conv_t": "#dbeafe", "sep_conv": "#dbeafe", "fc": "#e0e7ff",
    "pool": "#fde68a", "avg_pool": "#fde68a", "dropout": "#f3f4f6", "batch_norm": "#dcfce7",
    "layer_norm": "#dcfce7", "concat": "#fbcfe8", "add": "#fbcfe8", "softmax": "#fee2e2",
}
_CLUSTER_COLORS = {"Repeat": "#f8fafc", "Stack": "#f8fafc", "Scope": "#fefce8"}


@dataclass
class GraphModel:
    """What gets drawn, independent of Graphviz: nodes, edges, clusters."""

    nodes: dict  # id -> (label, kind, fill)
    edges: list  # (from id, to id)
    clusters: dict  # scope name -> (label, parent scope or None, [node ids], depth)


def _pair(v) -> str:
    if isinstance(v, (list, tuple)) and len(v) == 2:
        return f"{v[0]}x{v[1]}"
    return f"{v}x{v}"


def _detail(row) -> str:
    a = row.call.full
    parts = []
    if "kernel_size" in a and a["kernel_size"] is not None:
        parts.append(_pair(a["kernel_size"]))
    if "stride" in a and a["stride"] is not None:
        s = a["stride"]
        if s not in (1, (1, 1), [1, 1]) or "kernel_size" in a:
            parts.append("/" + (str(s) if not isinstance(s, (list, tuple)) else
                                str(s[0]) if s[0] == s[1] else f"{s[0]}x{s[1]}"))
    if row.kind in ("conv", "conv_t", "sep_conv", "fc") and a.get("num_outputs") is not None:
        parts.append(f", {a['num_outputs']}")
    if a.get("padding") == "VALID" and "num_outputs" in a:
        parts.append(" VALID")
    if row.kind == "dropout":
        parts.append(f"keep {a.get('keep_prob')}")
    return "".join(parts)


def build(analysis: Analysis, depth: int | None = None) -> GraphModel:
    rows = analysis.rows
    model = next((s.name for s in analysis.scopes.values() if s.kind == "model"), analysis.summary.model)

    def rel(name: str, base: str | None) -> str:
        base = base or model
        return name[len(base) + 1:] if name.startswith(base + "/") else name

    # the node each row belongs to: itself, or its outermost scope deeper than `depth`
    collapsed_into = {}
    visible_scopes = {}
    for name, s in analysis.scopes.items():
        if s.kind == "model":
            continue
        if depth is not None and s.depth > depth:
            continue
        visible_scopes[name] = s
    for i in range(len(rows)):
        encl = [s for s in analysis.scope_of(i) if s.kind != "model"]
        if depth is not None:
            deep = [s for s in encl if s.depth == depth + 1]
            if deep:
                collapsed_into[i] = deep[0].name
    nodes, edges, clusters = {}, [], {}
    node_of = {}
    group_ids = {}

    def parent_cluster(scope_name: str | None):
        while scope_name is not None and scope_name not in visible_scopes:
            s = analysis.scopes.get(scope_name)
            scope_name = s.parent if s else None
        return scope_name

    for name, s in visible_scopes.items():
        what = {"Scope": "", "Repeat": f"repeat x{len(s.rows)}", "Stack": f"stack x{len(s.rows)}"}.get(s.kind, s.kind)
        par = parent_cluster(s.parent)
        label = rel(name, par) + (f"  ({what})" if what else "")
        clusters[name] = [label, par, [], s.depth]

    nodes["inputs"] = (f"inputs\n{fmt_shape(analysis.summary.input_shape)}", "input", "#ffffff")
    for i, row in enumerate(rows):
        if i in collapsed_into:
            group = collapsed_into[i]
            nid = group_ids.setdefault(group, f"g{len(group_ids)}")
            node_of[i] = nid
            members = analysis.scopes[group].rows
            if nid not in nodes or members[-1] == i:
                s = analysis.scopes[group]
                par = parent_cluster(s.parent)
                count = len(members)
                total = sum(rows[j].params for j in members)
                kind = {"Repeat": "repeat", "Stack": "stack", "Scope": "scope"}.get(s.kind, f"block {s.kind}")
                last = rows[members[-1]]
                label = (f"{rel(group, par)}\n{kind}: {count} layer{'s' if count != 1 else ''}, {total:,} params\n"
                         f"{fmt_shape(last.shape)}")
                nodes[nid] = (label, "group", "#e5e7eb")
                if par is not None and nid not in clusters[par][2]:
                    clusters[par][2].append(nid)
            continue
        nid = f"n{i}"
        node_of[i] = nid
        encl = [s for s in analysis.scope_of(i) if s.name in visible_scopes]
        par = encl[-1].name if encl else None
        detail = _detail(row)
        label = rel(row.name, par) + "\n" + row.kind + (f" {detail}" if detail else "") + "\n" + fmt_shape(row.shape)
        nodes[nid] = (label, row.kind, _COLORS.get(row.kind, "#ffffff"))
        if par is not None:
            clusters[par][2].append(nid)
    seen = set()
    for i, row in enumerate(rows):
        dst = node_of[i]
        for j in row.inputs:
            src = "inputs" if j < 0 else node_of[j]
            if src == dst or (src, dst) in seen:
                continue
            seen.add((src, dst))
            edges.append((src, dst))
    return GraphModel(nodes, edges, {k: tuple(v) for k, v in clusters.items()})


def dot_label(text: str):
    """A plain (never HTML-like) DOT label for text that may come from a .slim file.

    Each line is passed through `graphviz.escape` (backslashes doubled, and
    marked so a `<...>` label is quoted rather than read as an HTML label,
    which could name files for `dot` to read); `graphviz` then quotes it and
    escapes `"`.  Line breaks become DOT's `\\n` escape, and any other
    non-printable character is shown as a `\\uXXXX` escape.
    """
    import graphviz

    lines = ["".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in line) for line in text.split("\n")]
    return graphviz.nohtml("\\n".join(graphviz.escape(line) for line in lines))


def to_graphviz(gm: GraphModel, title: str):
    import graphviz

    title = dot_label(title)
    g = graphviz.Digraph(name=title, graph_attr={"rankdir": "TB", "label": title, "labelloc": "t", "fontname": "Helvetica",
                                                 "fontsize": "16", "nodesep": "0.3", "ranksep": "0.35"},
                         node_attr={"shape": "box", "style": "rounded,filled", "fontname": "Helvetica", "fontsize": "10"},
                         edge_attr={"arrowsize": "0.6"})
    children = {}
    for name, (_label, parent, _ids, _d) in gm.clusters.items():
        children.setdefault(parent, []).append(name)
    placed = {nid for (_l, _p, ids, _d) in gm.clusters.values() for nid in ids}

    def add_node(sub, nid):
        label, kind, fill = gm.nodes[nid]
        attrs = {"fillcolor": fill}
        if kind == "input":
            attrs["shape"] = "ellipse"
        if kind == "group":
            attrs["style"] = "rounded,filled,bold"
        sub.node(nid, dot_label(label), **attrs)

    cluster_ids = {name: f"cluster_{i}" for i, name in enumerate(gm.clusters)}  # never .slim text

    def add_cluster(parent_graph, name):
        label, _parent, ids, _depth = gm.clusters[name]
        kind_fill = "#f8fafc"
        with parent_graph.subgraph(name=cluster_ids[name]) as c:
            c.attr(label=dot_label(label), style="rounded,filled", fillcolor=kind_fill, color="#94a3b8", fontname="Helvetica",
                   fontsize="10", labeljust="l")
            for nid in ids:
                add_node(c, nid)
            for child in children.get(name, []):
                add_cluster(c, child)

    for nid in gm.nodes:
        if nid not in placed:
            add_node(g, nid)
    for name in children.get(None, []):
        add_cluster(g, name)
    for a, b in gm.edges:
        g.edge(a, b)
    return g


INSTALL_HELP = ("help: install Graphviz, which provides `dot`: `apt-get install graphviz` (Debian/Ubuntu), "
                "`brew install graphviz` (macOS), `conda install graphviz`, or see https://graphviz.org/download/; "
                "or write `-o net.dot` and render it elsewhere")


def render(g, fmt: str) -> bytes:
    if fmt == "dot":
        return g.source.encode("utf-8")
    if shutil.which("dot") is None:
        raise SlimError.single("E920", f"cannot write .{fmt}: the Graphviz `dot` program is not installed",
                               None, [INSTALL_HELP])
    import graphviz

    try:
        return g.pipe(format=fmt)
    except graphviz.ExecutableNotFound:
        raise SlimError.single("E920", f"cannot write .{fmt}: the Graphviz `dot` program is not installed",
                               None, [INSTALL_HELP]) from None
    except graphviz.CalledProcessError as e:
        msg = (e.stderr or b"").decode("utf-8", "replace").strip() if isinstance(e.stderr, bytes) else str(e.stderr)
        raise SlimError.single("E921", f"Graphviz `dot` failed: {msg or e}") from None
