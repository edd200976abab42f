"""Train sections: checking settings into a TrainSpec (pure Python, no TensorFlow)."""

import subprocess
import sys
from pathlib import Path

import pytest

import slimlang
from slimlang import trainspec
from slimlang.diagnostics import SlimError
from slimlang.trainspec import build_spec, setting, with_overrides

ROOT = Path(__file__).resolve().parent.parent

MODEL = """\
let base_lr = 0.01
model net(inputs, num_classes = 10, is_training = true, keep = 0.5) {
  fc 32 as fc1
  fc num_classes activation=none as logits
}
"""


def load(train_body: str, tmp_path=None, models=MODEL, name=""):
    text = models + f"train {name}{{\n" + train_body + "\n}\n"
    filename = str((tmp_path or Path("/nowhere")) / "t.slim")
    return slimlang.loads(text, filename)


def errors(train_body: str, models=MODEL):
    with pytest.raises(SlimError) as ei:
        load(train_body, models=models)
    return ei.value.diagnostics


def only(diags, code):
    hits = [d for d in diags if d.code == code]
    assert hits, f"no {code} in {[d.render() for d in diags]}"
    return hits[0]


LINE0 = MODEL.count("\n") + 2  # line number of the first setting


def test_valid_section_becomes_a_spec(tmp_path):
    mod = load("""\
  model net num_classes=5
  data npz "data/d.npz" validation=0.2 seed=3 resize=[16, 16] crop=12x12 flip=true scale=1/255
  loss softmax_cross_entropy label_smoothing=0.1
  optimizer momentum lr=base_lr * 2
  schedule exponential decay_steps=100 staircase=true warmup_steps=10
  batch_size 16
  steps 500
  clip_gradients 5
  logdir "runs/x"
  save_interval_steps 50
  trainable "logits"
  seed 7""", tmp_path)
    (spec,) = mod.train_specs
    assert spec.model.name == "net" and spec.model.params == {"num_classes": 5}
    assert spec.data.kind == "npz"
    assert spec.data.path == str(tmp_path / "data" / "d.npz")  # relative to the .slim file
    o = spec.data.options
    assert (o["validation"], o["seed"], o["resize"], o["crop"], o["flip"]) == (0.2, 3, (16, 16), (12, 12), True)
    assert o["scale"] == pytest.approx(1 / 255)
    (loss,) = spec.losses
    assert (loss.kind, loss.name, loss.on, loss.weight, loss.options) == (
        "softmax_cross_entropy", "softmax_cross_entropy", "net", 1.0, {"label_smoothing": 0.1})
    assert spec.optimizer.kind == "momentum" and spec.optimizer.lr == pytest.approx(0.02)
    assert spec.optimizer.options == {"momentum": 0.9}
    assert spec.schedule.kind == "exponential" and spec.schedule.warmup_steps == 10
    assert spec.schedule.options["staircase"] is True and spec.schedule.options["decay_rate"] == 0.94
    assert (spec.batch_size, spec.steps, spec.clip_gradients, spec.seed) == (16, 500, 5.0, 7)
    assert spec.logdir == "runs/x"  # relative to the current directory: left as written
    assert spec.save_interval_steps == 50 and spec.save_interval_secs is None
    assert spec.trainable == ("logits",)
    assert spec.span_of("data").line == LINE0 + 1


def test_defaults_and_the_only_model():
    (spec,) = load('data npz "d.npz"\nloss mse').train_specs
    assert spec.model.name == "net" and spec.model.params == {}
    assert spec.losses[0].kind == "mean_squared_error"  # alias
    assert (spec.optimizer.kind, spec.optimizer.lr) == ("adam", 0.001)
    assert spec.schedule.kind == "constant"
    assert (spec.batch_size, spec.steps, spec.epochs, spec.regularization) == (32, None, None, True)
    assert (spec.save_summaries_steps, spec.save_interval_secs, spec.keep_checkpoints) == (100, 600, 5)


def test_model_call_form_and_sum_of_squares_alias():
    (spec,) = load('model net(num_classes=3)\ndata npz "d.npz"\nloss sum_of_squares on=logits').train_specs
    assert spec.model.params == {"num_classes": 3}
    assert spec.losses[0].kind == "mean_squared_error" and spec.losses[0].on == "logits"


def test_several_losses_are_named_by_their_end_points():
    (spec,) = load('data npz "d.npz" labels=["digit", "parity"]\n'
                   'loss softmax_cross_entropy on=heads/digit labels="digit"\n'
                   'loss sigmoid_cross_entropy on=heads/parity labels="parity" weight=0.5').train_specs
    assert [(x.name, x.labels, x.weight) for x in spec.losses] == [("digit", "digit", 1.0), ("parity", "parity", 0.5)]


def test_several_sections_with_names():
    text = MODEL + 'train a { data npz "d.npz"; loss mse }\ntrain b { data npz "e.npz"; loss huber delta=2 }\n'
    specs = slimlang.loads(text).train_specs
    assert [s.name for s in specs] == ["a", "b"]
    assert specs[1].losses[0].options == {"delta": 2.0}


def test_unknown_setting_with_did_you_mean_and_span():
    d = only(errors('data npz "d.npz"\nloss mse\nstepz 100'), "E312")
    assert "stepz" in d.message and "help: did you mean `steps`?" in d.notes
    assert (d.span.line, d.span.col, d.span.end_col) == (LINE0 + 2, 1, 6)


def test_synonyms_from_other_tools_are_suggested():
    diags = errors('data npz "d.npz" validation_split=0.1\nloss mse\noptimizer adam learning_rate=0.1\n'
                   'max_number_of_steps 10')
    assert "help: did you mean `validation`?" in only(diags, "E304").notes
    assert any("help: did you mean `lr`?" in d.notes for d in diags if d.code == "E304")
    assert "help: did you mean `steps`?" in only(diags, "E312").notes


def test_setting_twice_points_at_both():
    d = only(errors('data npz "d.npz"\nloss mse\nsteps 10\nsteps 20'), "E302")
    assert d.span.line == LINE0 + 3
    assert any(f":{LINE0 + 2}:" in n for n in d.notes)


def test_positional_count():
    diags = errors('data npz "d.npz" "extra"\nloss mse\nsteps')
    assert any(d.code == "E303" and d.span.line == LINE0 for d in diags)
    assert any(d.code == "E303" and "steps" in d.message for d in diags)


def test_unknown_option_points_at_the_option():
    d = only(errors('data npz "d.npz" validaton=0.1\nloss mse'), "E304")
    assert d.span.line == LINE0 and d.span.col == 18
    assert "help: did you mean `validation`?" in d.notes


def test_bad_values():
    diags = errors('data npz "d.npz" validation=1.5 resize=[1, 2, 3] scale=(1, 1)\nloss mse weight=-1\n'
                   'batch_size 0\nregularization 3\nschedule cosine warmup_steps=1.5')
    msgs = [d.message for d in diags if d.code == "E305"]
    assert len(msgs) == 7, msgs
    assert any("fraction" in m for m in msgs) and any("height, width" in m for m in msgs)


def test_unknown_kinds_with_did_you_mean():
    diags = errors('data npzz "d.npz"\nloss softmax_crossentropy\noptimizer adamw\nschedule cosin')
    kinds = {d.message.split("`")[1]: d.notes for d in diags if d.code == "E306"}
    assert "help: did you mean `npz`?" in kinds["npzz"]
    assert "help: did you mean `softmax_cross_entropy`?" in kinds["softmax_crossentropy"]
    assert "help: did you mean `adam`?" in kinds["adamw"]
    assert "help: did you mean `cosine`?" in kinds["cosin"]


def test_model_errors():
    d = only(errors('model nett\ndata npz "d.npz"\nloss mse'), "E307")
    assert "help: did you mean `net`?" in d.notes and d.span.col == 7
    diags = errors('model net num_clases=3 is_training=false keep="x"\ndata npz "d.npz"\nloss mse')
    e308 = [d for d in diags if d.code == "E308"]
    assert len(e308) == 3
    assert "help: did you mean `num_classes`?" in e308[0].notes
    assert "set by the trainer" in e308[1].message
    assert "number" in e308[2].message


def test_missing_required_settings_and_options():
    diags = errors("steps 10")
    assert {d.message for d in diags if d.code == "E309"} == {"train section has no `data` setting",
                                                              "train section has no `loss`"}
    d = only(errors('data npz "d.npz"\nloss mse\nschedule exponential'), "E309")
    assert "decay_steps" in d.message


def test_contradictions():
    diags = errors('data npz "d.npz" resize=8 crop=10\nloss mse\nsteps 10\nepochs 2\n'
                   'schedule piecewise boundaries=[10, 5] values=[0.1]')
    e310 = [d.message for d in diags if d.code == "E310"]
    assert any("not both" in m for m in e310)
    assert any("one more value" in m for m in e310)
    assert any("increasing" in m for m in e310)
    assert any("crop" in m for m in e310)
    d = only(errors('data npz "d.npz"\nloss mse\nsteps 10\nschedule cosine warmup_steps=10'), "E310")
    assert "warmup_steps" in d.message


def test_duplicate_loss_names():
    d = only(errors('data npz "d.npz"\nloss mse name="a"\nloss huber name="a"'), "E311")
    assert d.span.line == LINE0 + 2


def test_collects_every_error_of_a_section():
    diags = errors('dta npz "d.npz"\nloss bogus\noptimizer sgd lr=-1')
    assert {d.code for d in diags} >= {"E312", "E306", "E305", "E309"}


def test_registered_loss_is_a_loss_kind_with_free_options():
    def focal(predictions, labels, gamma=2.0):
        return predictions

    slimlang.register_loss("focal_test", focal)
    try:
        (spec,) = load('data npz "d.npz"\nloss focal_test gamma=3 weight=2').train_specs
        (loss,) = spec.losses
        assert (loss.kind, loss.custom, loss.options, loss.weight) == ("focal_test", True, {"gamma": 3}, 2.0)
    finally:
        from slimlang.training import unregister_loss

        unregister_loss("focal_test")
    # unregistered: the section fails alone (the file loads), with the hint to pass --plugin
    module = load('data npz "d.npz"\nloss focal_test')
    assert module.train_specs == [] and "--plugin" in module.train_errors[None].render()
    assert "focal_test" in only(module.train_errors[None].diagnostics, "E306").message
    with pytest.raises(ValueError):
        slimlang.register_loss("huber", focal)
    with pytest.raises(ValueError):
        slimlang.register_loss("not a name", focal)


def test_init_from_names_in_checkpoint():
    (spec,) = load('data npz "d.npz"\nloss mse\ninit_from "ckpt" exclude=["logits"] strip_prefix="net/" '
                   'rename=[("weights$", "params1")] add_prefix="vgg16/"').train_specs
    init = spec.init_from
    assert init.name_in_checkpoint("net/fc1/weights") == "vgg16/fc1/params1"
    assert init.name_in_checkpoint("fc1/biases") == "vgg16/fc1/biases"
    assert init.selects("net/fc1/weights") and not init.selects("logits/weights")
    d = only(errors('data npz "d.npz"\nloss mse\ninit_from "c" rename=[("(", "x")]'), "E305")
    assert "regular expression" in d.message


def test_python_api_build_spec_and_overrides():
    def model(inputs, num_classes=10, is_training=True):
        return inputs

    spec = build_spec([setting("data", "npz", "d.npz", validation=0.1), setting("loss", "softmax_cross_entropy"),
                       setting("steps", 100)], {"model": model}, base_dir="/data")
    assert spec.data.path == "/data/d.npz" and spec.model.name == "model"
    s2 = with_overrides(spec, epochs=3, batch_size=8)
    assert (s2.steps, s2.epochs, s2.batch_size) == (None, 3, 8)
    assert with_overrides(s2, steps=5).epochs is None
    with pytest.raises(SlimError):
        with_overrides(spec, steps=0)
    with pytest.raises(SlimError) as ei:
        build_spec([setting("data", "npz", "d.npz"), setting("loss", "mse", labelz="y")], {"model": model})
    assert "help: did you mean `labels`?" in ei.value.first.notes


def test_docs_hold_the_generated_reference():
    doc = (ROOT / "docs" / "training.md").read_text()
    assert trainspec.reference_markdown() in doc, \
        "docs/training.md is out of date: paste `python -m slimlang.trainspec` into it"


def test_every_error_code_is_documented_and_every_setting_has_a_doc():
    for d in trainspec.TRAIN_SETTINGS.values():
        assert d.doc and d.usage
    src = (ROOT / "slimlang" / "trainspec.py").read_text() + "".join(
        p.read_text() for p in (ROOT / "slimlang" / "training").glob("*.py"))
    import re

    used = set(re.findall(r'"(E3\d\d)"', src))
    assert used <= set(trainspec.ERROR_CODES), used - set(trainspec.ERROR_CODES)


def test_checking_a_train_section_imports_no_tensorflow(tmp_path):
    f = tmp_path / "t.slim"
    f.write_text(MODEL + 'train { data npz "d.npz"; loss softmax_cross_entropy; steps 10 }\n')
    code = (f"import sys, slimlang; m = slimlang.load({str(f)!r}); assert m.train_specs[0].steps == 10; "
            "bad = [k for k in sys.modules if k.startswith(('tensorflow', 'tf_slim'))]; assert not bad, bad[:3]")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stderr
