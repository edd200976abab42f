"""Train stage, the restore plan: which model variable comes from which checkpoint name.

`init_from "PATH" include=[...] exclude=[...] strip_prefix=... rename=[...]
add_prefix=... ignore_missing=...` is the primer's section 5 written as data:
`slim.get_variables_to_restore(include, exclude)` plus `name_in_checkpoint`.
For every variable of the model the plan says one of

    restore   <- NAME_IN_CHECKPOINT
    excluded  (by include/exclude)
    missing   (the checkpoint has no such name)
    mismatch  (the checkpoint's tensor has another shape)

`slimlang train --plan` prints it; training refuses to start on a mismatch, or
on a missing variable unless `ignore_missing=true`, with the fix spelt out.
"""

from __future__ import annotations

import collections
import io
from dataclasses import dataclass

from ..diagnostics import SlimError, did_you_mean
from . import checkpoints
from ._tf import tf1
from .helpers import in_scope, model_scope, select_scopes
from .spec import InitSpec


@dataclass(frozen=True)
class PlanRow:
    name: str
    shape: tuple
    action: str  # restore | excluded | missing | mismatch
    ckpt_name: str | None = None
    ckpt_shape: tuple | None = None


@dataclass
class Plan:
    checkpoint: str
    rows: list
    init: InitSpec

    def count(self, action: str) -> int:
        return sum(r.action == action for r in self.rows)

    def format(self) -> str:
        out = io.StringIO()
        n = len(self.rows)
        out.write(f"restore plan: {n} variable{'s' if n != 1 else ''} from {self.checkpoint}\n")
        wn = max([len(r.name) for r in self.rows] + [8])
        ws = max([len(_shape(r.shape)) for r in self.rows] + [5])
        for r in self.rows:
            if r.action == "restore":
                what = "restore  <- " + (r.ckpt_name if r.ckpt_name != r.name else "(same name)")
            elif r.action == "excluded":
                what = "excluded"
            elif r.action == "missing":
                what = f"missing  (no {r.ckpt_name} in the checkpoint)"
            else:
                what = f"MISMATCH <- {r.ckpt_name} has shape {_shape(r.ckpt_shape)}"
            out.write(f"  {r.name:<{wn}}  {_shape(r.shape):<{ws}}  {what}\n")
        out.write(f"  = {self.count('restore')} restored, {self.count('excluded')} excluded, "
                  f"{self.count('missing')} missing, {self.count('mismatch')} shape mismatches\n")
        return out.getvalue()

    def var_list(self, variables) -> dict:
        """{name in checkpoint: variable} for a tf1 Saver."""
        by_name = {v.op.name: v for v in variables}
        return {r.ckpt_name: by_name[r.name] for r in self.rows if r.action == "restore"}


def _shape(s) -> str:
    return "[" + ", ".join(str(d) for d in s) + "]" if s is not None else "?"


# ------------------------------------------------------------ scopes ---


def scope_names(names) -> list:
    """Every scope of the variables, in full and relative to the model's scope, for did-you-mean."""
    top = model_scope(names)
    out = set()
    for n in names:
        parts = n.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            out.add("/".join(parts[:i]))
            if top is not None and i > 1:
                out.add("/".join(parts[1:i]))
    return sorted(out)


def unmatched_scope_error(code: str, what: str, scope: str, names, span):
    """A SlimError: `what` (e.g. "init_from exclude") scope `scope` matches none of the variables `names`."""
    scopes = scope_names(names)
    top = model_scope(names)
    notes = [did_you_mean(scope, scopes), "note: scopes: " + ", ".join(scopes[:15]) + (" ..." if len(scopes) > 15
                                                                                     else "")]
    if top is not None:
        notes.append(f"note: scopes may be given in full (`{top}/...`) or relative to the model's scope `{top}`")
    return SlimError.single(code, f"{what} scope `{scope}` matches no variable of the model", span, notes)


def selected(init: InitSpec, variables) -> dict:
    """{variable name: whether include/exclude keep it}; E334 for a scope that matches nothing."""
    names = [v.op.name for v in variables]
    top = model_scope(names)
    for what, scopes in (("include", init.include), ("exclude", init.exclude)):
        for scope in scopes:
            if not any(in_scope(n, scope, top) for n in names):
                raise unmatched_scope_error("E334", f"init_from {what}", scope, names, init.span)
    chosen = {v.op.name for v in select_scopes(variables, init.include, init.exclude, top)}
    return {n: n in chosen for n in names}


def make_plan(variables, init: InitSpec, ckpt: str) -> Plan:
    names = checkpoints.read_variables(ckpt)
    keep = selected(init, variables)
    rows = []
    for v in variables:
        name = v.op.name
        shape = tuple(v.shape.as_list())
        if not keep[name]:
            rows.append(PlanRow(name, shape, "excluded"))
            continue
        cname = init.name_in_checkpoint(name)
        if cname not in names:
            rows.append(PlanRow(name, shape, "missing", cname))
        elif tuple(names[cname]) != shape:
            rows.append(PlanRow(name, shape, "mismatch", cname, tuple(names[cname])))
        else:
            rows.append(PlanRow(name, shape, "restore", cname, shape))
    return Plan(ckpt, rows, init)


def _prefix_hint(missing: list, ckpt_names) -> str:
    """Guess a prefix rule from missing names and the checkpoint's names."""
    adds, strips = collections.Counter(), collections.Counter()
    for r in missing:
        for c in ckpt_names:
            if c.endswith("/" + r.ckpt_name) or (c.endswith(r.ckpt_name) and c != r.ckpt_name):
                adds[c[: len(c) - len(r.ckpt_name)]] += 1
            if r.ckpt_name.endswith(c) and "/" in r.ckpt_name[: len(r.ckpt_name) - len(c)] + "/":
                pre = r.ckpt_name[: len(r.ckpt_name) - len(c)]
                if pre.endswith("/"):
                    strips[pre] += 1
    if adds:
        pre, n = adds.most_common(1)[0]
        return f"help: {n} of them exist in the checkpoint under `{pre}`: add add_prefix=\"{pre}\""
    if strips:
        pre, n = strips.most_common(1)[0]
        return f"help: {n} of them exist in the checkpoint without `{pre}`: add strip_prefix=\"{pre}\""
    return ""


def check_plan(plan: Plan) -> None:
    """Raise a located SlimError for shape mismatches and (unless ignored) missing names."""
    init = plan.init
    bad = [r for r in plan.rows if r.action == "mismatch"]
    missing = [r for r in plan.rows if r.action == "missing"]
    if bad:
        scopes = sorted({r.name.rsplit("/", 1)[0] for r in bad})
        lines = [f"note: {r.name} is {_shape(r.shape)}, checkpoint's {r.ckpt_name} is {_shape(r.ckpt_shape)}"
                 for r in bad[:8]]
        if len(bad) > 8:
            lines.append(f"note: ... and {len(bad) - 8} more")
        excl = ", ".join(f'"{s}"' for s in list(init.exclude) + scopes)
        raise SlimError.single(
            "E331", f"{len(bad)} variable{'s' if len(bad) != 1 else ''} of the model "
            f"{'have' if len(bad) != 1 else 'has'} another shape in {plan.checkpoint}", init.span,
            lines + [f"help: to train them from scratch (e.g. a new last layer), exclude=[{excl}]",
                     "help: if the names pair the wrong tensors, fix them with strip_prefix/rename/add_prefix"])
    if missing and not init.ignore_missing:
        names = list(checkpoints.read_variables(plan.checkpoint))
        lines = []
        for r in missing[:6]:
            near = did_you_mean(r.ckpt_name, names).replace("help: did you mean", "did you mean")
            lines.append(f"note: {r.name}: no `{r.ckpt_name}` in the checkpoint" + (f"; {near}" if near else ""))
        if len(missing) > 6:
            lines.append(f"note: ... and {len(missing) - 6} more")
        raise SlimError.single(
            "E332", f"{len(missing)} variable{'s' if len(missing) != 1 else ''} of the model "
            f"{'are' if len(missing) != 1 else 'is'} not in {plan.checkpoint}", init.span,
            lines + [_prefix_hint(missing, names),
                     "help: exclude=[...] them, rename them, or set ignore_missing=true to keep their "
                     "initial values"])


_NOT_MODEL = ("global_step",)


def model_differences(variables, ckpt: dict, rename=None) -> tuple[list, list, list]:
    """How a checkpoint ({name: shape}) differs from a model's variables, each
    looked up under `rename(name)` when given:
    (missing: [(name, shape)], mismatched: [(name, shape, ckpt shape)],
    unexpected: [(name, shape)]).  Optimizer slots (`VAR/Adam`, `beta1_power`)
    and `global_step` are not model variables and never count as unexpected."""
    have = {(rename(v.op.name) if rename else v.op.name): tuple(v.shape.as_list()) for v in variables}
    missing = [(n, s) for n, s in have.items() if n not in ckpt]
    mismatched = [(n, s, tuple(ckpt[n])) for n, s in have.items() if n in ckpt and tuple(ckpt[n]) != s]

    def slot(name: str) -> bool:
        parent = name.rsplit("/", 1)[0]
        return "/" in name and (parent in ckpt or parent in have)

    unexpected = [(n, tuple(s)) for n, s in sorted(ckpt.items()) if n not in have and n not in _NOT_MODEL
                  and not n.endswith("_power") and not slot(n)]
    return missing, mismatched, unexpected


def _prefix_guess(missing: list, ckpt_names) -> str:
    """A help line when the checkpoint holds the missing names under another prefix."""
    class Row:  # what _prefix_hint reads
        def __init__(self, name):
            self.ckpt_name = name

    hint = _prefix_hint([Row(n) for n, _ in missing], ckpt_names)
    if not hint:
        return ""
    return hint.replace("help: ", "help: the names differ by a prefix: ", 1).replace(
        ": add ", ": add to the train section `init_from \"CHECKPOINT\" ", 1) + " (eval, export and predict use it too)"


def different_model_error(ckpt_path: str, variables, ckpt: dict, span, model_name: str | None = None,
                          saver=None):
    """A SlimError (E340) listing how checkpoint `ckpt_path` differs from the
    model, or None when every model variable is there with its shape.  With a
    `CheckpointSaver`, under the names it would restore from."""
    rename = saver.rename(ckpt) if isinstance(saver, CheckpointSaver) else None
    missing, mismatched, unexpected = model_differences(variables, ckpt, rename)
    if not missing and not mismatched:
        return None
    notes = [f"note: {n} is {_shape(s)} in the model, {_shape(c)} in the checkpoint" for n, s, c in mismatched[:5]]
    if len(mismatched) > 5:
        notes.append(f"note: ... and {len(mismatched) - 5} more of another shape")
    notes += [f"note: not in the checkpoint: {n} {_shape(s)}" for n, s in missing[:5]]
    if len(missing) > 5:
        notes.append(f"note: ... and {len(missing) - 5} more not in the checkpoint")
    notes += [f"note: only in the checkpoint: {n} {_shape(s)}" for n, s in unexpected[:5]]
    if len(unexpected) > 5:
        notes.append(f"note: ... and {len(unexpected) - 5} more only in the checkpoint")
    if missing and unexpected:
        notes.append(_prefix_guess(missing, [n for n, _ in unexpected]))
    notes.append("help: use the model, parameters (--set) and train section that wrote the checkpoint")
    parts = [f"{len(x)} variable{'s' if len(x) != 1 else ''} {what}"
             for x, what in ((mismatched, "of another shape"), (missing, "missing"),
                             (unexpected, "only in the checkpoint")) if x]
    who = f"`{model_name}`" if model_name else "this model"
    return SlimError.single("E340", f"checkpoint {ckpt_path} holds a different model than {who}: "
                            f"{', '.join(parts)}", span, notes)


def maps_names(init: InitSpec | None) -> bool:
    return init is not None and bool(init.strip_prefix or init.rename or init.add_prefix)


class CheckpointSaver:
    """Restores a model's variables for eval, export and predict: under their
    own names, or, for a checkpoint that holds them under the names
    `init_from`'s strip_prefix/rename/add_prefix give (a published
    checkpoint), under those."""

    def __init__(self, variables, init: InitSpec | None):
        self.variables = list(variables)
        self.plain = tf1.train.Saver(var_list=self.variables)
        self.init = init if maps_names(init) else None
        self.mapped = None
        if self.init is not None:
            by_name = {self.init.name_in_checkpoint(v.op.name): v for v in self.variables}
            if len(by_name) == len(self.variables):  # a mapping that merges two names cannot restore
                self.mapped = tf1.train.Saver(var_list=by_name)

    def rename(self, ckpt: dict):
        """The mapping to read checkpoint `ckpt` ({name: shape}) with, or None for the variables' own names."""
        if self.mapped is None or all(v.op.name in ckpt for v in self.variables):
            return None
        return self.init.name_in_checkpoint

    def restore(self, sess, path: str) -> None:
        saver = self.mapped if self.rename(checkpoints.read_variables(path)) else self.plain
        saver.restore(sess, path)


def plan_for(init: InitSpec, variables) -> Plan:
    ckpt = checkpoints.resolve_checkpoint(init.path, init.path_span)
    return make_plan(variables, init, ckpt)


def restore_saver(plan: Plan, variables):
    var_list = plan.var_list(variables)
    if not var_list:
        raise SlimError.single("E332", f"init_from restores nothing from {plan.checkpoint}", plan.init.span,
                               ["note: every variable is excluded or missing"])
    return tf1.train.Saver(var_list=var_list)


def plan_for_spec(spec, model_fn, **kwargs) -> Plan:
    """Build the model (no training) and return the restore plan of `spec.init_from`."""
    from .build import build_model_only

    variables = build_model_only(spec, model_fn, **kwargs)
    if spec.init_from is None:
        raise SlimError.single("E309", "the train section has no `init_from`", spec.span)
    return plan_for(spec.init_from, variables)
