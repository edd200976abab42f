"""Both lowerings build the same thing for the cases issue 14 found them disagreeing on
(bind.py decides a statement's form once; the emitter follows what elaboration built)."""

import pytest
from test_emit import _build_direct, _build_emitted, _facts, _import, _input_shape, _values

from slimlang.checker import check_text
from slimlang.emit import emit_module

CASES = {
    "pool_list_is_a_kernel": "model m(inputs: [8, 8, 4]) {\n  pool [2, 2] as p\n}\n",
    "let_list_is_a_stack": "model m(inputs: [8]) {\n  let sizes = [6, 5]\n  fc sizes as f\n}\n",
    "global_list_is_a_stack": "let sizes = [6, 5]\nmodel m(inputs: [8]) {\n  fc sizes as f\n}\n",
    "param_list_is_a_stack": "model m(inputs: [8], sizes = [6, 5]) {\n  fc sizes as f\n}\n",
    "return_in_scope": "model m(inputs: [8, 8, 2]) {\n  scope s {\n    conv 3 1x1\n    return\n  }\n  conv 5 1x1\n}\n",
    "return_in_defaults": ("model m(inputs: [8, 8, 2]) {\n  defaults conv: stride=2 {\n    conv 3 1x1\n"
                           "    return\n  }\n}\n"),
    "add_other_by_keyword": "model m(inputs: [8, 8, 2]) {\n  a = conv 2 1x1\n  add other=a\n}\n",
    "concat_default_axis": "model m(inputs: [8, 8, 2]) {\n  a = conv 2 1x1\n  b = conv 3 1x1\n  concat [a, b]\n}\n",
    "collect_normalizer_kind": ("model m(inputs: [8, 8, 2]) {\n  collect batch_norm, conv\n"
                                "  conv 3 1x1 normalizer=batch_norm as c\n  batch_norm as bn\n}\n"),
    "normalizer_under_defaults": ("defaults d {\n  batch_norm: activation=tanh, decay=0.9\n}\n"
                                  "model m(inputs: [8, 8, 2]) uses d {\n  sep_conv 4 3 normalizer=batch_norm\n}\n"),
    "collect_reaches_block_statements": ("block B() {\n  batch_norm as bn\n}\nblock C() {\n  B as inner\n  conv 2 1x1\n}\n"
                                         "model m(inputs: [8, 8, 2]) {\n  collect batch_norm\n  B as b1\n  B x2 as r\n"
                                         "  C as c\n}\n"),
    "repeated_block_with_endpoints_inside_a_block": ("block B() {\n  conv 2 1x1 as c endpoint\n}\n"
                                                     "block C() {\n  B x2 as r\n}\n"
                                                     "model m(inputs: [8, 8, 2]) {\n  C as c\n}\n"),
    "stack_item_sets_what_defaults_set": ("model m(inputs: [8, 8, 2]) {\n  defaults conv: stride=2 {\n"
                                          "    conv [(3, 1x1, 1), (4, 3x3)] as s\n    conv [(2, 1x1, 1)]\n  }\n}\n"),
    "function_reads_a_name_rebound_in_a_scope": ("model m(inputs: [8, 8, 2]) {\n  let k = 2\n  let f(x) = x * k\n"
                                                 "  scope s {\n    let k = 3\n    conv f(1) 1x1\n  }\n"
                                                 "  conv f(2) 1x1\n}\n"),
    # written out (the stride is keyword-only in slim.stack's call), the second item read `depth_in` of the
    # first item's output
    "stack_written_out_reads_its_input": ("model m(inputs: [7, 7, 4]) {\n  conv 3 1x1\n"
                                          "  conv [(1, 3x3, 2), (depth_in, 2)] padding=SAME as L7\n}\n"),
    "stack_of_a_list_value_under_defaults_reads_its_input": (
        "model m(inputs: [7, 7, 4]) {\n  let items = [(1, 1x1), (2, 1x1)]\n  defaults conv: stride=1 {\n"
        "    conv 3 1x1\n    conv items rate=depth_in - 2 as s\n  }\n}\n"),
    "local_let_shadows_a_constant": ("let N = 3\nmodel m(inputs: [8, 8, 2]) {\n  let v = N\n  let N = N + 1\n"
                                     "  conv v 1x1\n  conv N 1x1\n}\n"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_both_lowerings_agree(name, tmp_path):
    text = CASES[name]
    path = tmp_path / "m.slim"
    path.write_text(text)
    prog = check_text(text, str(path))
    shape = _input_shape(prog, "m")
    g1, x1, n1, ep1 = _build_direct(path, "m", shape, {})
    gen = _import(emit_module(prog), tmp_path, "m")
    g2, x2, n2, ep2 = _build_emitted(gen, prog, "m", shape, {})
    assert _facts(g1, n1, ep1) == _facts(g2, n2, ep2)
    _values((g1, x1, n1), (g2, x2, n2))
