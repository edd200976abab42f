from slimlang import docgen


def test_generated_reference_is_up_to_date():
    text = docgen.DOC.read_text(encoding="utf-8")
    assert docgen.render(text) == text, "docs/language.md is stale: run python -m slimlang.docgen"


def test_every_layer_kind_is_documented():
    text = docgen.DOC.read_text(encoding="utf-8")
    from slimlang.layers import LAYERS

    for name in LAYERS:
        assert f"### `{name}`" in text


def test_every_module_is_placed_in_the_architecture_doc():
    """docs/architecture.md lists every module of the package under its stage, and nothing that is gone."""
    import re

    root = docgen.DOC.parent.parent
    text = (root / "docs" / "architecture.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `(slimlang/[\w/]+\.py)` \|", text, re.M))
    present = {p.relative_to(root).as_posix() for p in (root / "slimlang").rglob("*.py")}
    assert sorted(present - listed) == [], "modules missing from docs/architecture.md"
    assert sorted(listed - present) == [], "docs/architecture.md lists modules that do not exist"
