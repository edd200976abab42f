"""Emit stage, training programs: `slimlang build FILE --emit py --train`.

For every checked train section (`program.train_specs`) the module gets, the
way the TF-Slim primer (sections 4-5) writes it:

* `NAME_inputs(data_dir, batch_size)`: tf.data batches of the section's
  data, read and split as `slimlang train` reads them;
* `train_NAME(logdir=None, number_of_steps=..., data_dir=SOURCE_DIR)`: the
  model under its defaults' arg_scope, the losses in TF-Slim's LOSSES
  collection, `slim.losses.get_total_loss`, the learning-rate schedule and
  optimizer, `slim.learning.create_train_op`, `slim.assign_from_checkpoint_fn`
  for `init_from`, and `slim.learning.train`;
* `main()` running every section in file order.

Each data source, loss, optimizer and schedule is written from its entry in
`slimlang.training.kinds`, the entry the engine builds from, and the
computations both share are `slimlang.training.helpers` functions whose
source the module gets (`training.helper_source`).  Only custom losses
(Python functions registered in the emitting process) cannot be emitted
(E516); section or model names that clash with the generated code are E517.
Strings from the .slim file reach the code only through `pyview.py_str` /
`py_literal` (both `repr`).
"""

from __future__ import annotations

import keyword
import os

from .diagnostics import SlimError
from .pyview import FunctionView, Stmt, _wrap, py_str
from .training.helper_source import function_view, helper_names, with_dependencies
from .training.kinds.data import DATA_KINDS
from .training.kinds.losses import LOSS_KINDS
from .training.kinds.optimizers import OPTIMIZERS
from .training.kinds.schedules import rate_call
from .training.spec import DEFAULT_SAVE_SECS, DEFAULT_SAVE_STEPS, saves_by_default
from .values import py_literal

#: Locals and helpers the training code uses; .slim names must not take them.
TRAIN_NAMES = frozenset({
    "os", "np", "re", "math", "SOURCE_DIR", "main", "images", "labels", "n_train", "train", "rows", "renumbered",
    "files", "features", "form", "shape", "size", "first", "dataset", "image", "label", "record", "file", "column",
    "net", "end_points", "predictions", "loss", "total_loss", "global_step", "step", "learning_rate",
    "learning_rate_at", "last_loss", "optimizer", "train_op", "init_fn", "checkpoint_path", "variables_to_restore",
    "name_in_checkpoint", "logdir", "number_of_steps", "data_dir", "batch_size",
    "trainable", "grads", "variables", "var", "name",
    # the module-level helpers of a --train program (templates/module.py.j2)
    "contextlib", "logging", "sys", "time", "warnings", "QUIET_START", "_stderr_hidden", "_quiet_training",
    "_progress", "model_variables", "variable_averages", "update_averages", "end_point_name", "tensor",
})

#: Train settings the emitted program cannot reproduce: slim.learning.train has no validation
#: (TF-Slim evaluates in a separate eval_image_classifier process), so nothing can watch a metric.
NOT_EMITTED = {
    "validate": "validation while training",
    "keep_best": "keeping the best checkpoint",
    "early_stop": "early stopping",
}


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
        self.helpers: set = set()  # helpers.py functions the program uses
        self.default_label: dict = {}  # id(spec) -> code of its default label key

    def section_name(self, spec) -> str:
        name = spec.name or "default"
        if not name.isidentifier() or keyword.iskeyword(name):
            raise _err("E517", f"train section `{name}` cannot be part of a Python name", spec.span)
        for fname in (f"train_{name}", f"{name}_inputs"):
            if fname in self.taken or fname in TRAIN_NAMES or fname in helper_names():
                raise _err("E517", f"train section `{name}` would define `{fname}`, which is taken", spec.span)
        self.taken |= {f"train_{name}", f"{name}_inputs"}
        return name

    # ------------------------------------------------------------ data --
    def inputs_fn(self, spec, name) -> FunctionView:
        d = spec.data
        if d is None:
            raise _err("E515", "the train section has no `data` setting to emit", spec.span)
        o = d.options
        if o.get("preprocess"):
            raise _err("E519", f"`preprocess={o['preprocess']}` cannot be emitted yet: the training program "
                       "writes the data line's resize/crop/flip/scale only", d.opt_span("preprocess"),
                       ["help: train with `slimlang train`, or emit without preprocess= (TF-Slim's "
                        "preprocessing_factory gives the same function in Python)"])
        fields = [loss.labels for loss in spec.losses if loss.labels is not None]
        path = f"os.path.join(data_dir, {py_str(self.data_path(spec))})"
        src = DATA_KINDS[d.kind].emit(d, path, fields,
                                      count=spec.epochs is not None or bool(spec.schedule.options.get("decay_epochs")))
        self.helpers |= src.helpers | {"preprocess"}
        self.default_label[id(spec)] = src.default
        body = [Stmt(line, None, f"{self.file}:{d.span.line}" if i == 0 else "") for i, line in enumerate(src.lines)]
        shuffle = o["shuffle"]
        if shuffle:
            buf = src.buffer if shuffle is True else f"min({int(shuffle)}, {src.buffer})"
            body.append(Stmt(f"dataset = dataset.shuffle({buf}, seed={int(o['seed'])}, reshuffle_each_iteration=True)"))
        body.append(Stmt("dataset = dataset.repeat()"))
        if src.decode is not None:
            body.append(Stmt(f"dataset = dataset.map({src.decode}, num_parallel_calls=tf.data.AUTOTUNE)"))
        kw = [f"resize={src.resize}", f"crop={'None' if o['crop'] is None else _lit(list(o['crop']))}",
              f"flip={bool(o['flip'])}", f"scale={src.scale}"]
        batch = "dataset = dataset.batch(batch_size, drop_remainder=True)"
        if o["crop"] is not None:  # random crops differ per image: preprocess before batching
            body += [Stmt(f"dataset = dataset.map(lambda image, label: (preprocess(image, True, {', '.join(kw)}, "
                          "per_example=True), label), num_parallel_calls=tf.data.AUTOTUNE)"), Stmt(batch)]
        else:
            body += [Stmt(batch), Stmt(f"dataset = dataset.map(lambda image, label: (preprocess(image, True, "
                                       f"{', '.join(kw)}), label), num_parallel_calls=tf.data.AUTOTUNE)")]
        body += [Stmt("dataset = dataset.prefetch(tf.data.AUTOTUNE)"),
                 Stmt("images, labels = tf.compat.v1.data.make_one_shot_iterator(dataset).get_next()"),
                 Stmt("return images, labels, n_train")]
        doc = [f"Training batches of train section `{name}` of {self.file} (line {spec.span.line}).", "",
               "Returns:", "  images, a dict of label tensors by field name, and the number of training examples",
               "  (None for TFRecord files not counted because `steps` says how long to train)."]
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
        sched = spec.schedule
        warm = int(sched.warmup_steps)
        if sched.kind == "constant" and warm == 0:
            return [Stmt(f"learning_rate = {float(spec.optimizer.lr)!r}")]
        call = rate_call(sched.kind, spec.optimizer.lr, sched.options, warm)
        self.helpers |= call.helpers() | {"warm_up"}
        rate = call.code({"decay_steps": f"max(1, number_of_steps - {warm})" if warm else "number_of_steps",
                          "steps_per_epoch": f"n_train / {int(spec.batch_size)}"})
        comment = f"{self.file}:{sched.span.line}" if sched.span.source else ""
        return [Stmt("def learning_rate_at(step)", [Stmt(f"return {rate}")], comment),
                Stmt("global_step = tf.compat.v1.train.get_or_create_global_step()"),
                Stmt(f"learning_rate = warm_up(learning_rate_at, global_step, {warm})")]

    def losses(self, spec) -> list:
        out = []
        default = self.default_label[id(spec)]
        for loss in spec.losses:
            if loss.custom:
                raise _err("E516", f"custom loss `{loss.kind}` cannot be emitted: it is a Python function "
                           "registered in this process", loss.span)
            entry = LOSS_KINDS[loss.kind]
            on = "net" if loss.on == "net" else f"end_point(end_points, {py_str(loss.on)})"
            lab = f"labels[{default if loss.labels is None else py_literal(loss.labels)}]"
            if loss.labels_offset:
                lab = f"({lab} - {int(loss.labels_offset)})"
            targets = {"classification": lab, "multilabel": f"targets_like({lab}, predictions, one_hot=True)",
                       "regression": f"targets_like({lab}, predictions)"}[entry.task]
            call = entry.call(loss.options)
            self.helpers |= call.helpers() | {"loss_predictions"} | ({"targets_like"} if entry.task != "classification"
                                                                     else set())
            if loss.on != "net":
                self.helpers.add("end_point")
            weighted = "loss" if loss.weight == 1.0 else f"loss * {float(loss.weight)!r}"
            out += [Stmt(f"predictions = loss_predictions({on})", None, f"{self.file}:{loss.span.line}"),
                    Stmt(f"loss = {call.code({'targets': targets})}"),
                    Stmt(f"tf.compat.v1.losses.add_loss({weighted})")]
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
        if kw:
            # Scopes in full or relative to the model's scope, as `slimlang train` reads them.
            self.helpers |= {"select_scopes", "model_scope"}
            out = [Stmt(f"variables_to_restore = select_scopes(slim.get_variables_to_restore(), {', '.join(kw)}, "
                        "top=model_scope([v.op.name for v in slim.get_model_variables()]))", None, line)]
        else:
            out = [Stmt("variables_to_restore = slim.get_variables_to_restore()", None, line)]
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

    def refuse(self, spec) -> None:
        """E518 at the first setting the emitted program cannot reproduce."""
        for key, what in NOT_EMITTED.items():
            if key in spec.spans:
                raise _err("E518", f"`{key}` ({what}) cannot be emitted: slim.learning.train has no validation",
                           spec.spans[key], ["help: train with `slimlang train`, or emit without this setting"])
        if spec.clones > 1:
            raise _err("E520", f"`clones {spec.clones}` cannot be emitted: the program would need research/slim's "
                       "deployment/model_deploy.py, which the tf_slim package does not ship",
                       spec.span_of("clones"),
                       ["note: a cluster (TF_CONFIG, --local-cluster) is not part of the emitted program either: "
                        "it trains in one process",
                        "help: train with `slimlang train --clones N`, or emit without the `clones` setting"])
        if spec.schedule.kind == "plateau":
            raise _err("E518", "`schedule plateau` follows a validation metric and cannot be emitted: "
                       "slim.learning.train has no validation", spec.schedule.span,
                       ["help: train with `slimlang train`, or emit with another schedule"])

    def summaries(self, spec) -> list:
        """train_image_classifier's activation and variable histograms and sparsity summaries."""
        body = []
        if "activations" in spec.histograms:
            body.append(Stmt("tf.compat.v1.summary.histogram('activations/' + end_point_name, tensor)"))
        if spec.sparsity:
            body.append(Stmt("tf.compat.v1.summary.scalar('sparsity/' + end_point_name, tf.nn.zero_fraction(tensor))"))
        out = []
        if body:
            out.append(Stmt("for end_point_name, tensor in end_points.items()",
                            [Stmt("if tensor.dtype.is_floating", body)]))
        if "variables" in spec.histograms:
            out.append(Stmt("for var in model_variables",
                            [Stmt("tf.compat.v1.summary.histogram('variables/' + var.op.name, var)")]))
        return out

    def uses_call(self, ref, given: dict) -> str:
        """The call of the defaults block a model uses, with the train section's values for its parameters."""
        if not given:
            return self.em.callref(ref, None, None)
        names = [p.name for p in self.prog.defaults[ref.name].params]
        args = {names[i]: self.em.expr(a, None, None) for i, a in enumerate(ref.args)}
        args.update({k.name: self.em.expr(k.value, None, None) for k in ref.kwargs})
        args.update({k: _lit(v) for k, v in given.items()})
        return f"{ref.name}({', '.join(f'{k}={v}' for k, v in args.items())})"

    def train_fn(self, spec, name) -> FunctionView:
        self.refuse(spec)
        model = self.prog.models[spec.model.name] if spec.model.name else next(iter(self.prog.models.values()))
        mparams = {p.name for p in model.params[1:]}
        args = ["images"] + [f"{k}={_lit(v)}" for k, v in spec.model.params.items()
                             if k != "is_training" and k in mparams]
        # The other `model` line values are parameters of the defaults block the model uses (weight_decay).
        uses_given = {k: v for k, v in spec.model.params.items() if k not in mparams}
        if "is_training" in mparams:
            args.append("is_training=True")
        call = Stmt(f"net, end_points = {model.name}({', '.join(args)})", None,
                    f"{self.file}:{spec.model.span.line if spec.model.span.source else spec.span.line}")
        build = [Stmt(f"with slim.arg_scope({self.uses_call(model.uses, uses_given)})", [call])] \
            if model.uses is not None else [call]
        stem = os.path.splitext(os.path.basename(self.prog.source_name))[0]
        default_logdir = spec.logdir if spec.logdir is not None else \
            os.path.join("runs", f"{stem}-{spec.name}" if spec.name else stem)
        body = [Stmt("if logdir is None", [Stmt(f"logdir = {py_str(default_logdir)}")])]
        graph = []
        if spec.seed is not None:
            graph.append(Stmt(f"tf.compat.v1.set_random_seed({int(spec.seed)})"))
        graph.append(Stmt(f"images, labels, n_train = {name}_inputs(data_dir)"))
        if spec.epochs is not None:
            graph.append(Stmt("if number_of_steps is None",
                              [Stmt(f"number_of_steps = {int(spec.epochs)} * math.ceil(n_train / "
                                    f"{int(spec.batch_size)})")]))
        graph += build
        if spec.moving_average_decay or "variables" in spec.histograms:
            graph.append(Stmt("model_variables = tf.compat.v1.global_variables()"))
        graph += self.summaries(spec)
        graph.append(Stmt("# Losses go into TF-Slim's LOSSES collection, weighted."))
        graph += self.losses(spec)
        graph.append(Stmt(f"total_loss = slim.losses.get_total_loss(add_regularization_losses="
                          f"{bool(spec.regularization)})"))
        graph += self.init_fn(spec)
        graph += self.learning_rate(spec)
        graph.append(Stmt("tf.compat.v1.summary.scalar('learning_rate', learning_rate)"))
        optimizer = OPTIMIZERS[spec.optimizer.kind].call(spec.optimizer.options).code()
        graph.append(Stmt(f"optimizer = {optimizer}", None,
                          f"{self.file}:{spec.optimizer.span.line}" if spec.optimizer.span.source else ""))
        top = []
        vt = ""
        if spec.trainable:
            top.append(Stmt(f"trainable = {_lit(list(spec.trainable))}"))
            vt = (", variables_to_train=select_scopes(tf.compat.v1.trainable_variables(), trainable, "
                  "top=model_scope([v.op.name for v in slim.get_model_variables()]))")
            self.helpers |= {"select_scopes", "model_scope"}
        graph += top
        clip = ""
        if spec.clip_gradients:
            if spec.clip_per_variable:
                clip = f", clip_gradient_norm={float(spec.clip_gradients)!r}"
            else:
                self.helpers.add("clip_by_global_norm")
                graph.append(Stmt(f"optimizer = clip_by_global_norm(optimizer, {float(spec.clip_gradients)!r})"))
        graph.append(Stmt(f"train_op = slim.learning.create_train_op(total_loss, optimizer{vt}{clip}, "
                          "check_numerics=True)"))
        if spec.moving_average_decay:
            self.helpers.add("moving_averages")
            graph.append(Stmt(f"train_op, variable_averages = moving_averages({float(spec.moving_average_decay)!r}, "
                              "train_op, model_variables, tf.compat.v1.train.get_or_create_global_step())",
                              None, f"{self.file}:{spec.spans['moving_average'].line}"
                              if "moving_average" in spec.spans else ""))
        graph += [
            Stmt("# The summary shows the last training step's loss: evaluating the loss"),
            Stmt("# again in slim.learning.train's summary thread would read a batch of its own."),
            Stmt("last_loss = tf.compat.v1.get_local_variable('last_loss', [], tf.float32, "
                 "tf.compat.v1.zeros_initializer())"),
            Stmt("with tf.control_dependencies([last_loss.assign(train_op)])", [
                Stmt("train_op = tf.identity(train_op)")]),
            Stmt("tf.compat.v1.summary.scalar('losses/total_loss', last_loss)")]
        summaries = spec.save_summaries_secs if spec.save_summaries_secs is not None else 60
        # Checkpoints as `slimlang train` writes them (training/spec.py, save_policy): by time through
        # slim.learning.train, by steps from the train_step_fn.
        if saves_by_default(spec):
            saves, save_steps = DEFAULT_SAVE_SECS, f"max({DEFAULT_SAVE_STEPS}, (number_of_steps or 0) // 10)"
        else:
            saves = spec.save_interval_secs or 0  # 0: no saves by time
            save_steps = repr(spec.save_interval_steps)
        graph.append(Stmt(f"saver = tf.compat.v1.train.Saver(max_to_keep={int(spec.keep_checkpoints)})"))
        graph.append(Stmt(
            f"return slim.learning.train(train_op, logdir, number_of_steps=number_of_steps, "
            f"log_every_n_steps={int(spec.log_every)}, save_summaries_secs={float(summaries)!r}, "
            f"save_interval_secs={float(saves)!r}, init_fn=init_fn, saver=saver, "
            f"train_step_fn=_progress(number_of_steps, {int(spec.log_every)}, saver, "
            f"os.path.join(logdir, 'model.ckpt'), {save_steps}, batch_size={int(spec.batch_size)}))"))
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
        helpers = with_dependencies(self.helpers)
        clash = sorted(self.taken & set(helpers))
        if clash:
            node = self.prog.models.get(clash[0]) or self.prog.blocks.get(clash[0])
            raise _err("E517", f"`{clash[0]}` is a name the emitted training code uses itself",
                       getattr(node, "name_span", None) or specs[0].span, ["help: rename it, or emit without --train"])
        fns = [function_view(h) for h in helpers] + fns
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

