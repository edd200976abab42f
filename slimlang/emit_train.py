"""Emit stage, training programs: `slimlang build FILE --emit py --train`.

For every checked train section (`program.train_specs`) the module gets, the
way the TF-Slim primer (sections 4-5) writes it:

* `NAME_inputs(data_dir, batch_size)`: tf.data batches from the section's
  data (npz), with the same `classes`, held-out split, shuffle, resize, flip
  and scale as `slimlang train`;
* `train_NAME(logdir=None, number_of_steps=..., data_dir=SOURCE_DIR)`: the
  model under its defaults' arg_scope, the losses in TF-Slim's LOSSES
  collection, `slim.losses.get_total_loss`, the learning-rate schedule and
  optimizer, `slim.learning.create_train_op`, `slim.assign_from_checkpoint_fn`
  for `init_from`, and `slim.learning.train`;
* `main()` running every section in file order.

Options the emitted code cannot reproduce are rejected with a located error
(E515 data, E516 loss, E517 names).  Strings from the .slim file reach the
code only through `pyview.py_str` / `py_literal` (both `repr`).
"""

from __future__ import annotations

import keyword
import os

from .diagnostics import SlimError
from .pyview import FunctionView, Stmt, _wrap, py_str
from .values import py_literal

#: Locals and helpers the training code uses; .slim names must not take them.
TRAIN_NAMES = frozenset({
    "os", "np", "re", "math", "SOURCE_DIR", "main", "images", "labels", "n_train", "arrays", "keep", "classes",
    "perm", "n_val", "train", "dataset", "preprocess", "net", "end_points", "total_loss", "global_step", "step",
    "learning_rate", "optimizer", "train_op", "init_fn", "checkpoint_path", "variables_to_restore",
    "name_in_checkpoint", "clip_gradients", "logdir", "number_of_steps", "data_dir", "batch_size",
    "trainable", "grads", "variables", "var", "name",
    # the module-level helpers of a --train program (templates/module.py.j2)
    "contextlib", "logging", "sys", "time", "warnings", "QUIET_START", "_stderr_hidden", "_quiet_training",
    "_progress",
})

_OPTIMIZERS = {
    "sgd": ("GradientDescentOptimizer", ()),
    "momentum": ("MomentumOptimizer", (("momentum", "momentum"),)),
    "nesterov": ("MomentumOptimizer", (("momentum", "momentum"),)),
    "adam": ("AdamOptimizer", (("beta1", "beta1"), ("beta2", "beta2"), ("epsilon", "epsilon"))),
    "rmsprop": ("RMSPropOptimizer", (("decay", "decay"), ("momentum", "momentum"), ("epsilon", "epsilon"))),
    "adagrad": ("AdagradOptimizer", (("initial_accumulator_value", "initial_accumulator"),)),
    "adadelta": ("AdadeltaOptimizer", (("rho", "rho"), ("epsilon", "epsilon"))),
}

_REGRESSION = {"mean_squared_error": "mean_squared_error", "absolute_difference": "absolute_difference",
               "huber": "huber_loss"}


def _err(code, message, span, notes=()):
    return SlimError.single(code, message, span, list(notes))


def _lit(v) -> str:
    return py_literal(v)


class TrainEmitter:
    def __init__(self, em):
        self.em = em
        self.prog = em.prog
        self.file = em.file
        taken = set(em.functions) | set(em.globals.values())
        clash = sorted(taken & TRAIN_NAMES)
        if clash and self.prog.train_specs:
            node = self.prog.models.get(clash[0]) or self.prog.blocks.get(clash[0])
            raise _err("E517", f"`{clash[0]}` is a name the emitted training code uses itself",
                       getattr(node, "name_span", None) or self.prog.train_specs[0].span,
                       ["help: rename it, or emit without --train"])
        self.taken = taken

    def section_name(self, spec) -> str:
        name = spec.name or "default"
        if not name.isidentifier() or keyword.iskeyword(name):
            raise _err("E517", f"train section `{name}` cannot be part of a Python name", spec.span)
        for fname in (f"train_{name}", f"{name}_inputs"):
            if fname in self.taken or fname in TRAIN_NAMES:
                raise _err("E517", f"train section `{name}` would define `{fname}`, which is taken", spec.span)
        self.taken |= {f"train_{name}", f"{name}_inputs"}
        return name

    # ------------------------------------------------------------ data --
    def inputs_fn(self, spec, name) -> FunctionView:
        d = spec.data
        if d is None:
            raise _err("E515", "the train section has no `data` setting to emit", spec.span)
        if d.kind != "npz":
            raise _err("E515", f"`--emit py --train` reproduces npz data only, not `{d.kind}`", d.span,
                       ["help: convert the data to an .npz file, or train with `slimlang train`"])
        o = d.options
        for key in ("crop",):
            if o.get(key) is not None:
                raise _err("E515", f"`--emit py --train` cannot reproduce the data option `{key}`",
                           d.opt_span(key) if hasattr(d, "opt_span") else d.span)
        fields = []
        for field_name in [o["labels"][0]] + [loss.labels for loss in spec.losses if loss.labels is not None]:
            if not isinstance(field_name, str):
                raise _err("E515", "npz label fields are array names", d.span)
            if field_name not in fields:
                fields.append(field_name)
        default = o["labels"][0]
        rel = self.data_path(spec)
        body = [
            Stmt(f"arrays = np.load(os.path.join(data_dir, {py_str(rel)}))", None, f"{self.file}:{d.span.line}"),
            Stmt(f"images = arrays[{py_str(o['images'])}]"),
            Stmt("labels = {" + ", ".join(f"{py_str(f)}: arrays[{py_str(f)}]" for f in fields) + "}"),
        ]
        if o["classes"]:
            body += [
                Stmt(f"classes = {_lit(list(o['classes']))}  # keep these labels, renumbered 0.."),
                Stmt(f"keep = np.isin(labels[{py_str(default)}].reshape(len(images), -1)[:, 0], classes)"),
                Stmt("images = images[keep]"),
                Stmt("labels = {k: v[keep] for k, v in labels.items()}"),
                Stmt(f"labels[{py_str(default)}] = np.array([classes.index(int(c)) for c in labels[{py_str(default)}]."
                     "reshape(-1)], dtype=np.int64)"),
            ]
        val = float(o["validation"])
        seed = int(o["seed"]) % (2**32)
        if val > 0:
            body += [
                Stmt(f"# validation={val!r}: the held-out split of `slimlang eval` (seed {seed}) is left out"),
                Stmt(f"perm = np.random.RandomState({seed}).permutation(len(images))"),
                Stmt(f"n_val = max(1, int(round(len(images) * {val!r})))"),
                Stmt("train = np.sort(perm[n_val:])"),
            ]
        else:
            body.append(Stmt("train = np.arange(len(images))"))
        body.append(Stmt("dataset = tf.data.Dataset.from_tensor_slices("
                         "(images[train], {k: v[train] for k, v in labels.items()}))"))
        shuffle = o["shuffle"]
        if shuffle:
            buf = "len(train)" if shuffle is True else f"min({int(shuffle)}, len(train))"
            body.append(Stmt(f"dataset = dataset.shuffle({buf}, seed={int(o['seed'])}, "
                             "reshuffle_each_iteration=True)"))
        body.append(Stmt("dataset = dataset.repeat().batch(batch_size, drop_remainder=True)"))
        pre = [Stmt("images = tf.cast(images, tf.float32)")]
        if o["resize"] is not None:
            pre.append(Stmt(f"images = tf.image.resize(images, {_lit(list(o['resize']))}, method='bilinear')"))
        if o["flip"]:
            pre.append(Stmt("images = tf.image.random_flip_left_right(images)"))
        scale = o["scale"]
        if isinstance(scale, tuple):
            lo, hi = scale
            pre.append(Stmt(f"images = {float(lo)!r} + images * {(float(hi) - float(lo)) / 255.0!r}"))
        elif scale is not None and scale != 1.0:
            pre.append(Stmt(f"images = images * {float(scale)!r}"))
        pre.append(Stmt("return images, labels"))
        body += [Stmt("def preprocess(images, labels)", pre),
                 Stmt("dataset = dataset.map(preprocess).prefetch(tf.data.AUTOTUNE)"),
                 Stmt("images, labels = tf.compat.v1.data.make_one_shot_iterator(dataset).get_next()"),
                 Stmt("return images, labels, len(train)")]
        doc = [f"Training batches of train section `{name}` of {self.file} (line {spec.span.line}).", "",
               "Returns:", "  images, a dict of label tensors by field name, and the number of training examples."]
        return FunctionView(f"{name}_inputs", [], ["data_dir=SOURCE_DIR", f"batch_size={int(spec.batch_size)}"],
                            _wrap(doc, 80), body)

    def data_path(self, spec) -> str:
        """The data path relative to SOURCE_DIR (the .slim file's folder), or absolute as written."""
        base = os.path.abspath(spec.base_dir)
        path = os.path.abspath(spec.data.path)
        rel = os.path.relpath(path, base)
        return path if rel.startswith("..") else rel

    # ---------------------------------------------------------- training --
    def learning_rate(self, spec) -> list:
        sched, lr = spec.schedule, float(spec.optimizer.lr)
        o, warm, kind = sched.options, int(sched.warmup_steps), sched.kind
        out = []
        if kind == "constant" and warm == 0:
            return [Stmt(f"learning_rate = {lr!r}")]
        out.append(Stmt("step = tf.cast(global_step, tf.int64)"))
        if kind == "constant":
            out.append(Stmt(f"learning_rate = tf.constant({lr!r})"))
            at_warm = lr
        elif kind == "exponential":
            out.append(Stmt(f"learning_rate = tf.compat.v1.train.exponential_decay({lr!r}, step, "
                            f"{int(o['decay_steps'])}, {float(o['decay_rate'])!r}, staircase={bool(o['staircase'])})"))
            e = warm // o["decay_steps"] if o["staircase"] else warm / o["decay_steps"]
            at_warm = lr * float(o["decay_rate"]) ** e
        elif kind == "piecewise":
            bounds, values = [int(b) for b in o["boundaries"]], [float(v) for v in o["values"]]
            out.append(Stmt(f"learning_rate = tf.compat.v1.train.piecewise_constant(step, {_lit(bounds)}, "
                            f"{_lit(values)})"))
            at_warm = values[sum(1 for b in bounds if warm > b)]
        else:
            decay = str(int(o["decay_steps"])) if o["decay_steps"] else f"max(1, number_of_steps - {warm})"
            shifted = f"tf.maximum(step - {warm}, 0)" if warm else "step"
            if kind == "polynomial":
                out.append(Stmt(f"learning_rate = tf.compat.v1.train.polynomial_decay({lr!r}, {shifted}, {decay}, "
                                f"{float(o['end_lr'])!r}, power={float(o['power'])!r}, cycle={bool(o['cycle'])})"))
            else:
                out.append(Stmt(f"learning_rate = tf.compat.v1.train.cosine_decay({lr!r}, {shifted}, {decay}, "
                                f"alpha={float(o['alpha'])!r})"))
            at_warm = lr
        if warm:
            out.append(Stmt(f"# warm-up: a linear ramp over the first {warm} steps"))
            out.append(Stmt(f"learning_rate = tf.where(step < {warm}, {at_warm!r} * tf.cast(step + 1, tf.float32) "
                            f"/ {float(warm)!r}, tf.cast(learning_rate, tf.float32))"))
        return out

    def losses(self, spec) -> list:
        out = []
        default = spec.data.options["labels"][0]
        for loss in spec.losses:
            if loss.custom:
                raise _err("E516", f"custom loss `{loss.kind}` cannot be emitted", loss.span)
            pred = "net" if loss.on == "net" else f"end_points[{py_str(loss.on)}]"
            field_name = loss.labels if loss.labels is not None else default
            lab = f"labels[{py_str(field_name)}]"
            w = "" if loss.weight == 1.0 else f", weights={float(loss.weight)!r}"
            line = f"{self.file}:{loss.span.line}"
            opts = loss.options
            if loss.kind == "softmax_cross_entropy":
                if opts.get("label_smoothing"):
                    raise _err("E516", "`label_smoothing` cannot be emitted", loss.span)
                call = (f"tf.compat.v1.losses.sparse_softmax_cross_entropy(tf.reshape(tf.cast({lab}, tf.int64), "
                        f"[-1]), {pred}{w})")
            elif loss.kind == "sigmoid_cross_entropy" and not opts.get("label_smoothing"):
                call = f"tf.compat.v1.losses.sigmoid_cross_entropy(tf.cast({lab}, tf.float32), {pred}{w})"
            elif loss.kind in _REGRESSION:
                extra = f", delta={float(opts['delta'])!r}" if loss.kind == "huber" else ""
                call = (f"tf.compat.v1.losses.{_REGRESSION[loss.kind]}(tf.reshape(tf.cast({lab}, tf.float32), "
                        f"tf.shape({pred})), {pred}{w}{extra})")
            else:
                raise _err("E516", f"loss `{loss.kind}` cannot be emitted by `--emit py --train`", loss.span)
            out.append(Stmt(call, None, line))
        return out

    def init_fn(self, spec) -> list:
        init = spec.init_from
        if init is None:
            return [Stmt("init_fn = None")]
        kw = []
        if init.include:
            kw.append(f"include={_lit(list(init.include))}")
        if init.exclude:
            kw.append(f"exclude={_lit(list(init.exclude))}")
        line = f"{self.file}:{init.span.line}"
        out = [Stmt(f"variables_to_restore = slim.get_variables_to_restore({', '.join(kw)})", None, line)]
        if init.strip_prefix or init.rename or init.add_prefix:
            body = [Stmt("name = var.op.name")]
            if init.strip_prefix:
                body.append(Stmt(f"if name.startswith({py_str(init.strip_prefix)})",
                                 [Stmt(f"name = name[{len(init.strip_prefix)}:]")]))
            for pattern, repl in init.rename:
                body.append(Stmt(f"name = re.sub({py_str(pattern)}, {py_str(repl)}, name)"))
            body.append(Stmt(f"return {py_str(init.add_prefix)} + name" if init.add_prefix else "return name"))
            out += [Stmt("def name_in_checkpoint(var)", body),
                    Stmt("variables_to_restore = {name_in_checkpoint(v): v for v in variables_to_restore}")]
        out += [Stmt(f"checkpoint_path = {py_str(init.path)}"),
                Stmt("if os.path.isdir(checkpoint_path)",
                     [Stmt("checkpoint_path = tf.train.latest_checkpoint(checkpoint_path)")]),
                Stmt(f"init_fn = slim.assign_from_checkpoint_fn(checkpoint_path, variables_to_restore, "
                     f"ignore_missing_vars={bool(init.ignore_missing)})", None, line)]
        return out

    def train_fn(self, spec, name) -> FunctionView:
        model = self.prog.models[spec.model.name] if spec.model.name else next(iter(self.prog.models.values()))
        mparams = {p.name for p in model.params[1:]}
        args = ["images"] + [f"{k}={_lit(v)}" for k, v in spec.model.params.items()
                             if k != "is_training"]
        if "is_training" in mparams:
            args.append("is_training=True")
        call = Stmt(f"net, end_points = {model.name}({', '.join(args)})", None,
                    f"{self.file}:{spec.model.span.line if spec.model.span.source else spec.span.line}")
        build = [Stmt(f"with slim.arg_scope({self.em.callref(model.uses, None, None)})", [call])] \
            if model.uses is not None else [call]
        stem = os.path.splitext(os.path.basename(self.prog.source_name))[0]
        default_logdir = spec.logdir if spec.logdir is not None else \
            os.path.join("runs", f"{stem}-{spec.name}" if spec.name else stem)
        body = [Stmt("if logdir is None", [Stmt(f"logdir = {py_str(default_logdir)}")])]
        graph = []
        if spec.seed is not None:
            graph.append(Stmt(f"tf.compat.v1.set_random_seed({int(spec.seed)})"))
        graph.append(Stmt(f"images, labels, n_train = {name}_inputs(data_dir)"))
        if spec.steps is None:
            graph.append(Stmt("if number_of_steps is None",
                              [Stmt(f"number_of_steps = {int(spec.epochs)} * math.ceil(n_train / "
                                    f"{int(spec.batch_size)})")]))
        graph += build
        graph.append(Stmt("# Losses go into TF-Slim's LOSSES collection, weighted."))
        graph += self.losses(spec)
        graph.append(Stmt(f"total_loss = slim.losses.get_total_loss(add_regularization_losses="
                          f"{bool(spec.regularization)})"))
        graph.append(Stmt("tf.compat.v1.summary.scalar('losses/total_loss', total_loss)"))
        graph += self.init_fn(spec)
        rate = self.learning_rate(spec)
        if len(rate) > 1:
            graph.append(Stmt("global_step = tf.compat.v1.train.get_or_create_global_step()"))
        graph += rate
        graph.append(Stmt("tf.compat.v1.summary.scalar('learning_rate', learning_rate)"))
        cls, opts = _OPTIMIZERS[spec.optimizer.kind]
        okw = [f"{py}={float(spec.optimizer.options[k])!r}" for py, k in opts]
        if spec.optimizer.kind == "nesterov":
            okw.append("use_nesterov=True")
        graph.append(Stmt(f"optimizer = tf.compat.v1.train.{cls}({', '.join(['learning_rate'] + okw)})", None,
                          f"{self.file}:{spec.optimizer.span.line}" if spec.optimizer.span.source else ""))
        top = []
        vt = ""
        if spec.trainable:
            top.append(Stmt(f"trainable = {_lit(list(spec.trainable))}"))
            vt = (", variables_to_train=[v for v in tf.compat.v1.trainable_variables() "
                  "if v.op.name.startswith(tuple(trainable))]")
        graph += top
        clip = ""
        if spec.clip_gradients:
            if spec.clip_per_variable:
                clip = f", clip_gradient_norm={float(spec.clip_gradients)!r}"
            else:
                cbody = [Stmt("grads, variables = zip(*grads_and_vars)"),
                         Stmt(f"grads, _ = tf.clip_by_global_norm(grads, {float(spec.clip_gradients)!r})"),
                         Stmt("return list(zip(grads, variables))")]
                graph.append(Stmt("def clip_gradients(grads_and_vars)", cbody))
                clip = ", transform_grads_fn=clip_gradients"
        graph.append(Stmt(f"train_op = slim.learning.create_train_op(total_loss, optimizer{vt}{clip}, "
                          "check_numerics=True)"))
        summaries = spec.save_summaries_secs if spec.save_summaries_secs is not None else 60
        saves = spec.save_interval_secs if spec.save_interval_secs is not None else 600
        graph.append(Stmt(
            f"return slim.learning.train(train_op, logdir, number_of_steps=number_of_steps, "
            f"log_every_n_steps={int(spec.log_every)}, save_summaries_secs={float(summaries)!r}, "
            f"save_interval_secs={float(saves)!r}, init_fn=init_fn, "
            f"saver=tf.compat.v1.train.Saver(max_to_keep={int(spec.keep_checkpoints)}), "
            f"train_step_fn=_progress(number_of_steps, {int(spec.log_every)}))"))
        body.append(Stmt("with tf.Graph().as_default(), _quiet_training()", graph))
        steps = "None" if spec.steps is None else str(int(spec.steps))
        doc = [f"Train `{model.name}` as train section `{name}` of {self.file} (line {spec.span.line}) says.", "",
               "`logdir` (checkpoints model.ckpt-N, summaries) and `init_from` are relative to the current "
               "directory, as for `slimlang train`; the data is read from `data_dir`.", "",
               "Returns:", "  The final loss, as slim.learning.train returns it."]
        return FunctionView(f"train_{name}", [], ["logdir=None", f"number_of_steps={steps}", "data_dir=SOURCE_DIR"],
                            _wrap(doc, 80), body)

    # ------------------------------------------------------------ module --
    def functions(self) -> tuple[list, list, list]:
        """(constants, functions, tail lines) to add to the module."""
        specs = list(self.prog.train_specs)
        if not specs:
            return [], [], []
        fns, names = [], []
        for spec in specs:
            name = self.section_name(spec)
            names.append(name)
            fns += [self.inputs_fn(spec, name), self.train_fn(spec, name)]
        main_body = [Stmt(f"train_{n}()") for n in names]
        fns.append(FunctionView("main", [], [], ["Run every train section of the file, in order."], main_body))
        base = os.path.abspath(specs[0].base_dir)
        constants = ["# The .slim file's folder: the data paths of the train sections are relative to it.",
                     f"SOURCE_DIR = {py_str(base)}"]
        tail = ["", "", 'if __name__ == "__main__":', "    main()"]
        return constants, fns, tail


def docstring_lines(file: str) -> list:
    return [
        "",
        f"Training (`--train`): train_NAME() per train section of {file}; main() runs them all in order. "
        "Data paths are relative to SOURCE_DIR, the absolute folder of the .slim file when this was "
        "emitted (pass data_dir= to read the data elsewhere); logdir and init_from paths are relative "
        "to the current directory, exactly as `slimlang train` resolves them.",
    ]

