from slimlang import docgen


def test_generated_reference_is_up_to_date():
    text = docgen.DOC.read_text(encoding="utf-8")
    assert docgen.render(text) == text, "docs/language.md is stale: run python -m slimlang.docgen"


def test_every_layer_kind_is_documented():
    text = docgen.DOC.read_text(encoding="utf-8")
    from slimlang.layers import LAYERS

    for name in LAYERS:
        assert f"### `{name}`" in text
